"""Vmapped evaluation: run N episodes in parallel, one each, and report their returns.

By default actions are sampled from the policy as trained (the number to report);
`greedy=True` takes the argmax/mean, an extra that must be labelled as such: an
untrained CartPole policy can score highly with greedy actions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jgail.core.env import Env
from jgail.core.networks import PolicyNetworks
from jgail.core.normalization import RunningStats

DEFAULT_EPISODES = 100


def evaluate(
    key,
    env: Env,
    nets: PolicyNetworks,
    params,
    obs_stats: RunningStats,
    num_episodes: int = DEFAULT_EPISODES,
    greedy: bool = False,
):
    """Run `num_episodes` episodes in parallel, one each, with the policy `nets` at `params`
    (sampled actions; argmax/mean with `greedy`). Every episode ends within
    env.max_episode_steps. Returns {"mean_return": [], "returns": [num_episodes],
    "lengths": [num_episodes]} (returns are the env's reward summed over the episode).
    `env`, `nets`, `num_episodes` and `greedy` are static under jit (close over them).

    Example::

        import jax
        from jgail import envs, evaluation, presets, rl

        config = presets.expert_config(envs.make("CartPole-v1", max_episode_steps=200))
        state, _ = jax.jit(rl.train)(jax.random.key(0), config)
        result = evaluation.evaluate(jax.random.key(1), config.env, config.nets, state.agent.params,
                                     state.obs_stats, num_episodes=100)
        float(result["mean_return"])
    """
    return evaluate_fn(key, env, lambda obs: nets.dist(params, obs_stats, obs), num_episodes, greedy)


def evaluate_fn(key, env: Env, policy_fn, num_episodes: int = DEFAULT_EPISODES, greedy: bool = False):
    """Same as `evaluate` for any `policy_fn(obs [N, obs_dim]) -> distribution`."""
    k_reset, k_run = jax.random.split(key)
    obs, env_state = jax.vmap(env.reset)(jax.random.split(k_reset, num_episodes))
    zeros = jnp.zeros((num_episodes,))

    def one_step(carry, key):
        obs, env_state, finished, returns, lengths = carry
        k_act, k_env = jax.random.split(key)
        dist = policy_fn(obs)
        action = dist.mode() if greedy else dist.sample(k_act)
        env_state, step = jax.vmap(env.step)(jax.random.split(k_env, num_episodes), env_state, action)
        newly_done = step.done & ~finished
        returns = jnp.where(newly_done, step.episode_return, returns)
        lengths = jnp.where(newly_done, step.episode_length, lengths)
        return (step.obs, env_state, finished | step.done, returns, lengths), None

    carry = (obs, env_state, jnp.zeros((num_episodes,), bool), zeros, zeros)
    # The episode cap bounds every episode, so max_episode_steps steps finish them all.
    (_, _, _, returns, lengths), _ = jax.lax.scan(
        one_step, carry, jax.random.split(k_run, env.max_episode_steps)
    )
    return {"mean_return": returns.mean(), "returns": returns, "lengths": lengths}
