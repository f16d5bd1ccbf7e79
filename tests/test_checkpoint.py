"""Agent checkpoints (orbax + spec.json) and atomic JSON writes."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgail.core.atomic_io import write_json_atomic
from jgail.core.networks import NetworkConfig, PolicyNetworks
from jgail.core.normalization import RunningStats
from jgail.envs import make
from jgail.run.checkpoint import (
    load_agent,
    make_spec,
    rebuild_nets,
    save_agent,
)

NETWORK = NetworkConfig((16, 8), "relu")


@pytest.fixture(scope="module")
def agent():
    env = make("CartPole-v1", max_episode_steps=20)
    nets = PolicyNetworks.create(env.action_space, NETWORK, normalize_obs=True)
    params = nets.init(jax.random.PRNGKey(0), env.obs_dim)
    stats = RunningStats.create(env.obs_dim).update(jax.random.normal(jax.random.PRNGKey(1), (32, 4)))
    spec = make_spec(env, NETWORK, True, training={"total_timesteps": 1000, "learning_rate": 3e-4})
    return env, nets, params, stats, spec


def assert_trees_equal(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    jax.tree.map(np.testing.assert_array_equal, a, b)


def test_save_load_round_trip_restores_params_stats_and_spec(agent, tmp_path):
    _, _, params, stats, spec = agent
    save_agent(tmp_path / "expert", params, stats, spec)
    loaded_params, loaded_stats, loaded_spec = load_agent(tmp_path / "expert")
    assert_trees_equal(loaded_params, params)
    assert_trees_equal(loaded_stats, stats)
    assert isinstance(loaded_stats, RunningStats)
    assert jax.tree.leaves(loaded_params)[0].dtype == jnp.float32
    assert loaded_spec == spec | {"format": "jgail-agent", "format_version": 1}
    assert loaded_spec["training"]["learning_rate"] == 3e-4
    assert sorted(os.listdir(tmp_path)) == ["expert"]  # no staging directory left behind


def test_rebuilt_networks_reproduce_the_saved_policy(agent, tmp_path):
    _, nets, params, stats, spec = agent
    save_agent(tmp_path / "expert", params, stats, spec)
    loaded_params, loaded_stats, loaded_spec = load_agent(tmp_path / "expert")
    env, rebuilt = rebuild_nets(loaded_spec)
    assert env.max_episode_steps == 20 and rebuilt.normalize_obs
    assert rebuilt.actor.network == NETWORK
    obs = jax.random.normal(jax.random.PRNGKey(2), (5, 4))
    np.testing.assert_array_equal(
        rebuilt.dist(loaded_params, loaded_stats, obs).logits, nets.dist(params, stats, obs).logits
    )


def test_save_refuses_to_replace_a_checkpoint_unless_asked(agent, tmp_path):
    _, _, params, stats, spec = agent
    save_agent(tmp_path / "expert", params, stats, spec)
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        save_agent(tmp_path / "expert", params, stats, spec)
    doubled = jax.tree.map(lambda x: 2 * x, params)
    save_agent(tmp_path / "expert", doubled, stats, spec, overwrite=True)
    assert_trees_equal(load_agent(tmp_path / "expert")[0], doubled)
    assert sorted(os.listdir(tmp_path)) == ["expert"]


def test_save_never_replaces_a_directory_that_is_not_a_checkpoint(agent, tmp_path):
    _, _, params, stats, spec = agent
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a jgail agent checkpoint"):
        save_agent(tmp_path / "mine", params, stats, spec, overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_load_explains_a_missing_or_foreign_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="no agent checkpoint at .*does not exist"):
        load_agent(tmp_path / "absent")
    (tmp_path / "other").mkdir()
    with pytest.raises(ValueError, match="not a jgail agent checkpoint"):
        load_agent(tmp_path / "other")


def test_save_rejects_an_incomplete_spec(agent, tmp_path):
    _, _, params, stats, spec = agent
    with pytest.raises(ValueError, match=r"lacks \['network'\]"):
        save_agent(tmp_path / "x", params, stats, {k: v for k, v in spec.items() if k != "network"})
    assert not (tmp_path / "x").exists()


def test_write_json_atomic_replaces_whole_or_not_at_all(tmp_path):
    path = tmp_path / "summary.json"
    write_json_atomic(path, {"mean_return": 200.0, "seeds": [0, 1]})
    assert json.loads(path.read_text()) == {"mean_return": 200.0, "seeds": [0, 1]}
    with pytest.raises(TypeError):
        write_json_atomic(path, {"bad": object()})
    assert json.loads(path.read_text())["mean_return"] == 200.0
    assert os.listdir(tmp_path) == ["summary.json"]


def test_atomic_writes_get_a_normal_file_mode(tmp_path):

    path = tmp_path / "summary.json"
    write_json_atomic(path, {"a": 1})
    mask = os.umask(0)
    os.umask(mask)
    assert (path.stat().st_mode & 0o777) == 0o666 & ~mask
