"""One entry point for every benchmark: each module of benchmarks/ with a `main(argv)`.

    python -m benchmarks list                      # the benchmarks and what each measures
    python -m benchmarks NAME [--quick | --full] [-- ARGS...]
    python -m benchmarks all [--quick | --full]

--full (the default) runs a benchmark at its own defaults, the settings its committed results
come from, into benchmarks/results/. --quick runs it at toy size, to check it works (a few
minutes for all of them on a 2-core CPU), into benchmarks/results/quick/, so a smoke run
never overwrites a full result. ARGS after `--` go to the one benchmark named. Every result
file is stamped with the date, device, versions and git commit (benchmarks/common.py).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
import traceback

if __package__ in (None, ""):  # run as a file: make the `benchmarks` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import common

NOT_BENCHMARKS = {"common", "__main__"}

# Each benchmark's toy-size arguments for --quick (its own flags; a benchmark not listed
# runs with --quick itself).
QUICK_ARGS = {
    "ppo_cartpole": ["--seeds", "2", "--total-timesteps", "8192"],
    "gail_classic": ["--quick"],
    "driver_overhead": ["--seeds", "2", "--iterations", "10", "--chunk", "5", "--repeats", "1"],
    "compile_cache": ["--expert-timesteps", "60000", "--gail-timesteps", "8192", "--repeats", "1"],
    "scaling": ["--seeds", "1", "8", "--iterations", "2"],
    "throughput": ["--quick"],
    "robust_experts": ["--quick"],
    "gail_brax": ["--quick"],
}


def benchmarks() -> dict:
    """name -> module, for every module of this package with a main(argv)."""
    found = {}
    for info in pkgutil.iter_modules([os.path.dirname(os.path.abspath(__file__))]):
        if info.name in NOT_BENCHMARKS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        if callable(getattr(module, "main", None)):
            found[info.name] = module
    return dict(sorted(found.items()))


def summary(module) -> str:
    return (module.__doc__ or "").strip().split("\n")[0]


def run_one(name: str, module, quick: bool, extra: list[str]) -> float:
    argv = (QUICK_ARGS.get(name, ["--quick"]) if quick else []) + extra
    common.COMMAND = f"python -m benchmarks {name} {'--quick' if quick else '--full'} {' '.join(extra)}".rstrip()
    common.COMPILES.clear()  # each result file lists its own benchmark's compiles
    print(f"\n=== {name} {' '.join(argv)}".rstrip(), flush=True)
    start = time.perf_counter()
    status = module.main(argv)
    if status not in (None, 0):
        raise SystemExit(f"benchmark {name} exited with status {status}")
    return time.perf_counter() - start


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    extra = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="a benchmark's name, 'all', or 'list'")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="toy sizes, into benchmarks/results/quick/")
    size.add_argument("--full", action="store_true", help="each benchmark's own defaults (the default)")
    args = parser.parse_args(argv)

    available = benchmarks()
    if args.name == "list":
        width = max(map(len, available))
        for name, module in available.items():
            print(f"{name:<{width}}  {summary(module)}")
        return 0
    if args.name != "all" and args.name not in available:
        parser.error(f"no benchmark {args.name!r}; choose from: all, list, {', '.join(available)}")
    if extra and args.name == "all":
        parser.error("arguments after -- go to one benchmark; name it instead of 'all'")
    if args.quick:
        common.use_results_dir(common.QUICK_RESULTS_DIR)
    names = list(available) if args.name == "all" else [args.name]
    times, failed = {}, []
    for name in names:
        try:
            times[name] = run_one(name, available[name], args.quick, extra)
        except (Exception, SystemExit) as err:  # with `all`, one failure does not stop the rest
            if len(names) == 1:
                raise
            traceback.print_exc()
            failed.append(f"{name} ({err})")
    print("\n" + "\n".join(f"{name}: {seconds:.0f} s" for name, seconds in times.items()))
    if failed:
        print(f"FAILED: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
