"""Demonstrations recorded elsewhere, as Minari datasets: built here with Minari's own
DataCollector on gymnasium's CartPole-v1 (no download), imported with `demos.from_minari`
or `jgail collect --from-minari`, checked against the env, and imitated with GAIL on gymnax's
CartPole (the same dynamics)."""

import sys
import warnings

import gymnasium as gym
import jax
import minari
import numpy as np
import pytest

from jgail import demos, envs, evaluation, gail, presets
from jgail.cli import app as cli

CAP = 200


def cartpole_rule(obs):
    """jgail.scripted.cartpole's rule on one gymnasium observation: push where the pole falls."""
    return int(obs[2] + 0.5 * obs[3] + 0.01 * obs[0] + 0.1 * obs[1] > 0)


class EndsAtStepThree(gym.Env):
    """Terminates on its third step, which is also the time limit's last: both flags set."""

    def __init__(self, num_actions=2):
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
        self.action_space = gym.spaces.Discrete(num_actions)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(4, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.full(4, self.t / 10, np.float32), 1.0, self.t == 3, False, {}


def record(dataset_id, env, policy, episodes):
    collector = minari.DataCollector(env)
    for seed in range(episodes):
        obs, _ = collector.reset(seed=seed)
        done = False
        while not done:
            obs, _, terminated, truncated, _ = collector.step(policy(obs))
            done = terminated or truncated
    return collector.create_dataset(dataset_id=dataset_id, algorithm_name="scripted", author="jgail tests",
                                    author_email="none", code_permalink="tests/test_minari.py",
                                    description="test data")


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """Three local datasets in a private MINARI_DATASETS_PATH."""
    patch = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("minari")
    patch.setenv("MINARI_DATASETS_PATH", str(root))
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():  # Minari warns about metadata a test dataset does not need
        warnings.simplefilter("ignore")
        record("cartpole/scripted-v0", gym.make("CartPole-v1", max_episode_steps=CAP), cartpole_rule, 5)
        record("cartpole/random-v0", gym.make("CartPole-v1", max_episode_steps=CAP),
               lambda obs: int(rng.integers(2)), 3)
        record("probe/ends-at-three-v0", gym.wrappers.TimeLimit(EndsAtStepThree(), 3), lambda obs: 1, 2)
        record("probe/three-actions-v0", gym.wrappers.TimeLimit(EndsAtStepThree(3), 3), lambda obs: 2, 1)
    yield root
    patch.undo()


@pytest.fixture(scope="module")
def cartpole():
    return envs.make("CartPole-v1", max_episode_steps=CAP)


def test_minari_steps_become_pairs_with_true_next_observations(datasets, cartpole):
    source = minari.load_dataset("cartpole/scripted-v0")
    data = demos.from_minari("cartpole/scripted-v0", env=cartpole)
    assert data.num_episodes == 5 and data.num_pairs == source.total_steps == 5 * CAP
    first = next(source.iterate_episodes())
    np.testing.assert_array_equal(data.obs[:CAP], first.observations[:-1])
    np.testing.assert_array_equal(data.next_obs[:CAP], first.observations[1:])  # the last one too
    np.testing.assert_array_equal(data.action[:CAP], first.actions)
    np.testing.assert_array_equal(data.episode_returns, np.full(5, float(CAP)))
    assert data.metadata["expert_return_mean"] == CAP
    ends = np.cumsum(data.episode_lengths) - 1
    assert data.truncated[ends].all() and not data.terminated.any()  # the time limit: truncations
    assert data.metadata["expert"]["dataset_id"] == "cartpole/scripted-v0"


def test_minari_terminations_stay_terminations(datasets, cartpole):
    data = demos.from_minari("cartpole/random-v0", env=cartpole)
    ends = np.cumsum(data.episode_lengths) - 1
    assert data.terminated[ends].all() and not data.truncated.any()
    np.testing.assert_array_equal(data.episode_returns, data.episode_lengths.astype(np.float32))


def test_a_true_end_on_the_time_limits_last_step_is_terminated_only(datasets, cartpole):
    source = next(minari.load_dataset("probe/ends-at-three-v0").iterate_episodes())
    assert source.terminations[-1] and source.truncations[-1]  # Minari records both
    data = demos.from_minari("probe/ends-at-three-v0", env=cartpole)
    np.testing.assert_array_equal(data.terminated, [False, False, True] * 2)
    assert not data.truncated.any()


def test_a_dataset_directory_path_imports_like_its_id(datasets, cartpole):
    by_path = demos.from_minari(datasets / "cartpole" / "scripted-v0", env=cartpole)
    by_id = demos.from_minari("cartpole/scripted-v0", env=cartpole)
    np.testing.assert_array_equal(by_path.obs, by_id.obs)


def test_spaces_and_episode_cap_are_checked_against_the_env(datasets, cartpole):
    with pytest.raises(ValueError, match="observation space .* Acrobot-v1 observes arrays of shape"):
        demos.from_minari("cartpole/scripted-v0", env=envs.make("Acrobot-v1"))
    with pytest.raises(ValueError, match="action space Discrete\\(3\\)"):
        demos.from_minari("probe/three-actions-v0", env=cartpole)
    with pytest.raises(ValueError, match="200 steps, more than CartPole-v1's cap of 100"):
        demos.from_minari("cartpole/scripted-v0", env=envs.make("CartPole-v1", max_episode_steps=100))


def test_a_missing_dataset_says_where_it_looked(datasets, cartpole):
    with pytest.raises(FileNotFoundError, match="no Minari dataset 'cartpole/absent-v0'.*MINARI_DATASETS_PATH"):
        demos.from_minari("cartpole/absent-v0", env=cartpole)


def test_without_minari_installed_the_error_says_how_to_install_it(monkeypatch, cartpole):
    monkeypatch.setitem(sys.modules, "minari", None)  # `import minari` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'jgail\[minari\]'"):
        demos.from_minari("cartpole/scripted-v0", env=cartpole)


def test_collect_from_minari_writes_a_dataset_gail_can_load(datasets, cartpole, tmp_path, capsys):
    out = tmp_path / "demos.npz"
    argv = ["collect", "--from-minari", "cartpole/scripted-v0", "--env", "CartPole-v1",
            "--max-episode-steps", str(CAP), "--min-return", "195", "--keep-first", "2", "--out", str(out)]
    assert cli.main(argv) == 0
    assert "imported 5 episodes from Minari dataset cartpole/scripted-v0; kept 2" in capsys.readouterr().out
    data = demos.load(out, env=cartpole)
    assert data.num_episodes == 2 and data.metadata["expert"]["kind"] == "minari"


@pytest.mark.parametrize("extra, message", [
    ([], "--from-minari needs --env"),
    (["--env", "CartPole-v1", "--episodes", "3"], "--episodes rolls out an expert"),
    (["--env", "CartPole-v1"], "more than CartPole-v1's cap of 100"),
])
def test_collect_from_minari_refuses_bad_arguments(datasets, tmp_path, capsys, extra, message):
    if "--episodes" not in extra and extra:
        extra = extra + ["--max-episode-steps", "100"]
    argv = ["collect", "--from-minari", "cartpole/scripted-v0", *extra, "--out", str(tmp_path / "d.npz")]
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "d.npz").exists()


@pytest.mark.slow
def test_gail_imitates_a_minari_dataset_on_gymnax_cartpole(datasets, cartpole):
    """5 episodes recorded on gymnasium, imitated on gymnax: >= 0.95 of the recorded return."""
    data = demos.from_minari("cartpole/scripted-v0", env=cartpole)
    recorded = float(data.episode_returns.mean())
    config = presets.gail_config(cartpole, "ppo", total_timesteps=60 * 1024)
    keys = jax.random.split(jax.random.key(0), 4)

    def train_and_evaluate(key, expert):
        state, _ = gail.train(key, config, expert)
        return evaluation.evaluate(jax.random.fold_in(key, 1), cartpole, config.nets, state.agent.params,
                                   state.obs_stats)["mean_return"]

    returns = np.asarray(jax.jit(jax.vmap(train_and_evaluate, (0, None)))(keys, demos.to_jax(data)))
    assert returns.mean() >= 0.95 * recorded, f"per seed {returns}, recorded {recorded}"
