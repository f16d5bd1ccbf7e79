"""JAX's persistent compilation cache, switched on for every jgail entry point.

Compiling the training functions costs 8-20 s on a CPU, more than training itself in a
short job, and a notebook pays it again after every kernel restart. With the cache on, a
second process loads the compiled executable from disk instead (19 s -> 2 s for 8 GAIL
seeds on CartPole). The CLI, the benchmarks and notebooks all call `enable()`:

    from jgail.run import compile_cache
    compile_cache.enable()          # returns the directory in use, or None when off

Where the cache lives, first match wins: the `cache_dir` argument (`jgail --compile-cache
DIR`); the environment variable JGAIL_COMPILE_CACHE; a directory the user already gave JAX
(JAX_COMPILATION_CACHE_DIR); $XDG_CACHE_HOME/jgail/jax-compile-cache; then
~/.cache/jgail/jax-compile-cache. An empty string, from the argument (`--no-compile-cache`)
or the variable, turns the cache off, a JAX one included. Deleting the directory clears it.

Only programs that take at least MIN_COMPILE_TIME_S to compile are written (the training,
collection and evaluation calls, env resets, key splits); the many trivial helper
computations JAX compiles on the way (casts, slices) are not worth a file each.

What makes this safe, as read in jax 0.10 (`_src/cache_key.py`, `lru_cache.py`,
`compiler.py`):
- A key is a SHA-256 over the lowered program (without source locations), the jaxlib
  version, the platform and its version, XLA_FLAGS, the compile options and the device
  kind. A different program, version or configuration gets another key; an entry is never
  used for a program it was not compiled from.
- JAX's writes are NOT atomic: with no size limit set, `LRUCache.put` checks that the
  file is absent, then writes the whole entry (compressed executable and compile time) in
  place, without a lock. Sharing the directory between processes (parallel sweeps) is safe
  on these grounds: an entry is never deleted (no size limit, so no eviction), so a read
  never races a delete; concurrent writers of one key write the same program, and the
  file ends as one complete entry (any longer tail of the other's is ignored past the end
  of the compressed stream); a reader that catches a file half written fails the
  decompressor's length and checksum test, and JAX warns and compiles the program itself
  (`compiler._cache_read`). The worst case is a warning and one extra compile. Measured:
  three `jgail gail` processes started together on an empty cache, then three more on
  the full one, all ran without a warning and gave identical results. In multi-process
  runs (jax.distributed) only process 0 writes.
- Any error reading or writing an entry is a warning from JAX, never a failure
  (`jax_raise_persistent_cache_errors` is off). A directory that cannot be written, or has
  less than MIN_FREE_BYTES free, is caught here first: a warning, then the run goes on
  uncached. A write cut short by a full disk would leave an entry that fails its checksum
  on every read (a warning each time, never a wrong result): clear the directory.

The cache is trusted input: JAX runs what it finds there, so never point it at a
directory that other users can write.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings

import jax
from jax.experimental.compilation_cache import compilation_cache as jax_cache

ENV_VAR = "JGAIL_COMPILE_CACHE"
# Training calls take 3-20 s to compile on CPU, evaluation and env resets 0.2-3 s, key splits
# ~0.1 s; trivial helpers (casts, slices, broadcasts) under 0.05 s. Each stored entry saves its
# compile time in every later process.
MIN_COMPILE_TIME_S = 0.1
MIN_FREE_BYTES = 256 * 2**20  # a GAIL executable is a few MiB; below this, a write could fill the disk

_enabled_dir: str | None = None  # the directory enable() gave JAX ...
_users_dir: str | None = None  # ... and the one the user had given it before, if any


def default_dir() -> str:
    """$XDG_CACHE_HOME/jgail/jax-compile-cache, or ~/.cache/jgail/jax-compile-cache."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jgail", "jax-compile-cache")


def resolve(cache_dir: str | None = None) -> str | None:
    """The directory `enable(cache_dir)` would use, or None when the cache is turned off."""
    if cache_dir is None:
        cache_dir = os.environ.get(ENV_VAR)
    if cache_dir is None:
        cache_dir = _users_jax_dir() or default_dir()
    return os.path.abspath(os.path.expanduser(cache_dir)) if cache_dir else None


def enable(cache_dir: str | None = None) -> str | None:
    """Turn on JAX's persistent compilation cache; returns the directory, or None if off.

    Idempotent. Call it before the first compilation that should be cached: programs
    compiled earlier in the process are not written. An unusable directory is a warning,
    not an error: the run goes on without the cache. `cache_dir`: a directory, "" for no
    cache, or None for the usual lookup (see the module docstring).

    Example::

        from jgail.run import compile_cache

        compile_cache.enable()                        # e.g. "/home/me/.cache/jgail/jax-compile-cache"
        compile_cache.enable("/scratch/jax-cache")    # a directory of your choice
        compile_cache.enable("")                      # off: returns None
    """
    path = resolve(cache_dir)
    problem = path and _unusable(path)
    if problem:
        warnings.warn(f"jgail: compilation cache {path} {problem}; running without the persistent "
                      f"compilation cache (set {ENV_VAR} or --compile-cache to another directory)",
                      RuntimeWarning, stacklevel=2)
    _use(None if problem else path)
    return None if problem else path


def _unusable(path: str) -> str | None:
    """Why `path` cannot hold the cache, or None if it can: it must be creatable, writable
    (a probe file: permission bits do not tell for root or a read-only mount) and not full."""
    try:
        os.makedirs(path, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".jgail-write-probe-", dir=path)
        os.close(fd)
        os.unlink(probe)
        free = shutil.disk_usage(path).free
    except OSError as err:
        return f"is not writable ({type(err).__name__}: {err.strerror or err})"
    if free < MIN_FREE_BYTES:
        return f"has only {free / 2**20:.0f} MiB free"
    return None


def _users_jax_dir() -> str | None:
    current = jax.config.jax_compilation_cache_dir
    return current if current and current != _enabled_dir else _users_dir


def _use(path: str | None):
    """Point JAX's cache at `path` (None: no cache, whoever had set one)."""
    global _enabled_dir, _users_dir
    _users_dir = _users_jax_dir()
    if path == jax.config.jax_compilation_cache_dir and path in (_enabled_dir, None):
        return
    # JAX opens its cache once, at the first compile after a directory is set: drop the open one.
    jax_cache.reset_cache()
    jax.config.update("jax_compilation_cache_dir", path)
    if path is not None:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_TIME_S)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)  # compile time alone decides
    _enabled_dir = path
