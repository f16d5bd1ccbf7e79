"""The pure numeric core: the env interface's types, distributions, networks, observation
statistics, advantages, rollouts and atomic file writes. Imports nothing else from jgail."""
