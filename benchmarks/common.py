"""Shared plumbing for benchmark scripts: timing, tables, machine-readable results.

Each script prints a markdown table and writes JSON (and the same table as .md) next to
it under benchmarks/results/, atomically.

Benchmarks compile through the persistent compilation cache (`jgail.run.compile_cache`;
JGAIL_COMPILE_CACHE="" turns it off), so a compile time is cold (compiled) or warm
(loaded from the cache): each result file says which, under "compiles".
"""

from __future__ import annotations

import os
import platform
import time

import jax

from jgail.core.atomic_io import atomic_write, write_json_atomic
from jgail.run import compile_cache

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
COMPILES: list[dict] = []  # one record per compile_and_run call, written with the results
_cache_hits = 0  # programs loaded from the persistent cache so far in this process


def _count_cache_hits(event: str, **_):
    global _cache_hits
    if event == "/jax/compilation_cache/cache_hits":
        _cache_hits += 1


jax.monitoring.register_event_listener(_count_cache_hits)


def timed(fn, *args):
    """(result, seconds) of fn(*args) with results ready."""
    start = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return out, time.perf_counter() - start


def compile_and_run(fn, *args):
    """Compile `fn` ahead of time, then run it: returns (out, compile_s, run_s).

    compile_s is warm if the program came from the persistent cache; COMPILES says which."""
    cache_dir = compile_cache.enable()
    hits_before, start = _cache_hits, time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_s = time.perf_counter() - start
    COMPILES.append({"compile_s": compile_s, "from_cache": _cache_hits > hits_before,
                     "cache": "off" if cache_dir is None else "on"})
    out, run_s = timed(compiled, *args)
    return out, compile_s, run_s


def machine() -> dict:
    device = jax.devices()[0]
    return {"platform": device.platform, "device": str(device.device_kind), "cpus": os.cpu_count(),
            "jax": jax.__version__, "python": platform.python_version()}


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    def fmt(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def write_results(name: str, payload: dict, table: str, out_dir: str | None = None) -> str:
    """Write <name>.json and <name>.md atomically; returns the JSON path."""
    out_dir = out_dir or RESULTS_DIR
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{name}.json")
    write_json_atomic(path, {"machine": machine(), **payload, **({"compiles": COMPILES} if COMPILES else {})})
    atomic_write(os.path.join(out_dir, f"{name}.md"), lambda f: f.write(table + "\n"))
    return path


def steps_to_threshold(curves, batch_size: int, threshold: float, window: int = 10) -> list:
    """Per seed: env steps until the training return, averaged over the last `window`
    iterations (episodes that ended in them), first reaches `threshold`; None if never.

    A single iteration is too noisy: early on, one long episode can end in a batch alone.
    """
    import numpy as np

    out = []
    for curve in np.asarray(curves, dtype=float):
        hit = None
        for i in range(window, len(curve) + 1):
            chunk = curve[i - window:i]
            if np.isfinite(chunk).any() and np.nanmean(chunk) >= threshold:
                hit = i * batch_size
                break
        out.append(hit)
    return out
