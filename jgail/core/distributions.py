"""Action distributions as small pytrees: categorical (discrete) and diagonal Gaussian."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class Categorical:
    """A categorical distribution over `num_actions` discrete actions, from unnormalised logits."""

    logits: jax.Array  # [..., num_actions]

    def sample(self, key):
        """One int action [...] per batch element."""
        return jax.random.categorical(key, self.logits)

    def mode(self):
        """The most likely action [...] (argmax of the logits)."""
        return jnp.argmax(self.logits, axis=-1)

    def log_prob(self, action):
        """log p(action) [...] for int actions [...]."""
        log_p = jax.nn.log_softmax(self.logits)
        return jnp.take_along_axis(log_p, action[..., None].astype(jnp.int32), axis=-1)[..., 0]

    def entropy(self):
        """Entropy [...] in nats."""
        log_p = jax.nn.log_softmax(self.logits)
        return -jnp.sum(jnp.exp(log_p) * log_p, axis=-1)

    def kl(self, other: Categorical):
        """KL(self || other)."""
        log_p = jax.nn.log_softmax(self.logits)
        log_q = jax.nn.log_softmax(other.logits)
        return jnp.sum(jnp.exp(log_p) * (log_p - log_q), axis=-1)


@struct.dataclass
class DiagGaussian:
    """A Gaussian with diagonal covariance over continuous actions [..., action_dim]."""

    mean: jax.Array  # [..., action_dim]
    log_std: jax.Array  # [..., action_dim]

    def sample(self, key):
        """One action [..., action_dim] per batch element (not clipped to the action bounds)."""
        return self.mean + jnp.exp(self.log_std) * jax.random.normal(key, self.mean.shape)

    def mode(self):
        """The mean [..., action_dim]."""
        return self.mean

    def log_prob(self, action):
        """log density [...] of `action` [..., action_dim], summed over action dimensions."""
        z = (action - self.mean) * jnp.exp(-self.log_std)
        per_dim = -0.5 * z**2 - self.log_std - 0.5 * math.log(2 * math.pi)
        return jnp.sum(per_dim, axis=-1)

    def entropy(self):
        """Differential entropy [...] in nats, summed over action dimensions."""
        return jnp.sum(self.log_std + 0.5 * math.log(2 * math.pi * math.e), axis=-1)

    def kl(self, other: DiagGaussian):
        """KL(self || other)."""
        var_ratio = jnp.exp(2 * (self.log_std - other.log_std))
        mean_term = ((self.mean - other.mean) * jnp.exp(-other.log_std)) ** 2
        return 0.5 * jnp.sum(var_ratio + mean_term - 1 - 2 * (self.log_std - other.log_std), axis=-1)


@struct.dataclass
class Uniform:
    """Uniform over a box [low, high]^d for each of a batch of observations (random policy)."""

    low: jax.Array  # [..., action_dim]
    high: jax.Array  # [..., action_dim]

    def sample(self, key):
        """One action [..., action_dim] drawn uniformly from the box."""
        return jax.random.uniform(key, self.low.shape, minval=self.low, maxval=self.high)

    def mode(self):
        """The centre of the box [..., action_dim]."""
        return (self.low + self.high) / 2


def random_policy(action_space):
    """policy_fn(obs [N, ...]) -> a uniform distribution over the action space."""

    def policy(obs):
        batch = obs.shape[:-1]
        if action_space.discrete:
            return Categorical(jnp.zeros(batch + (action_space.num_actions,)))
        low = jnp.broadcast_to(jnp.asarray(action_space.low), batch + action_space.shape)
        high = jnp.broadcast_to(jnp.asarray(action_space.high), batch + action_space.shape)
        return Uniform(low, high)

    return policy
