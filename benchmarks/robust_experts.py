"""Robustness to the expert's episode: GAIL (or AIRL) from ONE episode of each of several experts.

    python benchmarks/robust_experts.py [--only cartpole|acrobot|mountaincar] [--quick] [--airl]
                                        [--set PATH=VALUE ...] [--name NAME]

What the command line does, repeated over experts and measured in one program per task:
  expert   `jgail expert --seed i` for i = 0..E-1 (CLI defaults: presets.expert_config, 4 PPO
           seeds split from key(i), the best by a 100-episode evaluation kept). All E x 4 PPO
           seeds train in ONE vmapped program. `--target-return R` as `jgail expert
           --target-return R`: each expert as it was after the first 10-iteration chunk in
           which every one of its seeds averaged R. MountainCar: the PPO preset does not reach the goal,
           so its experts are the scripted controller (jgail/data/scripted.py, deterministic)
           and "expert i" is the episode collected with `jgail collect --seed i`.
  collect  `jgail collect --episodes 100 [--min-return R] --keep-first 1` (CartPole: R = 195,
           key(0) as the CLI's default --seed; Acrobot: no filter, the first episode).
  gail     `jgail gail --seeds 8` with presets.gail_config (the CLI defaults; --airl:
           `jgail gail --airl`, presets.airl_config): every
           (expert, seed) run in ONE vmapped call per dataset length, demonstrations with
           in_axes 0 over experts and shared (in_axes None) across the seeds.
  eval     100 episodes per run, actions sampled (the policy as trained); greedy is an extra.

Targets (issue 11): CartPole-200, 8 experts x 8 seeds, >= 62/64 runs >= 195 (AIRL, issue 30:
>= 60/64); Acrobot and MountainCar, 4 experts x 8 seeds, normalised score (random policy 0, the expert's own
100-episode mean 1) >= 0.9 on >= 90% of runs. Dataset: ONE episode per expert, as the
CartPole reference experiment and the 1-episode rows of benchmarks/gail_classic.py.

`--set PATH=VALUE` overrides a field of the GAIL config (e.g. discriminator.grad_penalty=1,
generator.ent_coef=0.01, total_timesteps=200000): used to test a cause; results then go to
<name>_<setting>.* unless --name is given. Writes benchmarks/results/robust_experts.{json,md}.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import pickle
import sys
import time

if __package__ in (None, ""):  # run as a file: make the `benchmarks` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import common
from benchmarks.common import (
    compile_and_run,
    markdown_table,
    normalised,
    sanitize,
    variance_columns,
)
from jgail import demos, envs, evaluation, gail, presets, rl, scripted
from jgail.cli import training
from jgail.core.distributions import random_policy
from jgail.run.sweep import _replace_path

EVAL_EPISODES = 100
SCORE_THRESHOLD = 0.9
TASKS = {
    # name: env id, env options, experts, expert kind, collect filter, pass criterion, target fraction
    "cartpole": {"env_id": "CartPole-v1", "options": {"max_episode_steps": 200}, "experts": 8,
                 "expert": "ppo", "min_return": 195.0, "threshold_return": 195.0, "target": 62 / 64,
                 "airl_target": 60 / 64},
    "acrobot": {"env_id": "Acrobot-v1", "options": {}, "experts": 4, "expert": "ppo", "min_return": None,
                "threshold_return": None, "target": 0.9},
    "mountaincar": {"env_id": "MountainCar-v0", "options": {}, "experts": 4, "expert": "scripted",
                    "min_return": None, "threshold_return": None, "target": 0.9},
}


# ---------------------------------------------------------------- experts

def train_ppo_experts(env, num_experts, seeds_per_expert, total_timesteps, target_return=None, chunk=10):
    """`jgail expert --seed i [--target-return R]` for every i, all PPO seeds in one vmapped
    program: per expert the best of its `seeds_per_expert` seeds (keys split from key(i)) by a
    100-episode evaluation with key fold_in(k, 1), as jgail/cli/training.py does. With
    `target_return`, training goes in chunks of `chunk` iterations (the CLI's --chunk) and each
    expert's seeds are kept as they were after the first chunk in which they all reached it
    (the CLI's early stop); the batch trains on for the others. Returns (params, obs_stats, info)."""
    config = presets.expert_config(env, total_timesteps)
    keys = jnp.concatenate([jax.random.split(jax.random.key(i), seeds_per_expert) for i in range(num_experts)])
    if target_return is None:
        (states, _), compile_s, run_s = compile_and_run(jax.vmap(rl.train, (0, None)), keys, config)
        stopped = [config.num_iterations] * num_experts
    else:
        states, stopped, compile_s, run_s = _train_until(config, keys, num_experts, target_return, chunk)

    def score(key, params, stats):
        return evaluation.evaluate(jax.random.fold_in(key, 1), env, config.nets, params, stats,
                                   EVAL_EPISODES)["mean_return"]

    means = np.asarray(jax.jit(jax.vmap(score))(keys, states.agent.params, states.obs_stats), float)
    means = means.reshape(num_experts, seeds_per_expert)
    best = np.arange(num_experts) * seeds_per_expert + means.argmax(1)
    pick = lambda tree: jax.tree.map(lambda x: x[best], tree)  # noqa: E731
    info = {"kind": "ppo", "cli": "jgail expert --seed i (best of --seeds)", "seeds_per_expert": seeds_per_expert,
            "total_timesteps": config.total_timesteps, "target_return": target_return,
            "env_steps_per_seed": [n * config.batch_size for n in stopped], "train_s": run_s,
            "compile_s": compile_s, "seed_eval_returns": means.tolist()}
    return config.nets, pick(states.agent.params), pick(states.obs_stats), info


def _train_until(config, keys, num_experts, target_return, chunk):
    """(states, iterations each expert trained, None, seconds: compilation included) under the
    CLI's early stop."""
    start = time.perf_counter()
    state = jax.jit(jax.vmap(rl.init, (0, None)))(keys, config)
    run = jax.jit(jax.vmap(rl.run, (0, None)), static_argnums=1)

    def by_expert(tree):  # [E * seeds, ...] -> [E, seeds, ...] on the host
        return jax.tree.map(lambda x: np.asarray(x).reshape(num_experts, -1, *x.shape[1:]), tree)

    kept, stopped, iteration = [None] * num_experts, [None] * num_experts, 0
    while iteration < config.num_iterations and None in stopped:
        active = min(chunk, config.num_iterations - iteration)
        state, metrics = run(state, active)
        iteration += active
        returns = by_expert(metrics["episode_return"])
        for i in range(num_experts):
            if stopped[i] is None and training.reached({"episode_return": returns[i]}, target_return):
                stopped[i], kept[i] = iteration, jax.tree.map(lambda x, i=i: x[i], by_expert(
                    (state.agent.params, state.obs_stats)))
    final = by_expert((state.agent.params, state.obs_stats))
    for i in range(num_experts):
        if kept[i] is None:  # never reached: the whole budget, as the CLI
            kept[i], stopped[i] = jax.tree.map(lambda x, i=i: x[i], final), iteration
    params, stats = jax.tree.map(lambda *xs: np.concatenate(xs), *kept)
    state = state.replace(agent=state.agent.replace(params=params), obs_stats=stats)
    return state, stopped, None, time.perf_counter() - start


def expert_policy(nets, params, stats, index):
    params, stats = jax.tree.map(lambda x: x[index], (params, stats))
    return lambda obs: nets.dist(params, stats, obs)


def expert_datasets(task, env, args):
    """One dataset per expert (the CLI's collect), the expert's 100-episode return, and info."""
    if args.load_dir:  # the experts and datasets of an earlier run (--save-dir), to compare GAIL settings
        with open(os.path.join(args.load_dir, f"{task}_experts.json")) as f:
            saved = json.load(f)
        rows = [r for r in saved["rows"] if args.pick is None or r["expert"] in args.pick]
        datasets = [demos.load(os.path.join(args.load_dir, f"{task}_expert{r['expert']}.npz"), env=env)
                    for r in rows]
        return datasets, rows, dict(saved["info"], loaded_from=args.load_dir)
    spec = TASKS[task]
    num = args.experts or spec["experts"]
    datasets, rows = [], []
    if spec["expert"] == "ppo":
        nets, params, stats, info = train_ppo_experts(env, num, args.expert_seeds, args.expert_timesteps,
                                                      args.target_return)
        policies = [expert_policy(nets, params, stats, i) for i in range(num)]
        collect_keys = [jax.random.key(args.seed)] * num  # `jgail collect` default --seed
    else:
        policies = [scripted.scripted_policy(spec["env_id"])] * num
        collect_keys = [jax.random.key(i) for i in range(num)]  # `jgail collect --seed i`
        info = {"kind": "scripted", "name": f"jgail.scripted.scripted_policy({spec['env_id']!r})",
                "cli": "jgail collect --seed i (deterministic controller, episode differs by the reset)"}
    if args.save_dir and spec["expert"] == "ppo":
        save_pickle(args, f"{task}_experts.pkl", {"params": params, "obs_stats": stats, "info": info})
    for i, (policy, key) in enumerate(zip(policies, collect_keys)):
        data = demos.collect(key, env, policy, args.collect_episodes, expert={"kind": spec["expert"], "index": i})
        min_return = None if args.quick else spec["min_return"]  # a toy expert passes no filter
        kept = demos.filter_episodes(data, min_return=min_return, first_k=1)
        datasets.append(kept)
        if args.save_dir:
            os.makedirs(args.save_dir, exist_ok=True)
            demos.save(kept, os.path.join(args.save_dir, f"{task}_expert{i}.npz"))
        rows.append({"expert": i, "expert_return_100": float(np.mean(data.episode_returns)),
                     "expert_return_min_100": float(np.min(data.episode_returns)),
                     "episodes_passing_filter": int(np.sum(data.episode_returns >= (spec["min_return"] or -np.inf))),
                     "episode_return": float(kept.episode_returns[0]), "episode_length": int(kept.num_pairs),
                     **episode_features(kept)})
    if args.save_dir:
        with open(os.path.join(args.save_dir, f"{task}_experts.json"), "w") as f:
            json.dump(sanitize({"rows": rows, "info": info}), f)
    return datasets, rows, info


def episode_features(data):
    """Where the demonstrated episode goes: per observation dimension, its range and std, and
    the action frequencies (to relate a failure to the demonstration)."""
    obs = np.asarray(data.obs, float)
    actions = np.asarray(data.action)
    return {"obs_min": obs.min(0).round(3).tolist(), "obs_max": obs.max(0).round(3).tolist(),
            "obs_std": obs.std(0).round(4).tolist(), "obs_last": obs[-1].round(3).tolist(),
            "action_freq": np.bincount(actions, minlength=int(actions.max()) + 1).tolist()}


# ---------------------------------------------------------------- GAIL over (expert, seed)

def gail_config(env, args):
    make = presets.airl_config if args.airl else presets.gail_config  # `jgail gail [--airl]`
    config = make(env, "ppo", args.gail_timesteps)
    for path, value in args.set:
        config = _replace_path(config, path, value)
    return config.validate()


def save_pickle(args, name, tree):
    os.makedirs(args.save_dir, exist_ok=True)
    with open(os.path.join(args.save_dir, name), "wb") as f:
        pickle.dump(jax.device_get(tree), f)


def run_gail(task, env, config, datasets, args):
    """Every (expert, seed) run: one vmapped call per group of equally long datasets (shapes
    must agree to stack); seeds share their expert's demonstrations (in_axes None)."""
    num_seeds = args.seeds
    keys = jax.random.split(jax.random.key(args.seed), num_seeds)  # `jgail gail --seed 0 --seeds S`
    eval_keys = jax.random.split(jax.random.key(args.seed + 1), num_seeds)
    train = jax.vmap(jax.vmap(gail.train, (0, None, None)), (None, None, 0))

    def both(key, params, stats):
        return (evaluation.evaluate(key, env, config.nets, params, stats, EVAL_EPISODES)["mean_return"],
                evaluation.evaluate(key, env, config.nets, params, stats, EVAL_EPISODES, greedy=True)["mean_return"])

    evaluate = jax.jit(jax.vmap(jax.vmap(both, (0, 0, 0)), (None, 0, 0)))
    groups = {}
    for i, data in enumerate(datasets):
        groups.setdefault(data.num_pairs, []).append(i)
    out = {i: None for i in range(len(datasets))}
    timing = []
    for pairs, members in sorted(groups.items()):
        stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *[demos.to_jax(datasets[i]) for i in members])
        (states, metrics), compile_s, run_s = compile_and_run(train, keys, config, stacked)
        sampled, greedy = evaluate(eval_keys, states.agent.params, states.obs_stats)
        if args.save_dir:  # the learners' policies and every metric, for diagnosis
            save_pickle(args, f"{task}_gail_{pairs}pairs.pkl",
                        {"experts": members, "params": states.agent.params, "obs_stats": states.obs_stats,
                         "discriminator": states.discriminator, "metrics": metrics})
        timing.append({"pairs": pairs, "experts": members, "runs": len(members) * num_seeds,
                       "compile_s": compile_s, "run_s": run_s})
        curves = np.asarray(metrics["episode_return"], float)  # [G, S, iterations]
        for g, i in enumerate(members):
            out[i] = {"eval_per_seed": np.asarray(sampled[g], float).tolist(),
                      "greedy_per_seed (extra)": np.asarray(greedy[g], float).tolist(),
                      "train_return_last10_per_seed": np.nanmean(curves[g, :, -10:], 1).round(1).tolist(),
                      "final_disc_expert_d": np.asarray(metrics["disc_expert_d"])[g, :, -1].round(3).tolist(),
                      "final_disc_policy_d": np.asarray(metrics["disc_policy_d"])[g, :, -1].round(3).tolist()}
    return out, timing


# ---------------------------------------------------------------- one task

def run_task(task, args):
    spec = TASKS[task]
    start = time.perf_counter()
    env = envs.make(spec["env_id"], **spec["options"])
    rand = float(evaluation.evaluate_fn(jax.random.key(args.seed + 7), env, random_policy(env.action_space),
                                        EVAL_EPISODES)["mean_return"])
    datasets, experts, expert_info = expert_datasets(task, env, args)
    print(f"{task}: random {rand:.1f}; experts (100-episode return): "
          f"{[round(e['expert_return_100'], 1) for e in experts]}; episode lengths "
          f"{[e['episode_length'] for e in experts]}", flush=True)
    config = gail_config(env, args)
    results, timing = run_gail(task, env, config, datasets, args)
    rows, passing, total = [], 0, 0
    for position, e in enumerate(experts):
        r = results[position]
        returns = np.asarray(r["eval_per_seed"])
        if spec["threshold_return"] is not None:
            ok = returns >= spec["threshold_return"]
            score = None
        else:
            score = (returns - rand) / (e["expert_return_100"] - rand)
            ok = score >= SCORE_THRESHOLD
        passing += int(ok.sum())
        total += ok.size
        rows.append({**e, **r, "runs_passing": int(ok.sum()), "runs": int(ok.size),
                     "eval_mean": float(returns.mean()), "eval_min": float(returns.min()),
                     "normalised_per_seed": None if score is None else score.round(3).tolist(),
                     "normalised_mean": None if score is None else float(score.mean())})
        print(f"  expert {e['expert']}: own return {e['expert_return_100']:.1f}, episode {e['episode_return']:.1f}; "
              f"{'AIRL' if args.airl else 'GAIL'} {ok.sum()}/{ok.size} pass, mean {returns.mean():.1f} "
              f"min {returns.min():.1f}"
              + ("" if score is None else f", normalised {score.mean():.3f}"), flush=True)
    target = spec.get("airl_target", spec["target"]) if args.airl else spec["target"]
    return {"env": spec["env_id"], "env_options": spec["options"], "random_return": rand,
            "method": "AIRL" if args.airl else "GAIL",
            "expert_info": expert_info, "gail_config": config_summary(config), "overrides": args.set_text,
            "seeds_per_expert": args.seeds, "rows": rows, "runs_passing": passing, "runs": total,
            "fraction_passing": passing / total, "target_fraction": target,
            "meets_target": passing / total >= target - 1e-9,
            "criterion": (f"eval return >= {spec['threshold_return']:g}" if spec["threshold_return"] is not None
                          else f"normalised score >= {SCORE_THRESHOLD} (random {rand:.1f} = 0, expert's own "
                               "100-episode mean = 1)"),
            "gail_timing": timing, "wall_s": time.perf_counter() - start}


def config_summary(config):
    d, g = config.discriminator, config.generator
    return {"reward": config.reward, "absorbing": d.absorbing, "num_envs": config.num_envs,
            "num_steps": config.num_steps, "total_timesteps": config.total_timesteps,
            "env_steps_per_run": config.num_iterations * config.batch_size, "normalize_obs": config.normalize_obs,
            "policy_network": f"{'x'.join(map(str, config.network.hidden_sizes))} {config.network.activation}",
            "generator": {k: float(v) for k, v in vars(g).items() if isinstance(v, (int, float))},
            "discriminator": {"num_updates": d.num_updates, "batch_size": d.batch_size,
                              "learning_rate": float(d.learning_rate), "grad_penalty": float(d.grad_penalty),
                              "entropy_coef": float(d.entropy_coef), "label_smoothing": float(d.label_smoothing),
                              "hidden_sizes": list(d.hidden_sizes), "normalize_inputs": d.normalize_inputs}}


# ---------------------------------------------------------------- report

def run_scores(part, row):
    """One expert's runs' normalised scores (random 0, the expert's own 100-episode mean 1): the
    row's own, or from its returns where the criterion is a return (CartPole)."""
    if row.get("normalised_per_seed") is not None:
        return row["normalised_per_seed"]
    return normalised(row["eval_per_seed"], part["random_return"], row["expert_return_100"]).tolist()


def build_table(parts, command):
    overridden = any(p["overrides"] for p in parts.values())
    method = "/".join(sorted({p.get("method", "GAIL") for p in parts.values()}))
    blocks = [f"## {method} from ONE episode of each of several independently trained experts "
              + ("(CLI defaults except the overrides listed)" if overridden else "(CLI defaults)")]
    summary = []
    for task, p in parts.items():
        summary.append({"task": task, "experts x seeds": f"{len(p['rows'])} x {p['seeds_per_expert']}",
                        "criterion": p["criterion"], "runs passing": f"{p['runs_passing']}/{p['runs']}",
                        "fraction": f"{p['fraction_passing']:.3f}", "target": f">= {p['target_fraction']:.3f}",
                        "met": "yes" if p["meets_target"] else "NO",
                        **variance_columns([x for r in p["rows"] for x in run_scores(p, r)], SCORE_THRESHOLD, 3),
                        "wall s": f"{p['wall_s']:.0f}",
                        "overrides": ", ".join(p["overrides"]) or "none (CLI defaults)"})
    blocks.append(markdown_table(summary, list(summary[0])))
    for task, p in parts.items():
        scored = p["rows"][0]["normalised_mean"] is not None
        rows = [{"expert": r["expert"], "expert's own return (100 ep.)": f"{r['expert_return_100']:.1f}",
                 "demo episode return (length)": f"{r['episode_return']:.0f} ({r['episode_length']})",
                 "runs passing": f"{r['runs_passing']}/{r['runs']}",
                 f"{p.get('method', 'GAIL')} eval mean [min]": f"{r['eval_mean']:.1f} [{r['eval_min']:.1f}]",
                 "normalised mean": f"{r['normalised_mean']:.3f}" if scored else "-",
                 **variance_columns(run_scores(p, r), SCORE_THRESHOLD, 3),
                 "per seed": " ".join(f"{x:.0f}" for x in r["eval_per_seed"])} for r in p["rows"]]
        info = p["expert_info"]
        trained = ""
        if info.get("env_steps_per_seed"):
            target = info.get("target_return")
            trained = (f", PPO env steps per seed per expert {info['env_steps_per_seed']}"
                       + (f" (`jgail expert --target-return {target:g}`)" if target is not None else ""))
        blocks.append(f"### {task}: {p['env']} {json.dumps(p['env_options']) if p['env_options'] else ''}, "
                      f"random policy {p['random_return']:.1f}; expert: {info['kind']}{trained}")
        blocks.append(markdown_table(rows, list(rows[0])))
        t = p["gail_timing"]
        blocks.append(f"{p.get('method', 'GAIL')}: {sum(x['runs'] for x in t)} runs x "
                      f"{p['gail_config']['env_steps_per_run']} env steps in "
                      f"{len(t)} vmapped call(s), {sum(x['run_s'] for x in t):.0f} s run + "
                      f"{sum(x['compile_s'] for x in t):.0f} s compile; task wall time {p['wall_s']:.0f} s.")
    blocks.append(f"Command: `{command}`. Eval: mean return over {EVAL_EPISODES} episodes per run, sampled actions. "
                  f"Worst seed and seeds >= {SCORE_THRESHOLD}: normalised, random 0 and the expert's own "
                  "100-episode mean 1 (CartPole's too, beside its return criterion).")
    return "\n\n".join(blocks)


def parse_value(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_overrides(parser, args):
    """`--set PATH=VALUE` items -> args.set [(path, value)], the text kept in args.set_text."""
    args.set_text = list(args.set)
    pairs = []
    for item in args.set:
        path, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set {item!r}: expected PATH=VALUE")
        pairs.append((path.strip(), parse_value(value.strip())))
    args.set = pairs


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=list(TASKS), action="append", help="run only these tasks (repeatable)")
    parser.add_argument("--seeds", type=int, default=8, help="GAIL seeds per expert (jgail gail --seeds)")
    parser.add_argument("--experts", type=int, default=None, help="experts per task (default: 8 CartPole, 4 others)")
    parser.add_argument("--expert-seeds", type=int, default=4, help="PPO seeds per expert (jgail expert --seeds)")
    parser.add_argument("--expert-timesteps", type=int, default=None, help="default: presets.expert_config")
    parser.add_argument("--target-return", type=float, default=None,
                        help="jgail expert --target-return R (default: none, the README main job's expert)")
    parser.add_argument("--gail-timesteps", type=int, default=None, help="default: presets.gail_config")
    parser.add_argument("--collect-episodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--airl", action="store_true",
                        help="AIRL instead of GAIL, as `jgail gail --airl` (presets.airl_config)")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                        help="override a GAIL config field, e.g. discriminator.grad_penalty=1")
    parser.add_argument("--name", default=None, help="results file name (default robust_experts[_overrides])")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 experts x 2 seeds, short training")
    parser.add_argument("--out-dir", default=None)
    parser.add_argument("--save-dir", default=None, help="save datasets, experts and learners here (diagnosis)")
    parser.add_argument("--load-dir", default=None, help="reuse the experts and datasets saved by --save-dir")
    parser.add_argument("--pick", type=int, nargs="+", default=None, help="with --load-dir: only these experts")
    args = parser.parse_args(argv)
    parse_overrides(parser, args)
    if args.quick:
        args.seeds, args.experts, args.expert_seeds = 2, 2, 1
        args.expert_timesteps, args.gail_timesteps, args.collect_episodes = 8192, 8192, 8
    default_name = "robust_experts" + ("_airl" if args.airl else "") + ("_quick" if args.quick else "")
    suffix = "_".join(s.replace("=", "-").replace(".", "-") for s in args.set_text)
    args.name = args.name or (default_name + (f"_{suffix}" if suffix else ""))
    return args


def main(argv=None):
    return common.run_parts("benchmarks/robust_experts.py", argv, parse_args(argv), TASKS, run_task, build_table)


if __name__ == "__main__":
    raise SystemExit(main())
