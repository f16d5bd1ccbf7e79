"""What every command shares: the usage error type and the environment flags."""

from __future__ import annotations


class UsageError(Exception):
    """A problem with the user's input: printed without a traceback, exit status 2."""


def env_options(args) -> dict:
    options = {}
    if args.max_episode_steps is not None:
        options["max_episode_steps"] = args.max_episode_steps
    if getattr(args, "backend", None):
        options["backend"] = args.backend
    return options


def add_env_args(p, required=True):
    p.add_argument("--env", required=required, help='environment id, e.g. "CartPole-v1" or "brax/hopper"')
    p.add_argument("--max-episode-steps", type=int, default=None, help="episode cap (200 = classic CartPole-v0)")
    p.add_argument("--backend", default=None, help="brax physics backend (default: spring)")
