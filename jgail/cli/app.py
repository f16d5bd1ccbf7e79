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

from jgail import generators
from jgail.cli import imitation, training
from jgail.cli.args import UsageError, add_env_args
from jgail.imitation.rewards import REWARD_NAMES


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="jgail", description=__doc__.split("\n\n")[0])
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("expert", help="train a PPO expert on the environment reward")
    add_env_args(p)
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

    p = sub.add_parser("gail", help="imitate demonstrations with GAIL (the env reward is never used)")
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
    p.add_argument("--airl", action="store_true", help="AIRL discriminator (implies --reward airl)")
    p.add_argument("--bc-warmstart", type=int, default=0, help="BC updates before adversarial training")

    p = sub.add_parser("bc", help="behavioural cloning on demonstrations")
    _add_imitation_args(p)
    p.add_argument("--updates", type=int, default=2000)
    p.add_argument("--lr", type=float, default=1e-3)
    return top


def _add_imitation_args(p):
    add_env_args(p)
    p.add_argument("--demos", required=True, help="dataset written by `jgail collect` (.npz)")
    p.add_argument("--out", required=True, help="directory for summary.json and metrics.npz")
    p.add_argument("--seeds", type=int, default=8, help="seeds trained in one vmapped call")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-episodes", type=int, default=100)


RUNNERS = {"expert": training.expert, "collect": training.collect,
           "gail": imitation.run_gail, "bc": imitation.run_bc}


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return RUNNERS[args.command](args)
    except (UsageError, ValueError, FileNotFoundError) as err:
        print(f"jgail {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
