"""One writer per run directory: a lock file that names its holder, and that a dead holder's
leftover does not block.

`acquire(run_dir)` creates `run_dir`/.jgail.lock atomically (written under a temporary name,
then hard-linked into place, so a reader never sees a half-written lock) holding the holder's
host, pid, process start time and start date. A second process that finds it:
  - on the same host, with the pid gone (or the pid reused by a process started later: a
    `kill -9`, a crash, a reboot): the lock is stale, and it takes it over;
  - on another host: the holder refreshes the file's mtime every HEARTBEAT_S seconds while it
    lives, so a lock untouched for STALE_AFTER_S is stale; otherwise it is refused;
  - otherwise: `Locked`, whose message names the holder and how to go on.
The lock goes when the holder releases it, at its exit (atexit), or with the directory.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import socket
import threading
import time

from jgail.core.errors import JgailError

LOCK_FILE = ".jgail.lock"
HEARTBEAT_S = 30.0
STALE_AFTER_S = 600.0


class Locked(JgailError):
    """Another live process holds the run directory."""


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux /proc), None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, start_time: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    now = _start_time(pid)
    return start_time is None or now is None or now == start_time


def holder(run_dir: str) -> dict | None:
    """The live holder's record of `run_dir`'s lock, or None when it is free or stale."""
    path = os.path.join(run_dir, LOCK_FILE)
    try:
        with open(path) as f:
            record = json.load(f)
        age = time.time() - os.stat(path).st_mtime
    except FileNotFoundError:
        return None
    except (OSError, ValueError):  # unreadable: a stranger's file, or a lock from before this format
        return {"host": "?", "pid": "?", "started": "?", "unreadable": True}
    if record.get("host") == socket.gethostname():
        if record.get("pid") == os.getpid():
            return None  # our own (a second command in the same process, e.g. a notebook)
        return record if _alive(int(record.get("pid", -1)), record.get("start_time")) else None
    return record if age < STALE_AFTER_S else None


class Lock:
    """A held lock; `release()` removes the file (idempotent)."""

    def __init__(self, path: str):
        self.path = path
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True, name="jgail-lock-heartbeat")
        self._beat.start()

    def _heartbeat(self):
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(self.path)
            except OSError:
                return

    def release(self) -> None:
        """Stop the heartbeat and remove the lock file if it is still this process's."""
        self._stop.set()
        try:
            with open(self.path) as f:
                mine = json.load(f).get("pid") == os.getpid()
        except (OSError, ValueError):
            mine = False
        if mine:
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass
        _held.pop(self.path, None)


_held: dict[str, Lock] = {}


def describe_holder(run_dir: str, record: dict) -> str:
    """The refusal message for `run_dir` held by `record` (from `holder`)."""
    if record.get("unreadable"):
        return (f"{run_dir} has a lock file ({LOCK_FILE}) that cannot be read; if no jgail command is using this "
                f"directory, delete {os.path.join(run_dir, LOCK_FILE)} and try again")
    return (f"{run_dir} is in use by another jgail command (pid {record.get('pid')} on {record.get('host')}, "
            f"started {record.get('started')}); wait for it to finish, or choose another --out. If that process "
            f"is gone, delete {os.path.join(run_dir, LOCK_FILE)}")


@contextlib.contextmanager
def _exclusive(run_dir: str):
    """Hold an flock on the directory itself (where the platform has one) while a stale lock is
    checked and removed."""
    try:
        import fcntl

        fd = os.open(run_dir, os.O_RDONLY)
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def acquire(run_dir: str) -> Lock:
    """Take `run_dir`'s lock (see the module docstring), or raise `Locked`."""
    run_dir = os.path.abspath(run_dir)
    path = os.path.join(run_dir, LOCK_FILE)
    if path in _held:
        return _held[path]
    record = {"host": socket.gethostname(), "pid": os.getpid(), "start_time": _start_time(os.getpid()),
              "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    tmp = os.path.join(run_dir, f".jgail.lock.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(record, f)
        f.flush()
        os.fsync(f.fileno())
    try:
        for _ in range(3):
            try:
                os.link(tmp, path)  # atomic: fails if a lock is there
                break
            except FileExistsError:
                with _exclusive(run_dir):  # two takers-over of one stale lock: the second sees the first's
                    other = holder(run_dir)
                    if other is not None:
                        raise Locked(describe_holder(run_dir, other)) from None
                    try:  # stale: take it over
                        os.remove(path)
                    except FileNotFoundError:
                        pass
        else:
            raise Locked(f"{run_dir}: could not take the lock ({LOCK_FILE}); another command is starting there")
    finally:
        os.remove(tmp)
    lock = _held[path] = Lock(path)
    return lock


def release_all() -> None:
    """Release every lock this process holds."""
    for lock in list(_held.values()):
        lock.release()


atexit.register(release_all)
