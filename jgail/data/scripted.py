"""Scripted experts: hand-written controllers for tasks where RL experts are weak or slow to
train. Each is a `policy_fn(obs [..., obs_dim]) -> distribution` (Categorical, or a Gaussian
of negligible spread for continuous actions), deterministic in effect."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jgail.core.distributions import Categorical, DiagGaussian


def _deterministic(action, num_actions: int) -> Categorical:
    return Categorical(jnp.log(jax.nn.one_hot(action, num_actions) + 1e-9))


def mountain_car(obs):
    """Push in the direction of motion (energy pumping): reaches the goal in ~100-120 steps."""
    velocity = obs[..., 1]
    return _deterministic(jnp.where(velocity >= 0, 2, 0), 3)


def mountain_car_continuous(obs):
    """MountainCarContinuous-v0: full force in the direction of motion (energy pumping), as
    `mountain_car`, with a Gaussian of negligible spread (std e^-5) around +-1."""
    mean = jnp.where(obs[..., 1:2] >= 0, 1.0, -1.0)
    return DiagGaussian(mean, jnp.full(mean.shape, -5.0))


def acrobot(obs):
    """Torque against the first link's angular velocity (energy pumping in gymnax's sign
    convention): -82.6 mean return over 100 episodes (min -166). Torque WITH the velocity
    never swings up (-500 on every episode); a PPO expert (`presets.expert_config`, 500k
    steps) scores about -76 with sampled actions, so benchmarks prefer it for Acrobot."""
    velocity = obs[..., 4]
    return _deterministic(jnp.where(velocity >= 0, 0, 2), 3)


def cartpole(obs):
    """Push towards where the pole is falling (angle, angular velocity, small position and
    velocity terms): 200/200 on every one of 100 episodes at the 200-step cap."""
    action = (obs[..., 2] + 0.5 * obs[..., 3] + 0.01 * obs[..., 0] + 0.1 * obs[..., 1] > 0)
    return _deterministic(action.astype(jnp.int32), 2)


def inverted_pendulum(obs):
    """brax's inverted_pendulum, obs (x, theta, x', theta'): a linear controller, saturated at
    the action bounds (std e^-5): 200/200 on every episode at a 200-step cap; at brax's
    1000-step cap it drifts and falls after 914-1000 steps (8 greedy episodes)."""
    force = obs @ jnp.asarray([0.3, 32.0, -0.3, 0.3])
    mean = jnp.clip(force, -1.0, 1.0)[..., None]
    return DiagGaussian(mean, jnp.full(mean.shape, -5.0))


SCRIPTED = {"MountainCar-v0": mountain_car, "MountainCarContinuous-v0": mountain_car_continuous,
            "Acrobot-v1": acrobot, "CartPole-v1": cartpole,
            "brax/inverted_pendulum": inverted_pendulum}


def scripted_policy(env_id: str):
    """A deterministic hand-written controller as a policy_fn(obs) -> distribution."""
    if env_id not in SCRIPTED:
        raise ValueError(f"no scripted expert for {env_id!r}; scripted experts exist for {sorted(SCRIPTED)}")
    return SCRIPTED[env_id]
