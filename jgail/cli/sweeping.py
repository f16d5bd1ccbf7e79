"""`jgail sweep`: seeds x a grid of numeric settings as one vmapped computation, run by the
run driver, spread over local devices and over processes, aggregated honestly.

    jgail sweep --env CartPole-v1 --demos d.npz --seeds 16 --grid disc.learning_rate=1e-4,1e-3 \\
                --grid generator.ent_coef=0,0.01 --out runs/sweep

Cells are (setting, seed) pairs, setting-major. Seed s of every setting uses the same key,
so settings are compared on common random numbers. Only numeric leaves of the config can be
swept: a structural setting (network sizes, reward form, generator kind, counts) changes the
compiled program, so the command refuses it and says to run one sweep per value.

Memory: `--max-parallel N` runs the cells in groups of N, one after the other; each cell's
result does not depend on the grouping. Devices: each process's cells of a group are split
over its local devices (`driver.seed_devices`: on accelerators they must divide by their
number; on CPU, over the most devices they divide over; cells are never padded).
Processes: every group is split over the processes (contiguous shares), which train it
together through the run driver (`driver.drive(cells=...)`): metrics, checkpoints (the whole
group's state, written once) and results are gathered on process 0, which writes the files
and the tables. The groups do not depend on the number of processes, so a sweep can be
resumed on another number of processes. The output directory must be on a filesystem that
every process sees.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shutil
import time

import jax
import jax.numpy as jnp
import numpy as np

from jgail.cli import imitation, runs
from jgail.cli.args import UsageError, check_run_args
from jgail.core.atomic_io import write_json_atomic
from jgail.core.distributions import random_policy
from jgail.data import demos
from jgail.imitation import gail
from jgail.run import aggregate, distributed, driver, memory, sweep
from jgail.run.evaluation import evaluate, evaluate_fn

ALIASES = {"disc.": "discriminator.", "gen.": "generator."}
RESULTS = "results.json"  # per group of cells, written when the group has trained and been evaluated


def add_args(p: argparse.ArgumentParser) -> None:
    """Add the sweep-only flags (--grid, --max-parallel, --threshold, multi-process) to `p`."""
    p.add_argument("--grid", action="append", default=[], metavar="PATH=V1,V2,...",
                   help="a swept numeric setting, e.g. disc.learning_rate=1e-4,3e-4 (repeat for a cross product)")
    p.add_argument("--max-parallel", type=max_parallel_value, default=None, metavar="N|auto",
                   help="at most this many cells in one vmapped call; 'auto': as many as the memory estimate "
                        "says fit (all of them when they do)")
    p.add_argument("--threshold", type=float, default=0.9,
                   help="a seed 'reaches the expert' at this normalised score (return if the expert's is unknown)")
    g = p.add_argument_group("several processes (hosts)")
    g.add_argument("--coordinator", default=None, help="host:port of process 0 (or $JGAIL_COORDINATOR)")
    g.add_argument("--num-processes", type=int, default=None, help="(or $JGAIL_NUM_PROCESSES, or SLURM's)")
    g.add_argument("--process-id", type=int, default=None, help="(or $JGAIL_PROCESS_ID, or SLURM's)")


def max_parallel_value(text: str):
    """--max-parallel's value: a positive int, or "auto"."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"give a number of cells or 'auto', not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def parse_grid(specs: list[str]) -> dict[str, list[float]]:
    """--grid values ["disc.learning_rate=1e-4,3e-4", ...] as {"discriminator.learning_rate":
    [1e-4, 3e-4], ...} ("disc." and "gen." expanded). UsageError for a malformed spec."""
    grid = {}
    for spec in specs:
        path, sep, values = spec.partition("=")
        if not sep or not path or not values:
            raise UsageError(f"--grid {spec!r}: write PATH=V1,V2,... e.g. disc.learning_rate=1e-4,3e-4")
        for short, full in ALIASES.items():
            path = full + path[len(short):] if path.startswith(short) else path
        if path in grid:
            raise UsageError(f"--grid {spec!r}: {path} is already swept by an earlier --grid; "
                             f"give all its values in one flag")
        try:
            grid[path] = [float(v) for v in values.split(",")]
        except ValueError:
            raise UsageError(f"--grid {spec!r}: the values must be numbers separated by commas") from None
        if len(set(grid[path])) != len(grid[path]):
            raise UsageError(f"--grid {spec!r} repeats a value")
    return grid


def check_numeric_path(config, path: str) -> None:
    """Refuse a path that is not a numeric (vmappable) leaf of the config."""
    node, parts = config, path.split(".")
    for i, part in enumerate(parts):
        fields = {f.name: f for f in dataclasses.fields(node)} if dataclasses.is_dataclass(node) else {}
        if part not in fields:
            known = ", ".join(sorted(fields)) or "none"
            raise UsageError(f"--grid {path}: {type(node).__name__} has no field {part!r} (fields: {known})")
        static = fields[part].metadata.get("pytree_node", True) is False
        if static:
            raise UsageError(f"--grid {path}: a structural setting (it changes shapes or the compiled program) "
                             "cannot share a compiled call; run one sweep per value of it")
        node = getattr(node, part)
        if i == len(parts) - 1 and (dataclasses.is_dataclass(node) or isinstance(node, (str, bool))):
            raise UsageError(f"--grid {path}: not a number; give the path of a numeric setting")


def cells_config(swept, num_settings: int, seeds: int):
    """Each numeric leaf as one value per cell [settings * seeds], setting-major."""
    def per_cell(leaf):
        column = jnp.broadcast_to(jnp.asarray(leaf, jnp.float32), (num_settings,))
        return jnp.repeat(column, seeds)

    return jax.tree.map(per_cell, swept)


def _splits_over_devices(cells: int) -> bool:
    try:
        driver.seed_devices(cells)  # on CPU any count does (over fewer devices)
    except ValueError:
        return False
    return True


def run_sweep(args) -> int:
    """`jgail sweep`: GAIL over seeds x the --grid settings, this process's share of cells in
    groups, evaluated, gathered, then aggregated by process 0 into sweep.json, sweep.md and
    sweep.png. Returns 0."""
    if args.wandb:
        raise UsageError("--wandb logs one run's curves (jgail expert, jgail gail); a sweep's cells are different "
                         "settings whose mean says nothing: log the sweep's best cell with `jgail gail --wandb`")
    check_run_args(args)
    if distributed.requested(args.coordinator, args.num_processes):
        distributed.initialize(args.coordinator, args.num_processes, args.process_id)
    env, data = imitation._load_inputs(args)
    base = imitation.gail_config_from_args(args, env)
    grid = parse_grid(args.grid)
    for path in grid:
        check_numeric_path(base, path)
    try:
        swept, _, settings = sweep.grid(base, **grid) if grid else (base, None, [{}])
    except ValueError as err:
        raise UsageError(str(err)) from None
    num_cells = len(settings) * args.seeds
    if isinstance(args.max_parallel, int) and args.max_parallel < 1:
        raise UsageError(f"--max-parallel must be >= 1, got {args.max_parallel}")
    config = cells_config(swept, len(settings), args.seeds)
    seed_keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    cell_keys = jnp.tile(jax.random.key_data(seed_keys), (len(settings), 1))
    expert = demos.to_jax(data)
    job = gail_cells_job(base, expert, args.eval_episodes, list(grid))
    one_cell = (jax.random.wrap_key_data(cell_keys[:1]), jax.tree.map(lambda x: x[:1], config))
    _fit_groups(args, job, one_cell, num_cells)
    groups = cell_groups(num_cells, args.max_parallel)
    devices, processes = len(jax.local_devices()), jax.process_count()
    for start, stop in groups:
        for lo, hi in distributed.shares(stop - start, processes):
            if hi == lo or not _splits_over_devices(hi - lo):
                raise UsageError(
                    f"a group of {stop - start} cells (--max-parallel {args.max_parallel}) splits over {processes} "
                    f"process(es) into shares of {hi - lo}, which do not divide over {devices} devices each; choose "
                    f"--seeds and --max-parallel so that they do (cells are never padded)")
    if jax.process_index() == 0:
        runs.prepare_run_dir(args, marker="sweep.json")
        if args.resume:
            _check_same_sweep(args, base, num_cells)
        else:
            runs.write_config(args, base)
    distributed.barrier("jgail-sweep-run-dir-ready")  # nobody writes before process 0 has checked --out
    runs.check_writable_dir(args.out)

    mine = [(start + lo, start + hi) for start, stop in groups
            for lo, hi in [distributed.share(stop - start)]]
    print(f"sweep: {len(settings)} setting(s) x {args.seeds} seeds = {num_cells} cells in {len(groups)} group(s); "
          f"this process (of {processes}) runs cells {', '.join(f'{a}..{b - 1}' for a, b in mine)} over {devices} "
          f"device(s)", flush=True)
    started = time.time()
    returns, flags = [], []
    for group, (lo, hi) in zip(groups, mine):
        r, f = _run_group(args, base, config, cell_keys, expert, group, lo, hi)
        returns.append(r)
        flags.append(f)
    returns, flags = np.concatenate(returns), np.concatenate(flags)
    if jax.process_index() == 0:
        _report(args, env, data, settings, returns, flags, time.time() - started)
    return 0


def _fit_groups(args, job, one_cell, num_cells: int) -> None:
    """Resolve --max-parallel auto into the largest group the memory estimate fits (on --resume:
    the run's own, so that its groups are the same), and refuse an explicit group size, or none,
    that does not fit, before compiling. Sets args.max_parallel (None: all cells at once)."""
    processes = jax.process_count()
    if args.max_parallel == "auto" and args.resume:
        args.max_parallel = runs.load_config(args.resume)["args"].get("max_parallel")
        if args.max_parallel == "auto":  # an interrupted start: nothing trained yet
            args.max_parallel = None
        else:
            return
    if args.max_parallel == "auto":
        est = memory.estimate(job, one_cell)
        available, where = memory.available_bytes()
        devices = 1 if jax.local_devices()[0].platform == "cpu" else len(jax.local_devices())
        fits = num_cells if available is None else memory.fitting(est, available, devices) * processes
        if fits < 1:
            raise UsageError(f"--max-parallel auto: not even one cell fits: a cell needs about "
                             f"{memory.human(est.per_seed)} and the data {memory.human(est.shared)}, {where} has "
                             f"{memory.human(available)} available; use fewer --num-envs")
        args.max_parallel = None if fits >= num_cells else fits
        while args.max_parallel and not _splits_over_devices(math.ceil(args.max_parallel / processes)):
            args.max_parallel -= 1
        print(f"sweep: --max-parallel auto: {args.max_parallel or num_cells} of {num_cells} cells per call "
              f"(about {memory.human(est.per_seed)} per cell; {where} has {memory.human(available or 0)} "
              f"available)", flush=True)
        return
    group = min(args.max_parallel or num_cells, num_cells)
    runs.check_memory(args, job, one_cell, math.ceil(group / processes), lambda fits: (
        f"Run the {num_cells} cells in groups: --max-parallel {fits * processes} (or --max-parallel auto), "
        f"or use fewer --num-envs."))


def cell_groups(num_cells: int, max_parallel: int | None) -> list[tuple[int, int]]:
    """The groups [start, stop) of cells trained one after the other: `max_parallel` cells
    each (all of them when None), whatever the number of processes."""
    group = max_parallel or max(num_cells, 1)
    return [(start, min(start + group, num_cells)) for start in range(0, num_cells, group)]


def _group_dir(out: str, start: int, stop: int) -> str:
    return os.path.join(out, f"cells-{start}-{stop - 1}")


def _check_same_sweep(args, base, num_cells: int) -> None:
    """On --resume: the same configuration, grid and seeds, and the same split of the cells
    over processes and groups (a group is read back or resumed only if it holds the same cells)."""
    runs.check_same_config(args, base)
    saved = runs.load_config(args.out)["args"]
    for flag in ("grid", "seeds", "seed"):
        if saved.get(flag) != getattr(args, flag):
            raise UsageError(f"--resume {args.out}: --{flag} was {saved.get(flag)!r}, now {getattr(args, flag)!r}; "
                             f"resume with the run's own options")
    planned = {os.path.basename(_group_dir(args.out, *g)) for g in cell_groups(num_cells, args.max_parallel)}
    found = {name for name in os.listdir(args.out) if name.startswith("cells-")}
    if found - planned:
        raise UsageError(f"--resume {args.out}: its groups ({', '.join(sorted(found))}) were made with another "
                         f"--max-parallel; resume with the same one (this run would make {', '.join(sorted(planned))})")


def _run_group(args, base, config, cell_keys, expert, group: tuple[int, int], lo: int, hi: int):
    """Train and evaluate the group of cells [start, stop), this process's cells [lo, hi) of
    it; returns the whole group's (eval returns, non-finite flags) on every process. A group
    already finished (on --resume) is read back."""
    start, stop = group
    group_dir = _group_dir(args.out, start, stop)
    results = os.path.join(group_dir, RESULTS)
    if not args.resume and os.path.isdir(group_dir) and jax.process_index() == 0:
        shutil.rmtree(group_dir)  # --overwrite: nothing of the old run is reused
    distributed.barrier(f"jgail-sweep-group-{start}-ready")
    finished = os.path.exists(results)
    resume = bool(args.resume) and os.path.isdir(os.path.join(group_dir, driver.CHECKPOINT_DIR))
    distributed.barrier(f"jgail-sweep-group-{start}-looked")  # all decide before the driver creates anything
    if finished:
        with open(results) as f:
            saved = json.load(f)
        return np.asarray(saved["eval_return"]), np.asarray(saved["nonfinite_iteration"])
    keys = jax.random.wrap_key_data(cell_keys[lo:hi])
    cells = (keys, jax.tree.map(lambda x: x[lo:hi], config))
    job = gail_cells_job(base, expert, args.eval_episodes, list(parse_grid(args.grid)))
    group_args = argparse.Namespace(**{**vars(args), "out": group_dir, "resume": resume})
    result = runs.drive(job, cells, group_args, cells=(lo - start, hi - start, stop - start))
    state = result.state

    def score(index, params, obs_stats):
        key = jax.random.fold_in(jax.random.key(args.seed + 1), index)  # the cell's own key: grouping-free
        return evaluate(key, base.env, base.nets, params, obs_stats, args.eval_episodes)["mean_return"]

    eval_return = np.asarray(jax.jit(jax.vmap(score))(jnp.arange(lo, hi), state.agent.params, state.obs_stats))
    flags = getattr(state, "nonfinite_iteration", None)
    flags = np.full(hi - lo, -1) if flags is None else np.asarray(jax.device_get(flags)).reshape(-1)
    eval_return, flags = distributed.gather(eval_return, stop - start), distributed.gather(flags, stop - start)
    if jax.process_index() == 0:
        write_json_atomic(results, {"cells": [start, stop - 1], "eval_return": eval_return.tolist(),
                                    "nonfinite_iteration": flags.tolist()})
    return eval_return, flags


def gail_cells_job(base, expert, eval_episodes: int, swept_paths=()):
    """`imitation.gail_job` for sweep cells: `init` takes (key, that cell's config), and the
    update reads each cell's swept values (`swept_paths`) from its state; every other number
    is `base`'s, a compile-time constant (`sweep.with_swept`)."""
    job = imitation.gail_job(base, expert, eval_episodes)

    def update(state, data):
        return gail.update(state.replace(config=sweep.with_swept(base, state.config, swept_paths)), data)

    return dataclasses.replace(job, init=lambda cell, data: gail.init(cell[0], cell[1], data), update=update)


def _report(args, env, data, settings, returns, flags, wall: float) -> None:
    random_return = float(evaluate_fn(jax.random.key(args.seed + 7), env, random_policy(env.action_space),
                                      args.eval_episodes)["mean_return"])
    expert_return = demos.expert_return(data)
    normalised = expert_return is not None and abs(expert_return - random_return) > 1e-8
    scores = (returns - random_return) / (expert_return - random_return) if normalised else returns
    value = "normalised score" if normalised else "return"
    rows = []
    for k, setting in enumerate(settings):
        cells = slice(k * args.seeds, (k + 1) * args.seeds)
        finite = flags[cells] < 0
        row = aggregate.summarize(scores[cells], finite, args.threshold, seed=args.seed)
        row["setting"] = setting
        row["eval_return_per_seed"] = returns[cells].tolist()
        row["nonfinite_iteration_per_seed (-1: finite)"] = flags[cells].tolist()
        rows.append(row)
    rows = aggregate.rank(rows)
    threshold_text = f"seeds >= {args.threshold:g}" + ("" if normalised else " return")
    table = aggregate.markdown(rows, value, threshold_text)
    title = (f"{env.name}, {data.num_episodes} expert episode(s), {args.seeds} seeds per setting; "
             f"{value} after {args.eval_episodes} evaluation episodes")
    write_json_atomic(os.path.join(args.out, "sweep.json"), {
        "value": value, "expert_return": expert_return, "random_return": random_return,
        "threshold": args.threshold, "eval_episodes": args.eval_episodes, "wall_time_s": wall, "rows": rows})
    with open(os.path.join(args.out, "sweep.md.tmp"), "w") as f:
        f.write(f"{title}\n\n{table}\n")
    os.replace(os.path.join(args.out, "sweep.md.tmp"), os.path.join(args.out, "sweep.md"))
    aggregate.plot(rows, value, os.path.join(args.out, "sweep.png"), title)
    runs.write_run_info(args, None, time.time() - wall, demos_path=args.demos)
    print(f"{title}\n{table}\nwrote {args.out}/sweep.json, sweep.md, sweep.png", flush=True)
