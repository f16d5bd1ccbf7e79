"""The 25-episode hopper dataset of this sweep: the first 25 of the 100 episodes that
benchmarks/gail_brax.py collects from its cached HOPPER_EXPERT (seed 0), saved as .npz.

    python3 benchmarks/results/gail_brax_hopper_horizon/make_demos.py /tmp/hopper25.npz
"""

import argparse
import os

import jax

from benchmarks import gail_brax
from jgail import envs
from jgail.data import demos

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--trajectories", type=int, default=25)
cli = parser.parse_args()
args = argparse.Namespace(seed=0, expert_cache=os.path.join(os.path.expanduser("~"), ".cache", "jgail",
                                                            "gail_brax_experts"))
env = envs.make("brax/hopper")
policy, info = gail_brax.expert_policy(args, env, 3_000_000, None)  # trained (and cached) if not there
pool = demos.collect(jax.random.key(args.seed + 1), env, policy, gail_brax.DEMO_EPISODES, expert=info)
print(f"expert {pool.episode_returns.mean():.1f} over {gail_brax.DEMO_EPISODES} episodes")
demos.save(demos.filter_episodes(pool, first_k=cli.trajectories), cli.out)
