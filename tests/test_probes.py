"""Probe environments with known optimal values and actions: every registered generator must
learn them, and GAIL must copy an expert's choice even where the env reward disagrees."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgail import demos, envs, gail, generators, presets, rl
from jgail.core.distributions import Categorical
from jgail.core.networks import NetworkConfig

SMALL = NetworkConfig((32, 32), "tanh")


def test_probes_have_the_documented_rewards_and_ends():
    bandit = envs.make("probe/contextual_bandit")
    obs, state = bandit.reset(jax.random.key(0))
    right = (obs[0] > 0).astype(jnp.int32)
    _, step = bandit.step(jax.random.key(1), state, right)
    assert float(step.reward) == 1.0 and bool(step.terminated) and not bool(step.truncated)
    _, step = bandit.step(jax.random.key(1), state, 1 - right)
    assert float(step.reward) == 0.0

    two = envs.make("probe/two_step")
    obs, state = two.reset(jax.random.key(0))
    state, first = two.step(jax.random.key(1), state, jnp.int32(1))
    assert float(first.reward) == 0.0 and not bool(first.done)
    np.testing.assert_array_equal(first.obs, [0.0, 1.0])
    _, second = two.step(jax.random.key(2), state, jnp.int32(1))
    assert float(second.reward) == 1.0 and bool(second.terminated) and int(second.episode_length) == 2

    cont = envs.make("probe/continuous_bandit")
    obs, state = cont.reset(jax.random.key(3))
    _, step = cont.step(jax.random.key(4), state, obs / 2)
    assert float(step.reward) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="takes no options"):
        envs.make("probe/two_step", max_episode_steps=5)


def _train(env_id, generator):
    env = envs.make(env_id)
    config = rl.RLConfig(env=env, generator=generators.config_for(generator, gamma=0.9),
                         num_envs=16, num_steps=8, total_timesteps=16 * 8 * 60, network=SMALL)
    if generator == "ppo":
        config = config.replace(generator=config.generator.replace(learning_rate=3e-3, ent_coef=0.0))
    state, _ = jax.jit(rl.train)(jax.random.key(0), config)
    nets = config.nets

    def value_and_dist(obs):
        return (nets.value(state.agent.params, state.obs_stats, obs),
                nets.dist(state.agent.params, state.obs_stats, obs))

    return value_and_dist


@pytest.mark.slow
@pytest.mark.parametrize("generator", generators.names())
def test_generator_learns_the_contextual_bandit(generator):
    value_and_dist = _train("probe/contextual_bandit", generator)
    value, dist = value_and_dist(jnp.array([[1.0], [-1.0]]))
    probs = jax.nn.softmax(dist.logits)
    assert float(probs[0, 1]) > 0.9 and float(probs[1, 0]) > 0.9, probs  # the optimal action
    np.testing.assert_allclose(value, 1.0, atol=0.15)  # V* = 1


@pytest.mark.slow
@pytest.mark.parametrize("generator", generators.names())
def test_generator_learns_the_discounted_two_step_value(generator):
    value_and_dist = _train("probe/two_step", generator)
    value, dist = value_and_dist(jnp.eye(2))
    assert float(jax.nn.softmax(dist.logits)[1, 1]) > 0.9
    np.testing.assert_allclose(value, [0.9, 1.0], atol=0.15)  # V(t=0) = gamma * 1, V(t=1) = 1


@pytest.mark.slow
@pytest.mark.parametrize("generator", generators.names())
def test_generator_learns_the_continuous_bandit_action(generator):
    value_and_dist = _train("probe/continuous_bandit", generator)
    _, dist = value_and_dist(jnp.array([[1.0], [-1.0]]))
    np.testing.assert_allclose(dist.mean[:, 0], [0.5, -0.5], atol=0.15)  # a* = c / 2


@pytest.mark.slow
def test_gail_copies_the_expert_even_against_the_env_reward():
    # The expert always picks action 0; the env pays for matching the context (action 1 half
    # the time). GAIL never sees that reward, so it must learn action 0 everywhere.
    env = envs.make("probe/contextual_bandit")
    always_zero = lambda obs: Categorical(jnp.log(jax.nn.one_hot(jnp.zeros(obs.shape[:-1], jnp.int32), 2) + 1e-9))
    expert = demos.to_jax(demos.collect(jax.random.key(0), env, always_zero, 32))
    config = presets.gail_config(env, "ppo", total_timesteps=8 * 128 * 20).replace(network=SMALL)
    state, _ = jax.jit(gail.train)(jax.random.key(1), config, expert)
    dist = config.nets.dist(state.agent.params, state.obs_stats, jnp.array([[1.0], [-1.0]]))
    assert np.all(np.asarray(jax.nn.softmax(dist.logits)[:, 0]) > 0.9), jax.nn.softmax(dist.logits)
