"""Tune an accelerator-scale expert preset on CPU: return per env step does not depend on the device.

    python3 benchmarks/accelerator_tuning.py hopper --num-envs 2048 --num-steps 10 --epochs 4 \
        --minibatches 32 --steps 20e6 [--seeds 1] [--backend spring] [--gamma 0.997] [--ent 0.01]

Trains `presets.expert_config(env)` with the batch shape and PPO fields given (the same program a
GPU runs with more seeds vmapped), in chunks, and writes after every chunk (atomically) the
training curve (mean training return per chunk, env steps) and at the end a 20-episode evaluation
with sampled actions, to benchmarks/results/accelerator_tuning/<name>.json. Exploratory: one or two
seeds, to choose a preset's batch shape before a GPU run confirms it with more.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import numpy as np

from benchmarks.common import RESULTS_DIR
from jgail import checkpoint, envs, evaluation, presets, rl
from jgail.core.atomic_io import write_json_atomic
from jgail.core.networks import NetworkConfig


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("task")
    p.add_argument("--num-envs", type=int, default=None, help="default: the accelerator preset's")
    p.add_argument("--num-steps", type=int, default=None, help="default: the accelerator preset's")
    p.add_argument("--epochs", type=int, default=None, help="default: the accelerator preset's")
    p.add_argument("--minibatches", type=int, default=None, help="default: the accelerator preset's")
    p.add_argument("--steps", type=float, default=None, help="default: the accelerator preset's")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", default=None, help="default: the accelerator preset's")
    p.add_argument("--save-expert", metavar="CACHE_DIR", default=None,
                   help="save seed 0's agent where benchmarks/gail_brax.py --expert-cache CACHE_DIR looks for "
                        "this expert (only when the config is the accelerator preset's own)")
    p.add_argument("--gamma", type=float, default=None, help="default: the env's expert preset")
    p.add_argument("--ent", type=float, default=None, help="default: the env's expert preset")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--hidden", type=int, nargs="+", default=None, help="policy hidden sizes (default: preset)")
    p.add_argument("--chunks", type=int, default=20)
    p.add_argument("--name", default=None)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    env = envs.make(f"brax/{args.task}", backend=args.backend or presets.backend(f"brax/{args.task}", "accelerator"))
    config = presets.expert_config(env, int(args.steps) if args.steps else None, budget="accelerator")
    config = config.replace(num_envs=args.num_envs or config.num_envs, num_steps=args.num_steps or config.num_steps)
    gen = config.generator.replace(num_epochs=args.epochs or config.generator.num_epochs,
                                   num_minibatches=args.minibatches or config.generator.num_minibatches)
    for field, value in (("gamma", args.gamma), ("ent_coef", args.ent), ("learning_rate", args.lr)):
        if value is not None:
            gen = gen.replace(**{field: value})
    config = config.replace(generator=gen)
    if args.hidden:
        config = config.replace(network=NetworkConfig(tuple(args.hidden), config.network.activation))
    config = config.validate()
    g = config.generator
    name = args.name or (f"{args.task}_{env.spec()['env_options']['backend']}_{config.num_envs}x{config.num_steps}_"
                         f"{g.num_epochs}x{g.num_minibatches}_{config.total_timesteps / 1e6:g}M")
    path = os.path.join(RESULTS_DIR, "accelerator_tuning", f"{name}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    state = jax.jit(jax.vmap(rl.init, (0, None)))(keys, config)
    iterations = config.num_iterations
    per_chunk = max(1, iterations // args.chunks)
    run = jax.jit(jax.vmap(rl.run, (0, None)), static_argnums=1)
    record = {"task": args.task, "backend": env.spec()["env_options"]["backend"], "num_envs": config.num_envs,
              "num_steps": config.num_steps, "num_epochs": g.num_epochs, "num_minibatches": g.num_minibatches,
              "seeds": args.seeds, "total_timesteps": config.total_timesteps,
              "generator": {k: float(v) for k, v in vars(gen).items() if isinstance(v, (int, float))},
              "hidden_sizes": list(config.network.hidden_sizes), "iterations": iterations,
              "batch_size": config.batch_size, "curve": [], "command": " ".join(sys.argv)}
    start, done = time.perf_counter(), 0
    while done < iterations:
        n = min(per_chunk, iterations - done)
        state, metrics = run(state, n)
        done += n
        returns = np.nanmean(np.asarray(metrics["episode_return"], float), axis=1)
        record["curve"].append({"env_steps": done * config.batch_size, "train_return": returns.round(1).tolist(),
                                "wall_s": round(time.perf_counter() - start, 1)})
        print(f"{name}: {done * config.batch_size / 1e6:.2f}M steps, train return {returns.round(0).tolist()}, "
              f"{time.perf_counter() - start:.0f} s", flush=True)
        write_json_atomic(path, record)

    def score(key, params, stats):
        out = evaluation.evaluate(jax.random.fold_in(key, 11), env, config.nets, params, stats, 20)
        return out["mean_return"], out["lengths"].mean()

    ret, length = jax.jit(jax.vmap(score))(keys, state.agent.params, state.obs_stats)
    record.update(eval20=np.asarray(ret).round(1).tolist(), eval_length=np.asarray(length).round(1).tolist(),
                  wall_s=round(time.perf_counter() - start, 1),
                  env_steps_per_s=round(iterations * config.batch_size * args.seeds / (time.perf_counter() - start)))
    write_json_atomic(path, record)
    if args.save_expert:
        save_expert(args, env, config, state, record)
    print(f"{name}: eval (20 episodes, sampled) {record['eval20']}, lengths {record['eval_length']}; wrote {path}")
    return 0


def save_expert(args, env, config, state, record):
    """Seed 0's agent, in the expert cache of benchmarks/gail_brax.py (keyed by env and config)."""
    from benchmarks import gail_brax

    if config != presets.expert_config(env, config.total_timesteps, budget="accelerator"):
        raise SystemExit("--save-expert: only an expert trained with the accelerator preset's own config is cached")
    params, stats = jax.tree.map(lambda x: x[0], (state.agent.params, state.obs_stats))
    cache_args = argparse.Namespace(expert_cache=args.save_expert, seed=args.seed)
    path = gail_brax._cache_dir(cache_args, env, config)
    info = {"total_timesteps": config.total_timesteps, "config": "jgail.presets.expert_config(budget='accelerator')",
            "num_envs": config.num_envs, "trained_by": record["command"], "wall_s": record["wall_s"],
            "eval20": record["eval20"][0]}
    checkpoint.save_agent(path, params, stats, checkpoint.make_spec(env, config.network, config.normalize_obs, info))
    print(f"saved the expert to {path}")


if __name__ == "__main__":
    raise SystemExit(main())
