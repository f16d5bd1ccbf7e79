"""Shared plumbing for benchmark scripts: timing, tables, machine-readable results.

Each script prints a markdown table and writes JSON (and the same table as .md) next to
it under benchmarks/results/, atomically, both stamped with what made the numbers: date,
device, jax/jaxlib/jgail versions and the git commit (and whether the tree differed from
it). `python -m benchmarks NAME --quick` sends results to benchmarks/results/quick/
(`use_results_dir`), so a smoke run never overwrites a full one.

Benchmarks compile through the persistent compilation cache (`jgail.run.compile_cache`;
JGAIL_COMPILE_CACHE="" turns it off), so a compile time is cold (compiled) or warm
(loaded from the cache): each result file says which, under "compiles".
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
import time

import jax
import numpy as np

from jgail.core.atomic_io import atomic_write, write_json_atomic
from jgail.run import compile_cache

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_DIR = os.path.join(REPO, "benchmarks", "results")
QUICK_RESULTS_DIR = os.path.join(RESULTS_DIR, "quick")
_results_dir = RESULTS_DIR  # where write_results puts files when a script gives no out_dir
COMMAND: str | None = None  # how the benchmark was invoked, when not from its own command line
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


def use_results_dir(path: str) -> None:
    """Send later `write_results` calls without an explicit out_dir to `path`."""
    global _results_dir
    _results_dir = path


def _git(*args) -> str | None:
    try:
        done = subprocess.run(["git", "-C", REPO, *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def source_version() -> dict:
    """The git commit the numbers come from, and whether the working tree differed from it
    in what runs (jgail/, benchmarks/, pyproject.toml): a hash of that diff, so two results
    say whether they measured the same code."""
    commit = _git("rev-parse", "HEAD")
    diff = _git("diff", "HEAD", "--", "jgail", "benchmarks", "pyproject.toml")
    untracked = _git("ls-files", "--others", "--exclude-standard", "--", "jgail", "benchmarks")
    changed = bool(diff) or bool(untracked)
    digest = hashlib.sha256(((diff or "") + (untracked or "")).encode()).hexdigest()[:12] if changed else None
    return {"git_commit": commit, "uncommitted_changes": changed if commit else None, "diff_sha256": digest}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        return platform.processor()


def machine() -> dict:
    """Where and with what the numbers were measured."""
    import jaxlib
    import numpy as np

    from jgail import __version__ as jgail_version

    device = jax.devices()[0]
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "platform": device.platform, "device": str(device.device_kind), "devices": jax.device_count(),
            "cpus": os.cpu_count(), "cpu_model": _cpu_model(), "jax": jax.__version__, "jaxlib": jaxlib.__version__,
            "jgail": jgail_version, "numpy": np.__version__, "python": platform.python_version(),
            "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "command": COMMAND or " ".join([os.path.basename(sys.executable)] + sys.argv), **source_version()}


def stamp(info: dict) -> str:
    """One markdown line saying what made the numbers."""
    commit = (info.get("git_commit") or "unknown")[:10]
    if info.get("uncommitted_changes"):
        commit += f" + uncommitted changes (diff {info['diff_sha256']})"
    device = info["device"] if info["platform"] != "cpu" else f"CPU, {info['cpus']} cores ({info['cpu_model']})"
    return (f"_Measured {info['date']} on {device}; jax {info['jax']}, jaxlib {info['jaxlib']}, jgail {info['jgail']}, "
            f"commit {commit}; load average at the end {info['load_average_1m']:.1f}._")


def sanitize(obj):
    """JSON-safe: numpy scalars to Python, NaN/inf to None (recursively through dicts/lists)."""
    if isinstance(obj, dict):
        return {str(k): sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [sanitize(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, (np.integer, np.bool_)):
        return obj.item()
    return obj


def normalised(returns, random_return: float, expert_return: float) -> np.ndarray:
    """Scores of evaluation returns: the random policy 0, the expert 1."""
    return (np.asarray(returns, float) - random_return) / (expert_return - random_return)


def variance_columns(normalised_per_seed, threshold: float = 0.9, digits: int = 2) -> dict:
    """Luck does not hide in a mean: the table cells beside a row's mean over seeds, from its
    per-seed normalised scores (random 0, expert 1). "worst seed": the lowest score; "seeds >=
    0.9": how many seeds reach `threshold`, as "k/n". A seed without a score (None, NaN)
    counts as not reaching it and makes the worst "nan". Both cells are "-" when the row has
    no per-seed scores (None or empty)."""
    label = f"seeds >= {threshold:g}"
    values = [] if normalised_per_seed is None else np.asarray(normalised_per_seed, dtype=object).ravel()
    if len(values) == 0:
        return {"worst seed": "-", label: "-"}
    scores = np.array([np.nan if x is None else float(x) for x in values], float)
    worst = float(np.min(scores))  # NaN if any seed has none
    return {"worst seed": f"{worst:.{digits}f}", label: f"{int(np.sum(scores >= threshold))}/{scores.size}"}


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    def fmt(v):
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def write_results(name: str, payload: dict, table: str, out_dir: str | None = None) -> str:
    """Write <name>.json and <name>.md atomically, both stamped (`machine`); returns the JSON path."""
    out_dir = out_dir or _results_dir
    os.makedirs(out_dir, exist_ok=True)
    info = machine()
    path = os.path.join(out_dir, f"{name}.json")
    write_json_atomic(path, {"machine": info, **payload, "compiles": COMPILES})
    atomic_write(os.path.join(out_dir, f"{name}.md"), lambda f: f.write(table + "\n\n" + stamp(info) + "\n"))
    return path


def earlier_results(name: str, key: str, only, out_dir: str | None = None) -> dict:
    """For a run limited with --only: the `key` entry ("parts", "tasks") of the results file it
    will rewrite (<name>.json where `write_results` puts it), so the entries it does not redo are
    kept; {} for a full run or when there is no such file."""
    path = os.path.join(out_dir or _results_dir, f"{name}.json")
    if not only or not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f).get(key, {})


def run_parts(script: str, argv, args, names, run, build_table) -> int:
    """The main loop of a benchmark made of parts (tasks, caps): run `run(part, args)` for each
    part --only selects (all of `names` without it), keep the parts of the results file it does not
    redo, stamp each new part with its time and command (`script` and `argv`, the script's own
    arguments; None: sys.argv), then print `build_table(parts, command)` and write
    <args.name>.{json,md} under args.out_dir. Returns 0."""
    parts = earlier_results(args.name, "parts", args.only, args.out_dir)  # --only: keep the rest
    for part in args.only or list(names):
        parts[part] = run(part, args)
        parts[part]["measured_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
        parts[part]["command"] = COMMAND or " ".join(["python", script]
                                                     + list(sys.argv[1:] if argv is None else argv))
    parts = {p: parts[p] for p in names if p in parts}
    table = build_table(parts, "; ".join(sorted({p["command"] for p in parts.values()})))
    print(table)
    print(f"\nwrote {write_results(args.name, {'parts': sanitize(parts)}, table, args.out_dir)}")
    return 0


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
