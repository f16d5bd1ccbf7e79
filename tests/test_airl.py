"""AIRL: it learns from one CartPole episode, and its learned reward g(s) trains a fresh agent."""

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgail import demos, envs, evaluation, gail, presets
from jgail.core.errors import ConfigError
from jgail.core.networks import MLP
from jgail.core.rollout import Transitions
from jgail.data import scripted
from jgail.imitation import transfer

ENV = envs.make("CartPole-v1", max_episode_steps=200)
SEEDS = 2


@pytest.fixture(scope="module")
def one_episode():
    data = demos.collect(jax.random.key(0), ENV, scripted.cartpole, 1, greedy=True)
    assert data.num_pairs == 200
    return demos.to_jax(data)


def _state_only_airl(total_timesteps):
    return presets.airl_config(ENV, "ppo", total_timesteps, state_only=True)


def _evaluate(config, params, obs_stats):
    evaluate = lambda key, p, s: evaluation.evaluate(key, ENV, config.nets, p, s, 50)["mean_return"]
    keys = jax.random.split(jax.random.key(99), SEEDS)
    return np.asarray(jax.jit(jax.vmap(evaluate))(keys, params, obs_stats))


def test_transfer_reward_is_g_plus_the_absorbing_value_at_true_ends(one_episode):
    config = _state_only_airl(1024)
    state = jax.jit(gail.init)(jax.random.key(1), config, one_episode)
    obs = np.random.default_rng(0).normal(size=(6, 3, 4)).astype(np.float32)  # [T, N, obs_dim]
    terminated = np.arange(18).reshape(6, 3) % 7 == 0
    zeros = np.zeros((6, 3), np.float32)
    batch = Transitions(obs=obs, action=zeros.astype(np.int32), log_prob=zeros, reward=zeros, terminated=terminated,
                        truncated=zeros > 0, next_obs=obs, episode_return=zeros, episode_length=zeros)
    reward = transfer.LearnedReward.from_gail(state)
    d = state.discriminator
    g = lambda x: np.asarray(MLP((100, 100), "tanh", 1).apply(d.params["g"], jnp.asarray(x))[..., 0])
    obs = (np.asarray(batch.obs) - np.asarray(d.input_mean)) / np.asarray(d.input_std)
    g_states = g(np.concatenate([obs, np.zeros(obs.shape[:-1] + (1,))], -1))
    g_abs = g(np.eye(1, 5, 4))[0]
    gamma = config.generator.gamma
    expected = np.clip(g_states, -10, 10) + np.asarray(batch.terminated) * gamma * np.clip(g_abs, -10, 10) / (1 - gamma)
    np.testing.assert_allclose(transfer.rewards(reward, batch, gamma), expected, rtol=1e-5, atol=1e-5)


def test_only_an_airl_discriminator_has_a_reward_to_transfer():
    gail_run = types.SimpleNamespace(config=presets.gail_config(ENV, "ppo", 1024))  # checked first
    with pytest.raises(ConfigError, match="only an AIRL discriminator"):
        transfer.LearnedReward.from_gail(gail_run)


def test_best_of_learners_keeps_the_highest_learned_return_and_that_learners_own_run(one_episode):
    airl_state = jax.jit(gail.init)(jax.random.key(1), _state_only_airl(1024), one_episode)
    reward = transfer.LearnedReward.from_gail(airl_state)
    rl_config = presets.expert_config(ENV, 8 * 128 * 12)
    key, k = jax.random.key(5), 3
    best, best_metrics, index, scores = jax.jit(transfer.train_best_of, static_argnums=3)(key, rl_config, reward, k)
    # Reference: each learner trained on its own, scored by a plain loop over its metrics.
    learners = [jax.jit(transfer.train)(learner_key, rl_config, reward)
                for learner_key in jax.random.split(key, k)]
    expected_scores = [np.mean(np.asarray(m["learned_reward_mean"])[-1:]) for _, m in learners]  # 12 its: last 1
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-4, atol=1e-5)
    assert len(set(np.round(expected_scores, 4))) == k  # distinct learners: the choice means something
    assert int(index) == int(np.argmax(expected_scores))
    chosen, chosen_metrics = learners[int(index)]
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5),
                 best.agent.params, chosen.agent.params)
    np.testing.assert_allclose(best_metrics["episode_return"], chosen_metrics["episode_return"], rtol=1e-4, atol=1e-4)


def test_learned_return_averages_the_last_tenth_of_iterations():
    per_iteration = np.arange(2 * 25, dtype=np.float32).reshape(2, 25)
    expected = [np.mean(row[-2:]) for row in per_iteration]  # 25 // 10 = 2 iterations
    np.testing.assert_allclose(transfer.learned_return({"learned_reward_mean": jnp.asarray(per_iteration)}), expected)


@pytest.mark.parametrize("count", [0, 2.0, True])
def test_best_of_needs_a_whole_number_of_learners(count):
    with pytest.raises(ConfigError, match="num_learners"):
        transfer.train_best_of(jax.random.key(0), presets.expert_config(ENV, 1024), None, count)


@pytest.fixture(scope="module")
def airl_runs(one_episode):
    """Two seeds of state-only AIRL on CartPole-200 from one expert episode."""
    config = _state_only_airl(8 * 128 * 60)
    keys = jax.random.split(jax.random.key(3), SEEDS)
    states, _ = jax.jit(jax.vmap(gail.train, (0, None, None)))(keys, config, one_episode)
    return config, states


@pytest.mark.slow
def test_airl_learns_cartpole_from_one_episode(airl_runs):
    config, states = airl_runs
    scores = _evaluate(config, states.agent.params, states.obs_stats)
    assert np.all(scores >= 150), scores  # a random policy scores ~22; before absorbing states, ~10


@pytest.mark.slow
def test_a_fresh_agent_learns_cartpole_from_airls_reward_alone(airl_runs):
    config, states = airl_runs
    reward = transfer.LearnedReward.from_gail(states)
    rl_config = presets.expert_config(ENV, 8 * 128 * 100)
    keys = jax.random.split(jax.random.key(4), SEEDS)
    agents, metrics = jax.jit(jax.vmap(transfer.train, (0, None, 0)))(
        keys, rl_config, reward)
    assert np.all(np.isfinite(np.asarray(metrics["learned_reward_mean"])))
    scores = _evaluate(rl_config, agents.agent.params, agents.obs_stats)
    assert np.all(scores >= 150), scores
