"""Reference checks of the numeric core: every building block against an independent
implementation (numpy float64, scipy, a plain Python loop), so a wrong formula fails even
where the library's own functions would agree with themselves.

Covered here: RunningStats (normalization), GAE (advantages), Categorical / DiagGaussian /
Uniform (distributions) and the reward forms (rewards). The discriminator, TRPO and the
evaluation loop have their own tests/test_reference_*.py files. Property-based tests keep
`max_examples` small and derandomised, so a run is fast and repeatable.
"""

import math
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from jgail.core.advantages import advantages_and_returns, gae
from jgail.core.distributions import Categorical, DiagGaussian, Uniform, random_policy
from jgail.core.env import ActionSpace
from jgail.core.normalization import CLIP, RunningStats
from jgail.imitation.rewards import REWARD_NAMES, get_reward_fn, relabel_rewards

FAST = settings(max_examples=15, deadline=None, derandomize=True, database=None)


pytestmark = pytest.mark.usefixtures("trace_afresh_under_mutmut")  # tests/conftest.py


# --- RunningStats ------------------------------------------------------------------------
#
# The reference, precisely: RunningStats.create(dim) is a pseudo-batch of weight
# PRIOR_COUNT = 1e-4 with mean 0 and variance 1. After merging the batches x_1..x_k, whose
# concatenation X has n rows, the state must be that pseudo-batch pooled with X:
#   count = PRIOR_COUNT + n
#   mean  = n * mean(X) / count
#   var   = (PRIOR_COUNT * 1 + n * var(X) + PRIOR_COUNT * n / count * mean(X)**2) / count
# whatever the split points (the pooled moments do not depend on the order of merging).
# mean(X), var(X) are numpy's (population variance, ddof=0) in float64; for n >> 1e-4 this
# is numpy's mean and variance of X up to a relative 1e-4 / n.

PRIOR_COUNT = 1e-4


def pooled_with_prior(rows):
    """(mean, var, count) of the prior pseudo-batch pooled with rows [n, dim], float64."""
    rows = np.asarray(rows, np.float64)
    n, dim = rows.shape
    count = PRIOR_COUNT + n
    if n == 0:
        return np.zeros(dim), np.ones(dim), count
    mean_x, var_x = rows.mean(0), rows.var(0)
    mean = n * mean_x / count
    var = (PRIOR_COUNT + n * var_x + PRIOR_COUNT * n / count * mean_x**2) / count
    return mean, var, count


def random_batches(seed, dim, sizes):
    """Batches [size, dim] whose means differ from batch to batch (so merging matters)."""
    rng = np.random.default_rng(seed)
    return [
        (rng.uniform(-20, 20, dim) + rng.uniform(0.01, 5, dim) * rng.standard_normal((size, dim))).astype(np.float32)
        for size in sizes
    ]


def merged(batches, dim):
    stats = RunningStats.create(dim)
    for batch in batches:
        stats = stats.update(jnp.asarray(batch))
    return stats


def assert_stats_equal(stats, mean, var, count):
    np.testing.assert_allclose(stats.mean, mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(stats.var, var, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(stats.count, count, rtol=1e-6)


def test_fresh_running_stats_are_the_prior_pseudo_batch():
    stats = RunningStats.create(3)
    np.testing.assert_array_equal(stats.mean, np.zeros(3))
    np.testing.assert_array_equal(stats.var, np.ones(3))
    np.testing.assert_allclose(stats.count, PRIOR_COUNT, rtol=1e-6)


def test_one_row_merged_into_the_fresh_state_pools_it_with_the_prior():
    # The prior's weight is tiny but its cross term is not: var = (1e-4 + 1e-4 x^2 / 1.0001) / 1.0001,
    # about 1.0001 for x = 100 (and 1e-4 without the cross term).
    row = np.array([[100.0, -3.0]], np.float32)
    stats = RunningStats.create(2).update(jnp.asarray(row))
    assert_stats_equal(stats, *pooled_with_prior(row))
    np.testing.assert_allclose(stats.var[0], 1.0, rtol=1e-3)


@FAST
@given(dim=st.sampled_from([1, 3]), sizes=st.lists(st.sampled_from([1, 2, 7, 40]), min_size=1, max_size=5),
       seed=st.integers(0, 2**16))
def test_running_stats_equal_numpy_over_random_batch_splits(dim, sizes, seed):
    batches = random_batches(seed, dim, sizes)
    stats = merged(batches, dim)
    everything = np.concatenate(batches)
    assert_stats_equal(stats, *pooled_with_prior(everything))
    # ... which is numpy's own mean and variance of the concatenation up to the prior's weight:
    # |mean - mean(X)| <= 1e-4 |mean(X)| / n and |var - var(X)| <= 1e-4 (1 + var(X) + mean(X)^2) / n
    n, mean_x, var_x = len(everything), everything.mean(0), everything.var(0)
    assert np.all(np.abs(stats.mean - mean_x) <= 1e-4 * np.abs(mean_x) / n + 1e-5 * (1 + np.abs(mean_x)))
    assert np.all(np.abs(stats.var - var_x) <= 1e-4 * (1 + var_x + mean_x**2) / n + 1e-4 * var_x + 1e-6)


def test_running_stats_of_one_row_at_a_time_equal_numpy():
    rows = random_batches(7, 2, [9])[0]
    stats = merged([rows[i : i + 1] for i in range(len(rows))], 2)  # every batch has count 1, var 0
    assert_stats_equal(stats, *pooled_with_prior(rows))


def test_running_stats_accept_leading_batch_dimensions():
    batch = random_batches(3, 2, [12])[0]
    stats = RunningStats.create(2).update(jnp.asarray(batch.reshape(3, 4, 2)))  # [T, N, dim]
    assert_stats_equal(stats, *pooled_with_prior(batch))


def test_an_empty_batch_leaves_the_running_stats_unchanged():
    batches = random_batches(5, 2, [4])
    before = merged(batches, 2)
    after = before.update(jnp.zeros((0, 2), jnp.float32))
    assert_stats_equal(after, *pooled_with_prior(batches[0]))


def test_normalize_standardises_then_clips_at_ten():
    batch = random_batches(11, 2, [30])[0]
    stats = RunningStats.create(2).update(jnp.asarray(batch))
    mean, var, _ = pooled_with_prior(batch)
    x = np.array([[0.0, 0.0], [1e3, -1e3], [mean[0] + 0.5, mean[1] - 2.0]], np.float32)
    expected = np.clip((x - mean) / np.sqrt(var + 1e-8), -10.0, 10.0)
    assert CLIP == 10.0
    np.testing.assert_allclose(stats.normalize(jnp.asarray(x)), expected, rtol=1e-5, atol=1e-5)


def test_normalize_of_a_constant_column_stays_finite():
    stats = RunningStats(jnp.zeros(1), jnp.zeros(1), jnp.asarray(5.0))  # var 0: the 1e-8 guards it
    np.testing.assert_allclose(stats.normalize(jnp.array([[1e-5], [-1e-2]])), [[1e-5 / math.sqrt(1e-8)], [-10.0]],
                               rtol=1e-4)


# --- GAE ----------------------------------------------------------------------------------


def reference_gae(reward, value, next_value, terminated, truncated, gamma, lam):
    """Plain Python: per env, backwards in time; a terminal bootstraps with 0, a truncation
    with V(next obs); the recursion never crosses an episode end nor the batch's end."""
    steps, envs = reward.shape
    advantage = np.zeros((steps, envs))
    for n in range(envs):
        running = 0.0
        for t in reversed(range(steps)):
            bootstrap = 0.0 if terminated[t, n] else float(next_value[t, n])
            delta = float(reward[t, n]) + gamma * bootstrap - float(value[t, n])
            if terminated[t, n] or truncated[t, n]:
                running = 0.0
            running = delta + gamma * lam * running
            advantage[t, n] = running
    return advantage, advantage + value


def gae_inputs(seed, steps, envs):
    rng = np.random.default_rng(seed)
    reward, value, next_value = (rng.normal(0, 2, (steps, envs)).astype(np.float32) for _ in range(3))
    end = rng.uniform(size=(steps, envs))
    terminated = end < 0.2
    truncated = (end >= 0.2) & (end < 0.35)
    return reward, value, next_value, terminated, truncated


jitted_gae = jax.jit(gae)  # one compilation per (T, N)


@FAST
@given(steps=st.sampled_from([1, 5, 16]), envs=st.sampled_from([1, 3]), seed=st.integers(0, 2**16),
       gamma=st.floats(0.0, 1.0), lam=st.floats(0.0, 1.0))
def test_gae_equals_a_python_loop_with_terminations_and_truncations_mixed(steps, envs, seed, gamma, lam):
    inputs = gae_inputs(seed, steps, envs)
    advantage, returns = jitted_gae(*map(jnp.asarray, inputs), gamma, lam)
    expected_advantage, expected_returns = reference_gae(*inputs, gamma, lam)
    np.testing.assert_allclose(advantage, expected_advantage, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(returns, expected_returns, rtol=1e-5, atol=1e-4)


def test_gae_of_a_batch_with_every_kind_of_step():
    # env 0: terminal at 1, truncation at 3; env 1 never ends; env 2 both flags at 2
    terminated = np.array([[0, 0, 0], [1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]], bool)
    truncated = np.array([[0, 0, 0], [0, 0, 0], [0, 0, 1], [1, 0, 0], [0, 0, 0]], bool)
    reward, value, next_value, _, _ = gae_inputs(3, 5, 3)
    got = gae(*map(jnp.asarray, (reward, value, next_value, terminated, truncated)), 0.9, 0.8)
    for actual, expected in zip(got, reference_gae(reward, value, next_value, terminated, truncated, 0.9, 0.8)):
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


def test_advantages_and_returns_score_obs_and_next_obs_with_the_critic():
    # A stand-in critic, V(obs) = params * sum(obs) + offset, so the values are known in numpy.
    nets = types.SimpleNamespace(value=lambda params, stats, obs: params * obs.sum(-1) + stats)
    rng = np.random.default_rng(0)
    obs, next_obs = (rng.normal(size=(6, 2, 3)).astype(np.float32) for _ in range(2))
    reward, _, _, terminated, truncated = gae_inputs(1, 6, 2)
    batch = types.SimpleNamespace(obs=jnp.asarray(obs), next_obs=jnp.asarray(next_obs), reward=jnp.asarray(reward),
                                  terminated=jnp.asarray(terminated), truncated=jnp.asarray(truncated))
    advantage, returns = advantages_and_returns(nets, 1.5, 0.25, batch, 0.95, 0.9)
    value, next_value = 1.5 * obs.sum(-1) + 0.25, 1.5 * next_obs.sum(-1) + 0.25
    expected = reference_gae(reward, value, next_value, terminated, truncated, 0.95, 0.9)
    np.testing.assert_allclose(advantage, expected[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(returns, expected[1], rtol=1e-5, atol=1e-5)


# --- Categorical ------------------------------------------------------------------------


def random_logits(seed, shape, scale):
    return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(np.float32)


LOGIT_SHAPES = [(2,), (4, 3), (2, 3, 5)]  # leading batch dims of rank 0, 1 and 2


@FAST
@given(shape=st.sampled_from(LOGIT_SHAPES), scale=st.sampled_from([0.1, 3.0, 40.0]), seed=st.integers(0, 2**16))
def test_categorical_log_prob_entropy_and_kl_equal_scipy(shape, scale, seed):
    logits, other_logits = random_logits(seed, shape, scale), random_logits(seed + 1, shape, scale)
    action = np.random.default_rng(seed).integers(0, shape[-1], shape[:-1])
    log_p = scipy.special.log_softmax(logits.astype(np.float64), axis=-1)
    p, q = np.exp(log_p), scipy.special.softmax(other_logits.astype(np.float64), axis=-1)
    dist, other = Categorical(jnp.asarray(logits)), Categorical(jnp.asarray(other_logits))
    atol = 1e-5 * (1 + scale)  # float32 logits of size `scale`
    np.testing.assert_allclose(dist.log_prob(jnp.asarray(action)),
                               np.take_along_axis(log_p, action[..., None], -1)[..., 0], rtol=1e-5, atol=atol)
    np.testing.assert_allclose(dist.entropy(), scipy.stats.entropy(p, axis=-1), rtol=1e-5, atol=atol)
    np.testing.assert_allclose(dist.kl(other), scipy.stats.entropy(p, q, axis=-1), rtol=1e-4, atol=atol)


def test_categorical_mode_is_the_argmax_over_the_last_axis():
    logits = random_logits(0, (2, 3, 5), 1.0)
    np.testing.assert_array_equal(Categorical(jnp.asarray(logits)).mode(), logits.argmax(-1))


def test_categorical_samples_follow_the_softmax():
    logits = np.array([[0.0, 1.0, -1.0], [2.0, 0.0, 0.0]], np.float32)
    draws = Categorical(jnp.broadcast_to(logits, (20_000, 2, 3))).sample(jax.random.PRNGKey(0))
    frequencies = np.stack([(np.asarray(draws) == a).mean(0) for a in range(3)], -1)
    np.testing.assert_allclose(frequencies, scipy.special.softmax(logits, -1), atol=0.015)  # ~4 sigma


# --- DiagGaussian ----------------------------------------------------------------------


def gaussian_kl_closed_form(mean_p, std_p, mean_q, std_q):
    """KL(N(mean_p, std_p^2) || N(mean_q, std_q^2)) per dim, the textbook form."""
    return np.log(std_q / std_p) + (std_p**2 + (mean_p - mean_q) ** 2) / (2 * std_q**2) - 0.5


def gaussian_kl_by_integration(mean_p, std_p, mean_q, std_q):
    p, q = scipy.stats.norm(mean_p, std_p), scipy.stats.norm(mean_q, std_q)
    integrand = lambda x: p.pdf(x) * (p.logpdf(x) - q.logpdf(x))
    return scipy.integrate.quad(integrand, mean_p - 12 * std_p, mean_p + 12 * std_p, epsabs=1e-11, limit=200)[0]


@pytest.mark.parametrize("mean_p, std_p, mean_q, std_q", [(0.0, 1.0, 0.0, 1.0), (0.3, 0.5, -1.0, 2.0),
                                                          (2.0, 3.0, 1.5, 0.4), (-1.0, 0.05, -1.01, 0.2)])
def test_gaussian_kl_equals_numerical_integration(mean_p, std_p, mean_q, std_q):
    by_integration = gaussian_kl_by_integration(mean_p, std_p, mean_q, std_q)
    np.testing.assert_allclose(gaussian_kl_closed_form(mean_p, std_p, mean_q, std_q), by_integration, atol=1e-8)
    dist = DiagGaussian(jnp.array([mean_p]), jnp.log(jnp.array([std_p])))
    other = DiagGaussian(jnp.array([mean_q]), jnp.log(jnp.array([std_q])))
    np.testing.assert_allclose(dist.kl(other), by_integration, rtol=1e-5, atol=1e-6)


def random_gaussian(seed, shape, log_std_range):
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 2, shape).astype(np.float32), rng.uniform(*log_std_range, shape).astype(np.float32))


@FAST
@given(shape=st.sampled_from([(1,), (3,), (4, 2), (2, 3, 2)]), seed=st.integers(0, 2**16),
       log_std_range=st.sampled_from([(-0.5, 0.5), (-5.0, 2.0)]))
def test_gaussian_log_prob_entropy_and_kl_equal_scipy(shape, seed, log_std_range):
    mean, log_std = random_gaussian(seed, shape, log_std_range)
    other_mean, other_log_std = random_gaussian(seed + 1, shape, log_std_range)
    std, other_std = np.exp(log_std.astype(np.float64)), np.exp(other_log_std.astype(np.float64))
    action = (mean + std * np.random.default_rng(seed).normal(0, 1.5, shape)).astype(np.float32)
    dist, other = DiagGaussian(jnp.asarray(mean), jnp.asarray(log_std)), DiagGaussian(*map(jnp.asarray, (other_mean,
                                                                                                      other_log_std)))
    np.testing.assert_allclose(dist.log_prob(jnp.asarray(action)),
                               scipy.stats.norm.logpdf(action, mean, std).sum(-1), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(dist.entropy(), scipy.stats.norm.entropy(mean, std).sum(-1), rtol=1e-5, atol=1e-5)
    expected_kl = gaussian_kl_closed_form(mean, std, other_mean, other_std).sum(-1)
    np.testing.assert_allclose(dist.kl(other), expected_kl, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dist.kl(dist), 0.0, atol=1e-6)


def test_gaussian_samples_are_reparameterised_standard_normal_draws():
    # mean + std * eps with eps = jax.random.normal(key): the same key gives the same action, and
    # the sample is differentiable in mean and log_std
    key, mean, log_std = jax.random.PRNGKey(5), jnp.array([[1.0, -2.0]]), jnp.array([[0.5, -1.0]])
    expected = np.asarray(mean) + np.exp(np.asarray(log_std)) * np.asarray(jax.random.normal(key, (1, 2)))
    np.testing.assert_allclose(DiagGaussian(mean, log_std).sample(key), expected, rtol=1e-6)


def test_gaussian_mode_is_the_mean_and_samples_have_its_moments():
    mean, log_std = jnp.array([1.0, -2.0, 0.0]), jnp.array([0.0, -1.0, 1.0])
    dist = DiagGaussian(jnp.broadcast_to(mean, (20_000, 3)), jnp.broadcast_to(log_std, (20_000, 3)))
    draws = np.asarray(dist.sample(jax.random.PRNGKey(1)))
    np.testing.assert_array_equal(dist.mode(), dist.mean)
    assert np.all(np.abs(draws.mean(0) - mean) < 4 * np.exp(log_std) / np.sqrt(20_000))  # 4 standard errors
    np.testing.assert_allclose(draws.std(0), np.exp(log_std), rtol=0.03)


# --- Uniform and the random policy -------------------------------------------------------


def test_uniform_samples_cover_the_box_with_its_moments_and_its_mode_is_the_centre():
    low, high = jnp.array([-1.0, 0.0]), jnp.array([1.0, 4.0])
    dist = Uniform(jnp.broadcast_to(low, (20_000, 2)), jnp.broadcast_to(high, (20_000, 2)))
    draws = np.asarray(dist.sample(jax.random.PRNGKey(2)))
    assert draws.shape == (20_000, 2) and np.all(draws >= low) and np.all(draws <= high)
    np.testing.assert_allclose(draws.mean(0), (low + high) / 2, atol=0.05)
    np.testing.assert_allclose(draws.std(0), (high - low) / np.sqrt(12), rtol=0.03)
    np.testing.assert_array_equal(dist.mode()[0], [0.0, 2.0])


def test_random_policy_is_uniform_over_the_action_space():
    obs = jnp.zeros((2, 5, 3))  # leading dims [2, 5] are kept
    discrete = random_policy(ActionSpace(True, (), num_actions=4))(obs)
    assert isinstance(discrete, Categorical)
    np.testing.assert_array_equal(discrete.logits, np.zeros((2, 5, 4)))
    box = ActionSpace(False, (2,), low=(-1.0, 0.0), high=(1.0, 3.0))
    continuous = random_policy(box)(obs)
    assert isinstance(continuous, Uniform)
    np.testing.assert_array_equal(continuous.low, np.broadcast_to([-1.0, 0.0], (2, 5, 2)))
    np.testing.assert_array_equal(continuous.high, np.broadcast_to([1.0, 3.0], (2, 5, 2)))


# --- Reward forms ------------------------------------------------------------------------
#
# Each form written from its definition (rewards.py's table), in numpy float64 with
# scipy's stable log-sigmoid, D = sigmoid(l) = P(expert).

REFERENCE_REWARDS = {
    "gail_tutorial": lambda logit: -scipy.special.log_expit(-logit),  # -log D_tut, D_tut = P(learner) = 1 - D
    "gail_paper": lambda logit: -scipy.special.log_expit(-logit),  # reward = -cost = -log D_paper, D_paper = 1 - D
    "neg_log_one_minus_d": lambda logit: -scipy.special.log_expit(-logit),  # -log(1 - D)
    "log_d": lambda logit: scipy.special.log_expit(logit),  # log D
    "logit": lambda logit: scipy.special.log_expit(logit) - scipy.special.log_expit(-logit),  # log D - log(1 - D)
    "airl": lambda logit: scipy.special.log_expit(logit) - scipy.special.log_expit(-logit),  # = f - log pi
}
MODERATE_LOGITS = np.linspace(-8.0, 8.0, 33, dtype=np.float32)
EXTREME_LOGITS = np.array([-100.0, -60.0, -30.0, -15.0, 15.0, 30.0, 60.0, 100.0], np.float32)


def test_every_reward_form_has_a_reference():
    assert set(REFERENCE_REWARDS) == set(REWARD_NAMES)


@pytest.mark.parametrize("name", REWARD_NAMES)
@pytest.mark.parametrize("logits", [MODERATE_LOGITS, EXTREME_LOGITS], ids=["moderate", "extreme"])
def test_reward_form_equals_its_formula(name, logits):
    expected = REFERENCE_REWARDS[name](logits.astype(np.float64))
    np.testing.assert_allclose(get_reward_fn(name)(jnp.asarray(logits)), expected, rtol=2e-6, atol=1e-30)
    np.testing.assert_allclose(relabel_rewards(jnp.asarray(logits), name), expected, rtol=2e-6, atol=1e-30)


def test_an_unknown_reward_name_is_rejected_with_the_list_of_valid_names():
    with pytest.raises(ValueError) as error:
        get_reward_fn("gail")
    assert str(error.value) == "unknown reward 'gail'; valid names: " + ", ".join(REFERENCE_REWARDS)


@FAST
@given(name=st.sampled_from(REWARD_NAMES), clip=st.sampled_from([0.1, 1.0, 7.5]), seed=st.integers(0, 2**16),
       traced=st.booleans())
def test_clipped_rewards_equal_the_clipped_formula(name, clip, seed, traced):
    logits = random_logits(seed, (4, 6), 30.0)
    expected = np.clip(REFERENCE_REWARDS[name](logits.astype(np.float64)), -clip, clip)
    clip_value = jnp.asarray(clip) if traced else clip  # a swept (array) clip takes the same path
    np.testing.assert_allclose(relabel_rewards(jnp.asarray(logits), name, clip_value), expected, rtol=2e-6, atol=1e-30)
