"""Hardening of the library (issue 10): unknown expert returns, effective env settings,
numeric validation of every config, non-finite seeds frozen and flagged inside the compiled
loop, checkpoint integrity, malformed datasets, and the library's own error types."""

import glob
import json
import math
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgail import demos, envs, gail, presets, rl, sweep
from jgail.core.errors import CheckpointError, ConfigError, DatasetError, JgailError
from jgail.core.networks import NetworkConfig, PolicyNetworks
from jgail.core.normalization import RunningStats
from jgail.generators.ppo import PPOConfig
from jgail.generators.trpo import TRPOConfig
from jgail.imitation.bc import BCConfig
from jgail.imitation.discriminator import DiscriminatorConfig
from jgail.run.checkpoint import load_agent, make_spec, save_agent

CAP = 20
ENV = envs.make("CartPole-v1", max_episode_steps=CAP)
INF, NAN = float("inf"), float("nan")


def small_dataset(env=ENV, returns=True, episodes=3, length=5):
    rng = np.random.default_rng(0)
    pairs = episodes * length
    return demos.from_arrays(
        rng.normal(size=(pairs, 4)).astype(np.float32), rng.integers(0, 2, pairs),
        episode_id=np.repeat(np.arange(episodes), length),
        episode_returns=np.full(episodes, float(length)) if returns else None, env=env)


def write_npz(path, data, metadata=None, **arrays):
    """What demos.save writes, without its checks, with any field replaced."""
    fields = {f: getattr(data, f) for f in demos.ARRAY_FIELDS} | arrays
    fields["metadata"] = np.asarray(json.dumps(data.metadata if metadata is None else metadata))
    np.savez(path, **fields)
    return str(path)


def test_the_library_errors_are_value_errors_so_existing_callers_still_catch_them():
    for error in (ConfigError, DatasetError, CheckpointError):
        assert issubclass(error, JgailError) and issubclass(error, ValueError)


# Unknown expert returns are legitimate -------------------------------------------------------

def test_a_dataset_without_returns_saves_loads_and_reports_an_unknown_expert_return(tmp_path):
    data = small_dataset(returns=False)
    assert data.metadata["expert_return_mean"] is None and demos.expert_return(data) is None
    loaded = demos.load(demos.save(data, tmp_path / "d.npz"), env=ENV)
    assert loaded.metadata["expert_return_mean"] is None and demos.expert_return(loaded) is None
    assert demos.expert_return(small_dataset()) == 5.0


def test_metadata_lacking_the_return_statistics_loads_them_as_null(tmp_path):
    for returns in (True, False):
        data = small_dataset(returns=returns)
        bare = {k: v for k, v in data.metadata.items() if not k.startswith("expert_return")}
        loaded = demos.load(write_npz(tmp_path / "d.npz", data, bare), env=ENV)
        assert loaded.metadata["expert_return_mean"] is None
        # the per-episode returns, when the file has them, still give the expert's return
        assert demos.expert_return(loaded) == (5.0 if returns else None)


# Environment settings are compared as effective values ---------------------------------------

def test_check_env_accepts_the_default_cap_spelled_out_also_for_older_datasets():
    data = small_dataset(env=envs.make("CartPole-v1"))  # collected at the default cap, 500
    assert data.metadata["max_episode_steps"] == 500 and data.metadata["env_options"] == {}
    older = demos.Demonstrations(**{f: getattr(data, f) for f in demos.ARRAY_FIELDS},
                                 metadata={k: v for k, v in data.metadata.items() if k != "max_episode_steps"})
    for d in (data, older):
        demos.check_env(d, envs.make("CartPole-v1", max_episode_steps=500))
        demos.check_env(d, envs.make("CartPole-v1"))
        with pytest.raises(DatasetError, match="max_episode_steps: dataset 500, environment 200"):
            demos.check_env(d, envs.make("CartPole-v1", max_episode_steps=200))
    demos.check_env_options(data, "CartPole-v1", {})  # the old, spelled comparison still works


def test_check_env_lists_every_difference_and_names_a_different_env():
    data = small_dataset()
    with pytest.raises(DatasetError, match=r"max_episode_steps: dataset 20, environment 500; gravity: dataset "
                                           r"not set \(the env's default\), environment 9.0"):
        demos.check_env(data, envs.make("CartPole-v1", gravity=9.0))
    with pytest.raises(DatasetError, match="collected on 'CartPole-v1', not 'Acrobot-v1'"):
        demos.check_env(data, envs.make("Acrobot-v1"))


# Every numeric option is validated: finite and in range --------------------------------------

@pytest.mark.parametrize("make_and_validate, message", [
    (lambda: PPOConfig(learning_rate=INF).validate(), r"PPOConfig.learning_rate=inf: must be finite"),
    (lambda: PPOConfig(ent_coef=NAN).validate(), r"PPOConfig.ent_coef=nan: must be finite"),
    (lambda: PPOConfig(gamma=1.5).validate(), r"PPOConfig.gamma=1.5: must be in \[0, 1\]"),
    (lambda: PPOConfig(clip_eps=-0.1).validate(128), r"PPOConfig.clip_eps=-0.1: must be > 0"),
    (lambda: PPOConfig(learning_rate=jnp.array([1e-3, INF])).validate(), r"\[0.001, inf\] \(entry 1\)"),
    (lambda: TRPOConfig(value_learning_rate=INF).validate(), "TRPOConfig.value_learning_rate=inf"),
    (lambda: TRPOConfig(ent_coef=-1.0).validate(), r"TRPOConfig.ent_coef=-1: must be >= 0"),
    (lambda: DiscriminatorConfig(learning_rate=INF).validate(), "DiscriminatorConfig.learning_rate=inf"),
    (lambda: DiscriminatorConfig(grad_penalty=NAN).validate(), "DiscriminatorConfig.grad_penalty=nan"),
    (lambda: BCConfig(learning_rate=-1e-3).validate(), r"BCConfig.learning_rate=-0.001: must be > 0"),
    (lambda: gail.GAILConfig(env=ENV, reward_clip=NAN).validate(), "GAILConfig.reward_clip=nan"),
    (lambda: gail.GAILConfig(env=ENV, generator=PPOConfig(gamma=1.0),
                             discriminator=DiscriminatorConfig(absorbing=True)).validate(),
     r"GAILConfig.generator.gamma=1: must be in \[0, 1\)"),
])
def test_non_finite_or_out_of_range_options_name_the_field_and_the_valid_range(make_and_validate, message):
    with pytest.raises(ConfigError, match=message):
        make_and_validate()


def test_sweep_grid_refuses_a_nan_or_out_of_range_value():
    config = presets.gail_config(ENV)
    with pytest.raises(ConfigError, match=r"discriminator.learning_rate=\[0.001, nan\] \(entry 1\)"):
        sweep.grid(config, **{"discriminator.learning_rate": [1e-3, NAN]})
    with pytest.raises(ConfigError, match=r"PPOConfig.ent_coef=\[0, -0.01\] \(entry 1\): must be >= 0"):
        sweep.grid(config, **{"generator.ent_coef": [0.0, -0.01]})
    with pytest.raises(ConfigError, match="needs a non-empty list of numbers"):
        sweep.grid(config, **{"generator.ent_coef": []})
    swept, _, settings = sweep.grid(config, **{"generator.ent_coef": [0.0, 0.01]})
    assert len(settings) == 2 and swept.generator.ent_coef.shape == (2,)


def test_validation_passes_traced_values_it_cannot_see():
    def train_step(lr):
        PPOConfig(learning_rate=lr).validate()
        return lr * 2

    assert float(jax.jit(train_step)(-1.0)) == -2.0  # a tracer: checked where concrete, not here
    np.testing.assert_array_equal(jax.vmap(train_step)(jnp.ones(2)), 2.0)


# Non-finite seeds are frozen and flagged inside the compiled loop ----------------------------

def _tiny_gail():
    env = envs.make("CartPole-v1", max_episode_steps=50)
    config = gail.GAILConfig(env=env, generator=PPOConfig(num_epochs=2, num_minibatches=2), num_envs=4,
                             num_steps=16, total_timesteps=4 * 16 * 4, network=NetworkConfig((16,)),
                             discriminator=DiscriminatorConfig(hidden_sizes=(16,), batch_size=32))
    return config, demos.to_jax(small_dataset(env=env))


def test_a_non_finite_seed_is_frozen_and_flagged_while_the_other_seeds_match_bit_for_bit():
    config, expert = _tiny_gail()
    lr = jnp.full((3,), 1e-3)
    config = config.replace(discriminator=config.discriminator.replace(learning_rate=lr))
    axes = sweep.in_axes(config, "discriminator.learning_rate")
    keys = jax.random.split(jax.random.key(3), 3)
    states = jax.jit(jax.vmap(gail.init, (0, axes, None)))(keys, config, expert)
    run = jax.jit(jax.vmap(lambda s: gail.run(s, expert, 2)))
    before, first_metrics = run(states)
    poisoned_lr = jnp.array([1e-3, INF, 1e-3])  # in the state, so validation never sees it
    poisoned = before.replace(config=before.config.replace(
        discriminator=before.config.discriminator.replace(learning_rate=poisoned_lr)))
    after, metrics = run(poisoned)
    clean, clean_metrics = run(before)

    np.testing.assert_array_equal(first_metrics["nonfinite"], 0)
    np.testing.assert_array_equal(after.nonfinite_iteration, [-1, 2, -1])  # iteration 2 went bad
    np.testing.assert_array_equal(metrics["nonfinite"], [[0, 0], [1, 1], [0, 0]])
    np.testing.assert_array_equal(clean.nonfinite_iteration, -1)
    seed = lambda tree, i: jax.tree.map(lambda x: x[i], tree)  # noqa: E731
    learned = lambda s: (s.agent.params, s.discriminator.params, s.obs_stats)  # noqa: E731
    for i in (0, 2):  # the healthy seeds: exactly the run without the poisoned one
        jax.tree.map(np.testing.assert_array_equal, seed(learned(after), i), seed(learned(clean), i))
        jax.tree.map(np.testing.assert_array_equal, seed(metrics, i), seed(clean_metrics, i))
    # the poisoned seed keeps its last finite parameters
    jax.tree.map(np.testing.assert_array_equal, seed(learned(after), 1), seed(learned(before), 1))
    assert all(np.isfinite(x).all() for x in jax.tree.leaves(learned(after)))


def test_rl_flags_a_seed_whose_first_update_is_non_finite():
    env = envs.make("CartPole-v1", max_episode_steps=50)
    generator = TRPOConfig(value_learning_rate=jnp.array([1e-3, INF]), value_epochs=1, cg_iters=3,
                           backtrack_iters=3)
    config = rl.RLConfig(env=env, generator=generator, num_envs=4, num_steps=16, total_timesteps=4 * 16 * 2,
                         network=NetworkConfig((16,)))
    axes = sweep.in_axes(config, "generator.value_learning_rate")
    keys = jnp.stack([jax.random.key(4)] * 2)  # the same seed twice: only the learning rate differs
    initial = jax.jit(jax.vmap(rl.init, (0, axes)))(keys, config)
    states, metrics = jax.jit(jax.vmap(lambda s: rl.run(s, 2)))(initial)
    np.testing.assert_array_equal(states.nonfinite_iteration, [-1, 0])
    np.testing.assert_array_equal(metrics["nonfinite"], [[0, 0], [1, 1]])
    first = lambda tree, i: jax.tree.map(lambda x: x[i], tree)  # noqa: E731
    jax.tree.map(np.testing.assert_array_equal, first(states.agent.params, 1), first(initial.agent.params, 1))
    assert not any(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(first(states.agent.params, 0)),
                                                       jax.tree.leaves(first(initial.agent.params, 0))))


# Checkpoint integrity -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def agent():
    network = NetworkConfig((16, 8), "relu")
    params = jax.jit(PolicyNetworks.create(ENV.action_space, network).init, static_argnums=1)(
        jax.random.key(0), ENV.obs_dim)
    return params, make_spec(ENV, network, False)


@pytest.fixture()
def checkpoint(tmp_path, agent):
    params, spec = agent
    return save_agent(tmp_path / "agent", params, RunningStats.create(ENV.obs_dim), spec), params, spec


def state_files(directory):
    return sorted(f for f in glob.glob(os.path.join(directory, "state", "**"), recursive=True) if os.path.isfile(f))


def test_checkpoint_directories_get_the_normal_mode(tmp_path, checkpoint):
    old = os.umask(0o022)
    try:
        directory, params, spec = checkpoint
        again = save_agent(tmp_path / "again", params, RunningStats.create(ENV.obs_dim), spec)
    finally:
        os.umask(old)
    assert os.stat(again).st_mode & 0o777 == 0o755


@pytest.mark.parametrize("damage", ["garble", "truncate", "flip one bit"])
def test_a_damaged_state_file_is_named(checkpoint, damage):
    directory, _, _ = checkpoint
    for path in state_files(directory):
        original = open(path, "rb").read()
        data = bytearray(original)
        if damage == "garble":
            data = bytearray(np.random.default_rng(0).integers(0, 256, len(data), dtype=np.uint8).tobytes())
        elif damage == "truncate":
            data = data[: len(data) // 2]
        else:
            data[len(data) // 2] ^= 0x04
        open(path, "wb").write(bytes(data))
        with pytest.raises(CheckpointError, match=f"{path} is damaged"):
            load_agent(directory)
        open(path, "wb").write(original)
    load_agent(directory)


def test_other_weights_under_an_intact_looking_manifest_are_caught_by_the_checksum(tmp_path, checkpoint):
    directory, params, spec = checkpoint
    other = save_agent(tmp_path / "other", jax.tree.map(lambda x: x + 1e-3, params),
                       RunningStats.create(ENV.obs_dim), spec)
    shutil.rmtree(os.path.join(directory, "state"))
    shutil.copytree(os.path.join(other, "state"), os.path.join(directory, "state"))
    spec_path = os.path.join(directory, "spec.json")
    stored = json.load(open(spec_path))
    stored["state_files"] = json.load(open(os.path.join(other, "spec.json")))["state_files"]
    json.dump(stored, open(spec_path, "w"))
    with pytest.raises(CheckpointError, match="checksum_sha256 mismatch"):
        load_agent(directory)


@pytest.mark.parametrize("edit, message", [
    (lambda spec: [spec], "must hold a JSON object, not a list"),
    (lambda spec: {k: v for k, v in spec.items() if k != "env_options"}, r"lacks \['env_options'\]"),
    (lambda spec: spec | {"network": spec["network"] | {"hidden_sizes": [16, 9]}},
     r"do not match spec.json .*Dense_1'\]\['bias'\]: stored float32\[8\], spec implies float32\[9\]"),
    (lambda spec: spec | {"network": spec["network"] | {"hidden_sizes": [16, 8], "activation": "tanh"}},
     "checksum_sha256 mismatch"),
    (lambda spec: spec | {"env_options": None}, "env_options must be a JSON object"),
])
def test_a_mismatched_spec_gives_one_clear_message(checkpoint, edit, message):
    directory, _, _ = checkpoint
    spec_path = os.path.join(directory, "spec.json")
    json.dump(edit(json.load(open(spec_path))), open(spec_path, "w"))
    with pytest.raises(CheckpointError, match=message) as info:
        load_agent(directory)
    assert directory in str(info.value)


# Malformed datasets ------------------------------------------------------------------------

@pytest.mark.parametrize("fields, metadata_edit, message", [
    ({"obs": np.full((15, 4), "x")}, {}, "obs must be a float array, got <U1"),
    ({"terminated": np.zeros(15, np.float32)}, {}, "terminated must be a bool array, got float32"),
    ({"episode_lengths": np.array([6, 6, -2])}, {}, "episode_lengths must all be >= 1, got -2"),
    ({}, {"env_options": None}, "env_options must be a JSON object"),
    ({}, {"expert_return_mean": "high"}, "expert_return_mean must be a finite number or null"),
    ({"action": np.array(list(range(15)), dtype=object)}, {}, "holds object arrays"),
])
def test_a_malformed_dataset_file_gives_a_clear_message(tmp_path, fields, metadata_edit, message):
    data = small_dataset()
    path = write_npz(tmp_path / "d.npz", data, data.metadata | metadata_edit, **fields)
    with pytest.raises(DatasetError, match=message):
        demos.load(path, env=ENV)


def test_random_bytes_are_not_a_dataset_and_the_message_does_not_suggest_allow_pickle(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    with pytest.raises(DatasetError, match="not a jgail demonstrations .npz file") as info:
        demos.load(path)
    assert "allow_pickle" not in str(info.value)


def test_from_arrays_explains_wrongly_typed_arrays():
    obs = np.zeros((4, 4), np.float32)
    with pytest.raises(DatasetError, match="obs must be an array of numbers"):
        demos.from_arrays([["a"] * 4] * 4, [0, 1, 0, 1], env=ENV)
    with pytest.raises(DatasetError, match="terminated must hold booleans .*0.5"):
        demos.from_arrays(obs, [0, 1, 0, 1], terminated=[0, 0, 0, 0.5], env=ENV)
    with pytest.raises(DatasetError, match="action must be an array of numbers"):
        demos.from_arrays(obs, ["left"] * 4, env=ENV)
    assert math.isnan(demos.from_arrays(obs, [0, 1, 0, 1], env=ENV).episode_returns[0])
