"""PPO experts on brax locomotion (spring backend), each next to the published references.

    python benchmarks/brax_experts.py                    # hopper (10M PPO steps), walker2d, halfcheetah, ant (3M)
    python benchmarks/brax_experts.py --only ant --steps 5000000 --name brax_experts_ant_5M
    python benchmarks/brax_experts.py --quick            # smoke run: inverted_pendulum, toy sizes

The expert is the one benchmarks/gail_brax.py trains and caches (`presets.expert_config`: PPO
with observation normalisation, rewards x0.1 for the critic, a Gaussian policy whose samples
the env clips to the action bounds; one seed), with the same cache key, so both scripts share
it. Score: mean return over 100 episodes with sampled actions (the episodes gail_brax.py takes
its demonstrations from); a uniform random policy's return beside it. References: the GAIL
paper's MuJoCo experts (TRPO, MuJoCo; another simulator) and jaxirl's brax experts (read off
its plots, about). Writes benchmarks/results/brax_experts.{json,md} (--only merges).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if __package__ in (None, ""):  # run as a file: make the `benchmarks` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax

from benchmarks import gail_brax
from benchmarks.common import earlier_results, markdown_table, write_results
from jgail import demos, envs

TASKS = ("hopper", "walker2d", "halfcheetah", "ant")
# (the paper's MuJoCo expert, jaxirl's brax expert); from shared/MISSION.md and the issue.
REFERENCES = {"hopper": (3571, 2100), "walker2d": (6717, 1820), "halfcheetah": (4463, 4450), "ant": (4228, 5350)}


def default_steps(name: str) -> int:
    """PPO steps of a task's expert: those of gail_brax.py's CPU budget (so the two scripts share
    one cached expert), 3M for a task outside it."""
    return {t.env: t.expert_steps for t in gail_brax.BUDGETS["cpu"].tasks}.get(name, 3_000_000)


def run_task(args, name: str) -> dict:
    env = envs.make(f"brax/{name}")
    start = time.perf_counter()
    steps = args.steps or default_steps(name)
    policy, info = gail_brax.expert_policy(args, env, steps)
    pool = demos.collect(jax.random.key(args.seed + 1), env, policy, gail_brax.DEMO_EPISODES, expert=info)
    paper, jaxirl = REFERENCES.get(name, (None, None))
    result = {"env_id": env.name, "backend": dict(env.options)["backend"], "ppo_steps": steps,
              "expert_return": float(pool.episode_returns.mean()),
              "expert_return_std": float(pool.episode_returns.std()),
              "mean_episode_length": float(pool.episode_lengths.mean()),
              "episodes_ended_by_a_fall": int(pool.terminated.sum()), "episodes": gail_brax.DEMO_EPISODES,
              "random_return": gail_brax.random_return(env, args.seed), "paper_mujoco_expert": paper,
              "jaxirl_brax_expert": jaxirl, "expert": info, "task_wall_s": time.perf_counter() - start,
              "device": gail_brax._device_name()}
    print(f"{name}: expert {result['expert_return']:.0f} (episodes of {result['mean_episode_length']:.0f} steps, "
          f"{result['episodes_ended_by_a_fall']} of {gail_brax.DEMO_EPISODES} ended by a fall), random "
          f"{result['random_return']:.0f}; references: paper {paper}, jaxirl {jaxirl}; "
          f"{result['task_wall_s']:.0f} s", flush=True)
    return result


def build_table(tasks: dict) -> str:
    rows = [{"task": name, "backend": r["backend"], "PPO steps": f"{r['ppo_steps'] / 1e6:g}M",
             "expert return (100 episodes)": f"{r['expert_return']:.0f} (std {r['expert_return_std']:.0f})",
             "episode length": f"{r['mean_episode_length']:.0f}",
             "ended by a fall": f"{r['episodes_ended_by_a_fall']}/{r['episodes']}",
             "random": f"{r['random_return']:.0f}",
             "jaxirl brax expert (about)": r["jaxirl_brax_expert"] or "-",
             "paper MuJoCo expert": r["paper_mujoco_expert"] or "-",
             "train s": f"{r['expert'].get('wall_s', float('nan')):.0f}" if "wall_s" in r["expert"] else "cached",
             "device": r["device"]} for name, r in tasks.items()]
    return markdown_table(rows, list(rows[0])) if rows else "(no rows)"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", help="run only these tasks (brax names; repeatable)")
    parser.add_argument("--steps", type=int, default=None,
                        help="PPO env steps per expert (default: gail_brax.py's CPU budget, hopper 10M; else 3M)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="smoke run: inverted_pendulum, 20k steps")
    parser.add_argument("--name", default="brax_experts")
    parser.add_argument("--expert-cache", default=os.path.join(os.path.expanduser("~"), ".cache", "jgail",
                                                                 "gail_brax_experts"))
    parser.add_argument("--out-dir", default=None)
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps {args.steps}: must be >= 1")
    if args.quick:
        args.only, args.steps, args.name = ["inverted_pendulum"], 20_480, "brax_experts_quick"
    return args


def main(argv=None):
    args = parse_args(argv)
    tasks = earlier_results(args.name, "tasks", args.only, args.out_dir)  # --only: keep the rest
    for name in args.only or TASKS:
        tasks[name] = run_task(args, name)
        ordered = {t: tasks[t] for t in (*TASKS, *sorted(set(tasks) - set(TASKS))) if t in tasks}
        table = build_table(ordered)
        out = write_results(args.name, {"tasks": ordered}, table, args.out_dir)  # after every task
    print(table)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
