"""`jgail gail` and `jgail bc`: imitation from a demonstration file, many seeds in one call."""

from __future__ import annotations

import io
import os
import re
import time

import jax
import numpy as np

from jgail import envs, presets
from jgail.cli import runs
from jgail.cli.args import UsageError, check_run_args, env_options, require
from jgail.core.atomic_io import atomic_write, write_json_atomic
from jgail.core.distributions import random_policy
from jgail.core.networks import PolicyNetworks
from jgail.data import demos
from jgail.imitation import bc, gail
from jgail.run import driver, memory
from jgail.run.evaluation import evaluate, evaluate_fn

# Config fields named by validation errors -> the flag a command-line user typed.
FLAGS = {"num_envs": "--num-envs", "num_steps": "--num-steps", "total_timesteps": "--total-timesteps",
         "learning_rate": "--disc-lr", "num_updates": "--disc-updates", "grad_penalty": "--grad-penalty",
         "ent_coef": "--ent-coef", "reward": "--reward"}


def in_flag_terms(err: Exception) -> str:
    """A config validation message with `GAILConfig.num_envs` etc. written as `--num-envs`."""
    text = str(err)
    for field, flag in FLAGS.items():
        text = re.sub(rf"\b(?:GAILConfig|DiscriminatorConfig|PPOConfig|TRPOConfig)\.{field}\b", flag, text)
    return text


def _load_inputs(args):
    require(args, "env", "demos", "out")
    for name in ("seeds", "eval_episodes"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 1")
    env = envs.make(args.env, **env_options(args))
    data = demos.load(args.demos, env=env)
    demos.check_env(data, env)  # effective settings: --max-episode-steps 500 equals CartPole-v1's default
    return env, data


def _evaluate_seeds(key, env, nets, params, obs_stats, episodes):
    """Per-seed evaluation (sampled actions) and, labelled separately, greedy evaluation."""
    def both(k, p, s):
        return (evaluate(k, env, nets, p, s, episodes)["mean_return"],
                evaluate(k, env, nets, p, s, episodes, greedy=True)["mean_return"])

    keys = jax.random.split(key, jax.tree.leaves(params)[0].shape[0])
    sampled, greedy = jax.jit(jax.vmap(both))(keys, params, obs_stats)
    return np.asarray(sampled), np.asarray(greedy)


def _write_results(args, env, data, method, per_seed, greedy, wall, env_steps, metrics, extra):
    # One jitted program: run eagerly, its reset, scan and key splits would each be a program.
    policy = random_policy(env.action_space)
    random_return = float(jax.jit(lambda key: evaluate_fn(key, env, policy, args.eval_episodes)["mean_return"])(
        jax.random.key(args.seed + 7)))
    expert_return = demos.expert_return(data)
    span = None if expert_return is None else expert_return - random_return
    if span is None or abs(span) < 1e-8:
        normalised = None  # no expert return in the dataset (or expert == random): no normalised score
    else:
        normalised = (per_seed - random_return) / span
    summary = {
        "method": method,
        "env": env.spec(),
        "demos": {"path": os.path.abspath(args.demos), "num_episodes": data.num_episodes,
                  "num_pairs": data.num_pairs, "expert": data.metadata.get("expert")},
        "eval_episodes": args.eval_episodes,
        "eval_mean_return_per_seed": per_seed.tolist(),
        "eval_mean_return": float(per_seed.mean()),
        "greedy_eval_mean_return_per_seed (extra: argmax/mean actions)": greedy.tolist(),
        "expert_return": expert_return,
        "random_return": random_return,
        "normalised_score_per_seed": None if normalised is None else normalised.tolist(),
        "normalised_score_mean": None if normalised is None else float(np.mean(normalised)),
        "env_steps_per_seed": int(env_steps),
        "wall_time_s": wall,
        "seeds": args.seeds,
        **extra,
    }
    if normalised is None:
        summary["normalised_score_note"] = ("the dataset records no expert return (or it equals the random "
                                            "policy's), so there is no normalised score")
    write_json_atomic(os.path.join(args.out, runs.SUMMARY_FILE), summary)
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in metrics.items()})
    atomic_write(os.path.join(args.out, "metrics.npz"), lambda f: f.write(buffer.getvalue()), binary=True)
    expert_text = "unknown" if expert_return is None else f"{expert_return:.1f}"
    score_text = "n/a (expert return unknown)" if normalised is None else f"{np.mean(normalised):.3f}"
    print(f"{method} on {env.name}: mean return {per_seed.mean():.1f} over {args.seeds} seeds "
          f"(per seed: {[round(float(x), 1) for x in per_seed]}); expert {expert_text}, random "
          f"{random_return:.1f}, normalised score {score_text}; {wall:.1f} s; wrote {args.out}")
    return summary


def gail_config_from_args(args, env):
    """The preset for the env (`presets.gail_config`, or `presets.airl_config` with --airl),
    then the flags given."""
    config = (presets.airl_config if args.airl else presets.gail_config)(env, args.generator)
    given = lambda name: getattr(args, name) is not None
    if args.airl and given("reward") and args.reward != "airl":
        raise UsageError(f"--airl scores with AIRL's own reward; it cannot be combined with --reward {args.reward}")
    loop = {field: getattr(args, name) for name, field in
            [("total_timesteps", "total_timesteps"), ("num_envs", "num_envs"), ("num_steps", "num_steps"),
             ("reward", "reward")] if given(name)}
    disc = {field: getattr(args, name) for name, field in
            [("disc_lr", "learning_rate"), ("disc_updates", "num_updates"), ("grad_penalty", "grad_penalty"),
             ("absorbing", "absorbing")] if given(name)}
    generator = config.generator.replace(ent_coef=args.ent_coef) if given("ent_coef") else config.generator
    if given("bc_warmstart"):
        loop["bc"] = config.bc.replace(num_updates=args.bc_warmstart)
    try:
        config = config.replace(generator=generator, discriminator=config.discriminator.replace(**disc),
                                **loop).validate()
    except ValueError as err:
        raise UsageError(in_flag_terms(err)) from None
    run_steps = config.num_iterations * config.batch_size
    if given("total_timesteps") and run_steps != args.total_timesteps:
        print(f"note: --total-timesteps {args.total_timesteps} runs as {config.num_iterations} iteration(s) of "
              f"{config.batch_size} steps (--num-envs x --num-steps) = {run_steps} steps per seed", flush=True)
    return config


def _nonfinite(state) -> np.ndarray | None:
    """Per seed, the iteration where training went non-finite (-1: never), if the state records it."""
    flags = getattr(state, "nonfinite_iteration", None)
    return None if flags is None else np.asarray(jax.device_get(flags)).reshape(-1)


def run_gail(args) -> int:
    """`jgail gail`: train GAIL over --seeds seeds with the run driver, evaluate each seed and
    write summary.json, metrics and run.json to --out. Returns 0, or 3 if a seed went non-finite."""
    check_run_args(args)
    env, data = _load_inputs(args)
    config = gail_config_from_args(args, env)
    expert = demos.to_jax(data)
    job = gail_job(config, expert, args.eval_episodes)
    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    runs.check_memory(args, job, keys[:1], args.seeds, lambda fits: (
        f"Run at most --seeds {fits} at once, or all {args.seeds} in groups with `jgail sweep` (the same flags) "
        f"and --max-parallel {fits} (or --max-parallel auto), or fewer --num-envs per seed."))
    created = runs.prepare_run_dir(args)
    if args.resume:
        runs.check_same_config(args, config)
    with runs.removed_if_stopped_early(args, created):
        runs.write_config(args, config)
        warm = (f"a BC warm start of {config.bc.num_updates} updates (--bc-warmstart 0: GAIL alone), then "
                if config.bc.num_updates else "")
        print(f"GAIL ({args.generator}, reward {config.reward}) on {env.name} from {data.num_episodes} expert "
              f"episode(s) ({data.num_pairs} pairs): {args.seeds} seeds, {warm}{config.num_iterations} iterations "
              f"x {config.batch_size} steps, in chunks of {min(args.chunk, config.num_iterations)} iterations",
              flush=True)
        started = time.time()
        result = runs.drive(job, keys, args)
        states = result.state
        per_seed, greedy = _evaluate_seeds(jax.random.key(args.seed + 1), env, config.nets,
                                           states.agent.params, states.obs_stats, args.eval_episodes)
        bad = _nonfinite(states)
        extra = {"reward": config.reward, "generator": args.generator,
                 "absorbing": config.discriminator.absorbing, "discriminator_kind": config.discriminator.kind,
                 "num_envs": config.num_envs, "num_steps": config.num_steps,
                 "discriminator_updates_per_iteration": config.discriminator.num_updates,
                 "bc_warmstart_updates": config.bc.num_updates, "compile_time_s": result.compile_s}
        if bad is not None:
            extra["nonfinite_iteration_per_seed (-1: finite)"] = bad.tolist()
        _write_results(args, env, data, f"gail-{args.generator}", per_seed, greedy, result.train_s,
                       config.num_iterations * config.batch_size, result.metrics, extra)
        runs.write_run_info(args, result, started, demos_path=args.demos)
    if bad is not None and (bad >= 0).any():
        seeds = np.flatnonzero(bad >= 0).tolist()
        print(f"jgail gail: error: training went non-finite in seed(s) {seeds} (at iteration(s) "
              f"{bad[bad >= 0].tolist()}); their parameters were frozen there. Lower the learning rates "
              "or check the inputs; the summary lists them", flush=True)
        return 3
    return 0


def gail_job(config, expert, eval_episodes: int) -> driver.Job:
    """The driver `Job` of a GAIL run: every seed trains `config` on `expert`, evaluated over
    `eval_episodes` episodes when the driver evaluates."""
    # Every seed runs `config`: the update reads it as constants rather than from the state,
    # where vmap batches its numbers per seed and turns the discriminator's gradient-penalty
    # `lax.cond` into a select that computes the penalty even at weight 0 (benchmarks/throughput.py).
    return driver.Job(
        init=lambda key, data: gail.init(key, config, data),
        update=lambda state, data: gail.update(state.replace(config=config), data), data=expert,
        num_iterations=config.num_iterations, steps_per_iteration=config.batch_size,
        evaluate=lambda key, s: evaluate(key, config.env, config.nets, s.agent.params, s.obs_stats,
                                         eval_episodes)["mean_return"],
        working_bytes=memory.working_bytes(config))


def run_bc(args) -> int:
    """`jgail bc`: behavioural cloning over --seeds seeds in one vmapped call (the expert
    preset's network; observations normalised for continuous actions), then evaluation and
    summary.json in --out. Returns 0."""
    env, data = _load_inputs(args)
    try:
        config = bc.BCConfig(learning_rate=args.lr, num_updates=args.updates).validate()
    except ValueError as err:
        message = str(err).replace("BCConfig.learning_rate", "--lr").replace("num_updates", "--updates")
        raise UsageError(message) from None
    runs.prepare_run_dir(args, marker=runs.SUMMARY_FILE)
    runs.write_config(args, config)
    started = time.time()
    network = presets.expert_config(env).network
    expert = demos.to_jax(data)
    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    normalize = not env.action_space.discrete
    train = jax.vmap(lambda k: bc.train(k, config, env, network, expert, normalize))
    params, obs_stats, metrics = jax.block_until_ready(jax.jit(train)(keys))
    wall = time.time() - started
    nets = PolicyNetworks.create(env.action_space, network, normalize)
    per_seed, greedy = _evaluate_seeds(jax.random.key(args.seed + 1), env, nets, params, obs_stats,
                                       args.eval_episodes)
    _write_results(args, env, data, "bc", per_seed, greedy, wall, 0, metrics, {})
    runs.write_run_info(args, None, started, demos_path=args.demos)
    return 0
