"""Generalised advantage estimation (Schulman et al. 2016) with terminal/truncation handling."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jgail.core.networks import PolicyNetworks
from jgail.core.rollout import Transitions


def gae(reward, value, next_value, terminated, truncated, gamma, lam):
    """All inputs [T, N]. `next_value` = V(true next obs) for every step.

    delta_t = r_t + gamma * V(s'_t) * (1 - terminated_t) - V(s_t): a truncated step still
    bootstraps from V(s'_t); the recursion stops at any episode end (terminated or truncated).
    Returns (advantages, returns) each [T, N].
    """
    not_terminal = 1.0 - terminated.astype(jnp.float32)
    not_done = 1.0 - jnp.logical_or(terminated, truncated).astype(jnp.float32)
    delta = reward + gamma * next_value * not_terminal - value

    def backward(carry, xs):
        delta_t, not_done_t = xs
        adv = delta_t + gamma * lam * not_done_t * carry
        return adv, adv

    _, advantages = jax.lax.scan(
        backward, jnp.zeros_like(delta[0]), (delta, not_done), reverse=True
    )
    return advantages, advantages + value


def advantages_and_returns(nets: PolicyNetworks, params, obs_stats, batch: Transitions, gamma, lam):
    """GAE advantages and returns [T, N] of `batch` under the current critic."""
    value = nets.value(params, obs_stats, batch.obs)
    next_value = nets.value(params, obs_stats, batch.next_obs)
    return gae(batch.reward, value, next_value, batch.terminated, batch.truncated, gamma, lam)
