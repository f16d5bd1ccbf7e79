"""`jgail export`: a trained policy as one self-describing file that runs without jgail's
training code (jgail.run.policy: .npz read by numpy alone, or ONNX)."""

from __future__ import annotations

import json
import os

import jax
import numpy as np

from jgail.cli import inspect, runs, training
from jgail.cli.args import UsageError
from jgail.run import checkpoint, onnx_export, policy

FORMATS = ("npz", "onnx")


def add_args(p) -> None:
    """The flags of `jgail export`."""
    p.add_argument("path", metavar="RUN_OR_EXPERT_DIR",
                   help="a `jgail expert` run directory (its agent/), an agent checkpoint, or a `jgail gail` run")
    p.add_argument("--out", required=True, help="the file to write (.npz or .onnx added if missing)")
    p.add_argument("--seed", type=int, default=None, metavar="K",
                   help="which seed of a `jgail gail` run (default: the best by its summary's evaluation, else 0)")
    p.add_argument("--format", choices=FORMATS, default="npz",
                   help="npz: numpy arrays + a JSON spec (default); onnx: the greedy policy as an ONNX graph "
                        "(pip install -e '.[onnx]')")
    p.add_argument("--greedy", action="store_true",
                   help="record the policy as evaluated greedily (argmax/mean); default: sampled, as trained")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file")


def run_export(args) -> int:
    """`jgail export`: check everything, load the policy, write the file. Returns 0."""
    ext = "." + args.format
    out = args.out if args.out.endswith(ext) else args.out + ext
    if os.path.exists(out) and not args.overwrite:
        raise UsageError(f"--out {out} exists; pass --overwrite to replace it or choose another file")
    runs.check_writable_dir(os.path.dirname(os.path.abspath(out)), "--out")
    if args.format == "onnx":
        onnx_export.require()
    if not os.path.isdir(args.path):
        raise UsageError(f"{args.path} is not a directory: give a `jgail expert` or `jgail gail` run directory "
                         "or an agent checkpoint")
    agent = training.agent_dir(args.path)
    if os.path.isfile(os.path.join(agent, checkpoint.SPEC_FILE)):
        if args.seed is not None:
            raise UsageError(f"--seed: {args.path} holds one policy (the expert run's best seed); drop --seed")
        params, obs_stats, spec = checkpoint.load_agent(agent)
        checkpoint.rebuild_nets(spec)  # the env still has the recorded spaces
        source, seed = os.path.abspath(agent), None
    else:
        params, obs_stats, spec, seed = _gail_seed(args)
        source = os.path.abspath(args.path)
    if args.format == "onnx":
        onnx_export.export(out, params, obs_stats, spec, source=source, seed=seed)
    else:
        policy.export(out, params, obs_stats, spec, greedy=args.greedy, source=source, seed=seed,
                      overwrite=args.overwrite)
    which = "" if seed is None else f" (seed {seed})"
    print(f"wrote {out}: the {spec['env_id']} policy of {source}{which}; load it with "
          f"jgail.policy.load({out!r}).act(obs)" if args.format == "npz" else
          f"wrote {out}: the greedy {spec['env_id']} policy of {source}{which} as ONNX (input 'obs' "
          f"[batch, {spec['obs_shape'][0]}] float32, output 'action')")
    return 0


def _gail_seed(args):
    """One seed's policy from a `jgail gail` run's latest checkpoint, with its agent spec."""
    saved = runs.load_config(args.path)  # a UsageError for a directory that is no run
    if saved["command"] != "gail":
        raise UsageError(f"{args.path} holds a `jgail {saved['command']}` run, which keeps no policy; export "
                         "a `jgail expert` or `jgail gail` run")
    seeds = int(saved["args"]["seeds"])
    seed = args.seed if args.seed is not None else _best_seed(args.path)
    if not 0 <= seed < seeds:
        raise UsageError(f"--seed {seed}: the run at {args.path} trained seeds 0..{seeds - 1}")
    env, config, params, obs_stats = inspect.latest_policies(args.path)
    params, obs_stats = jax.tree.map(lambda x: np.asarray(x[seed]), (params, obs_stats))
    spec = checkpoint.make_spec(env, config.network, config.normalize_obs,
                                {"command": "gail", "seeds": seeds, "total_timesteps": config.total_timesteps})
    return params, obs_stats, json.loads(json.dumps(spec)), seed


def _best_seed(run_dir: str) -> int:
    """The seed with the best evaluation in the run's summary.json (0 without one)."""
    path = os.path.join(run_dir, runs.SUMMARY_FILE)
    if not os.path.isfile(path):
        return 0
    with open(path) as f:
        per_seed = json.load(f).get("eval_mean_return_per_seed")
    return int(np.argmax(per_seed)) if per_seed else 0
