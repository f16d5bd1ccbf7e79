"""Probe environments: tiny tasks with a known optimal value and action, for tests that run
in seconds and cannot pass by luck (in the spirit of Andy Jones' RL debugging probes).

    probe/contextual_bandit     one step; obs [c], c = +-1 at random; 2 actions;
                                reward 1 for action (c > 0), else 0. Optimal: V = 1.
    probe/two_step              obs one-hot(t), t = 0 then 1; 2 actions; reward 0 at t = 0,
                                at t = 1 reward 1 for action 1. Optimal: V(t=0) = gamma, V(t=1) = 1.
    probe/continuous_bandit     one step; obs [c], c = +-1; action a in [-1, 1];
                                reward 1 - (a - c / 2)^2. Optimal: a = c / 2, V -> 1.

Every episode ends by termination (never truncation); none takes options.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jgail.core.env import ActionSpace, Env, with_episode_stats
from jgail.core.errors import ConfigError

PREFIX = "probe/"


def _context(key):
    return jnp.where(jax.random.bernoulli(key), 1.0, -1.0)


def _contextual_bandit() -> Env:
    def reset_inner(key):
        c = _context(key)
        return c[None], c

    def step_inner(key, c, action):
        reward = (action == (c > 0)).astype(jnp.float32)
        fresh = _context(key)
        return fresh[None], fresh, reward, True, False, c[None]

    space = ActionSpace(True, (), num_actions=2)
    return with_episode_stats(space, reset_inner, step_inner, (1,), PREFIX + "contextual_bandit", {}, 1)


def _two_step() -> Env:
    def obs(t):
        return jax.nn.one_hot(t, 2)

    def reset_inner(key):
        return obs(0), jnp.zeros((), jnp.int32)

    def step_inner(key, t, action):
        last = t == 1
        reward = jnp.where(last, (action == 1).astype(jnp.float32), 0.0)
        next_t = jnp.where(last, 0, t + 1)
        return obs(next_t), next_t, reward, last, False, obs(t + 1)

    space = ActionSpace(True, (), num_actions=2)
    return with_episode_stats(space, reset_inner, step_inner, (2,), PREFIX + "two_step", {}, 2)


def _continuous_bandit() -> Env:
    def reset_inner(key):
        c = _context(key)
        return c[None], c

    def step_inner(key, c, action):
        reward = 1.0 - (action[0] - c / 2) ** 2
        fresh = _context(key)
        return fresh[None], fresh, reward, True, False, c[None]

    space = ActionSpace(False, (1,), low=(-1.0,), high=(1.0,))
    return with_episode_stats(space, reset_inner, step_inner, (1,), PREFIX + "continuous_bandit", {}, 1)


PROBES = {
    PREFIX + "contextual_bandit": _contextual_bandit,
    PREFIX + "two_step": _two_step,
    PREFIX + "continuous_bandit": _continuous_bandit,
}


def names() -> list[str]:
    """The probe ids ("probe/<name>")."""
    return sorted(PROBES)


def make(name: str, options: dict, available: list[str]) -> Env:
    """The probe `name`; probes take no options. `available` is listed in the error for an
    unknown name. Use `jgail.envs.make`."""
    if name not in PROBES:
        raise ConfigError(f"unknown environment {name!r}. Available: {', '.join(available)}")
    if options:
        raise ConfigError(f"{name} takes no options, got {sorted(options)}")
    return PROBES[name]()
