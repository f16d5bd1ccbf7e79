"""Several processes (hosts) on one sweep: `jax.distributed` set up from flags or from the
environment variables cluster launchers set, and each process's share of the batch.

    initialize("10.0.0.1:1234", num_processes=2, process_id=0)   # or initialize() under SLURM
    lo, hi = share(num_cells)                                     # this process's cells

On CPU the cross-process collectives use gloo (jax_cpu_collectives_implementation).
"""

from __future__ import annotations

import os

import jax
import numpy as np
from jax.experimental import multihost_utils

ENV_COORDINATOR = "JGAIL_COORDINATOR"  # host:port of process 0
ENV_NUM_PROCESSES = "JGAIL_NUM_PROCESSES"
ENV_PROCESS_ID = "JGAIL_PROCESS_ID"
_initialized = False


def requested(coordinator: str | None, num_processes: int | None) -> bool:
    """Whether a multi-process run was asked for, by flags, our variables or SLURM's."""
    if coordinator or (num_processes or 0) > 1 or os.environ.get(ENV_COORDINATOR):
        return True
    return int(os.environ.get("SLURM_NTASKS", "1")) > 1


def initialize(coordinator: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> None:
    """Join the processes of one run; arguments fall back to JGAIL_* variables, then to
    jax's own detection (SLURM, Open MPI, Kubernetes)."""
    global _initialized
    if _initialized:
        return
    coordinator = coordinator or os.environ.get(ENV_COORDINATOR)
    if num_processes is None and os.environ.get(ENV_NUM_PROCESSES):
        num_processes = int(os.environ[ENV_NUM_PROCESSES])
    if process_id is None and os.environ.get(ENV_PROCESS_ID):
        process_id = int(os.environ[ENV_PROCESS_ID])
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator, num_processes=num_processes, process_id=process_id)
    _initialized = True


def shares(num_items: int, num_processes: int) -> list[tuple[int, int]]:
    """Every process's contiguous [lo, hi) of `num_items`, split as evenly as possible."""
    bounds = np.linspace(0, num_items, num_processes + 1).round().astype(int)
    return [(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]


def share(num_items: int) -> tuple[int, int]:
    """This process's contiguous [lo, hi) of `num_items` (its entry of `shares`)."""
    return shares(num_items, jax.process_count())[jax.process_index()]


def gather(values: np.ndarray, num_items: int) -> np.ndarray:
    """Every process's rows of `values` [hi - lo, ...], concatenated in process order on all
    processes (rows padded to the largest share for the collective, then trimmed)."""
    if jax.process_count() == 1:
        return np.asarray(values)
    width = int(np.ceil(num_items / jax.process_count())) + 1
    padded = np.zeros((width,) + values.shape[1:], values.dtype)
    padded[: len(values)] = values
    everything = np.asarray(multihost_utils.process_allgather(padded))  # [processes, width, ...]
    counts = np.asarray(multihost_utils.process_allgather(np.int32(len(values))))
    return np.concatenate([everything[p, : counts[p]] for p in range(jax.process_count())])


def max_over_processes(value: int) -> int:
    """The largest of every process's `value`, on every process (`value` with one process)."""
    if jax.process_count() == 1:
        return int(value)
    return int(np.asarray(multihost_utils.process_allgather(np.int32(value))).max())


def barrier(name: str) -> None:
    """Wait until every process reaches this point (no-op with one process)."""
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)
