"""`jgail gail` and `jgail bc`: imitation from a demonstration file, many seeds in one call."""

from __future__ import annotations

import io
import os
import time

import jax
import numpy as np

from jgail import envs, presets
from jgail.cli.args import UsageError, env_options
from jgail.core.atomic_io import atomic_write, write_json_atomic
from jgail.core.distributions import random_policy
from jgail.core.networks import PolicyNetworks
from jgail.data import demos
from jgail.imitation import bc, gail
from jgail.run.evaluation import evaluate, evaluate_fn


def _load_inputs(args):
    for name in ("seeds", "eval_episodes"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 1")
    env = envs.make(args.env, **env_options(args))
    data = demos.load(args.demos, env=env)
    demos.check_env_options(data, env.name, env.spec()["env_options"])
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UsageError(f"--out {args.out} exists and is not a directory")
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
    random_return = float(evaluate_fn(jax.random.key(args.seed + 7), env, random_policy(env.action_space),
                                      args.eval_episodes)["mean_return"])
    expert_return = float(data.metadata["expert_return_mean"])
    span = expert_return - random_return
    normalised = (per_seed - random_return) / span if abs(span) > 1e-8 else np.full_like(per_seed, np.nan)
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
        "normalised_score_per_seed": normalised.tolist(),
        "normalised_score_mean": float(np.mean(normalised)),
        "env_steps_per_seed": int(env_steps),
        "wall_time_s": wall,
        "seeds": args.seeds,
        **extra,
    }
    os.makedirs(args.out, exist_ok=True)
    write_json_atomic(os.path.join(args.out, "summary.json"), summary)
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in metrics.items()})
    atomic_write(os.path.join(args.out, "metrics.npz"), lambda f: f.write(buffer.getvalue()), binary=True)
    print(f"{method} on {env.name}: mean return {per_seed.mean():.1f} over {args.seeds} seeds "
          f"(per seed: {[round(float(x), 1) for x in per_seed]}); expert {expert_return:.1f}, random "
          f"{random_return:.1f}, normalised score {np.mean(normalised):.3f}; {wall:.1f} s; wrote {args.out}")
    return summary


def gail_config_from_args(args, env):
    """The preset for the env (`presets.gail_config`), then the flags given."""
    config = presets.gail_config(env, args.generator)
    given = lambda name: getattr(args, name) is not None  # noqa: E731
    loop = {field: getattr(args, name) for name, field in
            [("total_timesteps", "total_timesteps"), ("num_envs", "num_envs"), ("num_steps", "num_steps"),
             ("reward", "reward")] if given(name)}
    disc = {field: getattr(args, name) for name, field in
            [("disc_lr", "learning_rate"), ("disc_updates", "num_updates"), ("grad_penalty", "grad_penalty"),
             ("absorbing", "absorbing")] if given(name)}
    if args.airl:
        disc.update(kind="airl", absorbing=False)
        loop["reward"] = "airl"
    generator = config.generator.replace(ent_coef=args.ent_coef) if given("ent_coef") else config.generator
    return config.replace(generator=generator, discriminator=config.discriminator.replace(**disc),
                          bc=bc.BCConfig(num_updates=args.bc_warmstart), **loop).validate()


def run_gail(args) -> int:
    env, data = _load_inputs(args)
    config = gail_config_from_args(args, env)
    expert = demos.to_jax(data)
    print(f"GAIL ({args.generator}, reward {config.reward}) on {env.name} from {data.num_episodes} expert "
          f"episode(s) ({data.num_pairs} pairs): {args.seeds} seeds x {config.num_iterations} iterations "
          f"x {config.batch_size} steps, one compiled call...", flush=True)
    start = time.time()
    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    states, metrics = jax.block_until_ready(jax.jit(jax.vmap(gail.train, (0, None, None)))(keys, config, expert))
    wall = time.time() - start
    per_seed, greedy = _evaluate_seeds(jax.random.key(args.seed + 1), env, config.nets,
                                       states.agent.params, states.obs_stats, args.eval_episodes)
    _write_results(args, env, data, f"gail-{args.generator}", per_seed, greedy, wall,
                   config.num_iterations * config.batch_size, metrics,
                   {"reward": config.reward, "generator": args.generator,
                    "absorbing": config.discriminator.absorbing, "discriminator_kind": config.discriminator.kind,
                    "num_envs": config.num_envs, "num_steps": config.num_steps,
                    "discriminator_updates_per_iteration": config.discriminator.num_updates})
    return 0


def run_bc(args) -> int:
    env, data = _load_inputs(args)
    config = bc.BCConfig(learning_rate=args.lr, num_updates=args.updates).validate()
    network = presets.expert_config(env).network
    expert = demos.to_jax(data)
    start = time.time()
    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    normalize = not env.action_space.discrete
    train = jax.vmap(lambda k: bc.train(k, config, env, network, expert, normalize))
    params, obs_stats, metrics = jax.block_until_ready(jax.jit(train)(keys))
    wall = time.time() - start
    nets = PolicyNetworks.create(env.action_space, network, normalize)
    per_seed, greedy = _evaluate_seeds(jax.random.key(args.seed + 1), env, nets, params, obs_stats,
                                       args.eval_episodes)
    _write_results(args, env, data, "bc", per_seed, greedy, wall, 0, metrics, {})
    return 0
