"""GAIL's device memory with the paper's largest dataset: 240 x 1000 humanoid pairs, thousands of envs.

    python3 benchmarks/memory.py                                 # brax/humanoid, 2048 envs, 1 and 5 seeds
    python3 benchmarks/memory.py --env brax/hopper --episodes 25 --num-envs 256 --seeds 1 2

What it shows (issue 11): the demonstrations are on the device once, whatever the number of
seeds. For each seed count S and dataset size it compiles `jit(vmap(gail.train, in_axes=(0,
None, None)))` (the call `jgail gail --seeds S` and the benchmarks make) for the continuous
GAIL preset with `--num-envs` envs per seed, and reads XLA's own memory analysis of the
compiled program: argument bytes (the demonstrations and the keys), temporary buffers (the
per-seed state: env states, rollouts, replay, networks, optimisers) and output. The bytes a
larger dataset adds, divided by its size, count the copies of the demonstrations the program
holds: the same count at 1 and at S seeds means none is per seed (S times the count would be
one copy per seed). With --run it also trains one iteration of the largest configuration and
records the process's peak resident memory.

Dataset: synthetic pairs with the env's observation and action shapes (the memory of the
compiled program depends on shapes only). Writes benchmarks/results/memory.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if __package__ in (None, ""):  # run as a file: make the `benchmarks` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.common import markdown_table, write_results
from benchmarks.scaling import peak_rss_mb
from jgail import envs, gail, presets
from jgail.data.demos import ExpertData
from jgail.run import compile_cache

MB = 2**20


def synthetic_expert(env, num_pairs: int, seed: int = 0) -> ExpertData:
    """`num_pairs` pairs with the env's shapes: random observations and actions in [-1, 1]."""
    rng = np.random.default_rng(seed)
    obs = rng.standard_normal((num_pairs, env.obs_dim), dtype=np.float32)
    action = rng.uniform(-1, 1, (num_pairs, *env.action_space.shape)).astype(np.float32)
    terminated = np.zeros(num_pairs, bool)
    return ExpertData(jnp.asarray(obs), jnp.asarray(action), jnp.asarray(np.roll(obs, -1, 0)), jnp.asarray(terminated))


def nbytes(tree) -> int:
    return sum(x.nbytes for x in jax.tree_util.tree_leaves(tree))


def compiled_memory(config, expert, num_seeds: int):
    """(compiled program, its memory analysis as a dict, compile seconds) for S seeds in one call."""
    keys = jax.random.split(jax.random.key(0), num_seeds)
    fn = jax.jit(jax.vmap(gail.train, in_axes=(0, None, None)))
    start = time.perf_counter()
    compiled = fn.lower(keys, config, expert).compile()
    seconds = time.perf_counter() - start
    stats = compiled.memory_analysis()
    fields = ("argument_size_in_bytes", "output_size_in_bytes", "temp_size_in_bytes", "alias_size_in_bytes")
    return compiled, keys, {f: int(getattr(stats, f)) for f in fields}, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="brax/humanoid")
    parser.add_argument("--episodes", type=int, nargs=2, default=[24, 240], metavar=("SMALL", "LARGE"),
                        help="two dataset sizes in expert episodes (240: the paper's largest humanoid set)")
    parser.add_argument("--episode-steps", type=int, default=1000)
    parser.add_argument("--num-envs", type=int, default=2048, help="parallel envs per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--run", action="store_true", help="also train one iteration of the largest seed count")
    parser.add_argument("--name", default="memory")
    parser.add_argument("--out-dir", default=None)
    parser.add_argument("--quick", action="store_true", help="smoke run: hopper, 4 episodes, 64 envs, 1 and 2 seeds")
    args = parser.parse_args(argv)
    if args.quick:
        args.env, args.episodes, args.num_envs, args.seeds = "brax/hopper", [4, 25], 64, [1, 2]
    if sorted(set(args.seeds)) != args.seeds or args.seeds[0] < 1 or len(args.seeds) < 2:
        parser.error("--seeds: two or more increasing seed counts >= 1, e.g. --seeds 1 5")
    if not 1 <= args.episodes[0] < args.episodes[1] or args.episode_steps < 1:
        parser.error("--episodes SMALL LARGE: 1 <= SMALL < LARGE; --episode-steps >= 1")
    compile_cache.enable()

    env = envs.make(args.env)
    config = presets.gail_config(env, "ppo").replace(num_envs=args.num_envs)
    config = config.replace(total_timesteps=config.batch_size).validate()  # one iteration: memory is per iteration
    small, large = (synthetic_expert(env, e * args.episode_steps) for e in args.episodes)
    small_bytes, large_bytes = nbytes(small), nbytes(large)
    print(f"{env.name}: {large.num_pairs} pairs ({large_bytes / MB:.0f} MB) and {small.num_pairs} pairs, "
          f"{args.num_envs} envs x {config.num_steps} steps per seed and iteration", flush=True)

    rows, programs = [], {}
    for num_seeds in args.seeds:
        for episodes, expert in zip(args.episodes, (small, large)):
            compiled, keys, stats, seconds = compiled_memory(config, expert, num_seeds)
            programs[num_seeds, episodes] = (compiled, keys, expert)
            rows.append({"seeds": num_seeds, "episodes": episodes, "pairs": expert.num_pairs,
                         "demonstrations_bytes": nbytes(expert), **stats, "compile_s": seconds})
            print(f"  {num_seeds} seeds, {episodes} episodes: arguments {stats['argument_size_in_bytes'] / MB:.0f} MB, "
                  f"temporaries {stats['temp_size_in_bytes'] / MB:.0f} MB ({seconds:.0f} s compile)", flush=True)

    def total(r):
        return r["argument_size_in_bytes"] + r["temp_size_in_bytes"] + r["output_size_in_bytes"]

    by = {(r["seeds"], r["episodes"]): r for r in rows}
    copies = {s: (total(by[s, args.episodes[1]]) - total(by[s, args.episodes[0]])) / (large_bytes - small_bytes)
              for s in args.seeds}  # copies of the demonstrations in the program, per seed count
    lo, hi = args.seeds[0], args.seeds[-1]
    per_seed = (total(by[hi, args.episodes[1]]) - total(by[lo, args.episodes[1]])) / (hi - lo)
    run = None
    if args.run:
        compiled, keys, expert = programs[hi, args.episodes[1]]
        start = time.perf_counter()
        jax.block_until_ready(compiled(keys, config, expert))
        run = {"seeds": hi, "episodes": args.episodes[1], "iterations": 1, "run_s": time.perf_counter() - start,
               "peak_host_rss_mb": peak_rss_mb()}
        print(f"  ran one iteration of {hi} seeds in {run['run_s']:.0f} s, peak resident memory "
              f"{run['peak_host_rss_mb']:.0f} MB", flush=True)

    table_rows = [{"seeds": r["seeds"], "envs/seed": args.num_envs, "expert pairs": r["pairs"],
                   "demonstrations MB": f"{r['demonstrations_bytes'] / MB:.0f}",
                   "arguments MB": f"{r['argument_size_in_bytes'] / MB:.0f}",
                   "temporaries MB": f"{r['temp_size_in_bytes'] / MB:.0f}",
                   "output MB": f"{r['output_size_in_bytes'] / MB:.1f}", "total MB": f"{total(r) / MB:.0f}",
                   "compile s (warm if cached)": f"{r['compile_s']:.0f}"} for r in rows]
    lines = [f"## GAIL-PPO memory, {env.name} ({dict(env.options).get('backend', '')}), continuous preset, "
             f"all seeds in one compiled call (XLA's memory analysis)",
             markdown_table(table_rows, list(table_rows[0])),
             "- Bytes the program holds per byte of demonstrations (what the larger dataset adds / its extra "
             "size): " + ", ".join(f"{copies[s]:.2f} with {s} seed{'s' if s > 1 else ''}" for s in args.seeds)
             + f". A copy per seed would add 1 per seed ({hi - 1} more at {hi} seeds); the count does not grow "
               f"with the seeds: the dataset is passed once (in_axes None) and never copied per seed. "
               f"(Below 1: XLA drops the fields the preset's discriminator does not read.)",
             f"- Each seed beyond {lo} adds {per_seed / MB:.0f} MB (its envs, rollout, replay, networks and "
             f"optimisers), whatever the dataset's size."]
    if run:
        lines.append(f"- Ran one iteration with {hi} seeds x {args.num_envs} envs and {large.num_pairs} pairs: "
                     f"{run['run_s']:.0f} s, peak resident memory of the process {run['peak_host_rss_mb']:.0f} MB.")
    table = "\n\n".join(lines)
    print(table)
    path = write_results(args.name, {
        "env": env.name, "env_options": dict(env.options), "num_envs": args.num_envs, "num_steps": config.num_steps,
        "rows": rows, "demonstration_copies": {str(s): c for s, c in copies.items()},
        "bytes_per_extra_seed": per_seed, "run": run}, table, args.out_dir)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
