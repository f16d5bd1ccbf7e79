"""Bad command-line input is caught before anything trains, nothing is overwritten silently,
and conflicting or rounded options are said out loud (issue: hardening, command-line half)."""

import json
import os
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from jgail import cli, demos, envs, scripted
from jgail.run import driver

ENV = ["--env", "CartPole-v1", "--max-episode-steps", "50"]
# One iteration of 2 seeds, 5 eval episodes: the GAIL programs test_runs and test_export also
# compile (the same demos), so the run's shared compilation cache holds them once.
TINY = ["--seeds", "2", "--total-timesteps", "1024", "--eval-episodes", "5", "--no-progress"]


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("hardening")
    env = envs.make("CartPole-v1", max_episode_steps=50)
    return demos.save(demos.collect(jax.random.key(0), env, scripted.cartpole, 2, greedy=True), root / "demos.npz")


@pytest.fixture
def no_training(monkeypatch):
    """Any attempt to train fails the test: the error must come before."""
    def refuse(*args, **kwargs):
        raise AssertionError("training started before the bad input was caught")

    monkeypatch.setattr(driver, "drive", refuse)
    monkeypatch.setattr(demos, "collect", refuse)


def _error(capsys, argv) -> str:
    assert cli.main(argv) == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("command", ["gail", "bc"])
@pytest.mark.parametrize("out", ["/proc/jgail-out", "{tmp}/a_file.txt/sub"])
def test_an_unwritable_out_is_refused_before_training(command, out, demo_file, tmp_path, capsys, no_training):
    (tmp_path / "a_file.txt").write_text("x")
    err = _error(capsys, [command, *ENV, "--demos", str(demo_file), "--out", out.format(tmp=tmp_path), *TINY[:2]])
    assert "--out" in err and ("not writable" in err or "not a directory" in err)


def test_expert_refuses_a_directory_holding_other_files(tmp_path, capsys, no_training):
    (tmp_path / "notes.txt").write_text("mine")
    err = _error(capsys, ["expert", *ENV, "--out", str(tmp_path), *TINY])
    assert "already holds other files" in err and "--overwrite" in err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_collect_checks_its_output_before_rolling_out(tmp_path, capsys, no_training):
    expert = tmp_path / "expert"
    expert.mkdir()
    err = _error(capsys, ["collect", "--expert", str(expert), "--episodes", "2", "--out", str(tmp_path)])
    assert "is a directory" in err
    (tmp_path / "old.npz").write_text("x")
    err = _error(capsys, ["collect", "--expert", str(expert), "--episodes", "2", "--out", str(tmp_path / "old")])
    assert "already exists" in err and "--overwrite" in err
    err = _error(capsys, ["collect", "--expert", str(expert), "--episodes", "2", "--out", "/proc/x/demos.npz"])
    assert "not writable" in err


def test_runs_are_never_overwritten_silently_and_the_written_path_is_printed(demo_file, tmp_path, capsys):
    out = tmp_path / "gail"
    assert cli.main(["gail", *ENV, "--demos", str(demo_file), "--out", str(out), *TINY]) == 0
    summary = (out / "summary.json").read_text()
    err = _error(capsys, ["gail", *ENV, "--demos", str(demo_file), "--out", str(out), *TINY])
    assert "already holds an earlier run" in err and (out / "summary.json").read_text() == summary
    err = _error(capsys, ["bc", *ENV, "--demos", str(demo_file), "--out", str(out), "--updates", "5"])
    assert "--overwrite" in err
    assert cli.main(["bc", *ENV, "--demos", str(demo_file), "--out", str(out), "--updates", "5", "--seeds", "1",
                     "--eval-episodes", "2", "--overwrite"]) == 0
    assert json.loads((out / "summary.json").read_text())["method"] == "bc"

    expert = tmp_path / "expert"
    assert cli.main(["expert", *ENV, "--out", str(expert), *TINY]) == 0
    capsys.readouterr()
    assert "already holds an earlier run" in _error(capsys, ["expert", *ENV, "--out", str(expert), *TINY])
    assert "--overwrite" in _error(capsys, ["gail", *ENV, "--demos", str(demo_file), "--out", str(expert), *TINY])
    assert cli.main(["collect", "--expert", str(expert), "--episodes", "2", "--out", str(tmp_path / "victim.txt")]) == 0
    assert "wrote " + str(tmp_path / "victim.txt.npz") in capsys.readouterr().out
    assert (tmp_path / "victim.txt.npz").exists()


def test_conflicting_options_are_errors_and_rounding_is_said(demo_file, tmp_path, capsys, no_training):
    base = ["gail", *ENV, "--demos", str(demo_file), "--out", str(tmp_path / "run")]
    assert "cannot be combined with --reward log_d" in _error(capsys, [*base, "--airl", "--reward", "log_d"])
    assert "--num-envs" in _error(capsys, [*base, "--num-envs", "0"])
    with pytest.raises(AssertionError, match="training started"):  # valid: the note comes, then training
        cli.main([*base, "--total-timesteps", "1"])
    assert "--total-timesteps 1 runs as 1 iteration(s) of 1024 steps" in capsys.readouterr().out


def test_a_dataset_without_expert_returns_trains_and_reports_no_normalised_score(tmp_path, capsys):
    env = envs.make("CartPole-v1", max_episode_steps=50)
    data = demos.collect(jax.random.key(0), env, scripted.cartpole, 2, greedy=True)
    bare = demos.from_arrays(data.obs, data.action, next_obs=data.next_obs, terminated=data.terminated,
                             truncated=data.truncated, episode_id=data.episode_id, env=env)
    assert bare.metadata["expert_return_mean"] is None
    path = demos.save(bare, tmp_path / "bare.npz")
    for command, extra in (("gail", TINY), ("bc", ["--updates", "5", "--seeds", "1", "--eval-episodes", "2"])):
        out = tmp_path / command
        assert cli.main([command, *ENV, "--demos", str(path), "--out", str(out), *extra]) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["expert_return"] is None and summary["normalised_score_mean"] is None
        assert "no expert return" in summary["normalised_score_note"]
        assert np.isfinite(summary["eval_mean_return"])


def test_ctrl_c_during_set_up_prints_no_traceback_and_leaves_no_empty_run(tmp_path):
    out = tmp_path / "expert"
    # A terminal's Ctrl-C reaches a process with Python's own SIGINT handler; a child of a
    # pytest-xdist worker would inherit the worker's ignored SIGINT, so the child installs it.
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from jgail.cli import main; sys.exit(main(sys.argv[1:]))")
    argv = [sys.executable, "-c", code, "--no-compile-cache", "expert", *ENV, "--out", str(out), *TINY]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "config.json").exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)  # while compiling: no checkpoint exists yet
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert not os.path.exists(out)


def test_a_ctrl_c_that_python_drops_in_a_gc_callback_still_stops_the_command(tmp_path, monkeypatch):
    # Python reports a KeyboardInterrupt raised inside a gc callback (JAX has one) as "Exception
    # ignored" and goes on; the command must still stop before training (the race behind a rare
    # failure of the test above). Here the Ctrl-C is raised inside a gc callback on purpose.
    import gc

    from jgail.cli import runs

    monkeypatch.setattr(driver, "drive", lambda *a, **k: pytest.fail("training started after Ctrl-C"))
    fired = []

    def ctrl_c_in_gc(phase, info):
        if not fired:
            fired.append(phase)
            signal.raise_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # a terminal's, not xdist's
    gc.callbacks.append(ctrl_c_in_gc)
    try:
        with runs.interrupts_remembered():
            gc.collect()  # the KeyboardInterrupt is raised in the callback and dropped by Python
            assert fired
            with pytest.raises(KeyboardInterrupt):
                runs.drive(None, None, None)
        assert not runs._interrupted.is_set()  # outside the command, nothing is remembered
    finally:
        gc.callbacks.remove(ctrl_c_in_gc)
        signal.signal(signal.SIGINT, previous)


def test_the_default_episode_cap_spelled_out_is_the_same_env(tmp_path):
    # A CartPole-v1 dataset collected at the default cap (500) with --max-episode-steps 500.
    env = envs.make("CartPole-v1")
    path = demos.save(demos.collect(jax.random.key(0), env, scripted.cartpole, 1, greedy=True), tmp_path / "d.npz")
    assert cli.main(["bc", "--env", "CartPole-v1", "--max-episode-steps", "500", "--demos", str(path),
                     "--out", str(tmp_path / "bc"), "--updates", "5", "--seeds", "1", "--eval-episodes", "2"]) == 0


@pytest.mark.parametrize("flag", [["--disc-lr", "inf"], ["--ent-coef", "nan"], ["--disc-lr", "-1"]])
def test_non_finite_or_out_of_range_numbers_are_refused_before_training(flag, demo_file, tmp_path, capsys,
                                                                        no_training):
    err = _error(capsys, ["gail", *ENV, "--demos", str(demo_file), "--out", str(tmp_path / "g"), *flag])
    assert flag[0] in err, err


def test_bc_refuses_a_negative_learning_rate(demo_file, tmp_path, capsys, no_training):
    err = _error(capsys, ["bc", *ENV, "--demos", str(demo_file), "--out", str(tmp_path / "b"), "--lr", "-0.1"])
    assert "--lr" in err


def test_a_seed_that_goes_non_finite_is_reported_and_the_command_fails(demo_file, tmp_path, monkeypatch, capsys):
    from jgail.cli import imitation

    real_job = imitation.gail_job

    def poisoned_job(config, expert, eval_episodes):
        job = real_job(config, expert, eval_episodes)

        def init(key, data):  # seed 1 of 2 starts with a NaN weight (the second key of the split)
            state = job.init(key, data)
            poison = jax.random.key_data(key)[-1] == jax.random.key_data(jax.random.split(jax.random.key(0), 2)[1])[-1]
            params = jax.tree.map(lambda x: jax.numpy.where(poison, jax.numpy.nan, x), state.agent.params)
            return state.replace(agent=state.agent.replace(params=params))

        return job.__class__(**{**job.__dict__, "init": init})

    monkeypatch.setattr(imitation, "gail_job", poisoned_job)
    out = tmp_path / "nan"
    code = cli.main(["gail", *ENV, "--demos", str(demo_file), "--out", str(out), "--seeds", "2",
                     "--total-timesteps", "2048", "--chunk", "1", "--eval-episodes", "5", "--no-progress"])
    assert code == 3
    summary = json.loads((out / "summary.json").read_text())
    assert summary["nonfinite_iteration_per_seed (-1: finite)"] == [-1, 0]
    assert "non-finite in seed(s) [1]" in capsys.readouterr().out


def test_airl_flag_runs_the_airl_preset_with_absorbing_states_unless_turned_off():
    from jgail import presets
    from jgail.cli import app
    from jgail.cli.imitation import gail_config_from_args

    env = envs.make("CartPole-v1", max_episode_steps=50)
    base = ["gail", *ENV, "--demos", "d.npz", "--out", "o", "--airl"]
    config = gail_config_from_args(app.parse(base), env)
    assert config == presets.airl_config(env, "ppo")
    assert config.discriminator.kind == "airl" and config.discriminator.absorbing and config.reward == "airl"
    # AIRL's own budget (issue 30: its entropy-paying reward sharpens the sampled policy slowly).
    assert config.total_timesteps == 200_000 > presets.gail_config(env).total_timesteps == 100_000
    assert gail_config_from_args(app.parse([*base, "--total-timesteps", "5000"]), env).total_timesteps == 5000
    assert not gail_config_from_args(app.parse([*base, "--no-absorbing"]), env).discriminator.absorbing


def test_no_preset_warm_starts_gail_and_a_flag_turns_the_bc_warm_start_on():
    # issue 32: the BC warm start is an option (--bc-warmstart N), no default, at either CartPole
    # cap (it collapsed on deterministic experts' episodes); AIRL never takes one.
    from jgail import presets
    from jgail.cli import app
    from jgail.cli.imitation import gail_config_from_args

    def warm(env, *flags):
        args = app.parse(["gail", "--env", "CartPole-v1", "--demos", "d.npz", "--out", "o", *flags])
        return gail_config_from_args(args, env).bc.num_updates

    cap500, cap200 = envs.make("CartPole-v1"), envs.make("CartPole-v1", max_episode_steps=200)
    assert warm(cap500) == warm(cap200) == warm(envs.make("Acrobot-v1")) == 0
    assert warm(cap500, "--bc-warmstart", str(presets.CARTPOLE_BC_UPDATES)) == 1000
    assert warm(cap500, "--airl") == 0 and warm(cap200, "--bc-warmstart", "300") == 300
    assert presets.gail_config(cap500, bc_updates=1000) == presets.gail_config(cap500).replace(
        bc=presets.gail_config(cap500).bc.replace(num_updates=1000))
