"""Rollouts of a policy on N parallel environments, as one `lax.scan` over T steps."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jgail.core.env import Env, EnvState


@struct.dataclass
class Transitions:
    """A batch of transitions. Rewards are the environment's; GAIL replaces them."""

    obs: jax.Array  # [T, N, obs_dim] raw (unnormalised) observation
    action: jax.Array  # [T, N] int or [T, N, action_dim] float (unclipped sample)
    log_prob: jax.Array  # [T, N] log pi_old(a|s) of the behaviour policy
    reward: jax.Array  # [T, N]
    terminated: jax.Array  # [T, N] bool: true end, bootstrap with 0
    truncated: jax.Array  # [T, N] bool: time limit, bootstrap with V(next_obs)
    next_obs: jax.Array  # [T, N, obs_dim] true next observation (pre-reset at an end)
    episode_return: jax.Array  # [T, N] env return of the episode ending here (valid if done)
    episode_length: jax.Array  # [T, N]

    @property
    def done(self):
        """[T, N] bool: the episode ended at this step (terminated or truncated)."""
        return jnp.logical_or(self.terminated, self.truncated)

    def replace_rewards(self, reward: jax.Array) -> Transitions:
        """The same batch with `reward` [T, N] in place of the environment's (GAIL's relabelling)."""
        return self.replace(reward=reward)


@struct.dataclass
class RolloutCarry:
    """What a rollout carries from one batch to the next: the N env states and current observations."""

    env_state: EnvState  # batched over N
    obs: jax.Array  # [N, obs_dim]


def reset_envs(key, env: Env, num_envs: int) -> RolloutCarry:
    """Reset `num_envs` copies of `env`, each with its own key; the carry for the first `collect`."""
    obs, state = jax.vmap(env.reset)(jax.random.split(key, num_envs))
    return RolloutCarry(state, obs)


def collect(key, env: Env, policy_fn, carry: RolloutCarry, num_steps: int):
    """Roll `policy_fn(obs) -> distribution` for `num_steps` steps on every env.

    Returns (Transitions [T, N, ...], new carry).
    """
    num_envs = carry.obs.shape[0]

    def one_step(carry, key):
        k_act, k_env = jax.random.split(key)
        dist = policy_fn(carry.obs)
        action = dist.sample(k_act)
        env_state, step = jax.vmap(env.step)(
            jax.random.split(k_env, num_envs), carry.env_state, action
        )
        transition = Transitions(
            obs=carry.obs,
            action=action,
            log_prob=dist.log_prob(action),
            reward=step.reward,
            terminated=step.terminated,
            truncated=step.truncated,
            next_obs=step.final_obs,
            episode_return=step.episode_return,
            episode_length=step.episode_length,
        )
        return RolloutCarry(env_state, step.obs), transition

    carry, batch = jax.lax.scan(one_step, carry, jax.random.split(key, num_steps))
    return batch, carry


def episode_stats(batch: Transitions) -> dict:
    """Mean env return/length of the episodes that ended in this batch (nan if none)."""
    done = batch.done.astype(jnp.float32)
    count = done.sum()
    safe = jnp.maximum(count, 1.0)
    nan = jnp.asarray(jnp.nan)
    return {
        "episode_return": jnp.where(count > 0, (batch.episode_return * done).sum() / safe, nan),
        "episode_length": jnp.where(count > 0, (batch.episode_length * done).sum() / safe, nan),
        "episodes": count,
    }
