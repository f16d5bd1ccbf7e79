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
import ast
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


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM, which starts afresh at exec (ru_maxrss
    keeps the parent's peak across fork + exec, so a child of a large process reads large)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _mlp_flops(sizes) -> int:
    """Multiply-adds x 2 of one forward pass through dense layers of these widths."""
    return 2 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def model_flops_per_iteration() -> float:
    """A hand count of the matmul FLOPs of one GAIL-PPO iteration of one seed (the CartPole
    preset), because XLA's cost analysis counts a loop body once, not once per trip. Backward
    passes count as twice the forward; elementwise work and the env are left out."""
    from jgail import envs, presets

    config = presets.gail_config(envs.make("CartPole-v1", max_episode_steps=200), "ppo")
    obs, actions, hidden = 4, 2, list(config.network.hidden_sizes)
    actor, critic = _mlp_flops([obs, *hidden, actions]), _mlp_flops([obs, *hidden, 1])
    d = config.discriminator
    disc = _mlp_flops([obs + actions + int(d.absorbing), *d.hidden_sizes, 1])
    batch, ppo = config.batch_size, config.generator
    rollout = actor * batch
    advantages = 2 * critic * batch
    ppo_update = 3 * (actor + critic) * batch * ppo.num_epochs
    disc_update = 3 * disc * 2 * d.batch_size * d.num_updates
    relabel = disc * (batch + 1)
    return float(rollout + advantages + ppo_update + disc_update + relabel)


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
    peak_mb = peak_rss_mb()
    device_stats = jax.devices()[0].memory_stats() or {}  # None on CPU
    peak_device_mb = device_stats["peak_bytes_in_use"] / 2**20 if "peak_bytes_in_use" in device_stats else None
    return {"peak_device_mb": peak_device_mb, "seeds": seeds, "env_steps_per_s": steps / run_s,
            "wall_per_seed_s": run_s / seeds, "run_s": run_s, "compile_s": compile_s, "peak_host_mb": peak_mb,
            "gflop_per_s": flops / run_s / 1e9, "flops_per_chunk": flops}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 8, 64, 256, 1024])
    p.add_argument("--iterations", type=int, default=5, help="GAIL iterations timed per seed count")
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--rows-from", default=None, help=argparse.SUPPRESS)  # re-table saved rows
    p.add_argument("--out-dir", default=None, help="where to write scaling.{json,md} (default benchmarks/results)")
    p.add_argument("--name", default="scaling", help="results file name")
    args = p.parse_args(argv)
    if args.child is not None:
        print(json.dumps(one_size(args.child, args.iterations)))
        return

    from benchmarks.common import machine, markdown_table, write_results

    rows = []
    if args.rows_from:
        with open(args.rows_from) as f:
            rows = [ast.literal_eval(line) for line in f if line.startswith("{")]
    for seeds in ([] if args.rows_from else args.seeds):
        done = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", str(seeds),
                               "--iterations", str(args.iterations)], capture_output=True, text=True,
                              env={**os.environ, "JGAIL_COMPILE_CACHE": ""})
        if done.returncode != 0:
            print(done.stderr[-2000:], file=sys.stderr)
            raise SystemExit(f"{seeds} seeds failed")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    import jax

    on_cpu = jax.devices()[0].platform == "cpu"
    peak = matmul_flops_per_s(2048 if on_cpu else 8192) / 1e9
    per_iteration = model_flops_per_iteration()
    for row in rows:
        iterations_per_s = row["env_steps_per_s"] / 1024  # 8 envs x 128 steps per iteration
        row["peak_memory_mb"] = row["peak_host_mb"] if row.get("peak_device_mb") is None else row["peak_device_mb"]
        row["model_gflop_per_s"] = per_iteration * iterations_per_s / 1e9
        row["fraction_of_matmul_rate"] = row["model_gflop_per_s"] / peak
        row["xla_cost_gflop_per_s (loop bodies counted once)"] = row.pop("gflop_per_s")
    columns = ["seeds", "env_steps_per_s", "wall_per_seed_s", "compile_s", "peak_host_mb", "model_gflop_per_s",
               "fraction_of_matmul_rate"]
    if any(row.get("peak_device_mb") is not None for row in rows):
        columns.insert(5, "peak_device_mb")
    table = markdown_table(rows, columns)
    table += (f"\n\nGAIL-PPO, CartPole (cap 200), 8 envs x 128 steps per seed, {args.iterations} iterations timed "
              f"after a warm-up call; this machine's float32 matmul rate: {peak:.0f} GFLOP/s "
              f"({machine()['device']}, {machine()['cpus']} CPUs). model_gflop_per_s: a hand count of the "
              f"matmul FLOPs ({per_iteration / 1e6:.0f} MFLOP per iteration per seed: rollout, GAE, PPO epochs, "
              "discriminator steps, relabelling) times iterations/s; XLA's cost analysis counts each loop "
              "body once, so it is kept only as a lower bound in the JSON.")
    print(table)
    write_results(args.name, {"args": vars(args), "matmul_gflop_per_s": peak, "rows": rows}, table, args.out_dir)


if __name__ == "__main__":
    main()
