"""Long runs: chunked training equals one call, SIGTERM or kill -9 (with a torn log line and a
half-written checkpoint) + --resume ends bit-identical to an uninterrupted run, a crash while
checkpointing leaves the previous checkpoint in charge, and the run directory describes the run
(config.json re-runs it, plots and eval read it)."""

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from jgail import cli, demos, envs, presets, rl, scripted
from jgail.run import driver, lock

ENV_ARGS = ["--env", "CartPole-v1", "--max-episode-steps", "50"]
# 16 iterations of 8 x 128 steps in chunks of 2, a checkpoint after every chunk: long enough
# (seconds) for a signal sent when the first checkpoint appears to land mid-run on 2 cores.
ITERATIONS = 16
RUN_ARGS = ["--seeds", "2", "--total-timesteps", str(ITERATIONS * 1024), "--chunk", "2", "--checkpoint-every", "1",
            "--eval-episodes", "3", "--no-progress"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    env = envs.make("CartPole-v1", max_episode_steps=50)
    path = demos.save(demos.collect(jax.random.key(0), env, scripted.cartpole, 2, greedy=True), root / "demos.npz")
    return root, path


def _cli_env(root):
    # One compile cache for the three processes below: only the first compiles.
    return {**os.environ, "JGAIL_COMPILE_CACHE": str(root / "cache"), "PYTHONUNBUFFERED": "1"}


def _jgail(*argv):
    return [sys.executable, "-c", "import sys; from jgail.cli import main; sys.exit(main(sys.argv[1:]))", *argv]


def _final_state(run_dir):
    manager = driver.checkpoint_manager(str(run_dir))
    step = manager.latest_step()
    import orbax.checkpoint as ocp

    return step, manager.restore(step, args=ocp.args.StandardRestore())


def _gail_argv(demo_file):
    return ["gail", *ENV_ARGS, "--demos", str(demo_file), *RUN_ARGS]


@pytest.fixture(scope="module")
def whole(workdir):
    """The uninterrupted run that the interrupted ones must end identical to."""
    root, demo_file = workdir
    done = subprocess.run(_jgail(*_gail_argv(demo_file), "--out", str(root / "whole")), env=_cli_env(root),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return root / "whole"


def _start_and_wait_for_a_checkpoint(root, argv):
    process = subprocess.Popen(_jgail(*argv), env=_cli_env(root), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    checkpoints = root / argv[argv.index("--out") + 1] / driver.CHECKPOINT_DIR
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if checkpoints.is_dir() and any(p.name.isdigit() for p in checkpoints.iterdir()):
            break
        time.sleep(0.05)
    return process


def _assert_same_run(whole, cut):
    step_a, state_a = _final_state(whole)
    step_b, state_b = _final_state(cut)
    assert step_a == step_b == ITERATIONS
    jax.tree.map(np.testing.assert_array_equal, state_a, state_b)
    assert (whole / driver.METRICS_LOG).read_text() == (cut / driver.METRICS_LOG).read_text()
    assert json.loads((whole / "summary.json").read_text())["eval_mean_return_per_seed"] == \
        json.loads((cut / "summary.json").read_text())["eval_mean_return_per_seed"]


def test_sigterm_then_resume_is_bit_identical_to_an_uninterrupted_run(workdir, whole):
    root, demo_file = workdir
    cut = root / "cut"
    process = _start_and_wait_for_a_checkpoint(root, [*_gail_argv(demo_file), "--out", str(cut)])
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert f"jgail gail --resume {cut}" in stderr and "Traceback" not in stderr
    interrupted_at = driver.checkpoint_manager(str(cut)).latest_step()
    assert 0 < interrupted_at < ITERATIONS, "the signal must land mid-run for this test to mean anything"

    resumed = subprocess.run(_jgail("gail", "--resume", str(cut), "--no-progress"), env=_cli_env(root),
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    _assert_same_run(whole, cut)
    run_info = json.loads((cut / "run.json").read_text())
    assert run_info["resumed_from_iteration"] == interrupted_at
    assert run_info["demos"]["sha256"] and run_info["versions"]["jax"] == jax.__version__


def test_kill_9_mid_run_leaves_a_run_that_resumes_to_the_uninterrupted_result(workdir, whole):
    """SIGKILL (no handler runs) a moment after the first checkpoint, then add what a kill at a worse
    moment leaves: a half-written checkpoint directory and a torn last line in metrics.jsonl."""
    root, demo_file = workdir
    cut = root / "killed"
    process = _start_and_wait_for_a_checkpoint(root, [*_gail_argv(demo_file), "--out", str(cut)])
    time.sleep(np.random.default_rng(0).uniform(0.0, 0.5))  # somewhere inside a later chunk
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    latest = driver.checkpoint_manager(str(cut)).latest_step()
    assert 0 < latest < ITERATIONS, "the kill must land mid-run for this test to mean anything"
    assert (cut / lock.LOCK_FILE).exists()  # the dead process's lock stays behind
    checkpoints = cut / driver.CHECKPOINT_DIR
    half = checkpoints / f"{latest + 2}.orbax-checkpoint-tmp-1765000000000"
    shutil.copytree(checkpoints / str(latest), half)
    for path in sorted(p for p in half.rglob("*") if p.is_file())[::2]:
        path.unlink()
    with open(cut / driver.METRICS_LOG, "a") as log:
        log.write(f'{{"iteration": {ITERATIONS + 1}, "seed": 0, "episode_ret')

    resumed = subprocess.run(_jgail("gail", "--resume", str(cut), "--no-progress"), env=_cli_env(root),
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((cut / "run.json").read_text())["resumed_from_iteration"] == latest
    _assert_same_run(whole, cut)
    assert not (cut / lock.LOCK_FILE).exists()


def _small_job():
    config = presets.expert_config(envs.make("CartPole-v1", max_episode_steps=50), total_timesteps=8 * 128 * 6)
    return driver.Job(init=lambda key, _: rl.init(key, config), update=lambda state, _: rl.update(state),
                      num_iterations=config.num_iterations, steps_per_iteration=config.batch_size), config


def test_a_crash_while_checkpointing_leaves_the_previous_checkpoint_to_resume_from(tmp_path, monkeypatch):
    from orbax.checkpoint._src.path import atomicity

    job, config = _small_job()
    keys = jax.random.split(jax.random.key(1), 2)
    rename = atomicity.async_path.rename

    async def crash_on_second_commit(src, dst):
        if os.path.basename(str(dst)) == "4":  # all written, only the final rename missing: a crash
            raise OSError("simulated crash while committing a checkpoint")
        return await rename(src, dst)

    monkeypatch.setattr(atomicity.async_path, "rename", crash_on_second_commit)
    with pytest.raises(OSError, match="simulated crash"):
        driver.drive(job, keys, str(tmp_path), chunk_iterations=2, progress=False)
    monkeypatch.setattr(atomicity.async_path, "rename", rename)
    assert driver.checkpoint_manager(str(tmp_path)).latest_step() == 2  # the half-written 4 is not a checkpoint

    result = driver.drive(job, keys, str(tmp_path), chunk_iterations=2, progress=False, resume=True)
    assert result.resumed_from == 2
    uninterrupted = driver.drive(job, keys, str(tmp_path / "again"), chunk_iterations=2, progress=False)
    jax.tree.map(np.testing.assert_array_equal, uninterrupted.state.agent.params, result.state.agent.params)


def test_chunks_reuse_one_compiled_program_and_match_one_whole_call(tmp_path):
    job, config = _small_job()
    keys = jax.random.split(jax.random.key(2), 2)
    # 6 iterations in chunks of 4: the second chunk runs 2 and skips 2 inside the same program.
    result = driver.drive(job, keys, str(tmp_path), chunk_iterations=4, progress=False)
    # The whole-run program is a different XLA program: equal up to float32 rounding.
    whole, metrics = jax.jit(jax.vmap(rl.train, (0, None)))(keys, config)
    close = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    jax.tree.map(close, whole.agent.params, result.state.agent.params)
    close(np.asarray(metrics["policy_loss"]), result.metrics["policy_loss"])
    records = driver.read_log(str(tmp_path))
    assert len(records) == 6 * 2 and {r["iteration"] for r in records} == set(range(1, 7))
    header = (tmp_path / driver.METRICS_CSV).read_text().splitlines()[0]
    assert header.startswith("iteration,seed,") and "policy_loss" in header
    # A resumed run's state is typed like a fresh one's (no weakly typed leaf in either), so its
    # chunk is the same XLA program, loaded from the compilation cache rather than compiled again.
    _, restored = driver.restore_state(driver.checkpoint_manager(str(tmp_path)), result.state)
    aval = lambda x: (x.shape, x.dtype, getattr(x, "weak_type", False))
    assert jax.tree.map(aval, restored) == jax.tree.map(aval, result.state)


def test_stop_when_ends_training_after_the_chunk_it_first_holds_for_and_checkpoints_there(tmp_path):
    job, config = _small_job()
    seen = []

    def second_chunk(metrics):  # sees each chunk's metrics, [S, iterations of the chunk]
        seen.append(metrics["policy_loss"].shape)
        return len(seen) == 2

    keys = jax.random.split(jax.random.key(2), 2)
    result = driver.drive(dataclasses.replace(job, stop_when=second_chunk), keys, str(tmp_path),
                          chunk_iterations=2, checkpoint_every=5, progress=False)
    assert seen == [(2, 2), (2, 2)] and result.stopped_at == 4
    assert np.asarray(result.state.iteration).tolist() == [4, 4] and result.metrics["policy_loss"].shape == (2, 4)
    assert {r["iteration"] for r in driver.read_log(str(tmp_path))} == {1, 2, 3, 4}
    assert driver.checkpoint_manager(str(tmp_path)).latest_step() == 4  # saved as at the end
    full = driver.drive(job, keys, str(tmp_path / "full"), chunk_iterations=2, progress=False)
    assert full.stopped_at is None and full.metrics["policy_loss"].shape == (2, 6)
    np.testing.assert_array_equal(full.metrics["policy_loss"][:, :4], result.metrics["policy_loss"])


def test_run_directory_describes_the_run_and_config_json_reruns_it(workdir, tmp_path, monkeypatch):
    root, demo_file = workdir
    first, again = tmp_path / "first", tmp_path / "again"
    small = ["--seeds", "2", "--total-timesteps", "2048", "--eval-episodes", "5", "--no-progress"]
    monkeypatch.chdir(root)  # the demonstrations given by a relative path...
    assert cli.main(["gail", *ENV_ARGS, "--demos", os.path.basename(demo_file), "--out", str(first), *small,
                     "--chunk", "1", "--eval-every", "2", "--tensorboard"]) == 0
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(first / "tensorboard"))
    evaluated = [r for r in driver.read_log(str(first)) if r.get("eval_return") is not None]
    assert [r["iteration"] for r in evaluated] == [2, 2]  # both seeds, after the second chunk
    saved = json.loads((first / "config.json").read_text())
    assert saved["command"] == "gail" and saved["args"]["seeds"] == 2
    assert saved["args"]["demos"] == os.path.abspath(demo_file)  # ...are saved absolute
    monkeypatch.chdir(tmp_path)  # so the run re-runs and evaluates from any directory
    assert saved["config"]["discriminator"]["num_updates"] == 5
    assert cli.main(["gail", "--config", str(first / "config.json"), "--out", str(again)]) == 0
    assert (first / driver.METRICS_LOG).read_text() == (again / driver.METRICS_LOG).read_text()
    # An earlier run is never overwritten silently.
    assert cli.main(["gail", "--config", str(first / "config.json"), "--out", str(again)]) == 2
    assert cli.main(["plot", str(first), str(again), "--out", str(tmp_path / "curves.png")]) == 0
    assert (tmp_path / "curves.png").stat().st_size > 10_000
    assert cli.main(["eval", str(first), "--episodes", "3"]) == 0
