"""Reference check of the vmapped evaluation: its per-episode returns and lengths equal a
plain Python rollout of the same deterministic policy on gymnax's CartPole, one step at a
time, with the time limit counted by hand (no jgail env wrapper, no auto-reset)."""

import functools

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgail import envs
from jgail.core.distributions import Categorical
from jgail.run.evaluation import evaluate_fn

MAX_STEPS = 60
NUM_EPISODES = 6
WEIGHTS = np.array([0.0, 0.0, 1.0, 0.005], np.float32)  # an imperfect linear controller: ends vary


def push_right(obs):
    return int(np.dot(WEIGHTS, np.asarray(obs)) > 0)


@functools.cache
def python_rollout_returns(seed):
    """Episode i starts from gymnax's reset with the key evaluate_fn gives episode i:
    jax.random.split(jax.random.split(key)[0], NUM_EPISODES)[i]. CartPole's step is deterministic."""
    env, params = gymnax.make("CartPole-v1")
    step = jax.jit(lambda state, action: env.step_env(jax.random.PRNGKey(0), state, action, params))
    reset_keys = jax.random.split(jax.random.split(jax.random.PRNGKey(seed))[0], NUM_EPISODES)
    returns, lengths = [], []
    for reset_key in reset_keys:
        obs, state = env.reset_env(reset_key, params)
        total, steps, terminated = 0.0, 0, False
        while not terminated and steps < MAX_STEPS:
            obs, state, reward, terminated, _ = step(state, push_right(obs))
            total, steps, terminated = total + float(reward), steps + 1, bool(terminated)
        returns.append(total)
        lengths.append(steps)
    return np.array(returns), np.array(lengths)


def linear_policy(logit_scale):
    """Categorical over {0, 1} preferring push_right's action by logit_scale (huge = deterministic)."""

    def policy(obs):
        score = obs @ jnp.asarray(WEIGHTS)
        direction = jnp.where(score > 0, 1.0, -1.0)
        return Categorical(jnp.stack([-direction, direction], -1) * logit_scale)

    return policy


@pytest.mark.parametrize("greedy, logit_scale", [(True, 1.0), (False, 1e4)], ids=["greedy", "sampled"])
def test_evaluation_returns_equal_a_python_rollout(greedy, logit_scale):
    env = envs.make("CartPole-v1", max_episode_steps=MAX_STEPS)
    result = jax.jit(evaluate_fn, static_argnums=(1, 2, 3, 4))(jax.random.PRNGKey(3), env, linear_policy(logit_scale),
                                                                 NUM_EPISODES, greedy)
    expected_returns, expected_lengths = python_rollout_returns(3)
    assert len(set(expected_lengths)) > 1 and MAX_STEPS in expected_lengths  # some truncate, some terminate
    np.testing.assert_array_equal(result["returns"], expected_returns)
    np.testing.assert_array_equal(result["lengths"], expected_lengths)
    np.testing.assert_allclose(result["mean_return"], expected_returns.mean(), rtol=1e-6)
