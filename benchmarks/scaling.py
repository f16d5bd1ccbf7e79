"""How GAIL-PPO scales with the number of seeds in one compiled call (CartPole, cap 200):
env steps/s, wall time per seed, compile time, peak host memory, and the achieved FLOP rate
against this machine's own float32 matmul rate measured in the same run.

Each seed count runs in a fresh process (so peak memory is its own); the FLOP count is XLA's
cost analysis of the compiled training chunk.

    python3 benchmarks/scaling.py                       # 1, 8, 64, 256, 1024 seeds
    python3 benchmarks/scaling.py --seeds 1 8 --iterations 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def matmul_flops_per_s(size: int = 2048, repeats: int = 10) -> float:
    """The machine's float32 matmul rate: the best of `repeats` size x size products."""
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.key(0), (size, size), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        f(a).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def one_size(seeds: int, iterations: int) -> dict:
    """Run in a child process: compile and time `iterations` GAIL iterations for `seeds` seeds."""
    import jax
    import jax.numpy as jnp

    from jgail import demos, envs, gail, presets, scripted
    from jgail.run import driver

    env = envs.make("CartPole-v1", max_episode_steps=200)
    expert = demos.to_jax(demos.collect(jax.random.key(0), env, scripted.cartpole, 1, greedy=True))
    config = presets.gail_config(env, "ppo")
    config = config.replace(total_timesteps=iterations * config.batch_size)
    keys = jax.random.split(jax.random.key(1), seeds)
    state = jax.jit(jax.vmap(gail.init, (0, None, None)))(keys, config, expert)
    chunk = jax.jit(jax.vmap(driver.chunk_fn(gail.update, iterations), in_axes=(0, None, None)))
    start = time.perf_counter()
    compiled = chunk.lower(state, expert, jnp.int32(iterations)).compile()
    compile_s = time.perf_counter() - start
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    flops = float(cost.get("flops", float("nan")))
    jax.block_until_ready(compiled(state, expert, jnp.int32(iterations)))  # warm
    start = time.perf_counter()
    jax.block_until_ready(compiled(state, expert, jnp.int32(iterations)))
    run_s = time.perf_counter() - start
    steps = seeds * iterations * config.batch_size
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seeds": seeds, "env_steps_per_s": steps / run_s, "wall_per_seed_s": run_s / seeds,
            "run_s": run_s, "compile_s": compile_s, "peak_host_mb": peak_mb,
            "gflop_per_s": flops / run_s / 1e9, "flops_per_chunk": flops}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 8, 64, 256, 1024])
    p.add_argument("--iterations", type=int, default=5, help="GAIL iterations timed per seed count")
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is not None:
        print(json.dumps(one_size(args.child, args.iterations)))
        return

    from benchmarks.common import machine, markdown_table, write_results

    rows = []
    for seeds in args.seeds:
        done = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", str(seeds),
                               "--iterations", str(args.iterations)], capture_output=True, text=True,
                              env={**os.environ, "JGAIL_COMPILE_CACHE": ""})
        if done.returncode != 0:
            print(done.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"{seeds} seeds failed")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    peak = matmul_flops_per_s() / 1e9
    for row in rows:
        row["fraction_of_matmul_rate"] = row["gflop_per_s"] / peak
    columns = ["seeds", "env_steps_per_s", "wall_per_seed_s", "compile_s", "peak_host_mb", "gflop_per_s",
               "fraction_of_matmul_rate"]
    table = markdown_table(rows, columns)
    table += (f"\n\nGAIL-PPO, CartPole (cap 200), 8 envs x 128 steps per seed, {args.iterations} iterations timed "
              f"after a warm-up call; this machine's float32 matmul rate: {peak:.0f} GFLOP/s "
              f"({machine()['device']}, {machine()['cpus']} CPUs).")
    print(table)
    write_results("scaling", {"args": vars(args), "matmul_gflop_per_s": peak, "rows": rows}, table)


if __name__ == "__main__":
    main()
