"""Continuous GAIL over many seeds, with the CLI defaults: does a new user's run land where the benchmark does?

    python benchmarks/robust_seeds.py [--only pendulum|mountaincar_continuous] [--seeds 16] [--quick]
                                      [--set PATH=VALUE ...] [--name NAME]

What the command line does, per task, measured in one program:
  expert   pendulum: `jgail expert` (presets.expert_config, 4 PPO seeds from key(0), the best by
           a 100-episode evaluation kept, as benchmarks/robust_experts.py); mountaincar_continuous:
           the scripted controller (jgail/data/scripted.py, full force with the motion).
  collect  `jgail collect --episodes 10` (key(0), the CLI's default --seed); mountaincar_continuous:
           `jgail collect --scripted --env MountainCarContinuous-v0 --episodes 10`.
  gail     `jgail gail --seeds 16` with presets.gail_config (the CLI defaults): all seeds in ONE
           vmapped call, the demonstrations shared (in_axes None).
  eval     100 episodes per seed, actions sampled (the policy as trained).

Score: normalised, random policy 0, the expert's own 100-episode mean 1. Targets (issue 30):
>= 15 of 16 seeds >= 0.85 and a mean >= 0.95 on each task. The brax held-out check is
`benchmarks/gail_brax.py --only inverted_double_pendulum --seeds 16` (the same columns).
`--set PATH=VALUE` overrides a GAIL config field (to test a cause); results then go to
robust_seeds_<setting>.* unless --name is given. Writes benchmarks/results/robust_seeds.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if __package__ in (None, ""):  # run as a file: make the `benchmarks` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import numpy as np

from benchmarks import common
from benchmarks.common import compile_and_run, markdown_table
from benchmarks.robust_experts import config_summary, expert_policy, parse_overrides, train_ppo_experts
from jgail import demos, envs, evaluation, gail, presets, scripted
from jgail.core.distributions import random_policy
from jgail.run.sweep import _replace_path

EVAL_EPISODES = 100
PASS_SCORE, MEAN_TARGET, FRACTION_TARGET = 0.85, 0.95, 15 / 16
TASKS = {"pendulum": {"env_id": "Pendulum-v1", "expert": "ppo"},
         "mountaincar_continuous": {"env_id": "MountainCarContinuous-v0", "expert": "scripted"}}


def expert_data(task, env, args):
    spec = TASKS[task]
    info = {"kind": spec["expert"]}
    if spec["expert"] == "ppo":
        nets, params, stats, info = train_ppo_experts(env, 1, args.expert_seeds, args.expert_timesteps)
        policy = expert_policy(nets, params, stats, 0)
    else:
        policy = scripted.scripted_policy(spec["env_id"])
        info["name"] = f"jgail.scripted.scripted_policy({spec['env_id']!r})"
    own = evaluation.evaluate_fn(jax.random.key(args.seed + 3), env, policy, EVAL_EPISODES)
    data = demos.collect(jax.random.key(args.seed), env, policy, args.episodes, expert={"kind": spec["expert"]})
    return data, float(own["mean_return"]), {k: v for k, v in info.items() if k != "seed_eval_returns"}


def run_task(task, args):
    spec = TASKS[task]
    start = time.perf_counter()
    env = envs.make(spec["env_id"])
    rand = float(evaluation.evaluate_fn(jax.random.key(args.seed + 7), env, random_policy(env.action_space),
                                        EVAL_EPISODES)["mean_return"])
    data, expert_return, expert_info = expert_data(task, env, args)
    print(f"{task}: random {rand:.1f}, expert {expert_return:.1f} (100 episodes), dataset "
          f"{len(data.episode_returns)} episodes, mean {np.mean(data.episode_returns):.1f}", flush=True)
    config = presets.gail_config(env, "ppo", args.gail_timesteps)
    for path, value in args.set:
        config = _replace_path(config, path, value)
    config = config.validate()
    keys = jax.random.split(jax.random.key(args.seed), args.seeds)  # `jgail gail --seed 0 --seeds S`
    (states, metrics), compile_s, run_s = compile_and_run(jax.vmap(gail.train, (0, None, None)), keys, config,
                                                          demos.to_jax(data))
    eval_keys = jax.random.split(jax.random.key(args.seed + 1), args.seeds)
    returns = np.asarray(jax.jit(jax.vmap(lambda k, p, s: evaluation.evaluate(
        k, env, config.nets, p, s, EVAL_EPISODES)["mean_return"]))(eval_keys, states.agent.params,
                                                                    states.obs_stats), float)
    score = (returns - rand) / (expert_return - rand)
    curves = np.asarray(metrics["episode_return"], float)
    lengths = np.asarray(metrics["episode_length"], float)
    result = {"env": spec["env_id"], "random_return": rand, "expert_return": expert_return,
              "expert_info": expert_info, "dataset_episodes": int(len(data.episode_returns)),
              "dataset_return": float(np.mean(data.episode_returns)), "gail_config": config_summary(config),
              "overrides": args.set_text, "seeds": args.seeds, "eval_per_seed": returns.round(2).tolist(),
              "normalised_per_seed": score.round(3).tolist(), "normalised_mean": float(score.mean()),
              "normalised_worst": float(score.min()), "seeds_passing": int((score >= PASS_SCORE).sum()),
              "fraction_at_0.9": float((score >= 0.9).mean()),
              "train_return_last10_per_seed": np.nanmean(curves[:, -10:], 1).round(1).tolist(),
              "train_episode_length_last10_per_seed": np.nanmean(lengths[:, -10:], 1).round(1).tolist(),
              "final_disc_expert_d": np.asarray(metrics["disc_expert_d"])[:, -1].round(3).tolist(),
              "final_disc_policy_d": np.asarray(metrics["disc_policy_d"])[:, -1].round(3).tolist(),
              "compile_s": compile_s, "run_s": run_s}
    result["meets_target"] = (result["seeds_passing"] >= FRACTION_TARGET * args.seeds - 1e-9
                              and result["normalised_mean"] >= MEAN_TARGET)
    result["wall_s"] = time.perf_counter() - start
    print(f"  GAIL: normalised mean {score.mean():.3f}, worst {score.min():.3f}, {result['seeds_passing']}/"
          f"{args.seeds} seeds >= {PASS_SCORE}; per seed {score.round(2).tolist()}", flush=True)
    return result


def _whole(x) -> str:
    """`x` rounded, or "-" where no episode ended in the window: NaN, or None once through the JSON (--only)."""
    return "-" if x is None or np.isnan(x) else f"{x:.0f}"


def build_table(parts, command):
    rows = []
    for task, p in parts.items():
        rows.append({"task": task, "env": p["env"], "expert (kind)": f"{p['expert_return']:.1f} "
                     f"({p['expert_info']['kind']})", "random": f"{p['random_return']:.1f}",
                     "episodes": p["dataset_episodes"], "seeds": p["seeds"],
                     "env steps / seed": p["gail_config"]["env_steps_per_run"],
                     "normalised mean": f"{p['normalised_mean']:.3f}", "worst seed": f"{p['normalised_worst']:.3f}",
                     f"seeds >= {PASS_SCORE}": f"{p['seeds_passing']}/{p['seeds']}",
                     "fraction >= 0.9": f"{p['fraction_at_0.9']:.2f}",
                     "target met": "yes" if p["meets_target"] else "NO",
                     "wall s (compile s)": f"{p['wall_s']:.0f} ({p['compile_s']:.0f})",
                     "overrides": ", ".join(p["overrides"]) or "none (CLI defaults)"})
    lines = ["## Continuous GAIL over seeds with the CLI defaults",
             markdown_table(rows, list(rows[0]))]
    for task, p in parts.items():
        lines.append(f"- {task}: normalised per seed {' '.join(f'{x:.2f}' for x in p['normalised_per_seed'])}; "
                     f"training episode length (last 10 iterations) per seed "
                     f"{' '.join(_whole(x) for x in p['train_episode_length_last10_per_seed'])}")
    lines.append(f"Targets (issue 30): >= {FRACTION_TARGET * 16:.0f} of 16 seeds >= {PASS_SCORE} and a mean >= "
                 f"{MEAN_TARGET}. Command: `{command}`. Eval: {EVAL_EPISODES} episodes per seed, sampled actions.")
    return "\n\n".join(lines)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=list(TASKS), action="append", help="run only these tasks (repeatable)")
    parser.add_argument("--seeds", type=int, default=16, help="GAIL seeds (jgail gail --seeds)")
    parser.add_argument("--episodes", type=int, default=10, help="expert episodes (jgail collect --episodes)")
    parser.add_argument("--expert-seeds", type=int, default=4, help="PPO seeds of the expert (jgail expert --seeds)")
    parser.add_argument("--expert-timesteps", type=int, default=None, help="default: presets.expert_config")
    parser.add_argument("--gail-timesteps", type=int, default=None, help="default: presets.gail_config")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                        help="override a GAIL config field, e.g. discriminator.absorbing=True")
    parser.add_argument("--name", default=None)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 seeds, short training")
    parser.add_argument("--out-dir", default=None)
    args = parser.parse_args(argv)
    parse_overrides(parser, args)
    if args.quick:
        args.seeds, args.expert_seeds, args.episodes = 2, 1, 2
        args.expert_timesteps, args.gail_timesteps = 8192, 8192
    suffix = "_".join(s.replace("=", "-").replace(".", "-") for s in args.set_text)
    default = "robust_seeds" + ("_quick" if args.quick else "")
    args.name = args.name or (default + (f"_{suffix}" if suffix else ""))
    return args


def main(argv=None):
    return common.run_parts("benchmarks/robust_seeds.py", argv, parse_args(argv), TASKS, run_task, build_table)


if __name__ == "__main__":
    raise SystemExit(main())
