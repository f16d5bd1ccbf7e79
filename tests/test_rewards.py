"""Reward relabelling forms: closed-form values, signs, stability, clipping, names."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from jgail.imitation.rewards import REWARD_NAMES, get_reward_fn, relabel_rewards

LOGITS = jnp.array([-2.0, 0.0, 3.0])
WIDE_LOGITS = jnp.linspace(-30.0, 30.0, 121)
POSITIVE_FORMS = ("gail_tutorial", "gail_paper", "neg_log_one_minus_d")


def softplus(x):
    return math.log1p(math.exp(x))


def test_all_conventions_of_the_mission_are_registered():
    assert set(REWARD_NAMES) == {
        "gail_tutorial", "gail_paper", "neg_log_one_minus_d", "log_d", "logit", "airl"
    }


@pytest.mark.parametrize("name", POSITIVE_FORMS)
def test_positive_forms_are_minus_log_of_learner_probability(name):
    # D_learner = sigmoid(-l): -log sigmoid(-l) = softplus(l); softplus(0) = log 2
    expected = [softplus(-2.0), math.log(2.0), softplus(3.0)]
    np.testing.assert_allclose(relabel_rewards(LOGITS, name), expected, rtol=1e-6)


def test_log_d_is_log_sigmoid_of_logit():
    log_sigmoid = lambda x: -math.log1p(math.exp(-x))
    expected = [log_sigmoid(-2.0), -math.log(2.0), log_sigmoid(3.0)]
    np.testing.assert_allclose(relabel_rewards(LOGITS, "log_d"), expected, rtol=1e-6)


@pytest.mark.parametrize("name", ("logit", "airl"))
def test_logit_forms_return_the_logit(name):
    np.testing.assert_allclose(relabel_rewards(LOGITS, name), LOGITS)


@pytest.mark.parametrize("name", POSITIVE_FORMS)
def test_survival_forms_are_positive_everywhere(name):
    assert bool(jnp.all(relabel_rewards(WIDE_LOGITS, name) > 0))


def test_log_d_is_negative_everywhere():
    assert bool(jnp.all(relabel_rewards(WIDE_LOGITS, "log_d") < 0))


@pytest.mark.parametrize("name", ("logit", "airl"))
def test_logit_sign_is_sign_of_logit(name):
    np.testing.assert_array_equal(
        jnp.sign(relabel_rewards(WIDE_LOGITS, name)), jnp.sign(WIDE_LOGITS)
    )


@pytest.mark.parametrize("name", REWARD_NAMES)
def test_extreme_logits_give_finite_rewards(name):
    rewards = relabel_rewards(jnp.array([-100.0, 100.0]), name)
    assert bool(jnp.all(jnp.isfinite(rewards)))
    assert rewards.shape == (2,)


def test_extreme_logits_match_asymptotes():
    extreme = jnp.array([-100.0, 100.0])
    survival = relabel_rewards(extreme, "neg_log_one_minus_d")
    np.testing.assert_allclose(survival, [0.0, 100.0], atol=1e-6)
    np.testing.assert_allclose(relabel_rewards(extreme, "log_d"), [-100.0, 0.0], atol=1e-6)


def test_same_function_conventions_agree_numerically():
    base = relabel_rewards(WIDE_LOGITS, "neg_log_one_minus_d")
    for name in ("gail_tutorial", "gail_paper"):
        np.testing.assert_array_equal(relabel_rewards(WIDE_LOGITS, name), base)
    np.testing.assert_array_equal(
        relabel_rewards(WIDE_LOGITS, "airl"), relabel_rewards(WIDE_LOGITS, "logit")
    )


def test_logit_is_survival_form_plus_log_d():
    # softplus(l) - softplus(-l) = l
    np.testing.assert_allclose(
        relabel_rewards(WIDE_LOGITS, "neg_log_one_minus_d") + relabel_rewards(WIDE_LOGITS, "log_d"),
        relabel_rewards(WIDE_LOGITS, "logit"),
        atol=1e-5,
    )


def test_clip_bounds_absolute_reward():
    rewards = relabel_rewards(jnp.array([-100.0, -1.0, 0.5, 100.0]), "logit", clip=2.0)
    np.testing.assert_allclose(rewards, [-2.0, -1.0, 0.5, 2.0])


@pytest.mark.parametrize("clip", (None, math.inf))
def test_no_clip_keeps_rewards(clip):
    rewards = relabel_rewards(jnp.array([-100.0, 100.0]), "logit", clip=clip)
    np.testing.assert_allclose(rewards, [-100.0, 100.0])


def test_nonpositive_clip_is_rejected():
    with pytest.raises(ValueError, match="clip must be > 0"):
        relabel_rewards(LOGITS, "logit", clip=0.0)


def test_rewards_keep_the_logit_shape():
    logits = jnp.zeros((5, 3))
    for name in REWARD_NAMES:
        assert relabel_rewards(logits, name).shape == (5, 3)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown reward 'gail'") as info:
        get_reward_fn("gail")
    for name in REWARD_NAMES:
        assert name in str(info.value)
