"""The `jgail` command line: a thin host shell around the jitted core.

    jgail expert  --env CartPole-v1 --max-episode-steps 200 --out runs/expert
    jgail collect --expert runs/expert --episodes 100 --min-return 195 --out runs/demos.npz
    jgail gail    --env CartPole-v1 --max-episode-steps 200 --demos runs/demos.npz --out runs/gail
    jgail bc      --env CartPole-v1 --max-episode-steps 200 --demos runs/demos.npz --out runs/bc

Every argument is checked before anything is compiled; a bad one exits with status 2
and a message saying what is wrong, never a traceback from inside JAX.
"""

from __future__ import annotations

import argparse
import sys


class UsageError(Exception):
    """A problem with the user's input: printed without a traceback, exit status 2."""


def _env_options(args) -> dict:
    options = {}
    if args.max_episode_steps is not None:
        options["max_episode_steps"] = args.max_episode_steps
    if getattr(args, "backend", None):
        options["backend"] = args.backend
    return options


def _add_env_args(p, required=True):
    p.add_argument("--env", required=required, help='environment id, e.g. "CartPole-v1" or "brax/hopper"')
    p.add_argument("--max-episode-steps", type=int, default=None, help="episode cap (200 = classic CartPole-v0)")
    p.add_argument("--backend", default=None, help="brax physics backend (default: spring)")


def _positive(name, value):
    if value is None or value < 1:
        raise UsageError(f"--{name} must be a positive integer, got {value}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="jgail", description=__doc__.split("\n\n")[0])
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("expert", help="train a PPO expert on the environment reward")
    _add_env_args(p)
    p.add_argument("--out", required=True, help="directory for the checkpoint and summary.json")
    p.add_argument("--total-timesteps", type=int, default=None, help="env steps per seed")
    p.add_argument("--seeds", type=int, default=4, help="seeds trained in one vmapped call; the best is kept")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-episodes", type=int, default=100)

    p = sub.add_parser("collect", help="roll out an expert and write a demonstration dataset")
    p.add_argument("--expert", required=True, help="directory written by `jgail expert`")
    p.add_argument("--episodes", type=int, required=True, help="episodes to roll out")
    p.add_argument("--min-return", type=float, default=None, help="keep only episodes with return >= R")
    p.add_argument("--keep-first", type=int, default=None, help="then keep only the first K episodes")
    p.add_argument("--out", required=True, help="dataset file (.npz)")
    p.add_argument("--seed", type=int, default=0)

    from jgail import commands  # the imitation commands register their own flags

    commands.add_imitation_parsers(sub, _add_env_args)
    return top


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    from jgail import commands

    try:
        return commands.run(args)
    except (UsageError, ValueError, FileNotFoundError) as err:
        print(f"jgail {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
