"""The environment interface every jgail env implements (gymnax, brax, probes, your own).

    obs, state = env.reset(key)
    state, step = env.step(key, state, action)   # auto-resets inside

`step.obs` is the observation the policy sees next (the reset observation after an
episode end); `step.final_obs` is the true next observation of this transition (the
pre-reset one at an episode end), which is what value bootstrapping and the
discriminator must see. `terminated` (a true end: bootstrap with 0) and `truncated`
(a time limit: bootstrap with V(final_obs)) are never both true.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct


@dataclasses.dataclass(frozen=True)
class ActionSpace:
    """Discrete: `num_actions` set, actions are int scalars. Continuous: `shape`, `low`, `high`."""

    discrete: bool
    shape: tuple[int, ...]  # () for discrete, (action_dim,) for continuous
    num_actions: int | None = None
    low: tuple[float, ...] | None = None
    high: tuple[float, ...] | None = None

    @property
    def action_dim(self) -> int:
        """Width of the action as the policy and discriminator see it (one-hot for discrete)."""
        return self.num_actions if self.discrete else int(np.prod(self.shape))

    def to_dict(self) -> dict:
        """The fields as a JSON-able dict (`shape` as a list), as stored in dataset and checkpoint specs."""
        return dataclasses.asdict(self) | {"shape": list(self.shape)}


@struct.dataclass
class EnvState:
    """One environment's state: the backend's own plus the running episode's return and length."""

    inner: Any  # the backend's own state
    episode_return: jax.Array  # [] return of the running episode
    episode_length: jax.Array  # [] steps taken in the running episode


@struct.dataclass
class StepResult:
    """What `Env.step` reports about one transition (see the module docstring)."""

    obs: jax.Array  # [obs_dim] next observation for the policy (post-reset at an end)
    reward: jax.Array  # [] environment reward (never shown to an imitation learner)
    terminated: jax.Array  # [] bool, true end of the episode
    truncated: jax.Array  # [] bool, time limit reached (and not terminated)
    final_obs: jax.Array  # [obs_dim] true next observation of this transition
    episode_return: jax.Array  # [] return of the episode that just ended (valid when done)
    episode_length: jax.Array  # [] length of the episode that just ended (valid when done)

    @property
    def done(self) -> jax.Array:
        """[] bool: the episode ended here (terminated or truncated)."""
        return jnp.logical_or(self.terminated, self.truncated)


@dataclasses.dataclass(frozen=True)
class Env:
    """A bundle of pure functions, static under jit. Two Envs are equal when every field is,
    functions by identity; `jgail.envs.make` returns the same functions for the same id and
    options, so a second `make` reuses the compiled code of the first."""

    name: str
    options: tuple[tuple[str, Any], ...]  # the options `make` was called with
    obs_shape: tuple[int, ...]
    action_space: ActionSpace
    max_episode_steps: int
    reset: Callable[[jax.Array], tuple[jax.Array, EnvState]]
    step: Callable[[jax.Array, EnvState, jax.Array], tuple[EnvState, StepResult]]

    @property
    def obs_dim(self) -> int:
        """Number of observation entries (the product of `obs_shape`)."""
        return int(np.prod(self.obs_shape))

    def spec(self) -> dict:
        """JSON-able description, stored with datasets and checkpoints."""
        return {
            "env_id": self.name,
            "env_options": dict(self.options),
            "obs_shape": list(self.obs_shape),
            "action_space": self.action_space.to_dict(),
            "max_episode_steps": self.max_episode_steps,
        }


def clip_action(action_space: ActionSpace, action):
    """`action` clipped to the box [low, high] for continuous spaces; discrete actions unchanged."""
    if action_space.discrete:
        return action
    return jnp.clip(action, jnp.asarray(action_space.low), jnp.asarray(action_space.high))


def with_episode_stats(action_space, reset_inner, step_inner, obs_shape, name, options, cap) -> Env:
    """Build an `Env` from a backend's reset/step, adding return/length tracking and the
    uniform `StepResult`. `step_inner(key, inner, action)` returns
    (obs, inner, reward, terminated, truncated, final_obs) and resets itself at an end."""

    def reset(key):
        obs, inner = reset_inner(key)
        zero = jnp.zeros((), jnp.float32)
        return obs, EnvState(inner, zero, jnp.zeros((), jnp.int32))

    def step(key, state, action):
        obs, inner, reward, terminated, truncated, final_obs = step_inner(
            key, state.inner, clip_action(action_space, action)
        )
        reward = jnp.asarray(reward, jnp.float32)
        terminated = jnp.asarray(terminated, bool)
        truncated = jnp.logical_and(jnp.asarray(truncated, bool), ~terminated)
        done = terminated | truncated
        ep_return = state.episode_return + reward
        ep_length = state.episode_length + 1
        result = StepResult(
            obs=obs,
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            final_obs=final_obs,
            episode_return=ep_return,
            episode_length=ep_length,
        )
        new_state = EnvState(
            inner,
            jnp.where(done, 0.0, ep_return),
            jnp.where(done, 0, ep_length),
        )
        return new_state, result

    return Env(name, tuple(sorted(options.items())), obs_shape, action_space, cap, reset, step)
