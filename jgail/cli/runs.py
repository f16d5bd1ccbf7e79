"""Run directories on the host: checked before anything compiles, described fully enough to
re-run (`config.json`, accepted by `--config`) and to resume (`--resume RUN_DIR`).

A run directory holds:
    config.json     the command, every argument (defaults filled in) and the resolved config
    run.json        versions, jax backend and devices, git commit, demonstrations' path and
                    sha256, wall times (compile, training, total)
    metrics.jsonl   one record per iteration and seed (metrics.csv: the same as CSV)
    checkpoints/    the whole training state, every few chunks (orbax, the last few kept)
    summary.json    the final evaluation
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from importlib import metadata

import jax
import numpy as np

from jgail.cli.args import UsageError
from jgail.core.atomic_io import write_json_atomic
from jgail.core.env import Env
from jgail.run import driver, lock, memory, wandb_sink
from jgail.run.checkpoint import file_sha256

CONFIG_FILE = "config.json"
RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"
# --overwrite moves the earlier run in here (a rename: no disk space needed) and deletes it only once
# the new run has finished, so a new run that fails (a full disk, a crash) never destroys the old one.
PREVIOUS_DIR = ".jgail-previous"
INPUT_PATHS = ("demos", "expert")  # files the run reads, saved as absolute paths
# How to run, not what: left out of config.json (the multi-process flags differ per process and launch).
NOT_SAVED = ("resume", "config", "overwrite", "progress", "compile_cache", "cpu_devices", "command", "coordinator",
             "num_processes", "process_id")


def describe(obj):
    """A JSON-able description of a config tree (flax structs, dataclasses, envs, arrays)."""
    if isinstance(obj, Env):
        return {"env_id": obj.name, "env_options": dict(obj.options)}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: describe(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        return {"type": type(obj).__name__, **fields}
    if isinstance(obj, (list, tuple)):
        return [describe(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): describe(v) for k, v in obj.items()}
    if isinstance(obj, (jax.Array, np.ndarray, np.generic)):
        return np.asarray(obj).tolist()
    return obj


def check_writable_dir(path: str, flag: str = "--out") -> None:
    """Create `path` if needed and prove it writable with a probe file, before any compile."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{flag} {path} exists and is not a directory; choose a directory path")
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, f".jgail-write-probe-{os.getpid()}")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as err:
        raise UsageError(f"{flag} {path} is not writable ({err.strerror or err}); choose another directory") from None


def refuse_if_in_use(run_dir: str) -> None:
    """UsageError naming the holder when another live command holds `run_dir` (jgail.run.lock)."""
    holder = lock.holder(run_dir)
    if holder is not None:
        raise UsageError(lock.describe_holder(run_dir, holder))


def prepare_run_dir(args, marker: str = CONFIG_FILE) -> bool:
    """Check `args.out` before training. Returns True when the directory was created here
    (so an interrupted first chunk can remove it). Refuses an earlier run's directory unless
    `--overwrite` (or `--resume`)."""
    created = not os.path.exists(args.out)
    if os.path.isdir(args.out):  # first: a running command's directory is refused whatever the flags
        refuse_if_in_use(args.out)
    if getattr(args, "resume", None):
        if not os.path.isfile(os.path.join(args.out, CONFIG_FILE)):
            raise UsageError(f"--resume {args.out} is not a jgail run directory (no {CONFIG_FILE})")
    elif os.path.isdir(args.out) and _contents(args.out) and not args.overwrite:
        kind = "an earlier run" if os.path.exists(os.path.join(args.out, marker)) else "other files"
        raise UsageError(f"--out {args.out} already holds {kind}; pass --overwrite to replace it, "
                         f"--resume {args.out} to continue it, or choose another directory")
    check_writable_dir(args.out)
    try:
        lock.acquire(args.out)  # released at exit; a second command given this --out is refused above
    except lock.Locked as err:
        raise UsageError(str(err)) from None
    if not getattr(args, "resume", None) and getattr(args, "overwrite", False):
        _move_earlier_run_aside(args.out)
    return created


def _move_earlier_run_aside(out: str) -> None:
    """--overwrite: the earlier run's files go into out/PREVIOUS_DIR (deleted by `write_run_info`
    when the new run finishes). If PREVIOUS_DIR is already there, an earlier replacement never
    finished: the run kept there is the last finished one, and what is beside it is dropped."""
    previous = os.path.join(out, PREVIOUS_DIR)
    staging = previous + ".tmp"
    entries = [n for n in _contents(out) if n not in (PREVIOUS_DIR, PREVIOUS_DIR + ".tmp")]
    if os.path.isdir(previous):
        for name in entries:
            path = os.path.join(out, name)
            shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)
        return
    if entries or os.path.isdir(staging):
        # A staging directory left by a command stopped while moving holds part of the earlier run;
        # the rest is still beside it (no new run starts before the move is done).
        os.makedirs(staging, exist_ok=True)
        for name in entries:
            os.rename(os.path.join(out, name), os.path.join(staging, name))
        os.rename(staging, previous)


def disk_full_message(command: str, out: str | None, err: OSError) -> str:
    """What a full disk (ENOSPC/EDQUOT while writing) left in run directory `out`, and how to go
    on. Removes a half-written checkpoint (orbax's *.orbax-checkpoint-tmp*), which --resume would
    skip anyway, so that the directory copies without it."""
    where = f" ({err.filename})" if err.filename else ""
    text = f"no space left on the device{where}: {err.strerror or err}."
    if not out or not os.path.isdir(out):
        return text + " Free space, or choose an --out on a disk with room, and run the command again."
    checkpoints = os.path.join(out, driver.CHECKPOINT_DIR)
    steps = []
    if os.path.isdir(checkpoints):
        for name in os.listdir(checkpoints):
            if ".orbax-checkpoint-tmp" in name:
                shutil.rmtree(os.path.join(checkpoints, name), ignore_errors=True)
            elif name.isdigit():
                steps.append(int(name))
    if steps:
        text += (f" The run in {out} stopped; its last complete checkpoint (iteration {max(steps)}) is intact. "
                 f"Free space and continue with `jgail {command} --resume {out}`, or copy the directory to a disk "
                 f"with room (cp -r {out} NEW_DIR) and run `jgail {command} --resume NEW_DIR`.")
    else:
        text += " No checkpoint of this run was complete yet: free space (or choose another --out) and start again."
    if os.path.isdir(os.path.join(out, PREVIOUS_DIR)):
        text += (f" The earlier run that --overwrite was replacing is intact in {os.path.join(out, PREVIOUS_DIR)}: "
                 "move its files back into the directory to keep it.")
    return text


def _drop_previous_run(out: str) -> None:
    shutil.rmtree(os.path.join(out, PREVIOUS_DIR), ignore_errors=True)


def _contents(path: str) -> list[str]:
    """The directory's entries other than a stale lock (see jgail.run.lock)."""
    return [n for n in os.listdir(path) if not (n == lock.LOCK_FILE or n.startswith(lock.LOCK_FILE + "."))]


def saved_args(args) -> dict:
    """The parsed arguments that define the run (not how to run it: NOT_SAVED are left out)."""
    saved = {k: v for k, v in vars(args).items() if k not in NOT_SAVED}
    for k in INPUT_PATHS:  # absolute, so `jgail eval`/`--resume` find them from any directory
        if isinstance(saved.get(k), str):
            saved[k] = os.path.abspath(saved[k])
    return saved


def write_config(args, config) -> None:
    """Write `args.out`/config.json: the command, its arguments and the resolved `config`."""
    write_json_atomic(os.path.join(args.out, CONFIG_FILE), {
        "command": args.command, "args": saved_args(args), "config": describe(config),
        "jgail_version": _version("jgail"),
    })


def load_config(path: str) -> dict:
    """A `config.json` (or the run directory holding one)."""
    path = os.path.join(path, CONFIG_FILE) if os.path.isdir(path) else path
    try:
        with open(path) as f:
            saved = json.load(f)
    except (OSError, ValueError) as err:
        raise UsageError(f"cannot read the run configuration {path}: {err}") from None
    if not isinstance(saved, dict) or not isinstance(saved.get("args"), dict) or "command" not in saved:
        raise UsageError(f"{path} is not a jgail config.json (it needs 'command' and 'args')")
    return saved


def check_same_config(args, config) -> None:
    """On --resume: the rebuilt configuration must be the one the run started with."""
    saved = load_config(args.out)["config"]
    now = json.loads(json.dumps(describe(config)))
    if saved != now:
        diffs = [k for k in sorted(set(saved) | set(now)) if saved.get(k) != now.get(k)]
        raise UsageError(f"--resume {args.out}: the configuration differs from the run's ({', '.join(diffs)}); "
                         f"resume without changing options, or start a new run")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    try:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def write_run_info(args, result: driver.Result | None, started: float, demos_path: str | None = None,
                   extra: dict | None = None) -> None:
    """Write `args.out`/run.json: the command line, package versions, jax backend and
    devices, git commit, wall times since `started` (a time.time()), the demonstrations'
    path and sha256 when given, and `extra`."""
    info = {
        "command": " ".join(["jgail", *sys.argv[1:]]) if sys.argv and "jgail" in sys.argv[0] else args.command,
        "versions": {name: _version(name) for name in
                     ("jgail", "jax", "jaxlib", "flax", "optax", "gymnax", "brax", "orbax-checkpoint", "numpy")},
        "python": platform.python_version(),
        "jax_backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "git_commit": _git_commit(),
        "wall_time_s": {"total": time.time() - started},
    }
    if result is not None:
        info["wall_time_s"] |= {"compile": result.compile_s, "train": result.train_s}
        info["resumed_from_iteration"] = result.resumed_from
        info["seed_devices"] = result.seed_devices
    if demos_path is not None:
        info["demos"] = {"path": os.path.abspath(demos_path), "sha256": file_sha256(demos_path)}
    write_json_atomic(os.path.join(args.out, RUN_FILE), info | (extra or {}))
    _drop_previous_run(args.out)  # the new run is complete: the run it replaced can go


@contextlib.contextmanager
def removed_if_stopped_early(args, created: bool):
    """A run directory this command `created` is removed again if the command stops (Ctrl-C, a
    signal, an error) before the first checkpoint: an interrupted start leaves nothing behind."""
    try:
        yield
    except BaseException:
        checkpoints = os.path.join(args.out, driver.CHECKPOINT_DIR)
        untrained = not os.path.isdir(checkpoints) or not any(n.isdigit() for n in os.listdir(checkpoints))
        if created and untrained:
            shutil.rmtree(args.out, ignore_errors=True)
        raise


_interrupted = threading.Event()


def _remember_interrupt(signum, frame):
    _interrupted.set()
    raise KeyboardInterrupt


def _quiet_dropped_interrupt(default):
    """Python reports the KeyboardInterrupt it drops in a garbage-collection callback with a
    traceback ("Exception ignored in: ..."); a remembered Ctrl-C is not an error: say nothing."""
    def hook(unraisable):
        if not (issubclass(unraisable.exc_type, KeyboardInterrupt) and _interrupted.is_set()):
            default(unraisable)
    return hook


@contextlib.contextmanager
def interrupts_remembered():
    """Ctrl-C before the driver takes over raises KeyboardInterrupt as usual and is also
    remembered, so that `drive` refuses to start training after one. Python drops an exception
    raised while a garbage-collection callback runs (JAX registers one, and it runs often while
    compiling): without this, a Ctrl-C that lands there would be lost and the command would
    train to the end (and Python's report of the dropped exception is silenced). Only Python's
    own SIGINT handler is replaced, only in the main thread."""
    replace = (threading.current_thread() is threading.main_thread()
               and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    _interrupted.clear()
    previous = signal.signal(signal.SIGINT, _remember_interrupt) if replace else None
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_dropped_interrupt(previous_hook)
    try:
        yield
    finally:
        if replace:
            signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = previous_hook
        _interrupted.clear()


def check_memory(args, job: driver.Job, cell, seeds: int, fix: Callable[[int], str]) -> memory.Estimate:
    """Refuse (UsageError, before anything is compiled or written) a run of `seeds` seeds (cells)
    of `job` whose memory estimate does not fit the machine; `cell` is one seed's inputs (leading
    axis 1) and `fix(fits)` the command's advice for a run that fits `fits` seeds at once.
    --no-memory-check skips the refusal (the estimate is still returned)."""
    est = memory.estimate(job, cell)
    if getattr(args, "memory_check", True):
        devices = 1 if jax.local_devices()[0].platform == "cpu" else len(driver.seed_devices(seeds))
        try:
            memory.check(est, seeds, devices)
        except memory.DoesNotFit as err:
            advice = fix(err.fits) if err.fits else "Not even one fits: use fewer --num-envs (or --num-steps)."
            raise UsageError(f"{err}. {advice} (The estimate is jgail.run.memory's, made before "
                             f"compiling; if it is wrong for this machine, --no-memory-check starts anyway.)") from None
    return est


def drive(job: driver.Job, keys, args, cells: tuple[int, int, int] | None = None) -> driver.Result:
    """The driver with the run flags (`cells`: see `driver.drive`); on a signal, prints how to
    resume and exits non-zero. A Ctrl-C during set-up that Python dropped (see
    `interrupts_remembered`) stops here or, if it came while compiling, in the driver, before
    training."""
    if _interrupted.is_set():
        raise KeyboardInterrupt
    sinks = []
    if getattr(args, "wandb", None) and jax.process_index() == 0:
        config = load_config(args.out) if os.path.isfile(os.path.join(args.out, CONFIG_FILE)) else None
        sinks.append(wandb_sink.start(args.out, args.wandb, config, resume=bool(args.resume)))
    try:
        return driver.drive(job, keys, args.out, chunk_iterations=args.chunk, checkpoint_every=args.checkpoint_every,
                            keep=args.keep, eval_every=args.eval_every, tensorboard=args.tensorboard,
                            resume=bool(args.resume), progress=args.progress,
                            eval_key=jax.random.key(args.seed + 3), cells=cells, sinks=sinks,
                            interrupted=_interrupted.is_set)
    except driver.Interrupted as stop:
        print(f"jgail {args.command}: stopped at iteration {stop.iteration} of {job.num_iterations}; the whole "
              f"state is checkpointed. Resume with:\n    jgail {args.command} --resume {args.out}", file=sys.stderr)
        raise SystemExit(128 + stop.signum) from None
