"""`jgail expert` and `jgail collect --expert`, on the host: validate, drive the jitted core,
write files."""

from __future__ import annotations

import os
import time

import jax
import numpy as np

from jgail import envs
from jgail.cli import runs
from jgail.cli.args import UsageError, check_run_args, env_options, require
from jgail.core.atomic_io import write_json_atomic
from jgail.data import demos, scripted
from jgail.generators import rl
from jgail.presets import expert_config
from jgail.run import checkpoint, driver, memory
from jgail.run.evaluation import evaluate

AGENT_DIR = "agent"  # inside an expert's run directory: the best seed's policy (jgail.run.checkpoint)


def agent_dir(path: str) -> str:
    """An agent checkpoint directory, given it or the expert run directory holding one."""
    inner = os.path.join(path, AGENT_DIR)
    return inner if os.path.isfile(os.path.join(inner, checkpoint.SPEC_FILE)) else path


def expert(args) -> int:
    """`jgail expert`: train PPO experts (the preset) over --seeds seeds, keep the best by
    evaluation as --out/agent, and write summary.json. Returns 0."""
    require(args, "env", "out")
    check_run_args(args)
    if args.seeds < 1 or args.eval_episodes < 1:
        raise UsageError("--seeds and --eval-episodes must be >= 1")
    target = getattr(args, "target_return", None)
    if target is not None and not np.isfinite(target):
        raise UsageError(f"--target-return must be a finite number, got {target}")
    env = envs.make(args.env, **env_options(args))
    config = expert_config(env, args.total_timesteps).validate()
    job = driver.Job(init=lambda key, _: rl.init(key, config), update=lambda state, _: rl.update(state),
                     num_iterations=config.num_iterations, steps_per_iteration=config.batch_size,
                     evaluate=lambda key, s: evaluate(key, env, config.nets, s.agent.params, s.obs_stats,
                                                      args.eval_episodes)["mean_return"],
                     stop_when=None if target is None else lambda metrics: reached(metrics, target),
                     working_bytes=memory.working_bytes(config))
    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    runs.check_memory(args, job, keys[:1], args.seeds,
                      lambda fits: f"Train at most --seeds {fits} at once (the best is kept; run again with "
                                   f"another --seed for more).")
    created = runs.prepare_run_dir(args)
    if args.resume:
        runs.check_same_config(args, config)
    with runs.removed_if_stopped_early(args, created):
        runs.write_config(args, config)
        print(f"training a PPO expert on {env.name} ({config.num_iterations} iterations x "
              f"{config.batch_size} steps, {args.seeds} seeds in one call)...", flush=True)
        started = time.time()
        result = runs.drive(job, keys, args)

        def score(key, state):
            return evaluate(jax.random.fold_in(key, 1), env, config.nets, state.agent.params, state.obs_stats,
                            args.eval_episodes)

        scores = jax.jit(jax.vmap(score))(keys, result.state)
        means = np.asarray(scores["mean_return"])
        best = int(np.argmax(means))
        # The best seed's policy, indexed on the host: indexing each device array would compile
        # one small program per parameter shape (32 on CartPole, 0.7 s).
        params, obs_stats = jax.tree.map(lambda x: np.asarray(x)[best],
                                         jax.device_get((result.state.agent.params, result.state.obs_stats)))
        training = {"algorithm": "ppo", "num_envs": config.num_envs, "num_steps": config.num_steps,
                    "total_timesteps": config.total_timesteps, **_numbers(config.generator)}
        spec = checkpoint.make_spec(env, config.network, config.normalize_obs, training)
        checkpoint.save_agent(os.path.join(args.out, AGENT_DIR), params, obs_stats, spec,
                              overwrite=True)
        iterations = int(np.asarray(jax.device_get(result.state.iteration)).reshape(-1)[0])
        summary = {
            "env": env.spec(),
            "algorithm": "ppo",
            "eval_episodes": args.eval_episodes,
            "eval_mean_return": float(means[best]),
            "eval_std_return": float(np.asarray(scores["returns"][best]).std()),
            "eval_mean_return_per_seed": means.tolist(),
            "best_seed_index": best,
            "env_steps": iterations * config.batch_size,
            "env_steps_all_seeds": iterations * config.batch_size * args.seeds,
            "target_return": target,
            "stopped_early": result.stopped_at is not None,
            "wall_time_s": result.train_s,
            "compile_time_s": result.compile_s,
            "config": training,
        }
        write_json_atomic(os.path.join(args.out, runs.SUMMARY_FILE), summary)
        runs.write_run_info(args, result, started)
    if result.stopped_at is not None:
        print(f"every seed's training return reached --target-return {target:g} after "
              f"{summary['env_steps']} of {config.num_iterations * config.batch_size} env steps per seed: stopped")
    print(f"expert evaluation: mean return {means[best]:.1f} over {args.eval_episodes} episodes "
          f"(seeds: {[round(float(x), 1) for x in means]}); {summary['env_steps']} env steps per seed; "
          f"{result.train_s:.1f} s (+{result.compile_s:.1f} s compile); saved to {args.out}")
    return 0


def reached(metrics: dict, target: float) -> bool:
    """Whether every seed's mean training return over a chunk (`metrics["episode_return"]`,
    [S, iterations], NaN in an iteration where no episode ended) is at least `target`."""
    returns = np.asarray(metrics["episode_return"], dtype=float)
    ended = np.isfinite(returns)
    means = np.where(ended, returns, 0.0).sum(1) / np.maximum(ended.sum(1), 1)
    return bool(np.all(ended.any(1) & (means >= target)))


def _numbers(config) -> dict:
    """The numeric hyperparameters of a (PPO/TRPO/discriminator) config, as JSON numbers."""
    return {k: float(v) for k, v in vars(config).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def collect(args) -> int:
    """`jgail collect --expert`: roll out the saved expert for --episodes episodes, filter
    them and write the dataset to --out. Returns 0."""
    _positive_int("episodes", args.episodes)
    if args.keep_first is not None:
        _positive_int("keep-first", args.keep_first)
    if not os.path.isdir(args.expert):
        raise UsageError(f"--expert {args.expert} is not a directory written by `jgail expert`")
    out = _dataset_path(args)
    params, obs_stats, spec = checkpoint.load_agent(agent_dir(args.expert))
    env, nets = checkpoint.rebuild_nets(spec)
    policy = lambda obs: nets.dist(params, obs_stats, obs)
    expert_info = {"kind": "ppo", "path": os.path.abspath(args.expert)}
    data = demos.collect(jax.random.key(args.seed), env, policy, args.episodes, expert=expert_info)
    return _filter_and_save(args, data, out)


def collect_scripted(args) -> int:
    """`jgail collect --scripted --env ID`: roll out jgail's hand-written controller for --env
    (`jgail.scripted`) for --episodes episodes, filter them and write the dataset to --out. Returns 0."""
    _positive_int("episodes", args.episodes)
    if args.keep_first is not None:
        _positive_int("keep-first", args.keep_first)
    if args.env is None:
        raise UsageError(f"--scripted needs --env: one of {', '.join(sorted(scripted.SCRIPTED))}")
    if args.env not in scripted.SCRIPTED:
        raise UsageError(f"no scripted expert for --env {args.env}; there are scripted experts for "
                         f"{', '.join(sorted(scripted.SCRIPTED))} (or train one with `jgail expert --env "
                         f"{args.env}` and collect with --expert)")
    env = envs.make(args.env, **env_options(args))
    out = _dataset_path(args)
    expert_info = {"kind": "scripted", "name": f"jgail.scripted.scripted_policy({args.env!r})"}
    data = demos.collect(jax.random.key(args.seed), env, scripted.scripted_policy(args.env), args.episodes,
                         expert=expert_info)
    return _filter_and_save(args, data, out)


def _filter_and_save(args, data, out) -> int:
    """Keep the episodes --min-return and --keep-first select, write them atomically to `out`, say so."""
    total = data.num_episodes
    data = demos.filter_episodes(data, min_return=args.min_return, first_k=args.keep_first)
    path = demos.save(data, out)
    returns = np.asarray(data.episode_returns)
    print(f"kept {data.num_episodes} of {total} episodes ({data.num_pairs} state-action pairs), "
          f"return mean {returns.mean():.1f} min {returns.min():.1f}; wrote {path}")
    return 0


def _dataset_path(args) -> str:
    """The file `collect` will write (`.npz` added), checked before the rollout: not a directory,
    not an existing dataset unless --overwrite, in a writable directory."""
    if os.path.isdir(args.out):
        raise UsageError(f"--out {args.out} is a directory; give a file name such as "
                         f"{os.path.join(args.out, 'demos.npz')}")
    out = args.out if args.out.endswith(".npz") else args.out + ".npz"
    if os.path.isdir(out):
        raise UsageError(f"--out {out} is a directory; give a file name ending in .npz")
    if os.path.exists(out) and not args.overwrite:
        raise UsageError(f"--out {out} already exists; pass --overwrite to replace it, or choose another name")
    runs.check_writable_dir(os.path.dirname(os.path.abspath(out)), "--out")
    return out


def _positive_int(name, value):
    if value is None or int(value) < 1:
        raise UsageError(f"--{name} must be a positive integer, got {value}")
