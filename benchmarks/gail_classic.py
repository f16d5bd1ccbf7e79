"""GAIL on classic control: CartPole (the reference experiment), Acrobot, MountainCar.

    python benchmarks/gail_classic.py [--seeds 32] [--classic-seeds 16] [--quick]
                                      [--only cartpole|trpo|acrobot|mountaincar|ratio]

Every number is measured in the run: presets are trained (PPO) or scripted, datasets are
collected from them, and each row trains all its seeds in ONE vmapped, compiled call.
Evaluation: mean return over 100 episodes with actions sampled from the policy (as
trained); greedy (argmax) evaluation is an extra, labelled as such.

Parts (each < 10 min on 2 CPU cores; `--only` runs one and merges it into the results):
  cartpole     PPO expert, 1-episode (200 pairs) and 100-episode datasets, GAIL-PPO and BC.
               Target: >= 29/32 seeds evaluate >= 195 (cap 200).
  trpo         GAIL-TRPO (paper's 2x100 tanh policy) from the 1-episode dataset; same target.
  acrobot      1 and 10 expert episodes; target mean normalised score >= 0.9
  mountaincar  (random policy 0, expert 1). Plus a control row: the always-positive reward
               without absorbing states, to show the termination bias (MISSION.md).
  ratio        wall time per env step: GAIL-PPO / PPO (target <= 1.3) and GAIL-TRPO vs
               GAIL-PPO, same seeds, iterations and batch size, compile excluded.
Writes benchmarks/results/gail_classic.{json,md} (--quick: gail_classic_quick.*).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time

if __package__ in (None, ""):  # run as a file: make the `benchmarks` package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import numpy as np

from benchmarks.common import (
    compile_and_run,
    earlier_results,
    markdown_table,
    normalised,
    sanitize,
    steps_to_threshold,
    variance_columns,
    write_results,
)
from jgail import bc, demos, envs, evaluation, gail, presets, rl, scripted
from jgail.core.distributions import random_policy
from jgail.core.networks import PolicyNetworks
from jgail.generators.rl import RLConfig

PARTS = ("cartpole", "trpo", "acrobot", "mountaincar", "ratio")
CARTPOLE_THRESHOLD = 195.0
SCORE_THRESHOLD = 0.9  # normalised score for Acrobot / MountainCar
EVAL_EPISODES = 100
CARTPOLE_EXPERT_STEPS = 200_000
TARGET_FRACTION = 29 / 32
REWARD_WHY = {
    "neg_log_one_minus_d+absorbing": "always positive, but episode ends lead to an absorbing state D "
                                     "also scores (DAC), so reaching a true end is judged like any "
                                     "other step: no survival bonus for avoiding the goal",
    "neg_log_one_minus_d": "CONTROL only: always positive, no absorbing state, so it pays the "
                           "learner for every step it survives and nothing for reaching a true end "
                           "(the termination bias of MISSION.md); run to measure whether that bites",
}


# ---------------------------------------------------------------- measurement helpers

def seed_keys(args, num_seeds):
    return jax.random.split(jax.random.key(args.seed), num_seeds)


def evaluate_seeds(env, nets, params, obs_stats, seed):
    """Per-seed mean return over 100 episodes: sampled actions, and greedy (extra)."""
    def both(key, p, s):
        return (evaluation.evaluate(key, env, nets, p, s, EVAL_EPISODES)["mean_return"],
                evaluation.evaluate(key, env, nets, p, s, EVAL_EPISODES, greedy=True)["mean_return"])

    keys = jax.random.split(jax.random.key(seed + 1000), jax.tree.leaves(params)[0].shape[0])
    sampled, greedy = jax.jit(jax.vmap(both))(keys, params, obs_stats)
    return np.asarray(sampled, float), np.asarray(greedy, float)


def median_or_never(values):
    """Median over seeds with 'never' counted as +inf; None when most seeds never got there."""
    arr = np.array([np.inf if v is None else v for v in values], float)
    med = float(np.median(arr))
    return med if np.isfinite(med) else None


def to_threshold(curves, batch_size, threshold, run_s):
    """Env steps (per seed) and wall time to threshold of the training-time episode return.

    "1 iter": the first iteration whose mean return of the episodes that ended in it reaches
    the threshold; "10 iter": the same over a 10-iteration window (benchmarks.common). Wall
    time is the vmapped call's run time up to that iteration (iterations cost the same)."""
    num_iterations = curves.shape[1]
    out = {}
    for label, window in (("1iter", 1), ("10iter", 10)):
        steps = steps_to_threshold(curves, batch_size, threshold, window=window)
        med = median_or_never(steps)
        out[f"steps_to_threshold_{label}_per_seed"] = steps
        out[f"median_steps_to_threshold_{label}"] = med
        out[f"median_wall_s_to_threshold_{label}"] = (
            None if med is None else run_s * med / (batch_size * num_iterations))
        out[f"seeds_reaching_threshold_{label}"] = sum(s is not None for s in steps)
    return out


def run_gail_row(args, env, config, data, num_seeds, threshold, normalise=None, with_states=False):
    """Train `num_seeds` GAIL seeds in one vmapped call; evaluate; threshold statistics.
    Returns the row (and the trained states, with_states=True)."""
    expert = demos.to_jax(data)
    keys = seed_keys(args, num_seeds)
    (states, metrics), compile_s, run_s = compile_and_run(
        jax.vmap(gail.train, (0, None, None)), keys, config, expert)
    sampled, greedy = evaluate_seeds(env, config.nets, states.agent.params, states.obs_stats, args.seed)
    curves = np.asarray(metrics["episode_return"], float)
    steps = config.num_iterations * config.batch_size
    row = {
        "seeds": num_seeds, "num_pairs": data.num_pairs, "num_episodes": data.num_episodes,
        "env_steps_per_seed": steps, "compile_s": compile_s, "run_s": run_s,
        "us_per_env_step": 1e6 * run_s / (steps * num_seeds),
        "eval_per_seed": sampled.tolist(), "greedy_eval_per_seed (extra)": greedy.tolist(),
        "eval_mean": float(sampled.mean()), "eval_std": float(sampled.std()),
        "eval_min": float(sampled.min()), "greedy_eval_mean (extra)": float(greedy.mean()),
        "final_disc_expert_d": float(np.mean(np.asarray(metrics["disc_expert_d"])[:, -1])),
        "final_disc_policy_d": float(np.mean(np.asarray(metrics["disc_policy_d"])[:, -1])),
        **config_summary(config),
        **to_threshold(curves, config.batch_size, threshold, run_s),
    }
    if normalise is None:
        row["seeds_passing"] = int((sampled >= threshold).sum())
    else:
        score = normalise(sampled)
        row["normalised_score_per_seed"] = score.tolist()
        row["normalised_score_mean"] = float(score.mean())
        row["seeds_passing"] = int((score >= SCORE_THRESHOLD).sum())
    return (row, states) if with_states else row


def config_summary(config):
    d = config.discriminator
    gen = config.generator
    return {
        "generator": type(gen).__name__, "reward": config.reward + ("+absorbing" if d.absorbing else ""),
        "network": f"{'x'.join(map(str, config.network.hidden_sizes))} {config.network.activation}",
        "config": {
            "num_envs": config.num_envs, "num_steps": config.num_steps,
            "total_timesteps": config.total_timesteps, "reward": config.reward,
            "generator": {k: float(v) if not isinstance(v, bool) else v for k, v in vars(gen).items()
                          if isinstance(v, (int, float))},
            "discriminator": {"num_updates": d.num_updates, "batch_size": d.batch_size,
                              "learning_rate": float(d.learning_rate), "absorbing": d.absorbing,
                              "grad_penalty": float(d.grad_penalty),
                              "hidden_sizes": list(d.hidden_sizes), "activation": d.activation},
        },
    }


def random_return(env, seed):
    result = evaluation.evaluate_fn(jax.random.key(seed + 7), env, random_policy(env.action_space),
                                    EVAL_EPISODES)
    return float(result["mean_return"])


def train_ppo_expert(env, total_timesteps, seed):
    config = presets.expert_config(env, total_timesteps)
    (state, _), compile_s, run_s = compile_and_run(rl.train, jax.random.key(seed), config)
    nets, params, stats = config.nets, state.agent.params, state.obs_stats
    return (lambda obs: nets.dist(params, stats, obs)), compile_s + run_s


# ---------------------------------------------------------------- CartPole

@functools.cache
def cartpole_setup(seed: int):
    """The reference experiment's expert and datasets (cached within one process)."""
    env = envs.make("CartPole-v1", max_episode_steps=200)
    policy, train_s = train_ppo_expert(env, CARTPOLE_EXPERT_STEPS, seed)
    meta = {"kind": "ppo", "config": "jgail.presets.expert_config", "total_timesteps": CARTPOLE_EXPERT_STEPS,
            "seed": seed}
    data = demos.collect(jax.random.key(seed + 1), env, policy, 100, expert=meta)
    one = demos.filter_episodes(data, min_return=195, first_k=1)
    full = demos.filter_episodes(data, min_return=195)
    if one.num_pairs != 200:
        raise RuntimeError(f"the one-episode dataset has {one.num_pairs} pairs, expected 200")
    expert_info = {"kind": "ppo", "train_s (incl. compile)": train_s,
                   "eval_mean_100_episodes": float(data.episode_returns.mean()),
                   "episodes_kept_by_filter": full.num_episodes}
    return env, one, full, expert_info


def cartpole_part(args):
    env, one, full, expert_info = cartpole_setup(args.seed)
    rows = []
    for label, data in (("1 episode", one), ("100 episodes, filtered", full)):
        config = presets.gail_config(env, "ppo", args.cartpole_steps)
        row = run_gail_row(args, env, config, data, args.seeds, CARTPOLE_THRESHOLD)
        rows.append({"row": f"CartPole GAIL-PPO, {label}", "method": "GAIL-PPO", **row})
        print_row(rows[-1])
    rows.append({"row": "CartPole BC, 1 episode", "method": "BC", **bc_row(args, env, one)})
    print_row(rows[-1])
    return {"expert": expert_info, "random_return": random_return(env, args.seed),
            "threshold": CARTPOLE_THRESHOLD, "rows": rows}


def bc_row(args, env, data):
    config = bc.BCConfig()
    network = presets.expert_config(env).network
    expert = demos.to_jax(data)
    keys = seed_keys(args, args.seeds)
    train = jax.vmap(lambda key: bc.train(key, config, env, network, expert))
    (params, stats, _), compile_s, run_s = compile_and_run(train, keys)
    nets = PolicyNetworks.create(env.action_space, network, False)
    sampled, greedy = evaluate_seeds(env, nets, params, stats, args.seed)
    return {"seeds": args.seeds, "num_pairs": data.num_pairs, "num_episodes": data.num_episodes,
            "env_steps_per_seed": 0, "compile_s": compile_s, "run_s": run_s,
            "eval_per_seed": sampled.tolist(), "greedy_eval_per_seed (extra)": greedy.tolist(),
            "eval_mean": float(sampled.mean()), "eval_std": float(sampled.std()),
            "eval_min": float(sampled.min()), "greedy_eval_mean (extra)": float(greedy.mean()),
            "seeds_passing": int((sampled >= CARTPOLE_THRESHOLD).sum()),
            "generator": "-", "reward": "-", "network": f"{'x'.join(map(str, network.hidden_sizes))} "
            f"{network.activation}", "config": {"learning_rate": float(config.learning_rate),
                                                "num_updates": config.num_updates,
                                                "batch_size": config.batch_size}}


def trpo_part(args):
    env, one, _, expert_info = cartpole_setup(args.seed)
    config = presets.gail_config(env, "trpo", args.cartpole_steps)
    row = {"row": "CartPole GAIL-TRPO, 1 episode", "method": "GAIL-TRPO",
           **run_gail_row(args, env, config, one, args.seeds, CARTPOLE_THRESHOLD)}
    print_row(row)
    return {"expert": expert_info, "threshold": CARTPOLE_THRESHOLD, "rows": [row]}


# ---------------------------------------------------------------- Acrobot / MountainCar

@functools.cache
def classic_expert(seed: int, env_id: str):
    """The better of a PPO and a scripted expert by its 100 collected episodes (cached in-process).
    Returns (env, 100-episode dataset, random return, expert return, chosen, candidate scores)."""
    env = envs.make(env_id)
    rand = random_return(env, seed)
    candidates = {}
    ppo_policy, ppo_s = train_ppo_expert(env, None, seed)
    candidates["ppo"] = (ppo_policy, {"kind": "ppo", "config": "jgail.presets.expert_config",
                                      "total_timesteps": presets.expert_config(env).total_timesteps,
                                      "seed": seed, "train_s (incl. compile)": ppo_s})
    candidates["scripted"] = (scripted.scripted_policy(env_id),
                              {"kind": "scripted", "name": f"jgail.scripted.scripted_policy({env_id!r})"})
    collected = {name: demos.collect(jax.random.key(seed + 1), env, policy, 100, expert=meta)
                 for name, (policy, meta) in candidates.items()}
    scores = {name: float(d.episode_returns.mean()) for name, d in collected.items()}
    chosen = max(scores, key=scores.get)
    print(f"{env_id}: random {rand:.1f}, expert candidates (100 episodes) {scores}: using {chosen}")
    return env, collected[chosen], rand, scores[chosen], chosen, scores


def classic_part(args, env_id):
    env, data, rand, expert_return, chosen, scores = classic_expert(args.seed, env_id)
    normalise = lambda r: (np.asarray(r) - rand) / (expert_return - rand)  # noqa: E731
    threshold = rand + SCORE_THRESHOLD * (expert_return - rand)

    rows = []
    for k in (1, 10):
        subset = demos.filter_episodes(data, first_k=k)
        config = presets.gail_config(env, "ppo", args.classic_steps)
        row = run_gail_row(args, env, config, subset, args.classic_seeds, threshold, normalise)
        rows.append({"row": f"{env_id} GAIL-PPO, {k} episode{'s' * (k > 1)}", "method": "GAIL-PPO",
                     "expert": chosen, **row})
        print_row(rows[-1])
    if args.control_seeds:
        subset = demos.filter_episodes(data, first_k=10)
        config = presets.gail_config(env, "ppo", args.classic_steps)
        config = config.replace(discriminator=config.discriminator.replace(absorbing=False))
        row = run_gail_row(args, env, config, subset, args.control_seeds, threshold, normalise)
        rows.append({"row": f"{env_id} GAIL-PPO, 10 episodes, CONTROL: no absorbing state",
                     "method": "GAIL-PPO", "expert": chosen, **row})
        print_row(rows[-1])
    return {"random_return": rand, "expert_candidates_100_episode_return": scores, "expert": chosen,
            "expert_return": expert_return, "threshold_return (score 0.9)": threshold,
            "expert_metadata": data.metadata["expert"], "rows": rows}


# ---------------------------------------------------------------- overhead ratio

def ratio_part(args):
    """Run time (compile excluded) of plain PPO/TRPO and GAIL-PPO/TRPO on CartPole, same seeds,
    iterations and batch size; each compiled call runs `repeats` times, interleaved, min kept."""
    env, one, _, _ = cartpole_setup(args.seed)
    expert = demos.to_jax(one)
    keys = seed_keys(args, args.seeds)
    gail_ppo = presets.gail_config(env, "ppo", args.ratio_steps)
    gail_trpo = presets.gail_config(env, "trpo", args.ratio_steps)
    one_d_step = gail_ppo.replace(discriminator=gail_ppo.discriminator.replace(num_updates=1))
    gail_ppo_paper_net = gail_ppo.replace(network=gail_trpo.network)  # TRPO's network, PPO's update

    def plain(config):
        return RLConfig(env=env, generator=config.generator, num_envs=config.num_envs,
                        num_steps=config.num_steps, total_timesteps=config.total_timesteps,
                        network=config.network)

    runs = {
        "PPO": (jax.vmap(rl.train, (0, None)), plain(gail_ppo)),
        "GAIL-PPO": (jax.vmap(gail.train, (0, None, None)), gail_ppo, expert),
        "GAIL-PPO, 1 D step/iter": (jax.vmap(gail.train, (0, None, None)), one_d_step, expert),
        "GAIL-PPO, 2x100 net": (jax.vmap(gail.train, (0, None, None)), gail_ppo_paper_net, expert),
        "TRPO": (jax.vmap(rl.train, (0, None)), plain(gail_trpo)),
        "GAIL-TRPO": (jax.vmap(gail.train, (0, None, None)), gail_trpo, expert),
    }
    compiled, times, compile_s = {}, {name: [] for name in runs}, {}
    for name, (fn, *fn_args) in runs.items():
        start = time.perf_counter()
        compiled[name] = (jax.jit(fn).lower(keys, *fn_args).compile(), fn_args)
        compile_s[name] = time.perf_counter() - start
    for _ in range(args.repeats):
        for name, (fn, fn_args) in compiled.items():
            start = time.perf_counter()
            jax.block_until_ready(fn(keys, *fn_args))
            times[name].append(time.perf_counter() - start)
    steps = gail_ppo.num_iterations * gail_ppo.batch_size
    rows = []
    for name in runs:
        config = runs[name][1]
        run_s = min(times[name])
        rows.append({"run": name, "seeds": args.seeds, "batch_size": config.batch_size,
                     "iterations": config.num_iterations,
                     "network": f"{'x'.join(map(str, config.network.hidden_sizes))} {config.network.activation}",
                     "run_s (min)": run_s, "run_s_all": times[name], "compile_s": compile_s[name],
                     "us_per_env_step": 1e6 * run_s / (steps * args.seeds)})
    t = {r["run"]: r["run_s (min)"] for r in rows}
    d_step_s = (t["GAIL-PPO"] - t["GAIL-PPO, 1 D step/iter"]) / (gail_ppo.discriminator.num_updates - 1)
    summary = {
        "gail_ppo_over_ppo": t["GAIL-PPO"] / t["PPO"],
        "gail_trpo_over_gail_ppo": t["GAIL-TRPO"] / t["GAIL-PPO"],
        "gail_trpo_over_gail_ppo_same_net": t["GAIL-TRPO"] / t["GAIL-PPO, 2x100 net"],
        "gail_trpo_over_trpo": t["GAIL-TRPO"] / t["TRPO"],
        "overhead_s": t["GAIL-PPO"] - t["PPO"],
        "overhead_from_discriminator_steps_s": d_step_s * gail_ppo.discriminator.num_updates,
    }
    print(markdown_table(rows, ["run", "batch_size", "iterations", "network", "run_s (min)", "us_per_env_step"]))
    print(summary)
    return {"rows": rows, "summary": summary}


# ---------------------------------------------------------------- tables and main

def print_row(row):
    extra = (f", normalised {row['normalised_score_mean']:.3f}" if "normalised_score_mean" in row else "")
    print(f"{row['row']}: {row['seeds_passing']}/{row['seeds']} pass, eval mean {row['eval_mean']:.1f} "
          f"(min {row['eval_min']:.1f}){extra}; per seed {np.round(row['eval_per_seed'], 1).tolist()}; "
          f"run {row['run_s']:.1f} s, compile {row['compile_s']:.1f} s", flush=True)


def fmt_steps(v):
    return "never" if v is None else f"{v / 1000:.1f}k"


def fmt_s(v):
    return "never" if v is None else f"{v:.1f}"


def per_seed_scores(parts: dict, part: str, row: dict):
    """A row's normalised score per seed (random 0, expert 1): its own, or else from its returns
    with its part's random and expert returns (CartPole's expert: its 100-episode mean; the trpo
    part has the cartpole part's random return); None without them."""
    if row.get("normalised_score_per_seed") is not None:
        return row["normalised_score_per_seed"]
    result = parts[part]
    rand = result.get("random_return", parts.get("cartpole", {}).get("random_return"))
    expert = result.get("expert_return")
    if expert is None and isinstance(result.get("expert"), dict):
        expert = result["expert"].get("eval_mean_100_episodes")
    if rand is None or expert is None or row.get("eval_per_seed") is None:
        return None
    return normalised(row["eval_per_seed"], rand, expert).tolist()


def build_table(parts: dict) -> str:
    main_rows, notes = [], []
    for part in ("cartpole", "trpo", "acrobot", "mountaincar"):
        if part not in parts:
            continue
        result = parts[part]
        for r in result["rows"]:
            scored = "normalised_score_mean" in r
            target = (f">= {SCORE_THRESHOLD} norm." if scored else f">= {CARTPOLE_THRESHOLD:g}")
            main_rows.append({
                "row": r["row"],
                "expert": r.get("expert", "ppo" if "CartPole" in r["row"] else ""),
                "pairs": r["num_pairs"],
                "reward (D)": r["reward"],
                "policy net": r["network"],
                "seeds": r["seeds"],
                "eval mean±std [min] (sampled)": f"{r['eval_mean']:.1f}±{r['eval_std']:.1f} [{r['eval_min']:.0f}]",
                "norm. score": f"{r['normalised_score_mean']:.3f}" if scored else "",
                "seeds passing": f"{r['seeds_passing']}/{r['seeds']} {target}",
                **variance_columns(per_seed_scores(parts, part, r), SCORE_THRESHOLD, digits=3),
                "greedy mean (extra)": f"{r['greedy_eval_mean (extra)']:.1f}",
                "env steps/seed": f"{r['env_steps_per_seed'] / 1000:g}k" if r["env_steps_per_seed"] else "-",
                "median steps to thr. (1 iter / 10 iter)": (
                    f"{fmt_steps(r.get('median_steps_to_threshold_1iter'))} / "
                    f"{fmt_steps(r.get('median_steps_to_threshold_10iter'))}") if "GAIL" in r["method"] else "-",
                "median wall s to thr.": fmt_s(r.get("median_wall_s_to_threshold_1iter"))
                if "GAIL" in r["method"] else "-",
                "run s (compile s)": f"{r['run_s']:.0f} ({r['compile_s']:.0f})",
                "µs/env step": f"{r['us_per_env_step']:.2f}" if "us_per_env_step" in r else "-",
            })
        control = [r for r in result["rows"] if "CONTROL" in r["row"]]
        same_data = [r for r in result["rows"] if r["row"].endswith("10 episodes")]
        if control and same_data:
            c, m = control[0], same_data[0]
            notes.append(f"- {part} termination-bias control (10 episodes): without absorbing states "
                         f"normalised score {c['normalised_score_mean']:.3f} ({c['seeds_passing']}/{c['seeds']} "
                         f">= 0.9), with them {m['normalised_score_mean']:.3f} ({m['seeds_passing']}/{m['seeds']}).")
        if part in ("acrobot", "mountaincar"):
            candidates = {k: round(v, 1) for k, v in result["expert_candidates_100_episode_return"].items()}
            notes.append(f"- {part}: random policy {result['random_return']:.1f}, expert candidates "
                         f"(100 episodes, sampled) {json.dumps(candidates)}"
                         f" -> expert = {result['expert']} ({result['expert_return']:.1f}); score 0.9 = return "
                         f"{result['threshold_return (score 0.9)']:.1f}.")
        elif part == "cartpole":
            e = result["expert"]
            notes.append(f"- cartpole: PPO expert ({CARTPOLE_EXPERT_STEPS // 1000}k steps, "
                         f"{e['train_s (incl. compile)']:.0f} s incl. compile) scores "
                         f"{e['eval_mean_100_episodes']:.1f} "
                         f"over 100 episodes; {e['episodes_kept_by_filter']} of 100 episodes pass the >= 195 "
                         f"filter; random policy {result['random_return']:.1f}.")
    columns = list(main_rows[0]) if main_rows else []
    blocks = ["## GAIL on classic control (all numbers measured in the run)"]
    if main_rows:
        blocks.append(markdown_table(main_rows, columns))
        blocks.append(
            "Eval: mean return over 100 episodes per seed, actions sampled (greedy is an extra). "
            "Steps to threshold: first iteration whose training-time mean episode return reaches 195 "
            "(CartPole) or the return of normalised score 0.9, median over seeds with 'never' counted as "
            "infinite (1 iter, and a 10-iteration window); wall s = the vmapped all-seed call's run time "
            "up to that iteration. µs/env step = run time / (seeds x env steps). Worst seed and seeds >= "
            "0.9: normalised (random 0, expert 1; CartPole's expert: its 100-episode mean).\n\n"
            "Reward forms: " + "; ".join(f"`{k}`: {v}" for k, v in REWARD_WHY.items()) + ". "
            "On CartPole the expert's episodes are all truncated at 200 (never terminated), so the "
            "absorbing state only ever appears in policy data.")
    blocks.extend(notes)
    if "ratio" in parts:
        r = parts["ratio"]
        blocks.append("### Wall time per env step, same seeds, iterations and batch size (compile excluded)")
        blocks.append(markdown_table(
            [{k: (f"{v:.2f}" if isinstance(v, float) else v) for k, v in row.items()
              if k in ("run", "seeds", "batch_size", "iterations", "network", "run_s (min)", "us_per_env_step")}
             for row in r["rows"]],
            ["run", "seeds", "batch_size", "iterations", "network", "run_s (min)", "us_per_env_step"]))
        s = r["summary"]
        t = {row["run"]: row["run_s (min)"] for row in r["rows"]}
        blocks.append(
            f"GAIL-PPO / PPO = **{s['gail_ppo_over_ppo']:.2f}** (target <= 1.3); GAIL-TRPO / GAIL-PPO = "
            f"{s['gail_trpo_over_gail_ppo']:.2f} (TRPO with the paper's 2x100 network, PPO with 2x64; "
            f"{s['gail_trpo_over_gail_ppo_same_net']:.2f} against GAIL-PPO with the same 2x100 network); "
            f"GAIL-TRPO / TRPO = {s['gail_trpo_over_trpo']:.2f}. GAIL-PPO's overhead over PPO is "
            f"{s['overhead_s']:.2f} s; with 1 discriminator step per iteration instead of 5 GAIL-PPO / PPO "
            f"is {t['GAIL-PPO, 1 D step/iter'] / t['PPO']:.2f}, so the discriminator's Adam steps are most of "
            f"it (about {s['overhead_from_discriminator_steps_s']:.2f} s, estimated from the difference).")
    return "\n\n".join(blocks)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=32, help="CartPole rows and the timing runs")
    parser.add_argument("--classic-seeds", type=int, default=16, help="Acrobot / MountainCar rows")
    parser.add_argument("--control-seeds", type=int, default=8, help="termination-bias control rows (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=PARTS, action="append", help="run only these parts (repeatable)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 seeds, short training")
    parser.add_argument("--out-dir", default=None)
    args = parser.parse_args(argv)
    args.cartpole_steps = None  # presets.gail_config's tuned defaults
    args.classic_steps = None
    args.ratio_steps = 20_480  # 20 iterations of 1024 steps
    args.repeats = 2
    args.name = "gail_classic"
    if args.quick:
        args.seeds, args.classic_seeds, args.control_seeds = 2, 2, min(args.control_seeds, 2)
        args.cartpole_steps, args.classic_steps, args.ratio_steps, args.repeats = 8192, 8192, 4096, 1
        args.name = "gail_classic_quick"
    return args


def main(argv=None):
    args = parse_args(argv)
    parts_to_run = args.only or list(PARTS)
    previous = earlier_results(args.name, "parts", args.only, args.out_dir)  # --only: keep the rest
    runners = {"cartpole": cartpole_part, "trpo": trpo_part, "ratio": ratio_part,
               "acrobot": lambda a: classic_part(a, "Acrobot-v1"),
               "mountaincar": lambda a: classic_part(a, "MountainCar-v0")}
    parts = dict(previous)
    for part in parts_to_run:
        start = time.perf_counter()
        result = runners[part](args)
        result["part_wall_s"] = time.perf_counter() - start
        result["measured_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
        result["args"] = {k: v for k, v in vars(args).items() if k != "only"}
        parts[part] = result
        print(f"[{part}] done in {result['part_wall_s']:.0f} s", flush=True)
    parts = {p: parts[p] for p in PARTS if p in parts}
    table = build_table(parts)
    print(table)
    out = write_results(args.name, {"parts": sanitize(parts)}, table, args.out_dir)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
