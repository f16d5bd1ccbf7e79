"""jgail: Generative Adversarial Imitation Learning in JAX.

Pure, jitted training functions (`jgail.rl.train`, `jgail.gail.train`, `jgail.bc.train`)
vmappable over seeds and numeric hyperparameters, over gymnax and brax environments.

Layers (each imports only from those below it; pyproject.toml's import-linter contract):
    cli         the `jgail` command line
    run         host side: evaluation, agent checkpoints, exported policies, sweeps
    presets     configurations as data, keyed by environment id
    imitation   discriminator, reward forms, GAIL, behavioural cloning
    generators  policy optimisers (PPO, TRPO) and the shared on-policy loop
    data        demonstrations and scripted experts
    envs        gymnax, brax and probe environments behind one interface
    core        env interface types, distributions, networks, rollouts, GAE, atomic writes
"""

from jgail import envs, generators, presets
from jgail.data import demos, scripted
from jgail.generators import rl
from jgail.imitation import bc, discriminator, gail, rewards
from jgail.run import checkpoint, evaluation, policy, sweep

__version__ = "0.1.0"

__all__ = ["bc", "checkpoint", "demos", "discriminator", "envs", "evaluation", "gail", "generators",
           "policy", "presets", "rewards", "rl", "scripted", "sweep"]
