"""Behavioural cloning: supervised learning of the policy on expert (state, action) pairs.

Discrete actions: cross-entropy. Continuous: Gaussian negative log-likelihood ("nll") or
squared error on the policy mean ("mse"). Also GAIL's optional warm start.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jgail.core.checks import check_count, check_number
from jgail.core.env import Env
from jgail.core.errors import ConfigError
from jgail.core.networks import NetworkConfig, PolicyNetworks
from jgail.core.normalization import RunningStats
from jgail.data.demos import ExpertData

LOSSES = ("nll", "mse")


class BCConfig(struct.PyTreeNode):
    """BC settings: Adam learning rate (a pytree leaf), number of updates, minibatch size
    (pairs sampled with replacement per update) and the continuous-action loss ("nll" or "mse")."""

    learning_rate: float = 1e-3
    num_updates: int = struct.field(pytree_node=False, default=2000)
    batch_size: int = struct.field(pytree_node=False, default=256)
    loss: str = struct.field(pytree_node=False, default="nll")  # continuous only

    def validate(self):
        """Raise ConfigError on a bad setting (learning_rate checked where concrete)."""
        if self.loss not in LOSSES:
            raise ConfigError(f"BCConfig.loss={self.loss!r}; choose one of {LOSSES}")
        check_count("BCConfig", "num_updates", self.num_updates, minimum=0)
        check_count("BCConfig", "batch_size", self.batch_size)
        check_number("BCConfig", "learning_rate", self.learning_rate, gt=0)
        return self


def bc_loss(actor_params, nets: PolicyNetworks, obs_stats, obs, action, loss: str):
    """Mean BC loss over obs [B, obs_dim] and action [B] (int) or [B, action_dim]: the negative
    log-likelihood of the actions (always, for discrete actions), or with loss="mse" the
    squared error of the policy mean summed over action dimensions."""
    dist = nets.actor.apply(actor_params, nets._prepare(obs_stats, obs))
    if nets.actor.action_space.discrete or loss == "nll":
        return -dist.log_prob(action).mean()
    return ((dist.mode() - action) ** 2).sum(-1).mean()


def expert_obs_stats(expert: ExpertData) -> RunningStats:
    """Observation statistics of the demonstrations (used when the policy normalises inputs)."""
    return RunningStats.create(expert.obs.shape[-1]).update(expert.obs)


def fit(key, config: BCConfig, nets: PolicyNetworks, params, obs_stats, expert: ExpertData):
    """`config.num_updates` Adam steps of BC on the actor, starting from `params` (the critic is
    left as it is); returns (params, loss of the last minibatch, nan when num_updates is 0).
    Does not call `config.validate()`.

    Example::

        import jax
        from jgail import bc, demos, envs
        from jgail.core.networks import NetworkConfig, PolicyNetworks
        from jgail.core.normalization import RunningStats

        env = envs.make("CartPole-v1", max_episode_steps=200)
        expert = demos.to_jax(demos.load("runs/demos.npz", env=env))
        nets = PolicyNetworks.create(env.action_space, NetworkConfig((64, 64), "tanh"))
        k_init, k_fit = jax.random.split(jax.random.key(0))
        params = nets.init(k_init, env.obs_dim)
        params, loss = bc.fit(k_fit, bc.BCConfig(num_updates=500), nets, params,
                              RunningStats.create(env.obs_dim), expert)
    """
    optimizer = optax.adam(config.learning_rate)
    num_pairs = expert.obs.shape[0]

    def step(carry, key):
        actor, opt_state = carry
        index = jax.random.randint(key, (config.batch_size,), 0, num_pairs)
        loss, grads = jax.value_and_grad(bc_loss)(
            actor, nets, obs_stats, expert.obs[index], expert.action[index], config.loss
        )
        updates, opt_state = optimizer.update(grads, opt_state, actor)
        return (optax.apply_updates(actor, updates), opt_state), loss

    carry = (params["actor"], optimizer.init(params["actor"]))
    (actor, _), losses = jax.lax.scan(step, carry, jax.random.split(key, config.num_updates))
    final = losses[-1] if config.num_updates else jnp.nan
    return {**params, "actor": actor}, final


def train(key, config: BCConfig, env: Env, network: NetworkConfig, expert: ExpertData,
          normalize_obs: bool = False):
    """BC from scratch. Returns (params, obs_stats, {"bc_loss": final loss}). With
    `normalize_obs` the policy's observation statistics are the expert's. Vmappable over
    `key`; `env`, `network` and `normalize_obs` must be static under jit (close over them).

    Example::

        import jax
        from jgail import bc, demos, envs, evaluation
        from jgail.core.networks import NetworkConfig, PolicyNetworks

        env = envs.make("CartPole-v1", max_episode_steps=200)
        expert = demos.to_jax(demos.load("runs/demos.npz", env=env))
        config, network = bc.BCConfig(num_updates=2000), NetworkConfig((64, 64), "tanh")
        keys = jax.random.split(jax.random.key(0), 4)
        params, obs_stats, metrics = jax.jit(jax.vmap(lambda k: bc.train(k, config, env, network, expert)))(keys)
        nets = PolicyNetworks.create(env.action_space, network)
        one = jax.tree.map(lambda x: x[0], (params, obs_stats))
        evaluation.evaluate(jax.random.key(1), env, nets, *one)["mean_return"]
    """
    config.validate()
    nets = PolicyNetworks.create(env.action_space, network, normalize_obs)
    k_init, k_fit = jax.random.split(key)
    params = nets.init(k_init, env.obs_dim)
    obs_stats = expert_obs_stats(expert) if normalize_obs else RunningStats.create(env.obs_dim)
    params, loss = fit(k_fit, config, nets, params, obs_stats, expert)
    return params, obs_stats, {"bc_loss": loss}
