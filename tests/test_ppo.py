import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgail import envs, evaluation, rl, sweep
from jgail.core.advantages import gae
from jgail.generators import ppo
from jgail.generators.ppo import PPOConfig
from jgail.presets import CLASSIC_PPO


def test_gae_bootstraps_on_truncation_but_not_on_termination():
    # One env, 3 steps; step 1 ends the episode. gamma=0.5, lambda=1.
    reward = jnp.array([[1.0], [1.0], [1.0]])
    value = jnp.array([[0.0], [0.0], [0.0]])
    next_value = jnp.array([[2.0], [4.0], [8.0]])
    no = jnp.zeros((3, 1), bool)
    end = jnp.array([[False], [True], [False]])
    adv_term, _ = gae(reward, value, next_value, end, no, 0.5, 1.0)
    adv_trunc, _ = gae(reward, value, next_value, no, end, 0.5, 1.0)
    # Terminated at step 1: delta_1 = 1 (no bootstrap); truncated: delta_1 = 1 + 0.5 * 4.
    assert float(adv_term[1, 0]) == pytest.approx(1.0)
    assert float(adv_trunc[1, 0]) == pytest.approx(3.0)
    # Either way the recursion does not cross the episode end: step 2 is its own episode.
    assert float(adv_term[2, 0]) == float(adv_trunc[2, 0]) == pytest.approx(1 + 0.5 * 8)
    # Step 0 continues into step 1: delta_0 + gamma * lambda * A_1 (delta_0 = 1 + 0.5*2 - 0).
    assert float(adv_term[0, 0]) == pytest.approx(2.0 + 0.5 * 1.0)


def _small_config(**generator):
    env = envs.make("CartPole-v1")
    return rl.RLConfig(env=env, generator=CLASSIC_PPO.replace(**generator), num_envs=8, num_steps=128,
                       total_timesteps=8 * 128 * 80)


@pytest.mark.slow
def test_ppo_learns_cartpole():
    config = _small_config()
    keys = jax.random.split(jax.random.key(0), 2)

    def train_and_evaluate(key):
        state, metrics = rl.train(key, config)
        score = evaluation.evaluate(key, config.env, config.nets, state.agent.params, state.obs_stats, 20)
        return metrics["episode_return"], score["mean_return"]

    curves, scores = jax.jit(jax.vmap(train_and_evaluate))(keys)
    curves, scores = np.asarray(curves), np.asarray(scores)
    assert np.all(curves[:, :3].mean(1) < 60), "an untrained policy should score low"
    assert np.all(scores >= 200) and scores.mean() >= 300, f"PPO should learn CartPole in 82k steps: {scores}"


def test_same_seed_same_result_and_sweeps_change_results():
    config = _small_config().replace(total_timesteps=8 * 128 * 3)
    swept = config.replace(generator=config.generator.replace(learning_rate=jnp.array([1e-3, 1e-3, 1e-4])))
    axes = sweep.in_axes(swept, "generator.learning_rate")
    train = jax.jit(jax.vmap(rl.train, in_axes=(None, axes)))
    states, metrics = train(jax.random.key(3), swept)
    actor = jax.tree.leaves(states.agent.params["actor"])[0]
    np.testing.assert_array_equal(actor[0], actor[1])  # same seed, same config
    assert not np.allclose(actor[0], actor[2])  # a different learning rate, a different result
    assert metrics["episode_return"].shape == (3, 3)


def test_bad_config_fails_before_compiling():
    env = envs.make("CartPole-v1")
    with pytest.raises(ValueError, match="not divisible by num_minibatches"):
        rl.init(jax.random.key(0), rl.RLConfig(env=env, num_envs=3, num_steps=5))
    with pytest.raises(ValueError, match="unknown activation"):
        from jgail.core.networks import NetworkConfig
        rl.init(jax.random.key(0), rl.RLConfig(env=env, network=NetworkConfig((8,), "sigmoidal")))


def test_chunked_training_equals_one_run():
    # The whole training state is one pytree: 2 + 2 iterations == 4 iterations, exactly.
    config = _small_config().replace(total_timesteps=8 * 128 * 4)
    state = rl.init(jax.random.key(7), config)
    run = jax.jit(rl.run, static_argnums=1)
    whole, _ = run(state, 4)
    half, _ = run(state, 2)
    chunked, metrics = run(half, 2)
    assert int(chunked.iteration) == 4 and metrics["env_steps"][-1] == 4 * config.batch_size
    jax.tree.map(np.testing.assert_array_equal, whole.agent.params, chunked.agent.params)


def numpy_gae(reward, value, next_value, terminated, truncated, gamma, lam):
    """An independent reference: per env, a backward loop that stops at every episode end."""
    advantage = np.zeros_like(reward, dtype=np.float64)
    for n in range(reward.shape[1]):
        running = 0.0
        for t in reversed(range(reward.shape[0])):
            bootstrap = 0.0 if terminated[t, n] else next_value[t, n]
            running = 0.0 if (terminated[t, n] or truncated[t, n]) else running
            running = reward[t, n] + gamma * bootstrap - value[t, n] + gamma * lam * running
            advantage[t, n] = running
    return advantage, advantage + value


def test_reward_scale_multiplies_the_rewards_the_value_targets_are_built_from():
    # A stand-in critic whose values are known in numpy: V(obs) = 2 * sum(obs) - 1.
    nets = types.SimpleNamespace(value=lambda params, stats, obs: 2.0 * obs.sum(-1) - 1.0)
    rng = np.random.default_rng(0)
    obs, next_obs = (rng.normal(size=(7, 3, 2)).astype(np.float32) for _ in range(2))
    reward = rng.normal(5.0, 3.0, (7, 3)).astype(np.float32)
    end = rng.uniform(size=(7, 3))
    terminated, truncated = end < 0.2, (end >= 0.2) & (end < 0.35)
    batch = types.SimpleNamespace(obs=obs, next_obs=next_obs, reward=reward, terminated=terminated,
                                  truncated=truncated)
    batch.replace_rewards = lambda r: types.SimpleNamespace(**{**vars(batch), "reward": r})
    value, next_value = 2.0 * obs.sum(-1) - 1.0, 2.0 * next_obs.sum(-1) - 1.0
    # The scale is a pytree leaf: one vmapped call computes both settings.
    configs = PPOConfig(gamma=0.97, gae_lambda=0.9, reward_scale=jnp.array([1.0, 0.1]))
    axes = sweep.in_axes(configs, "reward_scale")
    advantage, returns = jax.vmap(ppo.scaled_advantages_and_returns, (None, None, None, None, axes))(
        nets, None, None, batch, configs)
    for i, scale in enumerate((1.0, 0.1)):
        expected = numpy_gae(scale * reward.astype(np.float64), value, next_value, terminated, truncated, 0.97, 0.9)
        np.testing.assert_allclose(advantage[i], expected[0], rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(returns[i], expected[1], rtol=1e-5, atol=1e-4)


def test_a_non_positive_reward_scale_is_refused():
    with pytest.raises(ValueError, match="reward_scale"):
        PPOConfig(reward_scale=0.0).validate()
