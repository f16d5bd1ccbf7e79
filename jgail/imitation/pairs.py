"""The (s, a, s') pairs the discriminator scores: from policy batches, from demonstrations,
with DAC absorbing-state rows (Kostrikov et al. 2019), and the replay of recent batches."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jgail.core.env import Env
from jgail.core.rollout import Transitions
from jgail.data.demos import ExpertData
from jgail.imitation.discriminator import DiscriminatorBatch


def _flat(x):
    return x.reshape((-1,) + x.shape[2:])


def policy_pairs(batch: Transitions) -> DiscriminatorBatch:
    """The policy's (s, a, s') pairs as D sees them, flat [T * N]."""
    return DiscriminatorBatch(
        obs=_flat(batch.obs), action=_flat(batch.action), next_obs=_flat(batch.next_obs),
        terminated=_flat(batch.terminated).astype(jnp.float32), log_pi=_flat(batch.log_prob),
    )


def expert_pairs(expert: ExpertData, log_pi=None) -> DiscriminatorBatch:
    """The demonstrations as D sees them, flat [P]; `log_pi` [P] only for AIRL."""
    return DiscriminatorBatch(
        obs=expert.obs, action=expert.action, next_obs=expert.next_obs,
        terminated=expert.terminated.astype(jnp.float32),
        log_pi=jnp.zeros(expert.obs.shape[0]) if log_pi is None else log_pi,
    )


def with_absorbing(pairs: DiscriminatorBatch, mask=None):
    """Append one absorbing row per pair, valid only where the pair terminated (DAC).
    Returns (pairs [2N], mask [2N])."""
    real = jnp.ones_like(pairs.terminated) if mask is None else mask
    absorbing_rows = jax.tree.map(jnp.zeros_like, pairs)
    doubled = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), pairs, absorbing_rows)
    flags = jnp.concatenate([jnp.zeros_like(real), jnp.ones_like(real)])
    doubled = doubled.replace(absorbing=flags)
    return doubled, jnp.concatenate([real, real * pairs.terminated])


def empty_pairs(env: Env, size: int) -> DiscriminatorBatch:
    """`size` placeholder policy pairs (masked out until filled)."""
    space = env.action_space
    action = jnp.zeros((size,), jnp.int32) if space.discrete else jnp.zeros((size,) + space.shape)
    obs = jnp.zeros((size, env.obs_dim))
    return DiscriminatorBatch(obs=obs, action=action, next_obs=obs, terminated=jnp.zeros((size,)),
                              log_pi=jnp.zeros((size,)))


def replay_insert(replay: DiscriminatorBatch, replay_mask, new: DiscriminatorBatch, iteration):
    """Write this iteration's pairs into its slot of the replay ring; returns (replay, mask)."""
    size = new.obs.shape[0]
    num_slots = replay.obs.shape[0] // size
    start = (iteration % num_slots) * size
    replay = jax.tree.map(lambda buf, x: jax.lax.dynamic_update_slice_in_dim(buf, x, start, 0), replay, new)
    return replay, jax.lax.dynamic_update_slice_in_dim(replay_mask, jnp.ones(size), start, 0)
