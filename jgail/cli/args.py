"""What every command shares: the usage error type and the environment flags."""

from __future__ import annotations


class UsageError(Exception):
    """A problem with the user's input: printed without a traceback, exit status 2."""


def env_options(args) -> dict:
    """The `jgail.envs.make` options given by --max-episode-steps and --backend."""
    options = {}
    if args.max_episode_steps is not None:
        options["max_episode_steps"] = args.max_episode_steps
    if getattr(args, "backend", None):
        options["backend"] = args.backend
    return options


def add_env_args(p, required=True):
    """Add --env (required when `required`), --max-episode-steps and --backend to parser `p`."""
    p.add_argument("--env", required=required, help='environment id, e.g. "CartPole-v1" or "brax/hopper"')
    p.add_argument("--max-episode-steps", type=int, default=None, help="episode cap (200 = classic CartPole-v0)")
    p.add_argument("--backend", default=None, help="brax physics backend (default: spring; brax/swimmer: generalized, "
                                                   "the only one brax builds it on)")


def add_run_args(p, resumable: bool = True):
    """Flags of the run driver: chunking, checkpoints, logging, resume."""
    g = p.add_argument_group("long runs")
    g.add_argument("--chunk", type=int, default=10, help="iterations per compiled chunk between host updates")
    g.add_argument("--checkpoint-every", type=int, default=5, help="checkpoint the whole state every N chunks")
    g.add_argument("--keep", type=int, default=3, help="checkpoints kept")
    g.add_argument("--eval-every", type=int, default=0, help="evaluate every N chunks (0: only at the end)")
    g.add_argument("--tensorboard", action="store_true", help="also write TensorBoard scalars (needs tensorboardX)")
    g.add_argument("--wandb", metavar="PROJECT", default=None,
                   help="also log the same scalars, the config and the summary to Weights & Biases project PROJECT "
                        "(pip install -e '.[wandb]'; WANDB_MODE=offline logs to RUN_DIR/wandb without a network)")
    g.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    g.add_argument("--overwrite", action="store_true", help="replace an earlier run in --out")
    g.add_argument("--no-memory-check", dest="memory_check", action="store_false",
                   help="start even if the memory estimate says the run does not fit (JGAIL_MEMORY_LIMIT=8GiB "
                        "instead caps what the check counts as available)")
    g.add_argument("--config", default=None, help="a run's config.json: its arguments become the defaults")
    if resumable:
        g.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue the run in RUN_DIR")


def check_run_args(args) -> None:
    """Raise UsageError unless --chunk, --checkpoint-every and --keep are >= 1 and --eval-every >= 0."""
    for name in ("chunk", "checkpoint_every", "keep"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.eval_every < 0:
        raise UsageError(f"--eval-every must be >= 0, got {args.eval_every}")
    if getattr(args, "wandb", None) is not None:
        if not args.wandb.strip() or any(c in args.wandb for c in "/\\#?%:"):
            raise UsageError(f"--wandb {args.wandb!r}: give a W&B project name (letters, digits, - and _)")
        from jgail.run import wandb_sink

        wandb_sink.require()


def require(args, *names) -> None:
    """Raise UsageError naming every flag among `names` (attribute names) that was not given."""
    missing = [f"--{n.replace('_', '-')}" for n in names if getattr(args, n, None) is None]
    if missing:
        raise UsageError(f"{', '.join(missing)} required (or give --config FILE / --resume RUN_DIR)")
