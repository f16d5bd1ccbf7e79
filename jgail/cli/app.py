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
import gc
import os
import sys

from jgail import generators
from jgail.cli import exporting, imitation, imports, inspect, runs, sweeping, training
from jgail.cli.args import UsageError, add_env_args, add_run_args
from jgail.imitation.rewards import REWARD_NAMES
from jgail.run import compile_cache, cpu_devices, distributed, driver, lock, wandb_sink


def parser() -> argparse.ArgumentParser:
    """The `jgail` argument parser with every subcommand; `top.subparsers` maps each command
    name to its subparser."""
    top = argparse.ArgumentParser(prog="jgail", description=__doc__.split("\n\n")[0])
    cache = top.add_mutually_exclusive_group()
    cache.add_argument("--compile-cache", metavar="DIR", default=None,
                       help=f"persistent compilation cache (default: ${compile_cache.ENV_VAR}, "
                            "else $XDG_CACHE_HOME/jgail/jax-compile-cache)")
    cache.add_argument("--no-compile-cache", dest="compile_cache", action="store_const", const="",
                       help="compile everything afresh, read and write no cache")
    top.add_argument("--cpu-devices", type=int, metavar="N", default=None,
                     help=f"JAX CPU devices the seeds are split over (default: ${cpu_devices.ENV_VAR}, else one "
                          "per core; 1 in a multi-process run)")
    sub = top.add_subparsers(dest="command", required=True)

    subparsers = {}
    p = subparsers["expert"] = sub.add_parser("expert", help="train a PPO expert on the environment reward")
    add_env_args(p, required=False)
    p.add_argument("--out", help="run directory: the best seed's policy (agent/), logs, checkpoints, summary.json")
    p.add_argument("--total-timesteps", type=int, default=None, help="env steps per seed")
    p.add_argument("--seeds", type=int, default=4, help="seeds trained in one vmapped call; the best is kept")
    p.add_argument("--target-return", type=float, default=None, metavar="R",
                   help="train until every seed's mean training return over a chunk reaches R, at most "
                        "--total-timesteps (the best seed is still chosen by evaluation); default: the whole budget")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-episodes", type=int, default=100)
    add_run_args(p)

    p = subparsers["collect"] = sub.add_parser("collect", help="roll out an expert and write a demonstration dataset")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--expert", help="directory written by `jgail expert`")
    source.add_argument("--from-minari", metavar="DATASET_ID_OR_PATH",
                        help="import a Minari dataset instead (with --env; pip install -e '.[minari]')")
    source.add_argument("--scripted", action="store_true",
                        help="roll out jgail's scripted controller for --env (jgail.scripted: MountainCar-v0, "
                             "MountainCarContinuous-v0, Acrobot-v1, CartPole-v1, brax/inverted_pendulum)")
    add_env_args(p, required=False)
    p.add_argument("--episodes", type=int, default=None, help="episodes to roll out (with --expert or --scripted)")
    p.add_argument("--min-return", type=float, default=None, help="keep only episodes with return >= R")
    p.add_argument("--keep-first", type=int, default=None, help="then keep only the first K episodes")
    p.add_argument("--out", required=True, help="dataset file (.npz is added if missing)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace an existing dataset file")

    p = subparsers["gail"] = sub.add_parser(
        "gail", help="imitate demonstrations with GAIL (the env reward is never used)")
    _add_gail_args(p)

    p = subparsers["sweep"] = sub.add_parser(
        "sweep", help="GAIL over seeds x a grid of numeric settings in one compiled call, with aggregates")
    _add_gail_args(p)
    sweeping.add_args(p)

    p = subparsers["bc"] = sub.add_parser("bc", help="behavioural cloning on demonstrations")
    _add_imitation_args(p)
    p.add_argument("--updates", type=int, default=2000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--overwrite", action="store_true", help="replace an earlier run in --out")
    p.add_argument("--config", default=None, help="a run's config.json: its arguments become the defaults")

    p = subparsers["eval"] = sub.add_parser("eval", help="evaluate a saved policy (agent checkpoint or run directory)")
    p.add_argument("path", metavar="CKPT_OR_RUN_DIR")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--greedy", action="store_true", help="argmax/mean actions (an extra; sampled is the default)")
    p.add_argument("--seed", type=int, default=0)

    p = subparsers["export"] = sub.add_parser(
        "export", help="write a trained policy to one file that runs without jgail (numpy .npz or ONNX)")
    exporting.add_args(p)

    p = subparsers["plot"] = sub.add_parser("plot", help="learning curves of one or more runs, as a PNG")
    p.add_argument("runs", metavar="RUN_DIR", nargs="+")
    p.add_argument("--out", default=None, help="PNG file (default: RUN_DIR/curves.png of the first run)")
    top.subparsers = subparsers
    return top


def _add_gail_args(p):
    """The flags of `jgail gail`, shared by `jgail sweep`."""
    _add_imitation_args(p)
    p.add_argument("--generator", choices=generators.names(), default="ppo", help="policy optimiser")
    p.add_argument("--reward", choices=REWARD_NAMES, default=None,
                   help="reward form (default: neg_log_one_minus_d, with absorbing states)")
    p.add_argument("--total-timesteps", type=int, default=None, help="env steps per seed (default: tuned per env)")
    p.add_argument("--num-envs", type=int, default=None)
    p.add_argument("--num-steps", type=int, default=None)
    p.add_argument("--ent-coef", type=float, default=None, help="causal entropy weight")
    p.add_argument("--disc-lr", type=float, default=None)
    p.add_argument("--disc-updates", type=int, default=None, help="D steps per iteration")
    p.add_argument("--grad-penalty", type=float, default=None)
    p.add_argument("--absorbing", action=argparse.BooleanOptionalAction, default=None,
                   help="DAC absorbing states at true episode ends (default: on)")
    p.add_argument("--airl", action="store_true", help="AIRL discriminator f = g + gamma h' - h "
                   "(implies --reward airl; keeps absorbing states, turn off with --no-absorbing)")
    p.add_argument("--bc-warmstart", type=int, default=None,
                   help="BC updates before adversarial training (default 0, GAIL alone; 1000 reached a PPO expert "
                   "sooner on CartPole-v1 but did not hold for deterministic experts, benchmarks/expert_kinds.py)")
    add_run_args(p)


def _add_imitation_args(p):
    add_env_args(p, required=False)
    p.add_argument("--demos", help="dataset written by `jgail collect` (.npz)")
    p.add_argument("--out", help="run directory: summary.json, config.json, run.json, metrics")
    p.add_argument("--seeds", type=int, default=8, help="seeds trained in one vmapped call")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-episodes", type=int, default=100)


RUNNERS = {"expert": training.expert, "collect": imports.collect, "gail": imitation.run_gail,
           "sweep": sweeping.run_sweep, "bc": imitation.run_bc, "eval": inspect.run_eval, "plot": inspect.run_plot,
           "export": exporting.run_export}


RUN_COMMANDS = ("expert", "gail", "sweep", "bc")  # they write a run directory (collect writes one file)


def parse(argv=None) -> argparse.Namespace:
    """Parse `argv`; with `--config FILE` or `--resume RUN_DIR` the saved run's arguments become
    the defaults (flags given now still win; --resume then checks the config is unchanged)."""
    top = parser()
    args = top.parse_args(argv)
    out = getattr(args, "resume", None) or getattr(args, "out", None)
    if args.command in RUN_COMMANDS and out and os.path.isdir(out):  # before anything else is read or built
        runs.refuse_if_in_use(out)
    source = getattr(args, "resume", None) or getattr(args, "config", None)
    if source:
        saved = runs.load_config(source)
        if saved["command"] != args.command:
            raise UsageError(f"{source} holds a `jgail {saved['command']}` run, not `jgail {args.command}`")
        sub = top.subparsers[args.command]
        sub.set_defaults(**{k: v for k, v in saved["args"].items() if k != "command"})
        args = top.parse_args(argv)
        if getattr(args, "resume", None):
            args.out = args.resume
    return args


def main(argv=None) -> int:
    """Run the `jgail` command line on `argv` (default: sys.argv[1:]); returns the exit status:
    0 on success, 2 for a bad argument or input (a one-line message on stderr), 3 when GAIL
    training went non-finite in some seed, 4 when the disk filled (the message says what is
    intact), 130 when interrupted outside the run driver. A
    run that the driver stopped on a signal (after checkpointing) raises SystemExit(128 + signum).

    Example::

        $ jgail expert  --env CartPole-v1 --max-episode-steps 200 --out runs/expert
        $ jgail collect --expert runs/expert --episodes 100 --min-return 195 --out runs/demos.npz
        $ jgail gail    --env CartPole-v1 --max-episode-steps 200 --demos runs/demos.npz --out runs/gail
        $ jgail eval runs/expert --episodes 100
        $ jgail export runs/gail --out runs/policy.npz
        $ jgail plot runs/gail

        from jgail.cli import main
        status = main(["eval", "runs/expert", "--episodes", "10"])
    """
    command, status, args = "?", 1, None
    try:
        args = parse(argv)
        command = args.command
        multi_process = distributed.requested(getattr(args, "coordinator", None), getattr(args, "num_processes", None))
        cpu_devices.configure(args.cpu_devices, multi_process)  # before JAX starts its backends
        compile_cache.enable(args.compile_cache)  # before anything compiles; an unusable directory only warns
        with runs.interrupts_remembered():
            status = RUNNERS[args.command](args)
            return status
    except (UsageError, ValueError, OSError) as err:
        if driver.is_disk_full(err):  # an OSError, or tensorstore's ValueError, from any write of the run
            out = getattr(args, "out", None) if command in RUN_COMMANDS else None
            if not isinstance(err, OSError):
                err = OSError(driver.DISK_FULL[0], "No space left on device")
            print(f"jgail {command}: error: {runs.disk_full_message(command, out, err)}", file=sys.stderr)
            status = 4
            return status
        if isinstance(err, OSError) and not isinstance(err, FileNotFoundError):
            raise
        print(f"jgail {command}: error: {err}", file=sys.stderr)
        status = 2
        return status
    except KeyboardInterrupt:  # outside the driver (which checkpoints first): stop quietly
        print(f"jgail {command}: interrupted", file=sys.stderr)
        status = 130
        return status
    finally:
        wandb_sink.finish_all(status)  # --wandb: the summary.json just written, then the W&B run ends
        lock.release_all()  # the run directory's lock (also released at exit; this is for callers that go on)


def console_main() -> int:
    """The `jgail` script: `main()` on sys.argv, then `gc.freeze()`. Python's last garbage
    collections at exit walk every object that JAX, flax and orbax created, 0.3-0.6 s per
    command; frozen objects are skipped (atexit handlers still run, files are already closed).
    Not done in `main()`, which notebooks and tests call in a process that goes on."""
    status = main()
    gc.freeze()
    return status


if __name__ == "__main__":
    sys.exit(console_main())
