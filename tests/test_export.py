"""Exported policies (jgail export, jgail.policy): the file reproduces the JAX policy exactly
(greedy and sampled, every activation, with and without observation normalisation), the
README's numpy-only loader runs with jax and flax blocked, the ONNX graph agrees under
onnxruntime, and trained CartPole-v1 / Pendulum-v1 policies run in gymnasium's own
implementations of those envs with the returns jgail measured."""

import json
import os
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgail import checkpoint, cli, envs, policy
from jgail.core.env import clip_action
from jgail.core.networks import NetworkConfig, PolicyNetworks
from jgail.core.normalization import RunningStats

gym = pytest.importorskip("gymnasium")
README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def _agent(env_id, activation="tanh", normalize=True, seed=0):
    """A random (untrained) agent with non-trivial observation statistics, and its spec."""
    env = envs.make(env_id)
    nets = PolicyNetworks.create(env.action_space, NetworkConfig((16, 8), activation), normalize)
    k_params, k_mean, k_var = jax.random.split(jax.random.key(seed), 3)
    params = nets.init(k_params, env.obs_shape[0])
    if not env.action_space.discrete:  # a non-zero log std, so sampling is checked for its scale
        params["actor"]["params"]["log_std"] = jnp.full_like(params["actor"]["params"]["log_std"], -0.7)
    dim = env.obs_shape[0]
    stats = RunningStats(jax.random.normal(k_mean, (dim,)), jnp.exp(jax.random.normal(k_var, (dim,))),
                         jnp.asarray(100.0))
    spec = json.loads(json.dumps(checkpoint.make_spec(env, NetworkConfig((16, 8), activation), normalize)))
    return env, nets, params, stats, spec


def _observations(env, n=64, seed=1):
    return np.asarray(3 * jax.random.normal(jax.random.key(seed), (n, env.obs_shape[0])), np.float32)


@pytest.mark.parametrize("env_id,activation,normalize", [
    ("CartPole-v1", "tanh", False), ("CartPole-v1", "relu", True), ("Pendulum-v1", "tanh", True),
    ("Pendulum-v1", "elu", True), ("MountainCarContinuous-v0", "gelu", True), ("Acrobot-v1", "swish", False)])
def test_the_exported_policy_is_the_jax_policy(tmp_path, env_id, activation, normalize):
    env, nets, params, stats, spec = _agent(env_id, activation, normalize)
    path = policy.export(tmp_path / "p", params, stats, spec)
    assert path.endswith(".npz")
    loaded = policy.load(path)
    obs = _observations(env)
    dist = nets.dist(params, stats, jnp.asarray(obs))
    head = dist.logits if env.action_space.discrete else dist.mean
    np.testing.assert_allclose(loaded.head(obs), np.asarray(head), rtol=1e-5, atol=1e-5)
    mode = np.asarray(clip_action(env.action_space, dist.mode()))
    if env.action_space.discrete:
        np.testing.assert_array_equal(loaded.act(obs), mode)
    else:
        np.testing.assert_allclose(loaded.act(obs), mode, rtol=1e-5, atol=1e-6)
    key = jax.random.key(7)
    np.testing.assert_allclose(loaded.act(obs, key), np.asarray(clip_action(env.action_space, dist.sample(key))),
                               rtol=1e-5, atol=1e-5)
    one = loaded.act(obs[0])  # one observation: an int, or one action vector
    assert (isinstance(one, int) if env.action_space.discrete else one.shape == env.action_space.shape)


def _readme_loader() -> str:
    text = open(README).read()
    block = re.search(r"```python\n(# jgail policy loader \(numpy only\).*?)```", text, re.S)
    assert block, "README.md's numpy-only loader block (it starts '# jgail policy loader (numpy only)') is gone"
    return block.group(1)


def test_the_readme_numpy_loader_needs_neither_jax_nor_flax(tmp_path):
    for env_id in ("CartPole-v1", "Pendulum-v1"):
        env, nets, params, stats, spec = _agent(env_id, "tanh", env_id == "Pendulum-v1")
        path = policy.export(tmp_path / env_id, params, stats, spec)
        obs = _observations(env)
        np.save(tmp_path / "obs.npy", obs)
        script = ("import sys\n"
                  "for name in ('jax', 'jaxlib', 'flax', 'jgail'):\n"
                  "    sys.modules[name] = None  # importing any of them now fails\n"
                  + _readme_loader()
                  + f"\nimport numpy as np\nnp.save({str(tmp_path / 'out.npy')!r}, "
                    f"load_policy({path!r})(np.load({str(tmp_path / 'obs.npy')!r})))\n")
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        np.testing.assert_allclose(np.load(tmp_path / "out.npy"), policy.load(path).act(obs), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("env_id,normalize", [("CartPole-v1", False), ("Pendulum-v1", True)])
def test_the_onnx_graph_agrees_with_the_jax_policy(tmp_path, env_id, normalize):
    ort = pytest.importorskip("onnxruntime")
    from jgail.run import onnx_export

    env, nets, params, stats, spec = _agent(env_id, "tanh", normalize)
    path = onnx_export.export(str(tmp_path / "p.onnx"), params, stats, spec)
    session = ort.InferenceSession(path)
    obs = _observations(env)
    action, head = session.run(["action", "head"], {"obs": obs})
    dist = nets.dist(params, stats, jnp.asarray(obs))
    np.testing.assert_allclose(head, np.asarray(dist.logits if env.action_space.discrete else dist.mean),
                               rtol=1e-5, atol=1e-5)
    mode = np.asarray(clip_action(env.action_space, dist.mode()))
    if env.action_space.discrete:
        np.testing.assert_array_equal(action, mode)
    else:
        np.testing.assert_allclose(action, mode, rtol=1e-5, atol=1e-5)


def _gym_returns(gym_id, act, episodes=20, seed=0):
    env = gym.make(gym_id)
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(obs))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return np.asarray(returns)


def _jgail_eval(capsys, path, episodes=20):
    assert cli.main(["eval", str(path), "--episodes", str(episodes)]) == 0
    return float(re.search(r"mean return (-?[\d.]+)", capsys.readouterr().out).group(1))


def test_a_trained_cartpole_expert_runs_in_gymnasium(tmp_path, capsys):
    run = tmp_path / "expert"
    assert cli.main(["expert", "--env", "CartPole-v1", "--total-timesteps", "100000", "--seeds", "2",
                     "--out", str(run), "--no-progress"]) == 0
    assert cli.main(["export", str(run), "--out", str(tmp_path / "cartpole")]) == 0
    assert "wrote" in capsys.readouterr().out
    exported = policy.load(tmp_path / "cartpole.npz")
    assert exported.env_id == "CartPole-v1" and exported.spec["actions"] == "sampled"
    greedy = _gym_returns("CartPole-v1", exported.act)
    keys = iter(jax.random.split(jax.random.key(3), 20 * 500))
    sampled = _gym_returns("CartPole-v1", lambda obs: exported.act(obs, next(keys)))
    assert greedy.mean() >= 475, greedy
    assert sampled.mean() >= 475, sampled


def test_a_trained_pendulum_expert_runs_in_gymnasium(tmp_path, capsys):
    run = tmp_path / "expert"
    assert cli.main(["expert", "--env", "Pendulum-v1", "--total-timesteps", "300000", "--seeds", "1",
                     "--out", str(run), "--no-progress"]) == 0
    assert cli.main(["export", str(run), "--out", str(tmp_path / "pendulum.npz")]) == 0
    capsys.readouterr()
    jgail_return = _jgail_eval(capsys, run, episodes=100)  # sampled actions, as trained
    random_return = -1200.0  # gymnax Pendulum-v1 under uniform actions: about -1200 (benchmarks' random rows)
    assert jgail_return > -400, f"the tiny expert did not learn ({jgail_return}); the comparison would mean nothing"
    exported = policy.load(tmp_path / "pendulum.npz")
    keys = iter(jax.random.split(jax.random.key(5), 20 * 200))
    gym_return = _gym_returns("Pendulum-v1", lambda obs: exported.act(obs, next(keys))).mean()
    normalised = (gym_return - random_return) / (jgail_return - random_return)
    assert normalised >= 0.9, (gym_return, jgail_return)


@pytest.fixture(scope="module")
def gail_run(tmp_path_factory):
    """A tiny 2-seed GAIL run on CartPole (50-step cap) from a scripted expert's episodes."""
    from jgail import demos, scripted

    root = tmp_path_factory.mktemp("gail")
    env = envs.make("CartPole-v1", max_episode_steps=50)
    data = demos.collect(jax.random.key(0), env, scripted.cartpole, 2, greedy=True)
    demo_file = demos.save(data, root / "demos.npz")
    run = root / "gail"
    assert cli.main(["gail", "--env", "CartPole-v1", "--max-episode-steps", "50", "--demos", str(demo_file),
                     "--seeds", "2", "--total-timesteps", "4096", "--chunk", "1", "--eval-episodes", "5",
                     "--out", str(run), "--no-progress"]) == 0
    return run


def test_a_gail_runs_seed_is_exported_and_the_best_by_default(gail_run, tmp_path, capsys):
    from jgail.cli import inspect

    env, config, params, stats = inspect.latest_policies(str(gail_run))
    summary = json.loads((gail_run / "summary.json").read_text())
    best = int(np.argmax(summary["eval_mean_return_per_seed"]))
    obs = _observations(env)
    for argv, seed in ((["--seed", "1"], 1), ([], best)):
        out = tmp_path / f"seed{seed}_{len(argv)}.npz"
        assert cli.main(["export", str(gail_run), "--out", str(out), *argv]) == 0
        assert f"(seed {seed})" in capsys.readouterr().out
        exported = policy.load(out)
        assert exported.spec["seed"] == seed
        one = jax.tree.map(lambda x: x[seed], (params, stats))
        mode = config.nets.dist(one[0], one[1], jnp.asarray(obs)).mode()
        np.testing.assert_array_equal(exported.act(obs), np.asarray(mode))


def test_bad_exports_are_refused_before_loading_and_write_nothing(gail_run, tmp_path, capsys):
    (tmp_path / "taken.npz").write_bytes(b"earlier")
    (tmp_path / "bc").mkdir()
    (tmp_path / "bc" / "config.json").write_text(json.dumps({"command": "bc", "args": {"seeds": 1}}))
    cases = [
        (["export", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.npz")], "is not a directory"),
        (["export", str(gail_run), "--out", str(tmp_path / "taken.npz")], "exists; pass --overwrite"),
        (["export", str(gail_run), "--out", str(tmp_path / "x.npz"), "--seed", "2"], "trained seeds 0..1"),
        (["export", str(tmp_path / "bc"), "--out", str(tmp_path / "x.npz")], "keeps no policy"),
    ]
    for argv, message in cases:
        assert cli.main(argv) == 2, argv
        assert message in capsys.readouterr().err, argv
    assert (tmp_path / "taken.npz").read_bytes() == b"earlier"
    assert not (tmp_path / "x.npz").exists()
    with pytest.raises(Exception, match="not a policy written by `jgail export`"):
        np.savez(tmp_path / "other.npz", weights=np.zeros(3))
        policy.load(tmp_path / "other.npz")
