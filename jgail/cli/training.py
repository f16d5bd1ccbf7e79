"""`jgail expert` and `jgail collect`, on the host: validate, call the jitted core, write files."""

from __future__ import annotations

import os
import time

import jax
import numpy as np

from jgail import envs
from jgail.cli.args import UsageError, env_options
from jgail.data import demos
from jgail.generators import rl
from jgail.presets import expert_config
from jgail.run import checkpoint
from jgail.run.evaluation import evaluate


def _make_env(args):
    return envs.make(args.env, **env_options(args))


def _check_out_dir(path):
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"--out {path} exists and is not a directory")
    os.makedirs(path, exist_ok=True)


def expert(args) -> int:
    env = _make_env(args)
    if args.seeds < 1 or args.eval_episodes < 1:
        raise UsageError("--seeds and --eval-episodes must be >= 1")
    config = expert_config(env, args.total_timesteps).validate()
    _check_out_dir(args.out)
    print(f"training a PPO expert on {env.name} ({config.num_iterations} iterations x "
          f"{config.batch_size} steps, {args.seeds} seeds in one call)...", flush=True)

    def train_and_evaluate(key):
        state, metrics = rl.train(key, config)
        score = evaluate(jax.random.fold_in(key, 1), env, config.nets, state.agent.params,
                         state.obs_stats, args.eval_episodes)
        return state, metrics, score

    start = time.time()
    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    states, metrics, scores = jax.block_until_ready(jax.jit(jax.vmap(train_and_evaluate))(keys))
    wall = time.time() - start
    means = np.asarray(scores["mean_return"])
    best = int(np.argmax(means))
    state = jax.tree.map(lambda x: x[best], states)
    training = {"algorithm": "ppo", "num_envs": config.num_envs, "num_steps": config.num_steps,
                "total_timesteps": config.total_timesteps, **_numbers(config.generator)}
    spec = checkpoint.make_spec(env, config.network, config.normalize_obs, training)
    checkpoint.save_agent(args.out, state.agent.params, state.obs_stats, spec, overwrite=True)
    summary = {
        "env": env.spec(),
        "algorithm": "ppo",
        "eval_episodes": args.eval_episodes,
        "eval_mean_return": float(means[best]),
        "eval_std_return": float(np.asarray(scores["returns"][best]).std()),
        "eval_mean_return_per_seed": means.tolist(),
        "best_seed_index": best,
        "env_steps": int(config.num_iterations * config.batch_size),
        "env_steps_all_seeds": int(config.num_iterations * config.batch_size * args.seeds),
        "wall_time_s": wall,
        "config": training,
    }
    checkpoint.write_json_atomic(os.path.join(args.out, "summary.json"), summary)
    print(f"expert evaluation: mean return {means[best]:.1f} over {args.eval_episodes} episodes "
          f"(seeds: {[round(float(x), 1) for x in means]}); {summary['env_steps']} env steps per seed; "
          f"{wall:.1f} s; saved to {args.out}")
    return 0


def _numbers(config) -> dict:
    """The numeric hyperparameters of a (PPO/TRPO/discriminator) config, as JSON numbers."""
    return {k: float(v) for k, v in vars(config).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def collect(args) -> int:
    _positive_int("episodes", args.episodes)
    if args.keep_first is not None:
        _positive_int("keep-first", args.keep_first)
    if not os.path.isdir(args.expert):
        raise UsageError(f"--expert {args.expert} is not a directory written by `jgail expert`")
    params, obs_stats, spec = checkpoint.load_agent(args.expert)
    env, nets = checkpoint.rebuild_nets(spec)
    policy = lambda obs: nets.dist(params, obs_stats, obs)  # noqa: E731
    expert_info = {"kind": "ppo", "path": os.path.abspath(args.expert)}
    data = demos.collect(jax.random.key(args.seed), env, policy, args.episodes, expert=expert_info)
    total = data.num_episodes
    data = demos.filter_episodes(data, min_return=args.min_return, first_k=args.keep_first)
    demos.save(data, args.out)
    returns = np.asarray(data.episode_returns)
    print(f"kept {data.num_episodes} of {total} episodes ({data.num_pairs} state-action pairs), "
          f"return mean {returns.mean():.1f} min {returns.min():.1f}; wrote {args.out}")
    return 0


def _positive_int(name, value):
    if value is None or int(value) < 1:
        raise UsageError(f"--{name} must be a positive integer, got {value}")
