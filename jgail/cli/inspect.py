"""`jgail eval` (a saved policy's return) and `jgail plot` (learning curves of runs)."""

from __future__ import annotations

import argparse
import os

import jax
import numpy as np

from jgail import envs
from jgail.cli import imitation, runs, training
from jgail.cli.args import UsageError, env_options
from jgail.data import demos
from jgail.run import checkpoint, driver, plots
from jgail.run.evaluation import evaluate


def run_eval(args) -> int:
    """`jgail eval`: the mean return of a saved agent checkpoint (or of each seed of a GAIL
    run's latest full-state checkpoint), printed. Returns 0."""
    if args.episodes < 1:
        raise UsageError(f"--episodes must be >= 1, got {args.episodes}")
    if not os.path.isdir(args.path):
        raise UsageError(f"{args.path} is not a directory: give an agent checkpoint or a run directory")
    agent = training.agent_dir(args.path)
    if os.path.isfile(os.path.join(agent, checkpoint.SPEC_FILE)):
        params, obs_stats, spec = checkpoint.load_agent(agent)
        env, nets = checkpoint.rebuild_nets(spec)
        params, obs_stats = jax.tree.map(lambda x: x[None], (params, obs_stats))  # one "seed"
        source = agent
    else:
        env, config, params, obs_stats = latest_policies(args.path)
        nets = config.nets
        source = f"{args.path} (latest checkpoint)"
    keys = jax.random.split(jax.random.key(args.seed), jax.tree.leaves(params)[0].shape[0])
    score = jax.jit(jax.vmap(lambda k, p, s: evaluate(k, env, nets, p, s, args.episodes, args.greedy)))
    result = score(keys, params, obs_stats)
    per_seed = np.asarray(result["mean_return"])
    kind = "greedy (argmax/mean) actions, an extra" if args.greedy else "sampled actions, as trained"
    print(f"{source} on {env.name}: mean return {per_seed.mean():.1f} over {args.episodes} episodes, {kind}; "
          f"per seed {[round(float(x), 1) for x in per_seed]}")
    return 0


def latest_policies(run_dir: str):
    """`(env, config, params, obs_stats)`: the per-seed policies of a GAIL run's latest
    full-state checkpoint (leading axis: seed) and the run's GAILConfig."""
    saved = runs.load_config(run_dir)
    if saved["command"] != "gail":
        raise UsageError(f"{run_dir} holds a `jgail {saved['command']}` run with no saved policy to evaluate")
    args = argparse.Namespace(**saved["args"])
    env = envs.make(args.env, **env_options(args))
    data = demos.load(args.demos, env=env)
    config = imitation.gail_config_from_args(args, env)
    job = imitation.gail_job(config, demos.to_jax(data), 1)
    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    template = jax.eval_shape(jax.vmap(job.init, in_axes=(0, None)), keys, job.data)
    _, state = driver.restore_state(driver.checkpoint_manager(run_dir), template)
    return env, config, state.agent.params, state.obs_stats


def run_plot(args) -> int:
    """`jgail plot`: learning curves of the given run directories as a PNG (--out, default
    curves.png in the first run). Returns 0."""
    for run_dir in args.runs:
        if not os.path.isfile(os.path.join(run_dir, driver.METRICS_LOG)):
            raise UsageError(f"{run_dir} has no {driver.METRICS_LOG}; give run directories of `jgail gail` "
                             "or `jgail expert`")
    out = args.out or os.path.join(args.runs[0], "curves.png")
    if not out.endswith(".png"):
        raise UsageError(f"--out {out}: the plot is written as PNG; give a file name ending in .png")
    runs.check_writable_dir(os.path.dirname(os.path.abspath(out)), "--out")
    plots.plot_runs(args.runs, out)
    print(f"wrote {out}")
    return 0
