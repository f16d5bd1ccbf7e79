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
    """RL on the env reward: an `OnPolicyConfig` (env, generator, batch shape, network) as is."""

    def validate(self) -> RLConfig:
        """Raise ConfigError on a bad setting (see `OnPolicyConfig.validate_loop`); returns self."""
        self.validate_loop()
        return self


class RLState(OnPolicyState):
    """The whole state of one RL run (an `OnPolicyState`); `jax.vmap` batches it over seeds."""


def init(key, config: RLConfig) -> RLState:
    """Validate `config`, then a fresh state: new params and optimiser state, initial
    observation statistics and `config.num_envs` freshly reset environments.

    Example::

        import jax
        from jgail import envs, rl
        from jgail.generators.ppo import PPOConfig

        config = rl.RLConfig(env=envs.make("CartPole-v1"), generator=PPOConfig(), total_timesteps=100_000)
        state = jax.jit(rl.init)(jax.random.key(0), config)
    """
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
    """Collect one batch with the current policy, then take one generator step. Returns
    (state, metrics): scalars such as episode_return (mean over the episodes that ended in the
    batch, nan if none), env_steps, nonfinite and the generator's losses.

    Example::

        state = rl.init(jax.random.key(0), config)
        step = jax.jit(rl.update)
        for _ in range(10):
            state, metrics = step(state)
        float(metrics["episode_return"])
    """
    state, metrics, _ = onpolicy.iteration(state)
    return state, metrics


def run(state: RLState, num_iterations: int):
    """Advance `num_iterations` (static) iterations; returns (state, metrics [iters, ...]).

    Example::

        state = rl.init(jax.random.key(0), config)
        state, metrics = jax.jit(rl.run, static_argnums=1)(state, 50)    # metrics["episode_return"]: [50]
    """
    return onpolicy.run(update, state, num_iterations)


def train(key, config: RLConfig):
    """A whole run: `init` then `config.num_iterations` updates. Returns (state, metrics
    [num_iterations]); vmap over keys for several seeds.

    Example::

        import jax
        from jgail import envs, presets, rl

        config = presets.expert_config(envs.make("CartPole-v1", max_episode_steps=200))
        keys = jax.random.split(jax.random.key(0), 8)
        states, metrics = jax.jit(jax.vmap(rl.train, (0, None)))(keys, config)   # metrics: [8, iterations]
    """
    return run(init(key, config), config.num_iterations)
