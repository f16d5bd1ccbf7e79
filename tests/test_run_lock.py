"""One writer per run directory (jgail.run.lock): a second command given a running command's
--out (or --resume of it) is refused at start, before compiling, with the holder named; a lock
left by a process that died (kill -9) or by another host that stopped refreshing it does not
block; an unreadable lock is named."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from jgail import cli
from jgail.run import lock

HOLD = ("import sys, time; from jgail.run import lock; lock.acquire(sys.argv[1]); print('held', flush=True); "
        "time.sleep(120)")


@pytest.fixture
def held(tmp_path):
    """A run directory whose lock a real, live second process holds."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"command": "gail", "args": {}, "config": {}}))
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    yield run_dir, holder
    holder.kill()
    holder.wait()


@pytest.mark.parametrize("how", ["out", "overwrite", "resume"])
def test_a_second_command_on_a_held_run_directory_is_refused_naming_the_holder(held, how, capsys):
    run_dir, holder = held
    flags = {"out": ["--out", str(run_dir)], "overwrite": ["--out", str(run_dir), "--overwrite"],
             "resume": ["--resume", str(run_dir)]}[how]
    argv = ["gail", "--env", "CartPole-v1", "--demos", str(run_dir / "missing.npz"), *flags]
    if how == "resume":
        argv = ["gail", *flags]
    before = sorted(os.listdir(run_dir))
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert f"is in use by another jgail command (pid {holder.pid}" in err, err
    assert sorted(os.listdir(run_dir)) == before  # nothing written beside the other command's files


def test_expert_sweep_and_bc_are_refused_too(held, capsys, tmp_path):
    run_dir, holder = held
    import jax

    from jgail import demos, envs, scripted

    env = envs.make("CartPole-v1", max_episode_steps=50)
    demo_file = demos.save(demos.collect(jax.random.key(0), env, scripted.cartpole, 1, greedy=True),
                           tmp_path / "d.npz")
    for argv in (["expert", "--env", "CartPole-v1", "--out", str(run_dir), "--overwrite"],
                 ["bc", "--env", "CartPole-v1", "--max-episode-steps", "50", "--demos", str(demo_file),
                  "--out", str(run_dir), "--overwrite"],
                 ["sweep", "--env", "CartPole-v1", "--max-episode-steps", "50", "--demos", str(demo_file),
                  "--out", str(run_dir), "--overwrite"]):
        assert cli.main(argv) == 2, argv
        assert f"pid {holder.pid}" in capsys.readouterr().err, argv


def test_a_killed_holders_lock_is_stale_and_taken_over(held):
    run_dir, holder = held
    assert lock.holder(str(run_dir))["pid"] == holder.pid
    with pytest.raises(lock.Locked, match=f"pid {holder.pid}"):
        lock.acquire(str(run_dir))
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert (run_dir / lock.LOCK_FILE).exists()  # kill -9 leaves it behind
    assert lock.holder(str(run_dir)) is None
    taken = lock.acquire(str(run_dir))
    assert json.loads((run_dir / lock.LOCK_FILE).read_text())["pid"] == os.getpid()
    taken.release()
    assert not (run_dir / lock.LOCK_FILE).exists()


def test_another_hosts_lock_blocks_while_refreshed_and_goes_stale_after_it_stops(tmp_path):
    path = tmp_path / lock.LOCK_FILE
    path.write_text(json.dumps({"host": "some-other-node", "pid": 1, "started": "2026-12-06 00:00:00"}))
    with pytest.raises(lock.Locked, match="pid 1 on some-other-node"):
        lock.acquire(str(tmp_path))
    old = time.time() - lock.STALE_AFTER_S - 5
    os.utime(path, (old, old))
    lock.acquire(str(tmp_path)).release()


def test_a_reused_pid_does_not_keep_a_lock(tmp_path):
    # Our own parent is alive, but it started at another time than the lock says.
    path = tmp_path / lock.LOCK_FILE
    import socket

    path.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getppid(), "start_time": "1"}))
    if lock._start_time(os.getppid()) is None:
        pytest.skip("no /proc start times here")
    assert lock.holder(str(tmp_path)) is None


def test_an_unreadable_lock_is_named_with_how_to_go_on(tmp_path, capsys):
    (tmp_path / lock.LOCK_FILE).write_text("{not json")
    with pytest.raises(lock.Locked, match=f"delete {tmp_path / lock.LOCK_FILE}"):
        lock.acquire(str(tmp_path))
