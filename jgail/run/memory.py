"""Will it fit? The memory a run needs, estimated BEFORE compiling, against what the machine has.

A run holds, per seed: its state twice, a chunk's input and its output (env states, networks,
optimisers, replay; exact, from `jax.eval_shape` of the job's init, which traces but compiles
nothing), and, while one iteration
runs, its working set: the rollout's transitions and the activations of the policy, value and
discriminator networks over the batch (`working_bytes`). The data (demonstrations) is shared
by every seed, once. The estimate is calibrated against XLA's own memory analysis of the
compiled chunk (tests/test_memory.py checks it is above XLA's count and less than 2.5x it on
configurations of both env kinds, networks of 64 to 256 units, GAIL and PPO).

What the machine has (`available_bytes`): on an accelerator, the device's `bytes_limit` less
`bytes_in_use` (jax's memory statistics); on CPU, the host's MemAvailable (and the cgroup's
limit, where there is one). `JGAIL_MEMORY_LIMIT` (e.g. "8GiB", "512MiB", or bytes) caps it:
a share of a machine someone else uses too.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re

import jax
import numpy as np

# Activations over the batch (forward, and the gradient's in the minibatches) take about one
# float per hidden unit per env step (XLA's analysis: 0.7-1.1 x); 1.25 x is the margin.
ACTIVATION_FACTOR = 1.25
HEADROOM = 0.9  # use at most this share of what is available: the runtime and the evaluation need some
ENV_VAR = "JGAIL_MEMORY_LIMIT"
_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 10**3, "kib": 2**10, "m": 2**20, "mb": 10**6, "mib": 2**20,
          "g": 2**30, "gb": 10**9, "gib": 2**30, "t": 2**40, "tb": 10**12, "tib": 2**40}


class DoesNotFit(ValueError):
    """The estimate exceeds the memory available; `fits` seeds (cells) in one call would fit."""

    def __init__(self, estimate: Estimate, seeds: int, available: int, per_device_seeds: int, fits: int,
                 where: str):
        self.estimate, self.seeds, self.available, self.fits = estimate, seeds, available, fits
        need = estimate.total(per_device_seeds)
        super().__init__(
            f"{seeds} seeds need about {human(need)} ({human(estimate.per_seed)} per seed: state "
            f"{human(estimate.state_per_seed)} in and out, one iteration's rollout and activations "
            f"{human(estimate.working_per_seed)}; data {human(estimate.shared)} once"
            + (f"; {per_device_seeds} seeds per device" if per_device_seeds != seeds else "")
            + f"), but {where} has {human(available)} available; {fits} seed(s) fit in one call")


@dataclasses.dataclass(frozen=True)
class Estimate:
    """Bytes one call holds: `per_seed` for each seed (state in and out + working set) and `shared` once."""

    state_per_seed: int
    working_per_seed: int
    shared: int

    @property
    def per_seed(self) -> int:
        """Bytes one seed (cell) adds: its state twice and one iteration's working set."""
        # The state twice: a chunk's input and its output are both live (they are not donated:
        # the input is the last checkpointed state until the output replaces it).
        return 2 * self.state_per_seed + self.working_per_seed

    def total(self, seeds: int) -> int:
        """Bytes a run of `seeds` seeds holds: the shared inputs once, the rest per seed."""
        return self.shared + seeds * self.per_seed


def human(n: float) -> str:
    """Bytes as a short string: 1.5 GiB, 320 MiB, 12 KiB."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"
    return f"{int(n)} B"


def parse_bytes(text: str) -> int:
    """"8GiB", "512 MB", "1e9" -> bytes; ValueError naming the accepted forms otherwise."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-z]*)\s*", text.lower())
    if not m or m.group(2) not in _UNITS or float(m.group(1)) <= 0:
        raise ValueError(f"{ENV_VAR}={text!r}: give a positive size such as 8GiB, 512MiB or 2000000000 (bytes)")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def tree_bytes(tree) -> int:
    """Bytes of the arrays (or ShapeDtypeStructs) of `tree`; typed PRNG keys count their key data."""
    total = 0
    for x in jax.tree.leaves(tree):
        dtype = x.dtype
        if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
            total += int(np.prod(x.shape)) * 8  # threefry: 2 x uint32
        else:
            total += int(np.prod(x.shape)) * np.dtype(dtype).itemsize
    return total


def working_bytes(config) -> int:
    """Per seed, what one iteration of `config` (an RLConfig or GAILConfig) holds beyond its
    state: the rollout's transitions (obs, next obs, action, log-prob, reward, flags, returns)
    and the networks' activations over the batch."""
    env = config.env
    obs = env.obs_dim * 4
    action = 4 * (1 if env.action_space.discrete else env.action_space.action_dim)
    transition = 2 * obs + action + 4 * 4 + 2
    units = 2 * sum(config.network.hidden_sizes)  # policy and value
    discriminator = getattr(config, "discriminator", None)
    if discriminator is not None:
        units += sum(discriminator.hidden_sizes)
    per_step = transition + ACTIVATION_FACTOR * 4 * units
    return int(config.num_envs * config.num_steps * per_step)


def estimate(job, cells) -> Estimate:
    """The estimate for `job` (a driver.Job with `working_bytes`) from ONE cell's inputs `cells`
    (a pytree with leading axis 1, as `driver.drive` takes for S seeds); compiles nothing."""
    state = jax.eval_shape(jax.vmap(job.init, in_axes=(0, None)), cells, job.data)
    return Estimate(tree_bytes(state) + tree_bytes(cells), int(job.working_bytes), tree_bytes(job.data))


def available_bytes(device=None) -> tuple[int | None, str]:
    """(bytes free for a run on `device` (default: the first local device), a description of where
    from); (None, ...) where it cannot be told. JGAIL_MEMORY_LIMIT caps it."""
    device = device or jax.local_devices()[0]
    found, where = None, "this machine"
    if device.platform == "cpu":
        found, where = _host_available(), "this machine (host memory)"
    else:
        stats = device.memory_stats() or {}
        if "bytes_limit" in stats:
            found = int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
            where = f"the {device.device_kind} ({device.platform})"
    limit = os.environ.get(ENV_VAR)
    if limit:
        capped = parse_bytes(limit)
        if found is None or capped < found:
            found, where = capped, f"{ENV_VAR}={limit}"
    return found, where


def _host_available() -> int | None:
    found = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
    except OSError:
        pass
    try:  # cgroup v2: the container's own limit
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current") as f:
            used = int(f.read().strip())
        if limit != "max":
            found = min(found, int(limit) - used) if found is not None else int(limit) - used
    except (OSError, ValueError):
        pass
    return found


def fitting(est: Estimate, available: int, devices: int = 1) -> int:
    """The most seeds (cells) whose estimate fits in `available` bytes per device, over `devices`."""
    room = available * HEADROOM - est.shared
    return max(0, int(room // max(est.per_seed, 1))) * devices


def check(est: Estimate, seeds: int, devices: int = 1) -> None:
    """Raise DoesNotFit when `seeds` seeds, split over `devices` accelerators (1 on CPU), do not fit."""
    available, where = available_bytes()
    if available is None:
        return
    per_device = math.ceil(seeds / devices)
    if est.total(per_device) > available * HEADROOM:
        raise DoesNotFit(est, seeds, available, per_device, fitting(est, available, devices), where)
