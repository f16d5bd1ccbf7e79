"""The prepared GPU check: the accelerator presets' hopper rows and the seed-scaling table, in
at most 9 minutes on one H100 including compilation.

Run it whenever the device tool lends a GPU (`status` first; it costs nothing):

    python3 benchmarks/accelerator_check.py --out-dir "$OUT"

Steps, each a subprocess under what is left of the time budget (--budget-s, default 530 s):

1. brax/hopper at the accelerator presets (`jgail.presets.accelerator`): the PPO expert (trained
   and cached in the run), then GAIL-PPO and BC from 25 and from 4 trajectories, 5 seeds in one
   vmapped call each: `gail_brax.py --budget accelerator --only hopper`, rows written as each
   finishes, to <out>/gail_brax_accelerator_check.{md,json} (the format of
   benchmarks/results/gail_brax_accelerator.json: tasks -> rows with normalised_mean,
   trajectories, expert_return, device, seeds).
2. The scaling table, one fresh process per seed count (1 8 64 256 1024 4096 by default),
   to <out>/scaling_accelerator.{md,json}; the seed counts the time does not reach are listed
   as not measured.

A step cut off by the budget keeps the rows it wrote; the summary (<out>/accelerator_check.json)
says which steps finished, in how long, and which did not. Nothing here overwrites
benchmarks/results: copy the files there (and `gail_brax.py --merge` the rows into
gail_brax_accelerator.json) after reading them. Without a GPU it says "not measured" and runs
nothing, unless --quick (a smoke run of both steps at toy size, on any device: gail_brax's smoke
budget and 1 and 8 seeds of scaling, a few minutes on a 2-core CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

SCALING_SEEDS = (1, 8, 64, 256, 1024, 4096)
RESERVE_S = 20  # kept back for the scaling table and the summary


def run_step(name: str, argv: list[str], deadline: float, log) -> dict:
    """Run one step's command until it ends or the deadline; what it printed goes to `log`."""
    left = deadline - time.monotonic()
    if left < 30:
        return {"step": name, "status": "not run: no time left", "command": " ".join(argv)}
    start = time.monotonic()
    log.write(f"\n=== {name}: {' '.join(argv)}\n")
    log.flush()
    try:
        done = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, timeout=left, cwd=os.path.dirname(HERE))
        status = "done" if done.returncode == 0 else f"failed (exit {done.returncode}; see the log)"
    except subprocess.TimeoutExpired:
        status = f"cut off at the time budget after {left:.0f} s (rows written before stay)"
    wall = time.monotonic() - start
    print(f"{name}: {status}, {wall:.0f} s", flush=True)
    return {"step": name, "status": status, "wall_s": round(wall, 1), "command": " ".join(argv)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out-dir", default=None,
                   help="where the results, the log and the summary go (default: <results dir>/accelerator_check)")
    p.add_argument("--budget-s", type=float, default=530, help="wall-clock budget for all steps (s)")
    p.add_argument("--seeds", type=int, default=5, help="GAIL/BC seeds per dataset size")
    p.add_argument("--trajectories", type=int, nargs="+", default=[25, 4])
    p.add_argument("--scaling-seeds", type=int, nargs="+", default=list(SCALING_SEEDS))
    p.add_argument("--expert-cache", default=None, help="reuse experts from here (default: a fresh temp dir)")
    p.add_argument("--quick", action="store_true", help="smoke run at toy size, on any device")
    args = p.parse_args(argv)
    import jax

    device = jax.devices()[0]
    if device.platform == "cpu" and not args.quick:
        print("accelerator_check: not measured, this machine has no GPU/TPU (the CPU rows stand). Run it where "
              "the device tool lends one, or pass --quick for a smoke run of its steps at toy size.")
        return 0
    from benchmarks import common

    args.out_dir = args.out_dir or os.path.join(common._results_dir, "accelerator_check")
    if args.quick and args.scaling_seeds == list(SCALING_SEEDS):
        args.scaling_seeds = [1, 8]
    os.makedirs(args.out_dir, exist_ok=True)
    deadline = time.monotonic() + args.budget_s - RESERVE_S
    cache = args.expert_cache or tempfile.mkdtemp(prefix="jgail_experts_")
    py = sys.executable
    brax = [py, os.path.join(HERE, "gail_brax.py"), "--out-dir", args.out_dir, "--expert-cache", cache,
            "--generator", "ppo"]
    if args.quick:  # gail_brax's own smoke budget (inverted_double_pendulum, toy sizes), 2 seeds
        brax += ["--quick", "--seeds", "2"]
    else:
        brax += ["--budget", "accelerator", "--only", "hopper", "--name", "gail_brax_accelerator_check",
                 "--seeds", str(args.seeds)] + [a for k in args.trajectories for a in ("--trajectories", str(k))]
    steps = []
    with open(os.path.join(args.out_dir, "accelerator_check.log"), "a") as log:
        name = "gail_brax smoke budget" if args.quick else "hopper expert, GAIL-PPO and BC"
        steps.append(run_step(name, brax, deadline, log))
        rows_file = os.path.join(args.out_dir, "scaling_rows.txt")
        if os.path.exists(rows_file):  # this check's own scratch from an earlier run
            os.remove(rows_file)
        measured, not_measured = [], []
        for seeds in args.scaling_seeds:
            child = [py, os.path.join(HERE, "scaling.py"), "--child", str(seeds),
                     "--iterations", "2" if args.quick else "5"]
            if not_measured:  # a larger count after one that did not fit the time: skip
                not_measured.append(seeds)
                continue
            start = time.monotonic()
            left = deadline - start
            try:
                done = subprocess.run(child, capture_output=True, text=True, timeout=max(left, 1),
                                      env={**os.environ, "JGAIL_COMPILE_CACHE": ""}, cwd=os.path.dirname(HERE))
                ok = done.returncode == 0
                log.write(f"\n=== scaling {seeds} seeds\n{done.stdout}{done.stderr[-3000:]}")
            except subprocess.TimeoutExpired:
                ok = False
            if not ok or left < 5:
                not_measured.append(seeds)
                continue
            row = json.loads(done.stdout.strip().splitlines()[-1])
            with open(rows_file, "a") as f:
                f.write(repr(row) + "\n")
            measured.append(seeds)
            print(f"scaling {seeds} seeds: {row['env_steps_per_s']:.3g} env steps/s, "
                  f"{time.monotonic() - start:.0f} s", flush=True)
        if measured:
            subprocess.run([py, os.path.join(HERE, "scaling.py"), "--rows-from", rows_file, "--out-dir",
                            args.out_dir, "--name", "scaling_accelerator", "--iterations",
                            "2" if args.quick else "5"], stdout=log, stderr=subprocess.STDOUT, check=False,
                           cwd=os.path.dirname(HERE))
        steps.append({"step": "scaling", "measured_seeds": measured,
                      "not_measured_seeds (time or memory)": not_measured})
    summary = {"machine": common.machine(), "device": device.device_kind, "budget_s": args.budget_s,
               "wall_s": round(args.budget_s - RESERVE_S - (deadline - time.monotonic()), 1), "steps": steps}
    common.write_json_atomic(os.path.join(args.out_dir, "accelerator_check.json"), summary)
    print(json.dumps(steps, indent=1))
    return 0 if all(s.get("status", "done") == "done" for s in steps) and measured else 1


if __name__ == "__main__":
    raise SystemExit(main())
