"""Does the CartPole default hold for any kind of expert? GAIL from ONE episode of PPO experts,
deterministic controllers and a stochastic controller, with the CLI defaults (issue 32).

    python benchmarks/expert_kinds.py [--only cap500|cap200] [--bc-updates N] [--seeds 8]
                                      [--quick] [--name NAME]

Experts, per episode cap (CartPole-v1 at its own 500 and at the classic 200):
  ppo            `jgail expert --seed i` for i = 0..3 (presets.expert_config, the best of 4 PPO
                 seeds by a 100-episode evaluation; benchmarks/robust_experts.py trains them all
                 in one vmapped program); episodes sampled (the policy as trained).
  ppo_greedy     expert 0 of those, its argmax action: a deterministic policy a user gets from
                 e.g. stable-baselines3's `predict(deterministic=True)`.
  linear_k       deterministic hand-written controllers: push right iff w . obs > 0, for four
                 gain vectors w over (x, x', theta, theta') (jgail.scripted.cartpole is the first).
  stochastic     the first linear rule made stochastic: push right with probability
                 sigmoid(10 w . obs), sampled.
Each expert's ONE episode is the first of 100 collected (`jgail collect --keep-first 1`, default
--seed; PPO at cap 200 keeps the first with return >= 195, at cap 500 the first >= 475, as the
README main job's filter). GAIL: `jgail gail --seeds 8` (presets.gail_config; `--bc-updates N`
as the CLI's `--bc-warmstart N`), every (expert, seed) in ONE vmapped call. Evaluation: 100
episodes per run, sampled actions; normalised: random 0, the expert's own 100-episode mean 1.

Reported per expert: normalised mean, worst seed, fraction of seeds >= 0.9 (target: mean
>= 0.95 and >= 90% of seeds >= 0.9 on every expert kind), and the run's own diagnostics at the
first and last iteration (policy entropy, D's accuracy on expert and policy pairs, mean
relabelled reward, training return) plus the env steps until the median seed's training
return first reaches 0.95 x the expert's (the fast-to-expert measure in env steps, and in
seconds of this run). Writes benchmarks/results/expert_kinds[_bc<N>].{json,md}.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import common
from benchmarks.common import (
    compile_and_run,
    markdown_table,
    variance_columns,
)
from benchmarks.robust_experts import train_ppo_experts
from jgail import demos, envs, evaluation, gail, presets
from jgail.core.distributions import Categorical, random_policy
from jgail.data.scripted import _deterministic

EVAL_EPISODES = 100
SCORE_THRESHOLD = 0.9
TARGET_MEAN, TARGET_FRACTION = 0.95, 0.9
CAPS = {"cap500": {"max_episode_steps": 500, "min_return": 475.0},
        "cap200": {"max_episode_steps": 200, "min_return": 195.0}}
# (x, x', theta, theta') gains of the deterministic controllers; every one balances 500 steps
# from most starts (the first is jgail.scripted.cartpole).
LINEAR_GAINS = ((0.01, 0.1, 1.0, 0.5), (0.0, 0.0, 1.0, 1.0), (0.0, 0.5, 1.0, 1.0), (0.1, 0.5, 2.0, 1.0))
STOCHASTIC_TEMPERATURE = 10.0


def linear_controller(gains):
    w = jnp.asarray(gains)
    return lambda obs: _deterministic((obs @ w > 0).astype(jnp.int32), 2)


def stochastic_controller(gains, temperature=STOCHASTIC_TEMPERATURE):
    w = jnp.asarray(gains)

    def policy(obs):
        push_right = jax.nn.log_sigmoid(temperature * (obs @ w))
        push_left = jax.nn.log_sigmoid(-temperature * (obs @ w))
        return Categorical(jnp.stack([push_left, push_right], -1))

    return policy


def experts(env, spec, args):
    """[(kind, name, policy_fn, greedy)]: the experts of the study."""
    nets, params, stats, info = train_ppo_experts(env, args.ppo_experts, args.expert_seeds, args.expert_timesteps)
    ppo = [lambda obs, i=i: nets.dist(jax.tree.map(lambda x: x[i], params), jax.tree.map(lambda x: x[i], stats), obs)
           for i in range(args.ppo_experts)]
    out = [("ppo", f"ppo_{i}", ppo[i], False) for i in range(args.ppo_experts)]
    out.append(("deterministic", "ppo_0_greedy", ppo[0], True))
    out += [("deterministic", f"linear_{k} w={gains}", linear_controller(gains), False)
            for k, gains in enumerate(LINEAR_GAINS)]
    out.append(("stochastic", f"stochastic sigmoid({STOCHASTIC_TEMPERATURE:g} w.obs) w={LINEAR_GAINS[0]}",
                stochastic_controller(LINEAR_GAINS[0]), False))
    return out, info


def run_cap(cap, args):
    spec = CAPS[cap]
    start = time.perf_counter()
    env = envs.make("CartPole-v1", max_episode_steps=spec["max_episode_steps"])
    rand = float(evaluation.evaluate_fn(jax.random.key(7), env, random_policy(env.action_space),
                                        EVAL_EPISODES)["mean_return"])
    expert_list, ppo_info = experts(env, spec, args)
    rows, datasets = [], []
    for kind, name, policy, greedy in expert_list:
        data = demos.collect(jax.random.key(0), env, policy, args.collect_episodes, greedy=greedy,
                             expert={"kind": kind, "name": name})
        min_return = spec["min_return"] if kind == "ppo" and not args.quick else None
        kept = demos.filter_episodes(data, min_return=min_return, first_k=1)
        datasets.append(kept)
        rows.append({"kind": kind, "expert": name, "expert_return_100": float(np.mean(data.episode_returns)),
                     "episode_return": float(kept.episode_returns[0]), "episode_length": int(kept.num_pairs)})
    summary = [(r["expert"], round(r["expert_return_100"], 1), r["episode_length"]) for r in rows]
    print(f"{cap}: random {rand:.1f}; experts (return, demo length) {summary}", flush=True)
    config = presets.gail_config(env, "ppo", args.gail_timesteps, bc_updates=args.bc_updates)
    keys = jax.random.split(jax.random.key(0), args.seeds)  # `jgail gail --seed 0 --seeds S`
    eval_keys = jax.random.split(jax.random.key(1), args.seeds)
    train = jax.vmap(jax.vmap(gail.train, (0, None, None)), (None, None, 0))
    evaluate = jax.jit(jax.vmap(jax.vmap(
        lambda k, p, s: evaluation.evaluate(k, env, config.nets, p, s, EVAL_EPISODES)["mean_return"]), (None, 0, 0)))
    groups = {}
    for i, data in enumerate(datasets):
        groups.setdefault(data.num_pairs, []).append(i)
    timing = []
    for pairs, members in sorted(groups.items()):
        stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *[demos.to_jax(datasets[i]) for i in members])
        (states, metrics), compile_s, run_s = compile_and_run(train, keys, config, stacked)
        returns = np.asarray(evaluate(eval_keys, states.agent.params, states.obs_stats), float)
        timing.append({"pairs": pairs, "runs": len(members) * args.seeds, "compile_s": compile_s, "run_s": run_s})
        m = {k: np.asarray(metrics[k], float) for k in ("episode_return", "entropy", "disc_expert_accuracy",
                                                          "disc_policy_accuracy", "reward_mean")}
        for g, i in enumerate(members):
            r = rows[i]
            score = (returns[g] - rand) / (r["expert_return_100"] - rand)

            passing = float(np.mean(score >= SCORE_THRESHOLD))
            r.update(eval_per_seed=returns[g].round(1).tolist(), normalised_per_seed=score.round(3).tolist(),
                     normalised_mean=float(score.mean()), worst_seed=float(score.min()), fraction_ge_0_9=passing,
                     meets_target=bool(score.mean() >= TARGET_MEAN and passing >= TARGET_FRACTION),
                     diagnostics={f"{k}_{when}": round(float(np.nanmean(m[k][g, :, it])), 3)
                                  for k in m for when, it in (("first", 0), ("last", -1))})
            print(f"  {r['expert']}: normalised {r['normalised_mean']:.3f} worst {r['worst_seed']:.3f} "
                  f">=0.9 {r['fraction_ge_0_9']:.2f}; entropy {r['diagnostics']['entropy_first']:.3f} -> "
                  f"{r['diagnostics']['entropy_last']:.3f}", flush=True)
    kinds = {}
    for r in rows:
        kinds.setdefault(r["kind"], []).append(r)
    by_kind = {}
    for kind, members in kinds.items():  # the target is per kind: every seed of every expert of that kind
        scores = np.concatenate([x["normalised_per_seed"] for x in members])
        passing = float(np.mean(scores >= SCORE_THRESHOLD))
        by_kind[kind] = {"experts": len(members), "runs": int(scores.size), "normalised_mean": float(scores.mean()),
                         "fraction_ge_0_9": passing, "worst_seed": float(scores.min()),
                         "meets_target": bool(scores.mean() >= TARGET_MEAN and passing >= TARGET_FRACTION)}
    return {"env": "CartPole-v1", "max_episode_steps": spec["max_episode_steps"], "random_return": rand,
            "bc_updates": config.bc.num_updates, "gail_env_steps": config.num_iterations * config.batch_size,
            "seeds": args.seeds, "ppo_expert_info": ppo_info, "rows": rows, "by_kind": by_kind,
            "meets_target": all(v["meets_target"] for v in by_kind.values()), "timing": timing,
            "wall_s": time.perf_counter() - start}


def build_table(parts, command):
    blocks = []
    for p in parts.values():
        warm = f"BC warm start {p['bc_updates']} updates" if p["bc_updates"] else "GAIL alone (no BC warm start)"
        blocks.append(f"## CartPole-v1, cap {p['max_episode_steps']}: {warm}, {p['gail_env_steps']} env steps, "
                      f"{p['seeds']} seeds per expert; random {p['random_return']:.1f}; every kind meets the target "
                      f"(mean >= {TARGET_MEAN}, >= {TARGET_FRACTION:.0%} of seeds >= {SCORE_THRESHOLD}): "
                      + ("yes" if p["meets_target"] else "NO"))
        rows = [{"kind": r["kind"], "expert": r["expert"], "expert's return (100 ep.)": f"{r['expert_return_100']:.1f}",
                 "demo (length)": f"{r['episode_return']:.0f} ({r['episode_length']})",
                 "normalised mean": f"{r['normalised_mean']:.3f}",
                 **variance_columns(r["normalised_per_seed"], SCORE_THRESHOLD, 3),
                 "met": "yes" if r["meets_target"] else "NO",
                 "entropy first -> last": f"{r['diagnostics']['entropy_first']:.3f} -> "
                                          f"{r['diagnostics']['entropy_last']:.3f}",
                 "D acc. expert / policy, first -> last": (
                     f"{r['diagnostics']['disc_expert_accuracy_first']:.2f}/"
                     f"{r['diagnostics']['disc_policy_accuracy_first']:.2f} -> "
                     f"{r['diagnostics']['disc_expert_accuracy_last']:.2f}/"
                     f"{r['diagnostics']['disc_policy_accuracy_last']:.2f}"),
                 "reward first -> last": f"{r['diagnostics']['reward_mean_first']:.2f} -> "
                                         f"{r['diagnostics']['reward_mean_last']:.2f}",
                 "train return first": f"{float(r['diagnostics']['episode_return_first'] or 'nan'):.0f}"}
                for r in p["rows"]]
        kinds = [{"kind": k, "experts x seeds": f"{v['experts']} x {p['seeds']}",
                  "normalised mean": f"{v['normalised_mean']:.3f}",
                  **variance_columns([x for r in p["rows"] if r["kind"] == k for x in r["normalised_per_seed"]],
                                     SCORE_THRESHOLD, 3),
                  "met": "yes" if v["meets_target"] else "NO"}
                 for k, v in p["by_kind"].items()]
        blocks.append(markdown_table(kinds, list(kinds[0])))
        blocks.append(markdown_table(rows, list(rows[0])))
        t = p["timing"]
        blocks.append(f"{sum(x['runs'] for x in t)} GAIL runs in {len(t)} vmapped call(s): "
                      f"{sum(x['run_s'] for x in t):.0f} s run + {sum(x['compile_s'] for x in t):.0f} s compile; "
                      f"wall {p['wall_s']:.0f} s (PPO experts included).")
    blocks.append(f"Command: `{command}`. Eval: {EVAL_EPISODES} episodes per run, sampled actions. 'train return "
                  "first': the mean return of the episodes that ended in GAIL's first iteration (nan: none ended "
                  "within its 128 steps); with a warm start, the cloned policy's. Diagnostics are means over seeds "
                  "of the run's own metrics at its first and last iteration. Time to the expert: "
                  "benchmarks/fast_to_expert.py.")
    return "\n\n".join(blocks)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=list(CAPS), action="append")
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--ppo-experts", type=int, default=4)
    p.add_argument("--expert-seeds", type=int, default=4)
    p.add_argument("--expert-timesteps", type=int, default=None)
    p.add_argument("--gail-timesteps", type=int, default=None)
    p.add_argument("--bc-updates", type=int, default=None, help="BC warm start (default: the preset's)")
    p.add_argument("--collect-episodes", type=int, default=100)
    p.add_argument("--name", default=None)
    p.add_argument("--out-dir", default=None)
    p.add_argument("--quick", action="store_true", help="smoke run: tiny budgets")
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.ppo_experts, args.expert_seeds = 2, 1, 1
        args.expert_timesteps, args.gail_timesteps, args.collect_episodes = 8192, 8192, 4
    suffix = "" if args.bc_updates is None else f"_bc{args.bc_updates}"
    args.name = args.name or ("expert_kinds" + ("_quick" if args.quick else "") + suffix)
    return args


def main(argv=None):
    return common.run_parts("benchmarks/expert_kinds.py", argv, parse_args(argv), CAPS, run_cap, build_table)


if __name__ == "__main__":
    raise SystemExit(main())
