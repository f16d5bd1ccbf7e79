"""Reinforcement learning on the environment's reward (used to train experts).

    config = RLConfig(env=jgail.envs.make("CartPole-v1"), generator=PPOConfig())
    state, metrics = jax.jit(train)(key, config)                       # one run
    states, metrics = jax.jit(jax.vmap(train, (0, None)))(keys, config)  # many seeds

The whole training state is one pytree (`RLState`): `init(key, config)` builds it and
`update(state)` advances one iteration of the shared on-policy loop, so long runs can be
chunked and checkpointed.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jgail.core.normalization import RunningStats
from jgail.generators import onpolicy
from jgail.generators.onpolicy import OnPolicyConfig, OnPolicyState, rollout_policy

__all__ = ["RLConfig", "RLState", "init", "rollout_policy", "run", "train", "update"]


class RLConfig(OnPolicyConfig):
    def validate(self) -> RLConfig:
        self.validate_loop()
        return self


class RLState(OnPolicyState):
    pass


def init(key, config: RLConfig) -> RLState:
    config.validate()
    k_params, k_env, key = jax.random.split(key, 3)
    return RLState(
        config=config,
        agent=onpolicy.init_agent(k_params, config),
        obs_stats=RunningStats.create(config.env.obs_dim),
        rollout=onpolicy.init_rollout(k_env, config),
        key=key,
        iteration=jnp.zeros((), jnp.int32),
        nonfinite_iteration=onpolicy.no_nonfinite_yet(),
    )


def update(state: RLState):
    """Collect one batch with the current policy, then take one generator step."""
    state, metrics, _ = onpolicy.iteration(state)
    return state, metrics


def run(state: RLState, num_iterations: int):
    """Advance `num_iterations` (static) iterations; returns (state, metrics [iters, ...])."""
    return onpolicy.run(update, state, num_iterations)


def train(key, config: RLConfig):
    """A whole run: `init` then `config.num_iterations` updates."""
    return run(init(key, config), config.num_iterations)
