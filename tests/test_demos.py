"""Expert demonstrations: collection, filtering, validation, the .npz format and its atomic save."""

import dataclasses
import json
import os

import jax
import numpy as np
import pytest

from jgail import demos as demos_lib
from jgail.core.networks import NetworkConfig, PolicyNetworks
from jgail.core.normalization import RunningStats
from jgail.envs import make
from jgail.run.evaluation import evaluate_fn

CAP = 20
NUM_EPISODES = 12


@pytest.fixture(scope="module")
def env():
    return make("CartPole-v1", max_episode_steps=CAP)


@pytest.fixture(scope="module")
def policy_fn(env):
    nets = PolicyNetworks.create(env.action_space, NetworkConfig((8,), "tanh"))
    params = nets.init(jax.random.PRNGKey(0), env.obs_dim)
    stats = RunningStats.create(env.obs_dim)
    return lambda obs: nets.dist(params, stats, obs)


@pytest.fixture(scope="module")
def demos(env, policy_fn):
    return demos_lib.collect(jax.random.PRNGKey(1), env, policy_fn, NUM_EPISODES, expert="random init")


def episode_slices(d):
    ends = np.cumsum(d.episode_lengths)
    return [slice(end - length, end) for end, length in zip(ends, d.episode_lengths)]


def test_collect_is_episode_major_with_lengths_summing_to_pairs(demos, env):
    assert demos.num_episodes == NUM_EPISODES
    assert demos.episode_lengths.sum() == demos.num_pairs == len(demos.obs)
    np.testing.assert_array_equal(
        demos.episode_id, np.repeat(np.arange(NUM_EPISODES), demos.episode_lengths)
    )
    assert demos.obs.shape == (demos.num_pairs, 4) and demos.obs.dtype == np.float32
    assert demos.action.shape == (demos.num_pairs,) and demos.action.dtype == np.int32
    assert demos.next_obs.shape == demos.obs.shape
    assert 1 <= demos.episode_lengths.min() and demos.episode_lengths.max() <= CAP


def test_collect_sees_the_same_episodes_as_evaluation(demos, env, policy_fn):
    # Same key discipline as evaluate_fn, so the episodes are identical; CartPole pays 1 a step.
    result = evaluate_fn(jax.random.PRNGKey(1), env, policy_fn, NUM_EPISODES)
    np.testing.assert_array_equal(demos.episode_lengths, np.asarray(result["lengths"]))
    np.testing.assert_array_equal(demos.episode_returns, np.asarray(result["returns"]))
    np.testing.assert_array_equal(demos.episode_returns, demos.episode_lengths.astype(np.float32))


def test_next_obs_is_the_following_obs_within_an_episode(demos):
    for episode in episode_slices(demos):
        np.testing.assert_array_equal(demos.next_obs[episode][:-1], demos.obs[episode][1:])


def test_each_episode_ends_at_its_last_step_truncated_exactly_at_the_cap(demos):
    done = demos.terminated | demos.truncated
    ends = np.cumsum(demos.episode_lengths) - 1
    assert done[ends].all() and done.sum() == demos.num_episodes
    assert not (demos.terminated & demos.truncated).any()
    at_cap = demos.episode_lengths == CAP
    np.testing.assert_array_equal(demos.truncated[ends], at_cap & ~demos.terminated[ends])
    # this seed gives both kinds of ending, and a pole that falls on the very last allowed
    # step (terminated, not truncated), so the check above is not vacuous
    assert demos.truncated.any() and (demos.terminated[ends] & at_cap).any()


def test_greedy_collection_takes_the_mode(env, policy_fn):
    greedy = demos_lib.collect(jax.random.PRNGKey(2), env, policy_fn, 3, greedy=True)
    np.testing.assert_array_equal(greedy.action, np.asarray(policy_fn(greedy.obs).mode()))
    assert "greedy=True" in greedy.metadata["source"]


def test_metadata_records_env_expert_and_return_statistics(demos, env):
    meta = demos.metadata
    assert meta["format_version"] == 1 and meta["env_id"] == "CartPole-v1"
    assert meta["env_options"] == {"max_episode_steps": CAP}
    assert meta["obs_shape"] == [4] and meta["action_space"]["num_actions"] == 2
    assert meta["expert"] == {"name": "random init"}
    assert meta["num_episodes"] == NUM_EPISODES and meta["num_pairs"] == demos.num_pairs
    assert meta["expert_return_mean"] == pytest.approx(demos.episode_returns.mean())
    assert meta["expert_return_max"] == demos.episode_returns.max()
    json.dumps(meta)


def test_continuous_actions_are_collected_as_float_vectors():
    env = make("Pendulum-v1", max_episode_steps=5)
    nets = PolicyNetworks.create(env.action_space, NetworkConfig((8,), "tanh"))
    params = nets.init(jax.random.PRNGKey(0), env.obs_dim)
    policy = lambda obs: nets.dist(params, RunningStats.create(env.obs_dim), obs)  # noqa: E731
    d = demos_lib.collect(jax.random.PRNGKey(0), env, policy, 2)
    assert d.action.shape == (10, 1) and d.action.dtype == np.float32
    assert d.truncated.sum() == 2 and not d.terminated.any()
    with pytest.raises(ValueError, match=r"actions have shape \(2,\).*shape \(1,\)"):
        demos_lib.validate(dataclasses.replace(d, action=np.zeros((10, 2), np.float32)), env)


def test_filter_keeps_whole_episodes_at_or_above_min_return(demos):
    threshold = float(np.median(demos.episode_returns))
    kept = demos_lib.filter_episodes(demos, min_return=threshold)
    expected = demos.episode_returns[demos.episode_returns >= threshold]
    np.testing.assert_array_equal(kept.episode_returns, expected)
    assert kept.num_pairs == kept.episode_lengths.sum() == expected.sum()  # CartPole: return = length
    expected_ids = np.repeat(np.arange(len(expected)), kept.episode_lengths)
    np.testing.assert_array_equal(kept.episode_id, expected_ids)
    assert kept.metadata["expert_return_min"] >= threshold
    assert kept.metadata["num_episodes"] == len(expected)
    assert kept.metadata["filter"]["episodes_before"] == NUM_EPISODES


def test_filter_first_k_one_gives_exactly_the_first_passing_episode(demos):
    one = demos_lib.filter_episodes(demos, min_return=CAP, first_k=1)
    first = int(np.argmax(demos.episode_returns >= CAP))
    assert one.num_episodes == 1 and one.episode_lengths[0] == CAP
    np.testing.assert_array_equal(one.obs, demos.obs[demos.episode_id == first])
    np.testing.assert_array_equal(one.episode_id, np.zeros(CAP))


def test_filter_says_when_no_episode_passes(demos):
    best = demos.episode_returns.max()
    message = f"no episode has return >= 195 (best was {best:.1f} over {NUM_EPISODES} episodes)"
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        demos_lib.filter_episodes(demos, min_return=195)
    with pytest.raises(ValueError, match="first 99 episodes but only"):
        demos_lib.filter_episodes(demos, first_k=99)


def test_save_load_round_trip_is_exact(demos, env, tmp_path):
    path = demos_lib.save(demos, tmp_path / "expert")
    assert path.endswith("expert.npz")
    loaded = demos_lib.load(path, env=env)
    for field in demos_lib.ARRAY_FIELDS:
        np.testing.assert_array_equal(getattr(loaded, field), getattr(demos, field))
        assert getattr(loaded, field).dtype == getattr(demos, field).dtype
    assert loaded.metadata == demos.metadata
    with np.load(path, allow_pickle=False) as raw:
        assert set(raw.files) == set(demos_lib.ARRAY_FIELDS) | {"metadata"}


def test_a_failing_save_leaves_the_old_file_intact(demos, tmp_path, monkeypatch):
    path = demos_lib.save(demos, tmp_path / "expert.npz")
    before = open(path, "rb").read()

    def savez_that_dies_midway(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", savez_that_dies_midway)
    with pytest.raises(OSError, match="disk full"):
        demos_lib.save(demos, path)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["expert.npz"]  # no temp file left behind


def test_load_explains_missing_and_bad_files(demos, tmp_path):
    with pytest.raises(FileNotFoundError, match="no demonstrations file at"):
        demos_lib.load(tmp_path / "absent.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a jgail demonstrations .npz file"):
        demos_lib.load(tmp_path / "text.npz")
    np.savez(tmp_path / "partial.npz", obs=demos.obs)
    with pytest.raises(ValueError, match=r"missing key\(s\) \['action'"):
        demos_lib.load(tmp_path / "partial.npz")
    future = dataclasses.replace(demos, metadata=dict(demos.metadata, format_version=7))
    demos_lib.save(future, tmp_path / "future.npz")
    with pytest.raises(ValueError, match="format_version 7; this jgail reads version 1"):
        demos_lib.load(tmp_path / "future.npz")


def test_validate_rejects_observations_of_the_wrong_shape(demos, env):
    narrow = dataclasses.replace(demos, obs=demos.obs[:, :3], next_obs=demos.next_obs[:, :3])
    with pytest.raises(ValueError, match=r"shape \(3,\) per pair but CartPole-v1 .*shape \(4,\)"):
        demos_lib.validate(narrow, env)


def test_validate_rejects_nan(demos, env):
    obs = demos.obs.copy()
    obs[5, 2] = np.nan
    with pytest.raises(ValueError, match="obs contains NaN or inf .*first at row 5"):
        demos_lib.validate(dataclasses.replace(demos, obs=obs), env)


def test_validate_rejects_out_of_range_discrete_actions(demos, env):
    action = demos.action.copy()
    action[3] = 2
    with pytest.raises(ValueError, match=r"action 2 out of range \[0, 2\) for CartPole-v1 \(1 pairs, first at row 3\)"):
        demos_lib.validate(dataclasses.replace(demos, action=action), env)
    with pytest.raises(ValueError, match=r"action 5 out of range \[0, 2\) .*first at row 7\)"):
        demos_lib.from_arrays(demos.obs[:10], np.r_[np.zeros(7, int), 5, 0, 0], env=env)


def test_validate_names_both_env_ids_when_they_differ(demos):
    message = "collected on 'CartPole-v1' but the environment is 'Acrobot-v1'"
    with pytest.raises(ValueError, match=message):
        demos_lib.validate(demos, make("Acrobot-v1"))


def test_validate_rejects_an_empty_dataset(demos, env):
    empty = demos_lib.filter_episodes(demos, first_k=1)
    empty = dataclasses.replace(
        empty, **{f: getattr(empty, f)[:0] for f in demos_lib.ARRAY_FIELDS}
    )
    with pytest.raises(ValueError, match="empty"):
        demos_lib.validate(empty, env)


def test_check_env_options_names_the_differing_option_and_the_dataset_value(demos):
    demos_lib.check_env_options(demos, "CartPole-v1", {"max_episode_steps": CAP})
    with pytest.raises(ValueError, match="max_episode_steps: dataset 20, requested 500"):
        demos_lib.check_env_options(demos, "CartPole-v1", {"max_episode_steps": 500})
    with pytest.raises(ValueError, match="max_episode_steps: dataset 20, requested not set"):
        demos_lib.check_env_options(demos, "CartPole-v1", {})


def test_from_arrays_round_trips_a_complete_dataset(demos, env):
    rebuilt = demos_lib.from_arrays(
        demos.obs, demos.action, demos.next_obs, demos.terminated, demos.truncated,
        demos.episode_id, demos.episode_returns, env=env,
    )
    for field in demos_lib.ARRAY_FIELDS:
        np.testing.assert_array_equal(getattr(rebuilt, field), getattr(demos, field))
    assert rebuilt.metadata["expert"] == {"name": "external"}


def test_from_arrays_infers_next_obs_and_truncation_from_episode_ids(env):
    obs = np.arange(20, dtype=np.float32).reshape(5, 4)
    action = np.array([0.0, 1.0, 1.0, 0.0, 1.0])  # integral floats are accepted
    d = demos_lib.from_arrays(obs, action, episode_id=[7, 7, 7, 3, 3], env=env)
    np.testing.assert_array_equal(d.episode_lengths, [3, 2])
    np.testing.assert_array_equal(d.episode_id, [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(d.next_obs, obs[[1, 2, 2, 4, 4]])
    np.testing.assert_array_equal(d.truncated, [False, False, True, False, True])
    assert d.action.dtype == np.int32 and d.metadata["expert_return_mean"] is None
    with pytest.raises(ValueError, match="not contiguous"):
        demos_lib.from_arrays(obs, action, episode_id=[0, 1, 0, 1, 1], env=env)
    with pytest.raises(ValueError, match="non-integer"):
        demos_lib.from_arrays(obs, action + 0.5, env=env)


def test_to_jax_gives_device_arrays_for_the_gail_loop(demos):
    expert = demos_lib.to_jax(demos)
    assert isinstance(expert.obs, jax.Array) and expert.num_pairs == demos.num_pairs
    np.testing.assert_array_equal(expert.action, demos.action)
    np.testing.assert_array_equal(expert.terminated, demos.terminated)
