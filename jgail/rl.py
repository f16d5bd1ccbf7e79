"""Reinforcement learning on the environment's reward (used to train experts).

    config = RLConfig(env=jgail.envs.make("CartPole-v1"), generator=PPOConfig())
    state, metrics = jax.jit(train)(key, config)                       # one run
    states, metrics = jax.jit(jax.vmap(train, (0, None)))(keys, config)  # many seeds

The whole training state is one pytree (`RLState`): `init(key, config)` builds it and
`update(state)` advances one iteration, so long runs can be chunked and checkpointed.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jgail import generators
from jgail.envs import Env
from jgail.generators import AgentState
from jgail.networks import NetworkConfig, PolicyNetworks
from jgail.normalization import RunningStats
from jgail.ppo import PPOConfig
from jgail.rollout import RolloutCarry, collect, episode_stats, reset_envs


class RLConfig(struct.PyTreeNode):
    env: Env = struct.field(pytree_node=False)
    generator: Any = PPOConfig()  # PPOConfig or TRPOConfig (numeric leaves vmappable)
    num_envs: int = struct.field(pytree_node=False, default=16)
    num_steps: int = struct.field(pytree_node=False, default=128)
    total_timesteps: int = struct.field(pytree_node=False, default=500_000)
    network: NetworkConfig = struct.field(pytree_node=False, default=NetworkConfig())
    normalize_obs: bool = struct.field(pytree_node=False, default=False)

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def num_iterations(self) -> int:
        return max(1, self.total_timesteps // self.batch_size)

    @property
    def nets(self) -> PolicyNetworks:
        return PolicyNetworks.create(self.env.action_space, self.network, self.normalize_obs)

    def validate(self) -> "RLConfig":
        if not isinstance(self.env, Env):
            raise ValueError("RLConfig.env must be made with jgail.envs.make(...)")
        for field in ("num_envs", "num_steps", "total_timesteps"):
            if int(getattr(self, field)) < 1:
                raise ValueError(f"{field} must be >= 1, got {getattr(self, field)}")
        self.network.validate()
        generators.get(self.generator)
        if hasattr(self.generator, "validate"):
            self.generator.validate(self.batch_size)
        return self


class RLState(struct.PyTreeNode):
    config: RLConfig
    agent: AgentState
    obs_stats: RunningStats
    rollout: RolloutCarry
    key: jax.Array
    iteration: jax.Array  # []


def init(key, config: RLConfig) -> RLState:
    config.validate()
    k_params, k_env, key = jax.random.split(key, 3)
    params = config.nets.init(k_params, config.env.obs_dim)
    opt_state = generators.get(config.generator).init_optimizer(config.generator, params)
    return RLState(
        config=config,
        agent=AgentState(params, opt_state),
        obs_stats=RunningStats.create(config.env.obs_dim),
        rollout=reset_envs(k_env, config.env, config.num_envs),
        key=key,
        iteration=jnp.zeros((), jnp.int32),
    )


def rollout_policy(params, obs_stats, nets: PolicyNetworks):
    """The current policy as `policy_fn(obs) -> distribution`, for rollouts."""
    return lambda obs: nets.dist(params, obs_stats, obs)


def update(state: RLState):
    """Collect one batch with the current policy, then take one generator step."""
    config = state.config
    nets = config.nets
    key, k_roll, k_update = jax.random.split(state.key, 3)
    policy = rollout_policy(state.agent.params, state.obs_stats, nets)
    batch, rollout = collect(k_roll, config.env, policy, state.rollout, config.num_steps)
    progress = state.iteration / config.num_iterations
    agent, metrics = generators.get(config.generator).update(
        k_update, state.agent, batch, state.obs_stats, config.generator, nets, progress
    )
    # Statistics move after the update, so the update saw the stats the rollout used.
    obs_stats = state.obs_stats.update(batch.obs) if config.normalize_obs else state.obs_stats
    metrics = {**metrics, **episode_stats(batch)}
    metrics["env_steps"] = (state.iteration + 1) * config.batch_size
    new_state = state.replace(
        agent=agent, obs_stats=obs_stats, rollout=rollout, key=key, iteration=state.iteration + 1
    )
    return new_state, metrics


def run(state: RLState, num_iterations: int):
    """Advance `num_iterations` (static) iterations; returns (state, metrics [iters, ...])."""
    return jax.lax.scan(lambda s, _: update(s), state, None, length=num_iterations)


def train(key, config: RLConfig):
    """A whole run: `init` then `config.num_iterations` updates."""
    return run(init(key, config), config.num_iterations)
