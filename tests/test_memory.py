"""The memory estimate made before compiling (jgail.run.memory), against XLA's own memory
analysis of the compiled chunk, and the refusals it drives: `jgail gail` / `jgail expert` with
more seeds than fit, and `jgail sweep --max-parallel auto` choosing groups that fit.

JGAIL_MEMORY_LIMIT stands in for a small machine (the check takes the smaller of it and what
the machine has)."""

import os

import jax
import jax.numpy as jnp
import pytest

from jgail import cli, demos, envs, presets, rl, scripted
from jgail.cli.imitation import gail_job
from jgail.core.distributions import random_policy
from jgail.core.networks import NetworkConfig
from jgail.run import driver, memory

TINY = ["--total-timesteps", "2048", "--eval-episodes", "2", "--no-progress"]


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    env = envs.make("CartPole-v1", max_episode_steps=50)
    return str(demos.save(demos.collect(jax.random.key(0), env, scripted.cartpole, 2, greedy=True),
                          tmp_path_factory.mktemp("memory") / "demos.npz"))


def _xla_bytes(job, keys):
    """What XLA's memory analysis says the driver's compiled chunk holds: arguments + outputs + temporaries."""
    state = jax.eval_shape(jax.vmap(job.init, in_axes=(0, None)), keys, job.data)
    chunk = jax.jit(jax.vmap(driver.chunk_fn(job.update, 2), in_axes=(0, None, None)))
    stats = chunk.lower(state, job.data, jnp.int32(2)).compile().memory_analysis()
    return (stats.argument_size_in_bytes + stats.output_size_in_bytes + stats.temp_size_in_bytes
            - stats.alias_size_in_bytes)


def _gail(env_id, seeds, hidden, **options):
    env = envs.make(env_id, **options)
    data = demos.to_jax(demos.collect(jax.random.key(0), env, random_policy(env.action_space), 2))  # shapes only
    config = presets.gail_config(env, "ppo").replace(num_envs=32, num_steps=32, network=NetworkConfig(hidden))
    config = config.replace(discriminator=config.discriminator.replace(hidden_sizes=hidden))
    config = config.replace(total_timesteps=config.batch_size * 2).validate()
    return gail_job(config, data, 2), jax.random.split(jax.random.key(0), seeds)


def _ppo(env_id, seeds, hidden):
    env = envs.make(env_id)
    config = presets.expert_config(env).replace(num_envs=64, num_steps=16, network=NetworkConfig(hidden))
    config = config.replace(total_timesteps=config.batch_size * 2).validate()
    job = driver.Job(init=lambda key, _: rl.init(key, config), update=lambda s, _: rl.update(s), num_iterations=2,
                     steps_per_iteration=config.batch_size, working_bytes=memory.working_bytes(config))
    return job, jax.random.split(jax.random.key(0), seeds)


@pytest.mark.parametrize("make", [
    lambda: _gail("CartPole-v1", 3, (64, 64), max_episode_steps=50),  # discrete, small nets, several seeds
    lambda: _gail("Pendulum-v1", 1, (256, 256)),  # continuous, wide nets
    lambda: _ppo("Pendulum-v1", 2, (128, 128)),  # the expert's PPO: no discriminator, no data
], ids=["gail-cartpole-3-seeds", "gail-pendulum-wide", "ppo-pendulum"])
def test_estimate_bounds_xla_memory_analysis_from_above_within_2_5x(make):
    job, keys = make()
    est = memory.estimate(job, keys[:1])
    measured = _xla_bytes(job, keys)
    estimated = est.total(len(keys))
    assert measured <= estimated <= 2.5 * measured, (measured, estimated, est)


def test_sizes_and_limits_parse_and_print():
    assert memory.parse_bytes("8GiB") == 8 * 2**30
    assert memory.parse_bytes("512 MB") == 512 * 10**6
    assert memory.parse_bytes("2000") == 2000
    for bad in ("", "lots", "-1GiB", "3 parsecs"):
        with pytest.raises(ValueError, match="JGAIL_MEMORY_LIMIT"):
            memory.parse_bytes(bad)
    assert memory.human(1536 * 2**20) == "1.5 GiB"
    assert memory.human(1010 * 2**30) == "1010 GiB"


def test_memory_limit_caps_what_is_available(monkeypatch):
    monkeypatch.setenv(memory.ENV_VAR, "1MiB")
    assert memory.available_bytes() == (2**20, "JGAIL_MEMORY_LIMIT=1MiB")
    est = memory.Estimate(state_per_seed=50_000, working_per_seed=100_000, shared=50_000)  # 200 kB a seed
    assert memory.fitting(est, 2**20) == 4  # (0.9 * 1 MiB - 50 kB) // 200 kB
    memory.check(est, 4)
    with pytest.raises(memory.DoesNotFit, match="5 seeds need about .* 4 seed\\(s\\) fit in one call"):
        memory.check(est, 5)


def _refused_before_compiling(monkeypatch, capsys, argv):
    def no_training(*args, **kwargs):
        raise AssertionError("the driver was reached: nothing should compile")

    monkeypatch.setattr(driver, "drive", no_training)
    assert cli.main(argv) == 2
    return capsys.readouterr().err


def test_gail_and_expert_refuse_seeds_that_do_not_fit_before_compiling(monkeypatch, capsys, tmp_path, demo_file):
    monkeypatch.setenv(memory.ENV_VAR, "256MiB")
    out = tmp_path / "gail"
    err = _refused_before_compiling(monkeypatch, capsys, [
        "gail", "--env", "CartPole-v1", "--max-episode-steps", "50", "--demos", demo_file, "--seeds", "64",
        "--num-envs", "64", "--out", str(out), *TINY])
    assert "64 seeds need about" in err and "JGAIL_MEMORY_LIMIT=256MiB has 256 MiB available" in err
    fits = int(err.split(" seed(s) fit in one call")[0].rsplit(" ", 1)[1])
    assert 1 <= fits < 64
    assert f"--seeds {fits}" in err and f"--max-parallel {fits}" in err and "--no-memory-check" in err
    assert not out.exists()  # nothing written
    out = tmp_path / "expert"
    err = _refused_before_compiling(monkeypatch, capsys, ["expert", "--env", "brax/hopper", "--seeds", "64",
                                                          "--out", str(out), "--no-progress"])
    assert "64 seeds need about" in err and "Train at most --seeds" in err and not out.exists()


def test_sweep_max_parallel_auto_runs_groups_that_fit(monkeypatch, capsys, tmp_path, demo_file):
    sweep = ["sweep", "--env", "CartPole-v1", "--max-episode-steps", "50", "--demos", demo_file, "--seeds", "2",
             "--grid", "disc.learning_rate=1e-4,1e-3", *TINY]
    # A limit that fits 2 of the 4 cells: from the estimate of one cell of this very sweep.
    env = envs.make("CartPole-v1", max_episode_steps=50)
    job, keys = _cartpole_sweep_job(env, demo_file)
    est = memory.estimate(job, keys[:1])
    monkeypatch.setenv(memory.ENV_VAR, str(int((est.shared + 2.5 * est.per_seed) / memory.HEADROOM)))
    err = _refused_before_compiling(monkeypatch, capsys, [*sweep, "--max-parallel", "4", "--out",
                                                          str(tmp_path / "refused")])
    assert "--max-parallel 2 (or --max-parallel auto)" in err and not (tmp_path / "refused").exists()
    monkeypatch.undo()
    monkeypatch.setenv(memory.ENV_VAR, str(int((est.shared + 2.5 * est.per_seed) / memory.HEADROOM)))
    out = tmp_path / "auto"
    assert cli.main([*sweep, "--max-parallel", "auto", "--out", str(out)]) == 0
    assert "--max-parallel auto: 2 of 4 cells per call" in capsys.readouterr().out
    assert sorted(n for n in os.listdir(out) if n.startswith("cells-")) == ["cells-0-1", "cells-2-3"]


def _cartpole_sweep_job(env, demo_file):
    """One cell of the sweep above, as `jgail sweep` builds it (the preset with --total-timesteps 2048)."""
    data = demos.to_jax(demos.load(demo_file))
    config = presets.gail_config(env, "ppo", total_timesteps=2048)
    return gail_job(config, data, 2), jax.random.split(jax.random.key(0), 1)
