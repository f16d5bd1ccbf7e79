"""Environments: one pure, jittable interface (`jgail.core.env.Env`) over gymnax, brax and
the probe tasks used in tests.

    env = jgail.envs.make("CartPole-v1", max_episode_steps=200)
    obs, state = env.reset(key)
    state, step = env.step(key, state, action)   # auto-resets inside

Adding an env family: a module here with `names()` and `make(name, options, ...) -> Env`
(build the Env with `jgail.core.env.with_episode_stats`), and a prefix in `make` below.
"""

from __future__ import annotations

import functools

import numpy as np

from jgail.core.env import ActionSpace, Env, EnvState, StepResult
from jgail.core.errors import ConfigError
from jgail.envs import brax_backend, gymnax_backend, probes

BRAX_PREFIX = brax_backend.PREFIX
BRAX_BACKENDS = brax_backend.BACKENDS
DEFAULT_BRAX_BACKEND = brax_backend.DEFAULT_BACKEND
DEFAULT_BRAX_EPISODE_STEPS = brax_backend.DEFAULT_EPISODE_STEPS

__all__ = ["ActionSpace", "Env", "EnvState", "StepResult", "available", "make"]


def available() -> list[str]:
    """Every id `make` accepts: gymnax ids, "brax/<name>" and "probe/<name>" (imports brax)."""
    return gymnax_backend.names() + [BRAX_PREFIX + n for n in brax_backend.names()] + probes.names()


def make(name: str, **options) -> Env:
    """Make an environment by gymnax id ("CartPole-v1"), "brax/<name>" ("brax/hopper") or
    "probe/<name>" (tiny test tasks, see `jgail.envs.probes`).

    Options: `max_episode_steps` (episode cap; CartPole with 200 is the classic v0 limit),
    for brax `backend` (default "spring") and any keyword brax's constructor takes;
    for gymnax any field of the env's params (e.g. `gravity`).

    The same name and options give an equal `Env` (the same functions), so functions
    jitted with it as a static argument compile once. Raises ConfigError (a ValueError) for an unknown id or
    option.

    Example::

        import jax
        import jax.numpy as jnp
        from jgail import envs

        env = envs.make("CartPole-v1", max_episode_steps=200)
        key = jax.random.key(0)
        obs, state = env.reset(key)                    # obs [env.obs_dim]
        state, step = env.step(key, state, jnp.int32(1))
        step.reward, step.terminated, step.truncated   # scalars; step.obs, step.final_obs [obs_dim]
        hopper = envs.make("brax/hopper", backend="spring")
    """
    if not isinstance(name, str):
        raise ConfigError(f"environment name must be a string, got {type(name).__name__}")
    max_steps = options.get("max_episode_steps")
    if max_steps is not None and (not isinstance(max_steps, (int, np.integer)) or max_steps < 1):
        raise ConfigError(f"max_episode_steps must be a positive integer, got {max_steps!r}")
    frozen = tuple(sorted(options.items()))
    try:
        hash(frozen)
    except TypeError:  # an unhashable option value: build afresh, equal only to itself
        return _build(name, frozen)
    return _cached_build(name, frozen)


@functools.cache
def _cached_build(name: str, frozen_options: tuple) -> Env:
    return _build(name, frozen_options)


def _build(name: str, frozen_options: tuple) -> Env:
    options = dict(frozen_options)
    if name.startswith(BRAX_PREFIX):
        return brax_backend.make(name, options, available())
    if name.startswith(probes.PREFIX):
        return probes.make(name, options, available())
    if name not in gymnax_backend.names():
        raise ConfigError(f"unknown environment {name!r}. Available: {', '.join(available())}")
    return gymnax_backend.make(name, options)
