"""Policy and value networks (flax). Hidden sizes and activation are configuration:
the paper's 2x100 tanh is `NetworkConfig((100, 100), "tanh")`, the tutorial's one layer
of 128 ReLU units is `NetworkConfig((128,), "relu")`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jgail.core.distributions import Categorical, DiagGaussian
from jgail.core.env import ActionSpace
from jgail.core.errors import ConfigError

ACTIVATIONS = {
    "tanh": nn.tanh,
    "relu": nn.relu,
    "elu": nn.elu,
    "gelu": nn.gelu,
    "swish": nn.swish,
}


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """Hidden layer sizes and activation (a name in ACTIVATIONS) of the policy and value MLPs."""

    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: str = "tanh"

    def validate(self):
        """Raise ConfigError (a ValueError) for an unknown activation or a non-positive hidden size."""
        if self.activation not in ACTIVATIONS:
            raise ConfigError(
                f"unknown activation {self.activation!r}; choose one of {sorted(ACTIVATIONS)}"
            )
        if not self.hidden_sizes or any(int(h) < 1 for h in self.hidden_sizes):
            raise ConfigError(f"hidden_sizes must be positive integers, got {self.hidden_sizes}")


def orthogonal(scale: float = 1.0):
    """Orthogonal initialisation (Saxe et al. 2014) by Gram-Schmidt in plain jnp ops.

    flax's orthogonal initialiser calls LAPACK QR; under `vmap` over seeds that becomes a
    batched QR which jaxlib spreads over XLA's CPU thread pool from inside a pool thread,
    and on a 2-core machine every pool thread can end up waiting: the run hangs forever
    (seen here; gdb shows lapack_sgeqrf_ffi -> ParallelBatchMap -> BlockingCounter::Wait).
    Gram-Schmidt of a Gaussian matrix gives the same (Haar) distribution without LAPACK.
    """

    def init(key, shape, dtype=jnp.float32):
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        n, m = max(rows, cols), min(rows, cols)
        a = jax.random.normal(key, (n, m), jnp.float32)

        def orthonormalise(j, q):
            v = q[:, j]
            for _ in range(2):  # twice: "twice is enough" for float32 (Giraud et al. 2005)
                earlier = (jnp.arange(m) < j).astype(q.dtype)
                v = v - q @ (earlier * (q.T @ v))
            return q.at[:, j].set(v / jnp.linalg.norm(v))

        q = jax.lax.fori_loop(0, m, orthonormalise, a)
        q = q if rows >= cols else q.T
        return (scale * q).reshape(shape).astype(dtype)

    return init


class MLP(nn.Module):
    """Dense layers [..., in_dim] -> [..., out_dim], orthogonally initialised (gain sqrt(2) for
    hidden layers, `out_scale` for the output layer); no activation after the output."""

    hidden_sizes: Sequence[int]
    activation: str
    out_dim: int
    out_scale: float = 1.0  # orthogonal init gain of the output layer

    @nn.compact
    def __call__(self, x):
        act = ACTIVATIONS[self.activation]
        for size in self.hidden_sizes:
            x = act(nn.Dense(size, kernel_init=orthogonal(np.sqrt(2)))(x))
        return nn.Dense(self.out_dim, kernel_init=orthogonal(self.out_scale))(x)


class Actor(nn.Module):
    """The policy: obs [..., obs_dim] -> a Categorical (discrete actions) or a DiagGaussian whose
    log_std is a learned parameter independent of the observation (continuous actions)."""

    action_space: ActionSpace
    network: NetworkConfig

    @nn.compact
    def __call__(self, obs):
        hidden, act = self.network.hidden_sizes, self.network.activation
        if self.action_space.discrete:
            logits = MLP(hidden, act, self.action_space.num_actions, 0.01)(obs)
            return Categorical(logits)
        mean = MLP(hidden, act, self.action_space.action_dim, 0.01)(obs)
        log_std = self.param("log_std", nn.initializers.zeros, (self.action_space.action_dim,))
        return DiagGaussian(mean, jnp.broadcast_to(log_std, mean.shape))


class Critic(nn.Module):
    """The value function: obs [..., obs_dim] -> V(obs) [...]."""

    network: NetworkConfig

    @nn.compact
    def __call__(self, obs):
        return MLP(self.network.hidden_sizes, self.network.activation, 1, 1.0)(obs)[..., 0]


@dataclasses.dataclass(frozen=True)
class PolicyNetworks:
    """The static half of an agent: its modules and whether observations are normalised."""

    actor: Actor
    critic: Critic
    normalize_obs: bool = False

    @classmethod
    def create(cls, action_space: ActionSpace, network: NetworkConfig, normalize_obs: bool = False):
        """Validate `network` and build the actor and critic for `action_space`."""
        network.validate()
        return cls(Actor(action_space, network), Critic(network), normalize_obs)

    def init(self, key, obs_dim: int) -> dict:
        """Fresh parameters {"actor": ..., "critic": ...} for observations of width `obs_dim`."""
        k_actor, k_critic = jax.random.split(key)
        dummy = jnp.zeros((obs_dim,), jnp.float32)
        return {"actor": self.actor.init(k_actor, dummy), "critic": self.critic.init(k_critic, dummy)}

    def _prepare(self, obs_stats, obs):
        return obs_stats.normalize(obs) if self.normalize_obs else obs

    def dist(self, params, obs_stats, obs):
        """The action distribution at raw obs [..., obs_dim] (normalised by `obs_stats` when
        `normalize_obs`)."""
        return self.actor.apply(params["actor"], self._prepare(obs_stats, obs))

    def value(self, params, obs_stats, obs):
        """V(obs) [...] at raw obs [..., obs_dim] (normalised by `obs_stats` when `normalize_obs`)."""
        return self.critic.apply(params["critic"], self._prepare(obs_stats, obs))
