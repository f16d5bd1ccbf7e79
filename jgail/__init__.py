"""jgail: Generative Adversarial Imitation Learning in JAX.

Pure, jitted training functions (`jgail.rl.train`, `jgail.gail.train`, `jgail.bc.train`)
vmappable over seeds and numeric hyperparameters, over gymnax and brax environments.
"""

__version__ = "0.1.0"
