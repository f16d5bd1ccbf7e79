"""What the run driver costs: GAIL-PPO on CartPole, the same config and seeds, trained (a) in
one whole-run compiled call and (b) by the run driver in chunks (progress bar off, metrics
log, a full-state checkpoint every `--checkpoint-every` chunks and at the end). Compile time
is excluded from both; repeats are interleaved and the fastest of each is kept.

    python3 benchmarks/driver_overhead.py            # 8 seeds, 200 iterations, chunks of 10
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import markdown_table, write_results  # noqa: E402
from jgail import demos, envs, gail, presets, scripted  # noqa: E402
from jgail.run import driver  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--iterations", type=int, default=200)
    p.add_argument("--chunk", type=int, default=10)
    p.add_argument("--checkpoint-every", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)

    env = envs.make("CartPole-v1", max_episode_steps=200)
    expert = demos.to_jax(demos.collect(jax.random.key(0), env, scripted.cartpole, 1, greedy=True))
    config = presets.gail_config(env, "ppo")
    config = config.replace(total_timesteps=args.iterations * config.batch_size)
    keys = jax.random.split(jax.random.key(1), args.seeds)
    job = driver.Job(init=lambda key, data: gail.init(key, config, data), update=gail.update, data=expert,
                     num_iterations=config.num_iterations, steps_per_iteration=config.batch_size)

    whole = jax.jit(jax.vmap(gail.train, (0, None, None)))
    start = time.perf_counter()
    compiled_whole = whole.lower(keys, config, expert).compile()
    whole_compile = time.perf_counter() - start

    whole_times, driver_times, driver_compiles, same = [], [], [], None
    for _ in range(args.repeats):
        start = time.perf_counter()
        states, _ = jax.block_until_ready(compiled_whole(keys, config, expert))
        whole_times.append(time.perf_counter() - start)
        run_dir = tempfile.mkdtemp(prefix="jgail-driver-bench-")
        try:
            result = driver.drive(job, keys, run_dir, chunk_iterations=args.chunk,
                                  checkpoint_every=args.checkpoint_every, progress=False)
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
        driver_times.append(result.train_s)
        driver_compiles.append(result.compile_s)
        same = all(np.array_equal(a, b) for a, b in
                   zip(jax.tree.leaves(states.agent.params), jax.tree.leaves(result.state.agent.params)))

    steps = args.seeds * config.num_iterations * config.batch_size
    ratio = min(driver_times) / min(whole_times)
    rows = [
        {"mode": "one whole-run call", "train_s (min)": min(whole_times), "env_steps/s": steps / min(whole_times),
         "compile_s": whole_compile},
        {"mode": f"driver, chunks of {args.chunk}, checkpoint every {args.checkpoint_every} chunks",
         "train_s (min)": min(driver_times), "env_steps/s": steps / min(driver_times),
         "compile_s": min(driver_compiles)},
    ]
    table = markdown_table(rows, ["mode", "train_s (min)", "env_steps/s", "compile_s"])
    table += (f"\n\nDriver / whole-run time per env step: **{ratio:.3f}** "
              f"({args.seeds} seeds x {config.num_iterations} iterations x {config.batch_size} steps, GAIL-PPO, "
              f"CartPole cap 200, min of {args.repeats} interleaved repeats; final parameters bit-identical: {same}).")
    print(table)
    write_results("driver_overhead", {"args": vars(args), "ratio_driver_over_whole": ratio, "rows": rows,
                                      "whole_times_s": whole_times, "driver_times_s": driver_times,
                                      "params_bit_identical": same}, table)


if __name__ == "__main__":
    main()
