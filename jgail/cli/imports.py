"""`jgail collect`'s two sources: an expert trained by `jgail expert` (rolled out here), or
demonstrations recorded elsewhere and imported, today from a Minari dataset:

    jgail collect --expert runs/expert --episodes 100 --min-return 195 --out runs/demos.npz
    jgail collect --from-minari cartpole/expert-v0 --env CartPole-v1 --max-episode-steps 500 --out demos.npz

Either way the dataset is filtered the same way (`--min-return`, `--keep-first`) and written
as jgail's .npz, which `jgail gail --demos` and `jgail bc --demos` then read.
"""

from __future__ import annotations

import numpy as np

from jgail import envs
from jgail.cli import training
from jgail.cli.args import UsageError, env_options
from jgail.data import demos


def collect(args) -> int:
    """The `collect` runner: import with --from-minari, roll out the scripted controller for --env
    with --scripted, otherwise roll out --expert."""
    if getattr(args, "from_minari", None) is None:
        source = "--scripted" if getattr(args, "scripted", False) else "--expert"
        if source == "--expert" and getattr(args, "env", None) is not None:
            raise UsageError("--env is for --from-minari and --scripted; an expert's environment comes from its "
                             "checkpoint")
        if args.episodes is None:
            raise UsageError(f"--episodes is required with {source}: how many episodes to roll out")
        return training.collect_scripted(args) if source == "--scripted" else training.collect(args)
    return import_minari(args)


def import_minari(args) -> int:
    """`jgail collect --from-minari`: read a Minari dataset for --env, filter it and write the
    .npz to --out. Returns 0."""
    if args.env is None:
        raise UsageError("--from-minari needs --env: the jgail environment the demonstrations are for "
                         "(with --max-episode-steps/--backend as needed)")
    if args.episodes is not None:
        raise UsageError("--episodes rolls out an expert; with --from-minari keep the dataset's first K "
                         "episodes with --keep-first K")
    if args.keep_first is not None and args.keep_first < 1:
        raise UsageError(f"--keep-first must be a positive integer, got {args.keep_first}")
    env = envs.make(args.env, **env_options(args))
    out = training._dataset_path(args)  # checked before the (possibly long) import
    try:
        data = demos.from_minari(args.from_minari, env=env)
    except ImportError as err:
        raise UsageError(str(err)) from None
    total = data.num_episodes
    data = demos.filter_episodes(data, min_return=args.min_return, first_k=args.keep_first)
    path = demos.save(data, out)
    returns = np.asarray(data.episode_returns)
    print(f"imported {total} episodes from Minari dataset {data.metadata['expert']['dataset_id']}; kept "
          f"{data.num_episodes} ({data.num_pairs} state-action pairs), return mean {returns.mean():.1f} "
          f"min {returns.min():.1f}; wrote {path}")
    return 0
