"""The on-policy loop every trainer shares: collect a batch with the current policy, let
the trainer transform it (GAIL: update the discriminator and relabel the rewards), take one
generator step, then move the observation statistics. A seed whose new parameters, metrics
or learned-from rewards turn non-finite is frozen at its last finite state and flagged
(`nonfinite_iteration`, metric `nonfinite`); the other seeds of a vmapped batch go on.

RL on the env reward (`jgail.generators.rl`) passes no batch step; GAIL
(`jgail.imitation.gail`) passes its discriminator update and relabelling. A state is any
pytree with the fields of `OnPolicyState` (and possibly more) and a `config` that is an
`OnPolicyConfig`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jgail.core.checks import check_count
from jgail.core.env import Env
from jgail.core.errors import ConfigError
from jgail.core.networks import NetworkConfig, PolicyNetworks
from jgail.core.normalization import RunningStats
from jgail.core.rollout import RolloutCarry, Transitions, collect, episode_stats, reset_envs
from jgail.generators import base
from jgail.generators.base import AgentState
from jgail.generators.ppo import PPOConfig


class OnPolicyConfig(struct.PyTreeNode):
    """What every on-policy trainer needs: the env, the generator and the batch shape."""

    env: Env = struct.field(pytree_node=False)
    generator: Any = PPOConfig()  # any registered generator's config (numeric leaves vmappable)
    num_envs: int = struct.field(pytree_node=False, default=16)
    num_steps: int = struct.field(pytree_node=False, default=128)
    total_timesteps: int = struct.field(pytree_node=False, default=500_000)
    network: NetworkConfig = struct.field(pytree_node=False, default=NetworkConfig())
    normalize_obs: bool = struct.field(pytree_node=False, default=False)

    @property
    def batch_size(self) -> int:
        """Env steps per iteration: num_envs * num_steps."""
        return self.num_envs * self.num_steps

    @property
    def num_iterations(self) -> int:
        """Iterations in a whole run: total_timesteps // batch_size, at least 1 (a remainder is dropped)."""
        return max(1, self.total_timesteps // self.batch_size)

    @property
    def nets(self) -> PolicyNetworks:
        """The policy and value networks this config describes (built afresh on each access)."""
        return PolicyNetworks.create(self.env.action_space, self.network, self.normalize_obs)

    def validate_loop(self, counts=("num_envs", "num_steps", "total_timesteps")) -> None:
        """Raise ConfigError unless `env` comes from `jgail.envs.make`, each field named in
        `counts` is an int >= 1, and the network and generator configs are valid (the
        generator's own `validate(batch_size)` included). A bad network raises ValueError."""
        name = type(self).__name__
        if not isinstance(self.env, Env):
            raise ConfigError(f"{name}.env must be made with jgail.envs.make(...)")
        for field in counts:
            check_count(name, field, getattr(self, field))
        self.network.validate()
        base.get(self.generator)  # raises for a config no generator registered
        self.generator.validate(self.batch_size)


class OnPolicyState(struct.PyTreeNode):
    """The whole training state of one seed: config, agent, observation statistics, the
    rollout carried between batches, the PRNG key and the iteration counters."""

    config: Any  # an OnPolicyConfig
    agent: AgentState
    obs_stats: RunningStats
    rollout: RolloutCarry
    key: jax.Array
    iteration: jax.Array  # []
    nonfinite_iteration: jax.Array  # [] int32: -1 while everything is finite, else the first bad iteration


# What `iteration` always advances; every other field is learned, and frozen once non-finite.
LOOP_FIELDS = ("config", "rollout", "key", "iteration", "nonfinite_iteration")


def no_nonfinite_yet() -> jax.Array:
    """The initial `nonfinite_iteration`."""
    return jnp.full((), -1, jnp.int32)


def init_agent(key, config: OnPolicyConfig, params=None) -> AgentState:
    """Fresh policy/value params (or `params`, e.g. after a BC warm start) and optimiser state."""
    params = config.nets.init(key, config.env.obs_dim) if params is None else params
    return AgentState(params, base.get(config.generator).init_optimizer(config.generator, params))


def init_rollout(key, config: OnPolicyConfig) -> RolloutCarry:
    """Reset `config.num_envs` environments: the rollout carry of a fresh state."""
    return reset_envs(key, config.env, config.num_envs)


def rollout_policy(params, obs_stats, nets: PolicyNetworks):
    """The current policy as `policy_fn(obs) -> distribution`, for rollouts."""
    return lambda obs: nets.dist(params, obs_stats, obs)


# batch_step(state, key, batch) -> (state, batch with the rewards to learn from, metrics)
BatchStep = Callable[[Any, jax.Array, Transitions], tuple[Any, Transitions, dict]]


def iteration(state, batch_step: BatchStep | None = None):
    """One iteration. Returns (state, metrics, the batch the generator learned from)."""
    previous, config = state, state.config
    nets = config.nets
    if batch_step is None:
        key, k_roll, k_gen = jax.random.split(state.key, 3)
    else:  # the batch step gets a key of its own
        key, k_roll, k_step, k_gen = jax.random.split(state.key, 4)
    policy = rollout_policy(state.agent.params, state.obs_stats, nets)
    batch, rollout = collect(k_roll, config.env, policy, state.rollout, config.num_steps)
    learn_batch, step_metrics = batch, {}
    if batch_step is not None:
        state, learn_batch, step_metrics = batch_step(state, k_step, batch)
    progress = state.iteration / config.num_iterations
    agent, metrics = base.get(config.generator).update(
        k_gen, state.agent, learn_batch, state.obs_stats, config.generator, nets, progress
    )
    # Statistics move after the update, so the update saw the stats the rollout used.
    obs_stats = state.obs_stats.update(batch.obs) if config.normalize_obs else state.obs_stats
    metrics = {**metrics, **step_metrics}
    new_state = state.replace(
        agent=agent, obs_stats=obs_stats, rollout=rollout, key=key, iteration=state.iteration + 1
    )
    new_state, nonfinite = freeze_if_nonfinite(previous, new_state, (metrics, learn_batch.reward))
    metrics = {**metrics, **episode_stats(batch), "nonfinite": nonfinite}
    metrics["env_steps"] = (state.iteration + 1) * config.batch_size
    return new_state, metrics, learn_batch


def all_finite(tree) -> jax.Array:
    """[] bool: no NaN or inf in any floating-point leaf of `tree`."""
    leaves = [x for x in jax.tree.leaves(tree) if jnp.issubdtype(jnp.result_type(x), jnp.inexact)]
    return jnp.all(jnp.stack([jnp.isfinite(x).all() for x in leaves])) if leaves else jnp.asarray(True)


def freeze_if_nonfinite(previous, new_state, outputs):
    """If the new learned fields (all but LOOP_FIELDS) or `outputs` (the update's losses, the
    rewards learned from) hold a NaN or inf, or an earlier iteration's did, keep `previous`'s
    learned fields and record the first such iteration. Per seed under vmap. Returns
    (state, [] int32: 1 when frozen).

    Optimiser states are checked but not rolled back: a frozen seed's parameters never move
    again, so they no longer matter, and selecting them changes how XLA compiles the finite
    path (its bits would no longer match a run without this check)."""
    unlearned = dict.fromkeys(LOOP_FIELDS)
    old, new = previous.replace(**unlearned), new_state.replace(**unlearned)
    frozen = (previous.nonfinite_iteration >= 0) | ~all_finite((new, outputs))

    def keep_if_frozen(path, old_leaf, new_leaf):
        in_optimizer = any(getattr(key, "name", None) == "opt_state" for key in path)
        return new_leaf if in_optimizer else jnp.where(frozen, old_leaf, new_leaf)

    kept = jax.tree_util.tree_map_with_path(keep_if_frozen, old, new)
    first_bad = jnp.where(frozen & (previous.nonfinite_iteration < 0), previous.iteration,
                          previous.nonfinite_iteration)
    loop = {name: getattr(new_state, name) for name in LOOP_FIELDS} | {"nonfinite_iteration": first_bad}
    return kept.replace(**loop), frozen.astype(jnp.int32)


def run(update: Callable, state, num_iterations: int):
    """`num_iterations` (static) calls of `update(state) -> (state, metrics)` in one scan."""
    return jax.lax.scan(lambda s, _: update(s), state, None, length=num_iterations)
