"""PPO (Schulman et al. 2017) as a policy optimiser ("generator").

`update` takes any batch of transitions, so GAIL can pass one whose rewards it has
relabelled. Numeric hyperparameters are pytree leaves of `PPOConfig` (vmappable);
epochs and minibatches are static.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jgail.core.advantages import advantages_and_returns
from jgail.core.checks import check_count, check_number
from jgail.core.errors import ConfigError
from jgail.core.networks import PolicyNetworks
from jgail.core.normalization import RunningStats
from jgail.core.rollout import Transitions
from jgail.generators.base import AgentState, register


class PPOConfig(struct.PyTreeNode):
    """PPO hyperparameters. Numeric fields are pytree leaves (vmappable, so `jgail.sweep` can
    sweep them); `num_epochs`, `num_minibatches` and `anneal_lr` are static. The learning
    rate decays linearly towards 0 over the run when `anneal_lr`. The minibatch count must divide
    num_envs * num_steps.

    Example::

        from jgail import envs, rl
        from jgail.generators.ppo import PPOConfig

        ppo = PPOConfig(learning_rate=3e-4, ent_coef=0.0, num_epochs=10, num_minibatches=32)
        config = rl.RLConfig(env=envs.make("CartPole-v1"), generator=ppo,
                             num_envs=8, num_steps=256).validate()    # 2048 steps / 32 minibatches
    """

    learning_rate: float = 2.5e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    ent_coef: float = 0.01  # causal-entropy weight (the paper's lambda)
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    # Rewards are multiplied by this before GAE (brax's `reward_scaling`): it keeps value
    # targets near 1, so the critic's gradient does not swamp the actor's under the shared
    # global-norm clip. Advantages are standardised, so only the critic sees the scale.
    reward_scale: float = 1.0
    num_epochs: int = struct.field(pytree_node=False, default=4)
    num_minibatches: int = struct.field(pytree_node=False, default=4)
    anneal_lr: bool = struct.field(pytree_node=False, default=True)

    def validate(self, batch_size: int | None = None):
        """Raise ConfigError on a bad setting; numeric leaves are checked where concrete
        (elementwise for swept arrays). `batch_size`: also check the minibatch split."""
        for field in ("num_epochs", "num_minibatches"):
            check_count("PPOConfig", field, getattr(self, field))
        if batch_size is not None and batch_size % self.num_minibatches:
            raise ConfigError(
                f"PPO: num_envs * num_steps = {batch_size} is not divisible by "
                f"num_minibatches = {self.num_minibatches}; change one of them"
            )
        for field, bounds in (
            ("learning_rate", {"gt": 0}),
            ("gamma", {"ge": 0, "le": 1}),
            ("gae_lambda", {"ge": 0, "le": 1}),
            ("clip_eps", {"gt": 0}),
            ("ent_coef", {"ge": 0}),
            ("vf_coef", {"ge": 0}),
            ("max_grad_norm", {"gt": 0}),
            ("reward_scale", {"gt": 0}),
        ):
            check_number("PPOConfig", field, getattr(self, field), **bounds)


def _optimizer(config: PPOConfig):
    # The learning rate is applied by hand so it may be a traced (vmapped) value.
    return optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.scale_by_adam(eps=1e-5))


def init_optimizer(config: PPOConfig, params) -> optax.OptState:
    """Adam state (after global-norm clipping) for all of `params`, actor and critic together."""
    return _optimizer(config).init(params)


def _loss(params, nets: PolicyNetworks, obs_stats, config: PPOConfig, mb):
    dist = nets.dist(params, obs_stats, mb["obs"])
    log_prob = dist.log_prob(mb["action"])
    log_ratio = log_prob - mb["log_prob"]
    ratio = jnp.exp(log_ratio)
    adv = mb["advantage"]
    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    clipped = jnp.clip(ratio, 1 - config.clip_eps, 1 + config.clip_eps)
    policy_loss = -jnp.minimum(ratio * adv, clipped * adv).mean()
    value = nets.value(params, obs_stats, mb["obs"])
    value_loss = 0.5 * ((value - mb["return"]) ** 2).mean()
    entropy = dist.entropy().mean()
    loss = policy_loss + config.vf_coef * value_loss - config.ent_coef * entropy
    metrics = {
        "policy_loss": policy_loss,
        "value_loss": value_loss,
        "entropy": entropy,
        "approx_kl": ((ratio - 1) - log_ratio).mean(),
        "clip_fraction": (jnp.abs(ratio - 1) > config.clip_eps).mean(),
    }
    return loss, metrics


def scaled_advantages_and_returns(nets: PolicyNetworks, params, obs_stats, batch: Transitions,
                                  config: PPOConfig):
    """GAE advantages and value targets [T, N] of `batch` with rewards times `reward_scale`."""
    scaled = batch.replace_rewards(batch.reward * config.reward_scale)
    return advantages_and_returns(nets, params, obs_stats, scaled, config.gamma, config.gae_lambda)


def update(
    key,
    agent: AgentState,
    batch: Transitions,
    obs_stats: RunningStats,
    config: PPOConfig,
    nets: PolicyNetworks,
    progress: jax.Array,
):
    """One PPO update on `batch` ([T, N, ...]). Returns (agent, metrics)."""
    advantage, returns = scaled_advantages_and_returns(nets, agent.params, obs_stats, batch, config)
    flat = {
        "obs": batch.obs,
        "action": batch.action,
        "log_prob": batch.log_prob,
        "advantage": advantage,
        "return": returns,
    }
    batch_size = batch.reward.size
    flat = jax.tree.map(lambda x: x.reshape((batch_size,) + x.shape[2:]), flat)
    lr = config.learning_rate * (1.0 - progress if config.anneal_lr else 1.0)
    tx = _optimizer(config)
    grad_fn = jax.grad(_loss, has_aux=True)

    def minibatch_step(carry, mb):
        params, opt_state = carry
        grads, metrics = grad_fn(params, nets, obs_stats, config, mb)
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, jax.tree.map(lambda u: -lr * u, updates))
        return (params, opt_state), metrics

    def epoch(carry, key):
        perm = jax.random.permutation(key, batch_size)
        shuffled = jax.tree.map(
            lambda x: x[perm].reshape((config.num_minibatches, -1) + x.shape[1:]), flat
        )
        return jax.lax.scan(minibatch_step, carry, shuffled)

    (params, opt_state), metrics = jax.lax.scan(
        epoch, (agent.params, agent.opt_state), jax.random.split(key, config.num_epochs)
    )
    metrics = jax.tree.map(jnp.mean, metrics)
    return AgentState(params, opt_state), metrics


register("ppo", PPOConfig, init_optimizer, update)
