import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgail import envs, evaluation, rl, sweep
from jgail.core.advantages import gae
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
