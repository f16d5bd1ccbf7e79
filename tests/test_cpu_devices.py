"""One JAX CPU device per core for the CLI: where the count comes from, bad counts, and how
the run driver splits a batch of seeds over the devices."""

import json
import os
import subprocess
import sys

import pytest

from jgail import cli
from jgail.run import cpu_devices

BC = ["bc", "--env", "CartPole-v1", "--demos", "d.npz", "--out", "o"]


@pytest.fixture
def no_jax_setting(monkeypatch):
    """As in a fresh `jgail` process: the user gave JAX no device count."""
    monkeypatch.delenv(cpu_devices.ENV_VAR, raising=False)
    monkeypatch.setattr(cpu_devices, "set_through_jax", lambda: False)


def test_the_count_comes_from_the_flag_then_the_variable_then_one_per_core(no_jax_setting, monkeypatch):
    assert cpu_devices.requested() == cpu_devices.usable_cores() == len(os.sched_getaffinity(0))
    assert cpu_devices.requested(multi_process=True) == 1  # each process is a core's worth already
    monkeypatch.setenv(cpu_devices.ENV_VAR, "3")
    assert cpu_devices.requested() == cpu_devices.requested(multi_process=True) == 3
    assert cpu_devices.requested(5) == 5


def test_a_count_given_to_jax_is_left_alone(monkeypatch):
    monkeypatch.delenv(cpu_devices.ENV_VAR, raising=False)
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=4")
    assert cpu_devices.set_through_jax() and cpu_devices.requested() is None
    monkeypatch.delenv("XLA_FLAGS")
    assert cpu_devices.set_through_jax()  # the test session set jax_num_cpu_devices (conftest)
    assert cpu_devices.configure() is None


@pytest.mark.parametrize("argv, env, message", [
    (["--cpu-devices", "0"], "", "--cpu-devices must be a whole number of CPU devices >= 1, got 0"),
    ([], "two", "JGAIL_CPU_DEVICES must be a whole number of CPU devices >= 1, got 'two'"),
])
def test_a_bad_count_is_a_usage_error_before_anything_runs(argv, env, message, monkeypatch, capsys):
    monkeypatch.setenv(cpu_devices.ENV_VAR, env)
    assert cli.main([*argv, *BC]) == 2
    assert message in capsys.readouterr().err


SPLIT = """
import jax
jax.config.update("jax_num_cpu_devices", 2)
from jgail.run import driver
print([len(driver.seed_devices(n)) for n in (8, 5, 2, 1)])
"""


def test_seeds_split_over_the_most_cpu_devices_they_divide_over():
    done = subprocess.run([sys.executable, "-c", SPLIT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "[2, 1, 2, 1]"


def test_a_jgail_command_trains_its_seeds_split_over_the_cpu_devices(tmp_path):
    """Two made-up demonstration episodes, 2 seeds, 2 CPU devices: the run says it split them,
    and a second run repeats the first's numbers exactly."""
    import numpy as np

    from jgail import demos, envs

    env = envs.make("CartPole-v1", max_episode_steps=50)
    rng = np.random.default_rng(0)
    data = demos.from_arrays(rng.normal(size=(40, 4)) * 0.05, rng.integers(0, 2, 40), episode_id=np.repeat([0, 1], 20),
                             episode_returns=np.array([20.0, 20.0]), env=env)
    demo_file = demos.save(data, str(tmp_path / "demos.npz"))
    code = "import sys; from jgail.cli.app import console_main; sys.exit(console_main())"
    runs = []
    for name in ("first", "second"):
        out = str(tmp_path / name)
        done = subprocess.run(
            [sys.executable, "-c", code, "--cpu-devices", "2", "gail", "--env", "CartPole-v1", "--max-episode-steps",
             "50", "--demos", demo_file, "--total-timesteps", "2048", "--seeds", "2", "--eval-episodes", "2",
             "--no-progress", "--out", out],
            capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        run = json.load(open(os.path.join(out, "run.json")))
        assert len(run["devices"]) == 2 and run["seed_devices"] == 2
        runs.append(open(os.path.join(out, "metrics.jsonl")).read())
    assert runs[0] == runs[1] and len(runs[0].splitlines()) == 2 * 2  # 2 iterations x 2 seeds
