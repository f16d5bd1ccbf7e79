"""The host side: evaluation, agent checkpoints, hyperparameter sweeps."""
