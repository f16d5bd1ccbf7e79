"""TRPO generator: Fisher-vector products, CG, line search, the KL trust region, learning."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from jgail import generators, rl
from jgail.core.networks import Actor, NetworkConfig
from jgail.core.rollout import collect
from jgail.envs import ActionSpace, make
from jgail.generators.trpo import (
    TRPOConfig,
    conjugate_gradient,
    fisher_vector_product,
    line_search,
    update,
)
from jgail.presets import PAPER_NETWORK

TINY_NETWORK = NetworkConfig((4,), "tanh")
DISCRETE = ActionSpace(discrete=True, shape=(), num_actions=2)
CONTINUOUS = ActionSpace(discrete=False, shape=(2,), low=(-1.0, -1.0), high=(1.0, 1.0))


def relative_error(actual, expected):
    return float(np.linalg.norm(np.asarray(actual) - expected) / np.linalg.norm(expected))


def tiny_actor_kl(action_space):
    """A 3-input, 4-hidden actor; returns (mean KL(old || theta) as a function of the flat
    params, the old flat params, the unravel function, the observations)."""
    actor = Actor(action_space, TINY_NETWORK)
    k_init, k_perturb, k_obs = jax.random.split(jax.random.PRNGKey(0), 3)
    params = actor.init(k_init, jnp.zeros((3,)))
    flat, unravel = ravel_pytree(params)
    # Perturb so the output layer (initialised at scale 0.01) and log_std are not degenerate.
    flat = flat + 0.5 * jax.random.normal(k_perturb, flat.shape)
    obs = jax.random.normal(k_obs, (16, 3))
    old_dist = actor.apply(unravel(flat), obs)
    kl_fn = lambda theta: old_dist.kl(actor.apply(unravel(theta), obs)).mean()  # noqa: E731
    return kl_fn, flat, unravel, obs, actor


@pytest.mark.parametrize("action_space", [DISCRETE, CONTINUOUS], ids=["categorical", "gaussian"])
def test_fisher_vector_product_matches_explicit_hessian_of_mean_kl(action_space):
    kl_fn, flat, _, _, _ = tiny_actor_kl(action_space)
    v = jax.random.normal(jax.random.PRNGKey(1), flat.shape)
    hessian = np.asarray(jax.jit(jax.hessian(kl_fn))(flat))
    expected = hessian @ np.asarray(v) + 0.1 * np.asarray(v)
    fvp = jax.jit(fisher_vector_product, static_argnums=0)(kl_fn, flat, v, 0.1)
    assert relative_error(fvp, expected) < 1e-5


def test_fisher_vector_product_is_expected_outer_product_of_categorical_scores():
    kl_fn, flat, unravel, obs, actor = tiny_actor_kl(DISCRETE)
    log_probs = lambda theta: jax.nn.log_softmax(actor.apply(unravel(theta), obs).logits)  # noqa: E731
    scores = jax.jit(jax.jacobian(log_probs))(flat)  # [obs, actions, params]
    probs = np.exp(np.asarray(log_probs(flat)))
    fisher = np.einsum("sa,sap,saq->pq", probs, scores, scores) / obs.shape[0]
    v = jax.random.normal(jax.random.PRNGKey(2), flat.shape)
    expected = fisher @ np.asarray(v)
    fvp = jax.jit(fisher_vector_product, static_argnums=0)(kl_fn, flat, v, 0.0)
    assert relative_error(fvp, expected) < 1e-5


def test_conjugate_gradient_solves_a_random_spd_system_in_ten_iterations():
    k_m, k_b = jax.random.split(jax.random.PRNGKey(3))
    m = jax.random.normal(k_m, (5, 5))
    a = m @ m.T + 0.5 * jnp.eye(5)
    b = jax.random.normal(k_b, (5,))
    x = conjugate_gradient(lambda v: a @ v, b, 10)
    np.testing.assert_allclose(x, np.linalg.solve(np.asarray(a), np.asarray(b)), atol=1e-4)


def test_conjugate_gradient_of_a_zero_right_hand_side_is_zero_not_nan():
    x = conjugate_gradient(lambda v: 2.0 * v, jnp.zeros(4), 10)
    np.testing.assert_array_equal(x, np.zeros(4))


def test_line_search_accepts_the_first_fraction_inside_the_trust_region():
    # surrogate = sum(theta) always improves along +1; kl = |theta|^2 = 4 * 0.5^(2k) for the
    # k-th fraction of the step [1, 1, 1, 1]: the first with kl <= 0.05 is k = 3 (0.0625 > 0.05).
    evaluate = lambda theta: (theta.sum(), theta @ theta)  # noqa: E731
    params, accepted, steps, improvement, kl = line_search(
        evaluate, jnp.zeros(4), jnp.ones(4), 0.05, 0.5, 10
    )
    assert bool(accepted) and int(steps) == 4
    np.testing.assert_allclose(params, np.full(4, 0.5**4))
    np.testing.assert_allclose([improvement, kl], [4 * 0.5**4, 4 * 0.5**8], rtol=1e-6)


def test_line_search_without_improvement_returns_the_old_parameters():
    evaluate = lambda theta: (-(theta @ theta), 0.0 * theta.sum())  # noqa: E731
    old = jnp.array([0.3, -1.2, 2.0])
    params, accepted, steps, improvement, kl = line_search(evaluate, old, jnp.ones(3), 1.0, 0.8, 6)
    assert not bool(accepted) and int(steps) == 6 and float(improvement) == 0.0
    np.testing.assert_array_equal(params, old)


MAX_KLS = (0.001, 0.01, 0.05)


@functools.cache
def rollout_batch(env_name):
    """A real batch from an untrained paper-sized policy: 4 envs x 64 steps."""
    config = rl.RLConfig(
        env=make(env_name), generator=TRPOConfig(), num_envs=4, num_steps=64, network=PAPER_NETWORK
    )

    @jax.jit
    def init_and_collect(key):
        k_init, k_roll = jax.random.split(key)
        state = rl.init(k_init, config)
        policy = rl.rollout_policy(state.agent.params, state.obs_stats, config.nets)
        batch, _ = collect(k_roll, config.env, policy, state.rollout, config.num_steps)
        return state.agent, batch, state.obs_stats

    return *init_and_collect(jax.random.PRNGKey(4)), config.nets


def sweep_configs(**leaves):
    """TRPOConfigs stacked on a leading axis of len(MAX_KLS): one vmapped update sweeps them."""
    configs = jax.tree.map(lambda x: jnp.full((len(MAX_KLS),), x), TRPOConfig(**leaves))
    return configs.replace(max_kl=jnp.array(MAX_KLS))


@functools.partial(jax.jit, static_argnums=(4,))
@functools.partial(jax.vmap, in_axes=(None, None, None, 0, None))
def swept_update(agent, batch, obs_stats, config, nets):
    return update(jax.random.PRNGKey(6), agent, batch, obs_stats, config, nets, 0.0)


def measured_kl(nets, obs_stats, old_params, new_params, obs):
    old = nets.dist(old_params, obs_stats, obs)
    return float(old.kl(nets.dist(new_params, obs_stats, obs)).mean())


@pytest.mark.parametrize("env_name", ["CartPole-v1", "Pendulum-v1"])
def test_one_vmapped_update_keeps_the_batch_kl_within_each_max_kl(env_name):
    agent, batch, obs_stats, nets = rollout_batch(env_name)
    new_agents, metrics = swept_update(agent, batch, obs_stats, sweep_configs(), nets)
    for i, max_kl in enumerate(MAX_KLS):
        new_params = jax.tree.map(lambda x: x[i], new_agents.params)
        kl = measured_kl(nets, obs_stats, agent.params, new_params, batch.obs)
        assert float(metrics["accepted"][i]) == 1.0
        assert 0.2 * max_kl < kl <= max_kl * 1.01  # the step uses the trust region, not beyond
        np.testing.assert_allclose(float(metrics["kl"][i]), kl, rtol=1e-3)
        assert float(metrics["surrogate_improvement"][i]) > 0


def test_update_without_advantage_keeps_the_actor_bit_for_bit():
    agent, batch, obs_stats, nets = rollout_batch("CartPole-v1")
    # A zero critic on zero rewards gives zero advantages: no step can improve the surrogate.
    params = {**agent.params, "critic": jax.tree.map(jnp.zeros_like, agent.params["critic"])}
    agent = agent.replace(params=params)
    batch = batch.replace_rewards(jnp.zeros_like(batch.reward))
    new_agents, metrics = swept_update(agent, batch, obs_stats, sweep_configs(), nets)
    np.testing.assert_array_equal(metrics["accepted"], 0.0)
    np.testing.assert_array_equal(metrics["line_search_steps"], TRPOConfig().backtrack_iters)
    np.testing.assert_array_equal(metrics["kl"], 0.0)
    for i in range(len(MAX_KLS)):
        new_actor = jax.tree.map(lambda x: x[i], new_agents.params["actor"])
        jax.tree.map(np.testing.assert_array_equal, new_actor, agent.params["actor"])


def test_config_validation_names_the_offending_setting():
    with pytest.raises(ValueError, match="value_minibatches = 3"):
        TRPOConfig(value_minibatches=3).validate(1024)
    with pytest.raises(ValueError, match="cg_iters must be a positive integer"):
        TRPOConfig(cg_iters=0).validate(1024)
    with pytest.raises(ValueError, match="max_kl must be > 0"):
        TRPOConfig(max_kl=0.0).validate(1024)
    with pytest.raises(ValueError, match="backtrack_ratio must lie in"):
        TRPOConfig(backtrack_ratio=1.0).validate(1024)
    TRPOConfig().validate(1024)


def test_trpo_is_a_generator_selectable_by_name():
    assert generators.by_name("trpo").config_type is TRPOConfig
    assert isinstance(generators.config_for("trpo", max_kl=0.02), TRPOConfig)


@pytest.mark.slow
def test_trpo_learns_cartpole_from_the_environment_reward():
    config = rl.RLConfig(
        env=make("CartPole-v1"),
        generator=TRPOConfig(),
        num_envs=8,
        num_steps=128,
        total_timesteps=50 * 8 * 128,
        network=PAPER_NETWORK,
    )
    _, metrics = jax.jit(rl.train)(jax.random.PRNGKey(0), config)
    returns = np.asarray(metrics["episode_return"])
    # Measured (6 seeds): ~40 over the first 5 iterations, 286-499 over the last 10.
    assert np.nanmean(returns[:5]) < 60
    assert np.nanmean(returns[-10:]) > 200
    assert float(np.mean(metrics["accepted"])) > 0.9
    for name in ("approx_kl", "entropy", "value_loss", "policy_loss"):
        assert np.all(np.isfinite(metrics[name])), name
