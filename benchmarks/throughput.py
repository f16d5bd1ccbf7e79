"""Env steps per second: raw env stepping, PPO, GAIL-PPO, TRPO and GAIL-TRPO at the same envs and steps.

    python -m benchmarks throughput [--quick | --full] [-- --envs cartpole200 --seeds 32 --iterations 20]

Per task (CartPole-v1 at its 500-step cap and at the classic 200, and brax/inverted_pendulum on
the spring backend), every method runs the same seeds, envs x steps per iteration and
iterations, all seeds in one vmapped, compiled call; compile time is excluded. Methods: raw
env stepping with uniformly random actions (no policy, no learning), PPO and TRPO on the env
reward, GAIL-PPO and GAIL-TRPO (`presets.gail_config`, without the BC warm start; PPO with the preset's 64x64 network,
TRPO with the paper's 100x100, each plain run on its GAIL run's network). Two ways of timing:

  whole   compiled `train(key, config)`: init, then N iterations (as benchmarks/gail_classic.py)
  steady  compiled `run(state, N)` from a state that has already run N iterations

Each compiled call runs `--repeats` times, all calls interleaved in rounds whose order
alternates (a burst of other load or a drift of the machine's speed hits every method alike).
Ratios are given two ways: of the fastest repeats, and as the median over rounds of the ratio
within a round (paired). On the shared 2-core VM single calls vary by 10-20%, so a ratio of
three repeats' minima moved between 1.13 and 1.37 for the same code; the paired median is the
number to quote. CartPole (cap 200) adds rows that take GAIL-PPO
apart: steady with the config batched per seed (what vmap(init) then vmap(run) gives, as the
run driver does: the discriminator's gradient-penalty `lax.cond` then becomes a select that
computes the penalty at weight 0), one discriminator step per iteration instead of five, and
the GAIL step alone (discriminator update and relabelling on one fixed batch).
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

from benchmarks.common import markdown_table, write_results
from jgail import demos, envs, gail, presets, rl, scripted
from jgail.core.distributions import random_policy
from jgail.core.rollout import collect
from jgail.generators.rl import RLConfig
from jgail.run import compile_cache

TASKS = {  # name -> (env id, options, seeds, iterations)
    "cartpole": ("CartPole-v1", {}, 32, 10),
    "cartpole200": ("CartPole-v1", {"max_episode_steps": 200}, 32, 10),
    "inverted_pendulum": ("brax/inverted_pendulum", {"backend": "spring"}, 8, 10),
}
METHODS = ("raw env", "PPO", "GAIL-PPO", "TRPO", "GAIL-TRPO")


def expert_data(env):
    """Demonstrations of the right shapes (their quality does not change the cost): CartPole's
    scripted controller, else a random policy's episodes, at least 200 pairs."""
    if env.name == "CartPole-v1":
        return demos.to_jax(demos.collect(jax.random.key(0), env, scripted.cartpole, 1, greedy=True))
    return demos.to_jax(demos.collect(jax.random.key(0), env, random_policy(env.action_space), 20))


def plain(config) -> RLConfig:
    """The GAIL config's generator, network and batch, on the env reward."""
    return RLConfig(env=config.env, generator=config.generator, num_envs=config.num_envs,
                    num_steps=config.num_steps, total_timesteps=config.total_timesteps,
                    network=config.network, normalize_obs=config.normalize_obs)


def raw_steps(env, num_envs: int, num_steps: int):
    """One seed's raw env stepping: num_steps x num_envs random actions, no policy."""
    policy = random_policy(env.action_space)

    def run(key):
        k_reset, k_run = jax.random.split(key)
        obs, state = jax.vmap(env.reset)(jax.random.split(k_reset, num_envs))

        def step(carry, key):
            obs, state = carry
            k_act, k_env = jax.random.split(key)
            state, result = jax.vmap(env.step)(jax.random.split(k_env, num_envs), state, policy(obs).sample(k_act))
            return (result.obs, state), result.reward.sum()

        (obs, _), rewards = jax.lax.scan(step, (obs, state), jax.random.split(k_run, num_steps))
        # The final observations too: a constant reward (1 per step on CartPole and the pendulum)
        # lets XLA drop the physics otherwise (the brax row then read 2e9 steps/s).
        return rewards.sum() + obs.sum()

    return run


def gail_step_only(config, expert, iterations: int):
    """One seed's GAIL step (discriminator update + relabelling) `iterations` times on ONE
    collected batch: what GAIL adds to an iteration of its generator."""
    policy_state = gail.init(jax.random.key(0), config, expert)
    policy = rl.rollout_policy(policy_state.agent.params, policy_state.obs_stats, config.nets)
    batch, _ = collect(jax.random.key(1), config.env, policy, policy_state.rollout, config.num_steps)

    def run(key):
        state = gail.init(key, config, expert)

        def step(state, key):
            state, relabelled, _ = gail.discriminator_step(state, key, batch, expert)
            return state.replace(iteration=state.iteration + 1), relabelled.reward.mean()

        _, rewards = jax.lax.scan(step, state, jax.random.split(key, iterations))
        return rewards.sum()

    return run


def build(task: str, seeds: int, iterations: int, diagnose: bool):
    """name -> {"whole": (fn, args), "steady": (fn, args) or None, "steps": env steps per seed}."""
    env_id, options, _, _ = TASKS[task]
    env = envs.make(env_id, **options)
    expert = expert_data(env)
    keys = jax.random.split(jax.random.key(1), seeds)
    # The adversarial loop's own cost: no BC warm start (CartPole-v1's preset has one, a one-off
    # before the first iteration that benchmarks/fast_to_expert.py times).
    gail_ppo = presets.gail_config(env, "ppo", bc_updates=0)
    batch = gail_ppo.batch_size
    gail_ppo = gail_ppo.replace(total_timesteps=iterations * batch)
    gail_trpo = presets.gail_config(env, "trpo", bc_updates=0).replace(total_timesteps=iterations * batch)
    assert gail_trpo.batch_size == batch
    runs = {"raw env": {"whole": (jax.vmap(raw_steps(env, gail_ppo.num_envs, iterations * gail_ppo.num_steps)),
                                  (keys,)), "steady": None}}

    def on_policy(name, config, with_expert, batched_config=False):
        """whole: vmapped train. steady: vmapped run on a state whose config stays unbatched, as in
        train (vmap(init) broadcasts every leaf of the state, the config's numbers too)."""
        if with_expert:
            train, args = jax.vmap(gail.train, (0, None, None)), (keys, config, expert)
            state = jax.jit(jax.vmap(lambda k: gail.init(k, config, expert)))(keys)
            step = lambda s, e: gail.run(s, e, iterations)
        else:
            train, args = jax.vmap(rl.train, (0, None)), (keys, config)
            state = jax.jit(jax.vmap(lambda k: rl.init(k, config)))(keys)
            step = lambda s, e: rl.run(s, iterations)
        if batched_config:  # what vmap(init) then vmap(run) gives, as the run driver does
            run = jax.vmap(step, (0, None))
        else:
            axes = jax.tree.map(lambda _: 0, state).replace(config=None)
            state = state.replace(config=config)
            run = jax.vmap(step, (axes, None), (axes, 0))
        runs[name] = {"whole": (train, args), "steady": (run, (state, expert))}
        if batched_config:
            runs[name] = {"steady": runs[name]["steady"]}

    on_policy("PPO", plain(gail_ppo), False)
    on_policy("GAIL-PPO", gail_ppo, True)
    on_policy("TRPO", plain(gail_trpo), False)
    on_policy("GAIL-TRPO", gail_trpo, True)
    if diagnose:
        on_policy("GAIL-PPO, config batched per seed", gail_ppo, True, batched_config=True)
        one_step = gail_ppo.replace(discriminator=gail_ppo.discriminator.replace(num_updates=1))
        on_policy("GAIL-PPO, 1 D step/iter", one_step, True)
        runs["GAIL step alone (5 D steps + relabel)"] = {
            "whole": (jax.vmap(gail_step_only(gail_ppo, expert, iterations)), (keys,)), "steady": None}
    return env, gail_ppo, runs


def measure(task: str, seeds: int, iterations: int, repeats: int, diagnose: bool) -> dict:
    env, config, runs = build(task, seeds, iterations, diagnose)
    compiled, compile_s = {}, {}
    for name, modes in runs.items():
        for mode, spec in modes.items():
            if spec is None:
                continue
            fn, args = spec
            start = time.perf_counter()
            compiled[(name, mode)] = (jax.jit(fn).lower(*args).compile(), args)
            compile_s[(name, mode)] = time.perf_counter() - start
    # steady: first advance each state by one call, so the timed calls start from iteration N
    for (name, mode), (fn, args) in list(compiled.items()):
        if mode == "steady":
            advanced, _ = jax.block_until_ready(fn(*args))
            compiled[(name, mode)] = (fn, (advanced, *args[1:]))
    times, cpu_times = {key: [] for key in compiled}, {key: [] for key in compiled}
    order = list(compiled)
    for repeat in range(repeats):
        # Alternate the order (A B ... then ... B A): a slow drift of the machine's speed hits
        # every method alike on average, and each round gives one paired ratio.
        for key in order if repeat % 2 == 0 else order[::-1]:
            fn, args = compiled[key]
            cpu_start, start = time.process_time(), time.perf_counter()
            jax.block_until_ready(fn(*args))
            times[key].append(time.perf_counter() - start)
            cpu_times[key].append(time.process_time() - cpu_start)
    steps = seeds * iterations * config.batch_size
    rows = []
    for (name, mode), values in times.items():
        best = min(values)
        rows.append({"task": task, "method": name, "timing": mode, "seeds": seeds,
                     "envs x steps": f"{config.num_envs}x{config.num_steps}", "iterations": iterations,
                     "run_s (min)": best, "run_s (median)": float(np.median(values)),
                     "env_steps_per_s": steps / best, "us_per_env_step": 1e6 * best / steps,
                     "cpu_s (min)": min(cpu_times[(name, mode)]), "run_s_all": values,
                     "cpu_s_all": cpu_times[(name, mode)], "compile_s": compile_s[(name, mode)]})
    wall = {key: np.asarray(values) for key, values in times.items()}
    cpu = {key: np.asarray(values) for key, values in cpu_times.items()}
    return {"task": task, "env": env.spec(), "rows": rows,
            "ratios": ratios_of({k: v.min() for k, v in wall.items()}, diagnose),
            "ratios_cpu_time": ratios_of({k: v.min() for k, v in cpu.items()}, diagnose),
            "ratios_paired": ratios_of(wall, diagnose, paired=True),
            "ratios_paired_cpu_time": ratios_of(cpu, diagnose, paired=True)}


def ratios_of(t: dict, diagnose: bool, paired: bool = False) -> dict:
    """Time per env step of one method over another (the same steps, so a ratio of times).
    `paired`: `t` holds every repeat's time; each ratio is the median over repeats of the
    ratio within one round of calls (robust to the machine's speed changing between rounds)."""
    if paired:
        per_round = ratios_of({k: v[:, None] for k, v in t.items()}, diagnose)  # [repeats, 1] each
        return {name: float(np.median(value)) for name, value in per_round.items()}
    ratios = {}
    for mode in ("whole", "steady"):
        ratios[f"GAIL-PPO / PPO, {mode}"] = t[("GAIL-PPO", mode)] / t[("PPO", mode)]
        ratios[f"GAIL-TRPO / TRPO, {mode}"] = t[("GAIL-TRPO", mode)] / t[("TRPO", mode)]
    ratios["PPO / raw env, whole"] = t[("PPO", "whole")] / t[("raw env", "whole")]
    if diagnose:
        ratios["GAIL-PPO config batched / PPO, steady"] = t[("GAIL-PPO, config batched per seed", "steady")] / t[
            ("PPO", "steady")]
        for mode in ("whole", "steady"):
            ratios[f"GAIL-PPO 1 D step / PPO, {mode}"] = t[("GAIL-PPO, 1 D step/iter", mode)] / t[("PPO", mode)]
        gail_step = t[("GAIL step alone (5 D steps + relabel)", "whole")]
        ratios["GAIL step alone / PPO, whole"] = gail_step / t[("PPO", "whole")]
        ratios["(PPO + GAIL step alone) / PPO, whole"] = 1 + gail_step / t[("PPO", "whole")]
    return ratios


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--seeds", type=int, default=None, help="seeds per call (default: per task, 32 or 8)")
    parser.add_argument("--iterations", type=int, default=None, help="iterations per call (default: 10)")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds of every call")
    parser.add_argument("--no-diagnose", dest="diagnose", action="store_false",
                        help="skip the CartPole (cap 200) rows that take GAIL-PPO apart")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: CartPole (cap 200) and the brax task, 2 seeds, 2 iterations, 1 repeat")
    parser.add_argument("--out-dir", default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.iterations, args.repeats, args.diagnose = args.seeds or 2, args.iterations or 2, 1, False
        args.envs = [e for e in args.envs if e != "cartpole"] if args.envs == list(TASKS) else args.envs
    return args


def main(argv=None):
    args = parse_args(argv)
    compile_cache.enable()
    parts = []
    for task in args.envs:
        _, _, seeds, iterations = TASKS[task]
        start = time.perf_counter()
        part = measure(task, args.seeds or seeds, args.iterations or iterations, args.repeats,
                       args.diagnose and task == "cartpole200")
        part["wall_s"] = time.perf_counter() - start
        parts.append(part)
        print(markdown_table(part["rows"], ["method", "timing", "run_s (min)", "env_steps_per_s", "us_per_env_step"]))
        print({k: round(v, 3) for k, v in part["ratios"].items()}, flush=True)
    columns = ["task", "method", "timing", "seeds", "envs x steps", "iterations", "run_s (min)", "run_s (median)",
               "env_steps_per_s",
               "us_per_env_step", "cpu_s (min)", "compile_s"]
    clocks = (("wall, min over repeats", "ratios"), ("process CPU, min over repeats", "ratios_cpu_time"),
              ("wall, median of paired rounds", "ratios_paired"),
              ("process CPU, median of paired rounds", "ratios_paired_cpu_time"))
    ratio_rows = [{"task": p["task"], "clock": clock, **p[key]} for p in parts for clock, key in clocks]
    ratio_columns = list(dict.fromkeys(k for r in ratio_rows for k in r))
    table = "\n\n".join([
        f"Env steps per second (all seeds together; compile excluded; min of {args.repeats} interleaved repeats). "
        "whole = compiled train (init + N iterations), steady = compiled run(state, N) from a state N iterations in.",
        markdown_table([r for p in parts for r in p["rows"]], columns),
        "Time per env step, ratios: of the fastest repeats (min over repeats), and the median over "
        "rounds of the ratio within one round of calls (paired; rounds alternate the call order), on "
        "the wall clock and on this process's CPU time (which other load on the machine disturbs less):",
        markdown_table(ratio_rows, ratio_columns),
    ])
    print(table)
    path = write_results("throughput", {"args": vars(args), "parts": parts}, table, args.out_dir)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
