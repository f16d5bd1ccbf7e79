"""The run driver: the host loop around one compiled chunk of training iterations.

    job = Job(init=..., update=..., data=expert, num_iterations=N, steps_per_iteration=B)
    result = drive(job, keys, "runs/gail", chunk_iterations=10)

Training advances in chunks of K iterations, all seeds at once, through ONE compiled
function (compiled ahead of time; a final shorter chunk skips its surplus iterations with a
`lax.cond` on an unbatched count, so it reuses the same program). Between chunks, on the
host: a progress bar, the metrics log (`metrics.jsonl`, one record per iteration and seed),
optional TensorBoard scalars and evaluation, and a full-state checkpoint every
`checkpoint_every` chunks and at the end (orbax CheckpointManager, the last `keep` kept).

Resume: the latest complete checkpoint is restored and the log cut back to its iteration,
so an interrupted-and-resumed run ends bit-identical to an uninterrupted one. orbax writes
each checkpoint under a temporary name and renames it when complete, so a crash while
checkpointing leaves the previous one as the latest.

Early stop: `Job.stop_when(metrics)`, asked on the host after every chunk, may end training
before `num_iterations` (an expert trained until it scores ~200); the state is checkpointed
as at the end, and a resume continues from there.

SIGINT/SIGTERM: the running chunk finishes (XLA cannot be interrupted), a checkpoint is
written and `Interrupted` is raised; a second signal exits at once.

Several processes (`cells=(lo, hi, total)`: this process trains cells [lo, hi) of one batch of
`total`, the others the rest, all in the same directory): after every chunk the processes
agree on stopping (a signal to any one stops all at the same iteration) and gather the
metrics, which process 0 logs; a checkpoint gathers the whole batch's state, and orbax writes
it once, from process 0 (it writes host arrays from process 0 only). Resuming restores the
whole batch and takes this process's rows, so a run can resume on another number of
processes. The run directory must be on a filesystem every process sees.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import math
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jgail.core.atomic_io import atomic_write
from jgail.run import distributed, memory

CHECKPOINT_DIR = "checkpoints"
METRICS_LOG = "metrics.jsonl"
METRICS_CSV = "metrics.csv"


class Interrupted(Exception):
    """Training stopped on a signal after writing a checkpoint; `signum` says which."""

    def __init__(self, signum: int, iteration: int):
        super().__init__(f"interrupted by signal {signum} at iteration {iteration}")
        self.signum, self.iteration = signum, iteration


@dataclasses.dataclass(frozen=True)
class Job:
    """One training run for a batch of seeds: the pure pieces the driver composes. The state
    `init` returns must have an `iteration` field (as `rl` and `gail` states do).

    Example::

        import jax
        from jgail import envs, evaluation, presets, rl
        from jgail.run import driver

        config = presets.expert_config(envs.make("CartPole-v1", max_episode_steps=200))
        job = driver.Job(
            init=lambda key, _: rl.init(key, config), update=lambda state, _: rl.update(state),
            num_iterations=config.num_iterations, steps_per_iteration=config.batch_size,
            evaluate=lambda key, s: evaluation.evaluate(key, config.env, config.nets, s.agent.params,
                                                        s.obs_stats, 20)["mean_return"])
    """

    init: Callable[[Any, Any], Any]  # (cell, data) -> state of one seed; a cell is a key, or (key, config)
    update: Callable[[Any, Any], tuple[Any, dict]]  # (state, data) -> (state, metrics), one iteration
    num_iterations: int
    steps_per_iteration: int  # env steps per seed per iteration
    data: Any = None  # shared by every seed (the demonstrations), never copied per seed
    evaluate: Callable[[jax.Array, Any], jax.Array] | None = None  # (key, state) -> mean return
    # On the host after every chunk: (that chunk's metrics, name -> [S, iterations]) -> True to
    # end training there (checkpointed as at the end). Every process sees the same gathered metrics.
    stop_when: Callable[[dict], bool] | None = None
    # Per seed, the bytes one iteration holds beyond the state (jgail.run.memory.working_bytes):
    # with the state's, what `memory.estimate` checks against the machine before compiling.
    working_bytes: int = 0


@dataclasses.dataclass
class Result:
    """What `drive` returns: the final states, the whole metrics log as arrays and wall times
    in seconds."""

    state: Any  # the batched final state [S, ...]
    metrics: dict  # name -> np.ndarray [S, iterations]
    compile_s: float
    train_s: float  # wall time in compiled chunks and host work, this process only
    resumed_from: int | None  # iteration of the checkpoint resumed from
    stopped_at: int | None = None  # iteration at which `Job.stop_when` ended training early
    seed_devices: int = 1  # local devices the seeds were split over (a seed's numbers depend on it)


def chunk_fn(update: Callable, chunk_iterations: int):
    """One seed's chunk: `chunk_iterations` steps of `update`, the ones past `num_active` skipped."""

    # jit: the skip branch's eval_shape reuses the traced update instead of tracing it again
    # (tracing GAIL's update takes ~0.6 s on CPU, paid by every process, cached or not).
    update = jax.jit(update)

    def chunk(state, data, num_active):
        def step(state, i):
            def skip(s):
                _, metrics = jax.eval_shape(update, s, data)
                return s, jax.tree.map(lambda m: jnp.zeros(m.shape, m.dtype), metrics)

            return jax.lax.cond(i < num_active, lambda s: update(s, data), skip, state)

        return jax.lax.scan(step, state, jnp.arange(chunk_iterations))

    return chunk


# ---- checkpoints: the whole state, PRNG keys stored as their raw data --------------------------

def _to_saveable(tree):
    def leaf(x):
        x = jnp.asarray(x)
        return jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x

    return jax.tree.map(leaf, tree)


def _host_copy(tree):
    """The state as host NumPy arrays: saved alike from any device layout or process count."""
    return jax.tree.map(np.asarray, jax.device_get(_to_saveable(tree)))


def _strongly_typed(tree):
    """`tree` with no weakly typed leaf (the dtypes unchanged)."""
    return jax.tree.map(lambda x: jax.lax.convert_element_type(x, x.dtype), tree)


def _from_saved(saved, template):
    def leaf(x, t):
        if jnp.issubdtype(t.dtype, jax.dtypes.prng_key):
            return jax.random.wrap_key_data(jnp.asarray(x), impl=getattr(t.dtype, "_impl", None))
        return jnp.asarray(x, t.dtype)

    return jax.tree.map(leaf, saved, template)


def checkpoint_manager(run_dir: str, keep: int = 3):
    """An orbax CheckpointManager for `run_dir`/checkpoints that keeps the last `keep`
    checkpoints and writes synchronously."""
    import orbax.checkpoint as ocp  # slow to import; only the driver needs it

    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True, enable_async_checkpointing=False)
    return ocp.CheckpointManager(os.path.abspath(os.path.join(run_dir, CHECKPOINT_DIR)), options=options)


def save_state(manager, iteration: int, state) -> None:
    """Checkpoint the whole (batched) `state` as step `iteration`, as host arrays with PRNG keys
    stored as their raw data; returns once it is written."""
    import orbax.checkpoint as ocp

    host = _host_copy(state)
    need = memory.tree_bytes(host) + CHECKPOINT_SLACK
    free = shutil.disk_usage(manager.directory).free
    if free < need:  # refused before orbax writes: a write that fails midway leaves tensorstore's
        # callbacks printing "Event loop is closed" tracebacks past any filter (C++ threads)
        raise OSError(errno.ENOSPC, f"No space left on device (a checkpoint needs ~{need >> 10} KiB, "
                                    f"{free >> 10} KiB free)", os.fspath(manager.directory))
    quiet = _QuietDiskFull()
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    for logger in loggers:  # orbax logs the error from its threads, then raises it here
        logger.addFilter(quiet)
    try:
        manager.save(iteration, args=ocp.args.StandardSave(host))
        manager.wait_until_finished()
    except (OSError, ValueError) as err:
        if not is_disk_full(err):
            raise
        # The filters stay: orbax's threads go on failing (and logging) after the error reached us.
        loggers = []
        try:  # stop its threads now
            manager.close()
        except Exception:  # noqa: BLE001 - closing after a full disk fails as the save did
            pass
        raise OSError(errno.ENOSPC, "No space left on device", os.fspath(manager.directory)) from None
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
# Bytes a checkpoint takes beyond its arrays (orbax's metadata files): measured 42 KB, 475 KB on
# disk for the 433 KB of arrays of a 2-seed CartPole GAIL state.
CHECKPOINT_SLACK = 128 << 10

_NOISY_LOGGERS = ("absl", "concurrent.futures", "asyncio")


def is_disk_full(err: BaseException) -> bool:
    """A full disk or quota, as an OSError or as tensorstore's ValueError (RESOURCE_EXHAUSTED ...
    No space left on device [os_error_code='28'])."""
    if isinstance(err, OSError):
        return err.errno in DISK_FULL
    text = str(err)
    return "No space left on device" in text or "Disk quota exceeded" in text


class _QuietDiskFull(logging.Filter):
    """Drops orbax's log records of a full disk (with their tracebacks) and of the event loops it
    then finds closed: save_state raises one OSError(ENOSPC) instead, and the command line says
    what it means for the run (jgail.cli.runs.disk_full_message)."""

    def filter(self, record):
        error = record.exc_info[1] if record.exc_info else None
        text = record.getMessage()
        return not ((error is not None and (is_disk_full(error) or "Event loop is closed" in str(error)))
                    or "No space left on device" in text)


def restore_state(manager, template, step: int | None = None):
    """The latest (or `step`'s) checkpoint, shaped and typed like `template` (e.g. an eval_shape)."""
    import orbax.checkpoint as ocp

    step = manager.latest_step() if step is None else step
    if step is None:
        raise FileNotFoundError(f"no complete checkpoint in {manager.directory}")
    target = jax.tree.map(lambda x: np.zeros(x.shape, x.dtype), jax.eval_shape(_to_saveable, template))
    restored = manager.restore(step, args=ocp.args.StandardRestore(target))
    return step, _from_saved(restored, template)


# ---- the metrics log -------------------------------------------------------------------------

def _records(metrics: dict, first_iteration: int, num_active: int) -> list[dict]:
    """One JSON record per (iteration, seed); NaN (no episode ended) becomes null."""
    names = sorted(metrics)
    seeds = next(iter(metrics.values())).shape[0]
    records = []
    for t in range(num_active):
        for s in range(seeds):
            record = {"iteration": first_iteration + t + 1, "seed": s}
            for name in names:
                value = float(metrics[name][s, t])
                record[name] = value if math.isfinite(value) else None
            records.append(record)
    return records


def read_log(run_dir: str, up_to_iteration: int | None = None) -> list[dict]:
    """The records of `run_dir`/metrics.jsonl (up to `up_to_iteration` when given), stopping at
    a line cut short by a kill; [] when there is no log."""
    path = os.path.join(run_dir, METRICS_LOG)
    if not os.path.exists(path):
        return []
    records = []
    with open(path) as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:  # a line cut short by a kill; everything after it is redone
                break
            if up_to_iteration is None or record["iteration"] <= up_to_iteration:
                records.append(record)
    return records


def _rewrite_log(run_dir: str, records: list[dict]) -> None:
    text = "".join(json.dumps(r) + "\n" for r in records)
    atomic_write(os.path.join(run_dir, METRICS_LOG), lambda f: f.write(text))


def write_csv(run_dir: str) -> str:
    """The metrics log as CSV (same records, a header of every field), written atomically."""
    records = read_log(run_dir)
    fields = sorted({k for r in records for k in r} - {"iteration", "seed"})
    header = ["iteration", "seed", *fields]
    lines = [",".join(header)] + [",".join("" if r.get(k) is None else repr(r[k]) for k in header) for r in records]
    path = os.path.join(run_dir, METRICS_CSV)
    atomic_write(path, lambda f: f.write("\n".join(lines) + "\n"))
    return path


def metrics_array(records: list[dict], seeds: int) -> dict:
    """Records back into {name: [seeds, iterations]} arrays (null -> NaN)."""
    iterations = max((r["iteration"] for r in records), default=0)
    names = sorted({k for r in records for k in r} - {"iteration", "seed"})
    out = {n: np.full((seeds, iterations), np.nan) for n in names}
    for r in records:
        for n in names:
            value = r.get(n)
            out[n][r["seed"], r["iteration"] - 1] = np.nan if value is None else value
    return out


# ---- signals ---------------------------------------------------------------------------------

class _StopOnSignal:
    """First SIGINT/SIGTERM: ask the loop to stop after this chunk. Second: exit at once."""

    def __init__(self):
        self.signum = None

    def _handler(self, signum, frame):
        if self.signum is not None:
            print(f"\nsecond signal ({signal.Signals(signum).name}): exiting now, without a checkpoint",
                  file=sys.stderr, flush=True)
            os._exit(128 + signum)
        self.signum = signum
        print(f"\n{signal.Signals(signum).name}: finishing this chunk, then writing a checkpoint "
              "(send it again to exit at once)", file=sys.stderr, flush=True)

    def __enter__(self):
        self._previous = {s: signal.signal(s, self._handler) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc):
        for s, handler in self._previous.items():
            signal.signal(s, handler)


# ---- the loop --------------------------------------------------------------------------------

def drive(job: Job, keys, run_dir: str, *, chunk_iterations: int = 10, checkpoint_every: int = 1,
          keep: int = 3, eval_every: int = 0, eval_key: jax.Array | None = None, tensorboard: bool = False,
          resume: bool = False, progress: bool = True, describe: Callable[[dict], str] | None = None,
          shard: bool = True, checkpoint: bool = True, cells: tuple[int, int, int] | None = None,
          sinks: Sequence = (), interrupted: Callable[[], bool] | None = None) -> Result:
    """Train the batch of seeds `keys` (a key array [S], or any pytree of per-seed inputs with
    leading axis S that `job.init` takes) in chunks; see the module docstring.

    `eval_every` (chunks, 0 = never) adds `eval_return` to the log. `describe(postfix)` may
    add to the progress bar. With `shard` and several local devices, the seed axis is split
    over them (see `seed_devices`); the data is replicated. Raises `Interrupted`
    after checkpointing on SIGINT/SIGTERM. `checkpoint=False` writes no checkpoints, and a signal
    then stops without one. `resume=True` continues from the latest checkpoint in `run_dir`.
    `cells=(lo, hi, total)` in a multi-process run: `keys` are cells [lo, hi) of a batch of
    `total` that the processes train together (see the module docstring); every process must
    call `drive` with its own rows and the same other arguments. Returns a `Result` whose
    metrics are [S, iterations] arrays (S = total with `cells`). `sinks`: more scalar writers
    (objects with tensorboardX's `add_scalar(name, value, global_step)` and `flush()`, such as
    jgail.run.wandb_sink.Sink) that get what TensorBoard gets; the caller closes them.
    `interrupted()`, asked once the programs are compiled and the signal handlers installed,
    True stops there with KeyboardInterrupt, before any training (a caller's record of a Ctrl-C
    that Python dropped during set-up; see jgail.cli.runs.interrupts_remembered).

    Example::

        # job as in Job's example
        keys = jax.random.split(jax.random.key(0), 4)
        result = driver.drive(job, keys, "runs/expert", chunk_iterations=10, eval_every=5)
        result.metrics["episode_return"].shape          # [4, job.num_iterations]
        result = driver.drive(job, keys, "runs/expert", resume=True)    # after an interruption
    """
    if chunk_iterations < 1 or checkpoint_every < 1 or keep < 1 or eval_every < 0:
        raise ValueError("chunk_iterations, checkpoint_every and keep must be >= 1, eval_every >= 0")
    os.makedirs(run_dir, exist_ok=True)
    seeds = int(jax.tree.leaves(keys)[0].shape[0])
    share = _Share.of(cells, seeds)
    chunk_iterations = min(chunk_iterations, job.num_iterations)
    sharding = seed_sharding(seeds) if shard and len(jax.local_devices()) > 1 else None
    # A fresh state comes out of init already split over the devices (moving it there after
    # would compile a slicing program per leaf shape, ~0.6 s for a GAIL state, in every process).
    # Strongly typed leaves, as a restored state's are: a weakly typed leaf (a Python scalar in
    # init) would make the resumed run's chunk another program, compiled again instead of loaded
    # from the compilation cache.
    init = jax.jit(lambda k, d: _strongly_typed(jax.vmap(job.init, in_axes=(0, None))(k, d)),
                   out_shardings=sharding)
    template = jax.eval_shape(init, keys, job.data)
    manager = checkpoint_manager(run_dir, keep) if checkpoint else None
    if resume and manager is None:
        raise ValueError("resume needs checkpoints (checkpoint=True)")
    resumed_from = None
    if resume:
        resumed_from, state = restore_state(manager, share.whole(template))
        state = share.mine(state)
        if share.writes:
            _rewrite_log(run_dir, read_log(run_dir, resumed_from))
    else:
        state = init(keys, job.data)
        if share.writes:
            _rewrite_log(run_dir, [])
    data = job.data
    if sharding is not None:
        from jax.sharding import NamedSharding, PartitionSpec

        data = None if data is None else jax.device_put(data, NamedSharding(sharding.mesh, PartitionSpec()))
        if resume:  # restored onto one device
            state = jax.device_put(state, sharding)
    start_iteration = int(np.asarray(jax.device_get(state.iteration)).reshape(-1)[0])

    compile_start = time.time()
    chunk = jax.jit(jax.vmap(chunk_fn(job.update, chunk_iterations), in_axes=(0, None, None)))
    compiled = chunk.lower(state, data, jnp.int32(chunk_iterations)).compile()
    evaluate = None
    eval_key = jax.random.key(0) if eval_key is None else eval_key
    if eval_every and job.evaluate is not None:
        evaluate = jax.jit(jax.vmap(job.evaluate)).lower(share.keys(eval_key), state).compile()
    compile_s = time.time() - compile_start

    writer = _tensorboard(run_dir) if tensorboard and share.writes else None
    writers = ([writer] if writer is not None else []) + (list(sinks) if share.writes else [])
    bar = _progress_bar(job.num_iterations, start_iteration, progress)
    iteration, chunks_done, train_start, stopped_at = start_iteration, 0, time.time(), None
    log_path = os.path.join(run_dir, METRICS_LOG) if share.writes else os.devnull
    with _StopOnSignal() as stop, open(log_path, "a") as log:
        if interrupted is not None and interrupted():
            raise KeyboardInterrupt
        while iteration < job.num_iterations:
            active = min(chunk_iterations, job.num_iterations - iteration)
            state, metrics = compiled(state, data, jnp.int32(active))
            metrics = {k: np.asarray(v)[:, :active] for k, v in jax.device_get(metrics).items()}
            if evaluate is not None and (chunks_done + 1) % eval_every == 0:
                returns = np.asarray(evaluate(share.keys(jax.random.fold_in(eval_key, iteration)), state))
                metrics["eval_return"] = np.full((seeds, active), np.nan)
                metrics["eval_return"][:, -1] = returns
            metrics = {k: share.gather(v) for k, v in metrics.items()}
            if share.writes:
                log.write("".join(json.dumps(r) + "\n" for r in _records(metrics, iteration, active)))
                log.flush()
                os.fsync(log.fileno())
            for each in writers:
                _write_scalars(each, metrics, iteration, job.steps_per_iteration)
            iteration += active
            chunks_done += 1
            _advance(bar, active, metrics, iteration, job, share.total, train_start, start_iteration, describe)
            done = iteration >= job.num_iterations
            if not done and job.stop_when is not None and job.stop_when(metrics):
                done, stopped_at = True, iteration
            signum = share.agree_on_signal(stop.signum)
            if manager is not None and (done or chunks_done % checkpoint_every == 0 or signum):
                save_state(manager, iteration, share.gather_tree(state) if share.multi else state)
            if signum and not done:
                bar and bar.close()
                raise Interrupted(signum, iteration)
            if stopped_at is not None:
                break
    bar and bar.close()
    if writer is not None:
        writer.close()
    if share.writes:
        write_csv(run_dir)
    distributed.barrier("jgail-driver-log-written")  # the others read process 0's log
    all_metrics = metrics_array(read_log(run_dir), share.total)
    return Result(state, all_metrics, compile_s, time.time() - train_start, resumed_from, stopped_at,
                  1 if sharding is None else len(sharding.mesh.devices.flat))


@dataclasses.dataclass(frozen=True)
class _Share:
    """This process's rows [lo, hi) of a batch of `total` trained by several processes
    together (one process: all of them, and every method below is the identity)."""

    lo: int
    hi: int
    total: int
    multi: bool

    @classmethod
    def of(cls, cells, seeds: int) -> _Share:
        if cells is None or jax.process_count() == 1:
            if cells is not None and (cells[1] - cells[0] != seeds or cells[2] != seeds):
                raise ValueError(f"cells={cells} with one process must cover all {seeds} rows")
            return cls(0, seeds, seeds, False)
        lo, hi, total = cells
        if hi - lo != seeds or not 0 <= lo <= hi <= total:
            raise ValueError(f"cells={cells}: this process's {seeds} rows are not [lo, hi) of the batch of {total}")
        return cls(lo, hi, total, True)

    @property
    def writes(self) -> bool:
        """Whether this process writes the log, CSV and TensorBoard files (process 0 of a
        shared batch; any process that trains a batch of its own)."""
        return not self.multi or jax.process_index() == 0

    def keys(self, key):
        """This process's rows of `total` keys split from `key` (as one process would split them)."""
        return jax.random.split(key, self.total)[self.lo:self.hi]

    def gather(self, rows: np.ndarray) -> np.ndarray:
        """Every process's rows, in batch order, on every process."""
        return distributed.gather(np.asarray(rows), self.total) if self.multi else rows

    def gather_tree(self, state):
        return jax.tree.map(self.gather, _host_copy(state))

    def whole(self, template):
        """`template` (this process's rows) with the whole batch's leading axis."""
        return jax.tree.map(lambda t: jax.ShapeDtypeStruct((self.total,) + t.shape[1:], t.dtype), template)

    def mine(self, state):
        return jax.tree.map(lambda x: x[self.lo:self.hi], state) if self.multi else state

    def agree_on_signal(self, signum: int | None) -> int | None:
        """A signal any process received (all processes then stop after the same chunk)."""
        if not self.multi:
            return signum
        return distributed.max_over_processes(signum or 0) or None


def seed_devices(seeds: int) -> list:
    """The local devices the seed axis of a batch of `seeds` is split over: all of them when
    `seeds` divides over them; on CPU (one device per core, see run.cpu_devices) otherwise the
    most that it divides over, e.g. 1 for 5 seeds on 2 devices. Accelerators raise instead:
    leaving some idle is a choice the user makes with the seed count."""
    devices = jax.local_devices()
    if seeds % len(devices) == 0:
        return devices
    if devices[0].platform == "cpu":
        return devices[:max(d for d in range(1, len(devices) + 1) if seeds % d == 0)]
    raise ValueError(f"{seeds} seeds (or cells) do not divide over {len(devices)} devices; use a multiple "
                     f"of {len(devices)} (the batch is split evenly, never padded)")


def seed_sharding(seeds: int):
    """The sharding that splits a batch of `seeds` over `seed_devices(seeds)` along its
    leading axis."""
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    return NamedSharding(Mesh(np.asarray(seed_devices(seeds)), ("seeds",)), PartitionSpec("seeds"))


def _progress_bar(total: int, initial: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="it", dynamic_ncols=True, file=sys.stderr)


def _advance(bar, active, metrics, iteration, job, seeds, train_start, start_iteration, describe):
    if bar is None:
        return
    elapsed = max(time.time() - train_start, 1e-9)
    steps_per_s = (iteration - start_iteration) * job.steps_per_iteration * seeds / elapsed
    returns = metrics.get("episode_return")
    postfix = {"env_steps": f"{iteration * job.steps_per_iteration:,}", "steps/s": f"{steps_per_s:,.0f}"}
    if returns is not None and np.isfinite(returns).any():
        postfix["return"] = f"{np.nanmean(returns):.1f}"
    if "eval_return" in metrics:
        postfix["eval"] = f"{np.nanmean(metrics['eval_return']):.1f}"
    if describe is not None:
        describe(postfix)
    bar.set_postfix(postfix, refresh=False)
    bar.update(active)


def _tensorboard(run_dir: str):
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ValueError("--tensorboard needs tensorboardX: pip install 'jgail[tensorboard]'") from None
    return SummaryWriter(os.path.join(run_dir, "tensorboard"))


def _write_scalars(writer, metrics: dict, first_iteration: int, steps_per_iteration: int) -> None:
    """Means across seeds, against env steps per seed."""
    for name, values in metrics.items():
        for t in range(values.shape[1]):
            column = values[:, t]
            if np.isfinite(column).any():
                step = (first_iteration + t + 1) * steps_per_iteration
                writer.add_scalar(name, float(np.nanmean(column)), global_step=step)
    writer.flush()
