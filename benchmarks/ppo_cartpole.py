"""PPO on CartPole-v1 with the expert preset: 32 seeds in ONE vmapped, compiled call.

    python benchmarks/ppo_cartpole.py [--seeds 32] [--total-timesteps N] [--max-episode-steps 200]

Target (issue 2): at least 29 of 32 seeds reach a mean evaluation return >= 475 over
100 episodes (actions sampled from the policy, as trained) within 500k env steps per seed,
at CartPole-v1's own 500-step cap. At the classic 200-step cap (the README's main job) the
threshold is the mission's 195, and the steps default to that cap's preset.
Writes benchmarks/results/ppo_cartpole.{json,md} (cap 200: ppo_cartpole_200.*).
"""

from __future__ import annotations

import argparse
import os
import sys

if __package__ in (None, ""):  # run as a file: make the `benchmarks` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import numpy as np

from benchmarks.common import compile_and_run, markdown_table, steps_to_threshold, write_results
from jgail import envs, evaluation, presets, rl

THRESHOLDS = {500: 475.0, 200: 195.0}  # issue 2's target at the own cap; the mission's expert at 200


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=32)
    parser.add_argument("--total-timesteps", type=int, default=None, help="default: the preset's")
    parser.add_argument("--max-episode-steps", type=int, choices=sorted(THRESHOLDS), default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", default=None)
    args = parser.parse_args(argv)

    cap = args.max_episode_steps
    env = envs.make("CartPole-v1", max_episode_steps=cap)
    config = presets.expert_config(env, args.total_timesteps)
    threshold = THRESHOLDS[cap]
    name = "ppo_cartpole" if cap == 500 else f"ppo_cartpole_{cap}"

    def train_and_evaluate(key):
        state, metrics = rl.train(key, config)
        k_eval = jax.random.fold_in(key, 1)
        sampled = evaluation.evaluate(k_eval, env, config.nets, state.agent.params, state.obs_stats)
        greedy = evaluation.evaluate(k_eval, env, config.nets, state.agent.params, state.obs_stats, greedy=True)
        return metrics["episode_return"], sampled["mean_return"], greedy["mean_return"]

    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    (curves, sampled, greedy), compile_s, run_s = compile_and_run(jax.vmap(train_and_evaluate), keys)
    curves, sampled, greedy = np.asarray(curves), np.asarray(sampled), np.asarray(greedy)
    steps_per_seed = config.num_iterations * config.batch_size
    to_threshold = steps_to_threshold(curves, config.batch_size, threshold)

    passed = int((sampled >= threshold).sum())
    rows = [{"seed": i, "eval_mean_return": float(sampled[i]), "greedy_eval (extra)": float(greedy[i]),
             f"env_steps_to_{threshold:g}_train (10-iter mean)": to_threshold[i] or "never"} for i in range(args.seeds)]
    summary = {
        "seeds": args.seeds,
        f"seeds_at_or_above_{threshold:g}": f"{passed}/{args.seeds}",
        "env_steps_per_seed": steps_per_seed,
        "wall_time_s (run, excl. compile)": run_s,
        "compile_time_s": compile_s,
        "env_steps_per_s (all seeds, incl. updates)": steps_per_seed * args.seeds / run_s,
        f"median_env_steps_to_{threshold:g}_train": float(np.median([s for s in to_threshold if s] or [np.nan])),
    }
    table = "\n\n".join([
        f"PPO CartPole-v1 (cap {cap}): {args.seeds} seeds in one vmapped call, "
        f"{config.num_envs} envs x {config.num_steps} steps x {config.num_iterations} iterations",
        markdown_table([summary], list(summary)),
        markdown_table(rows, list(rows[0])),
    ])
    print(table)
    path = write_results(name, {
        "summary": summary,
        "per_seed_eval_mean_return": sampled.tolist(),
        "per_seed_greedy_eval_mean_return (extra)": greedy.tolist(),
        f"per_seed_env_steps_to_{threshold:g}_train": to_threshold,
        "config": {"num_envs": config.num_envs, "num_steps": config.num_steps,
                   "total_timesteps": config.total_timesteps,
                   "network": [list(config.network.hidden_sizes), config.network.activation],
                   **{k: float(v) for k, v in vars(config.generator).items()
                      if isinstance(v, (int, float)) and not isinstance(v, bool)}},
        "target": f"at least 29 of 32 seeds >= {threshold:g} (sampled actions, 100 episodes)",
        "target_met": passed >= int(np.ceil(29 / 32 * args.seeds)),
    }, table, args.out_dir)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
