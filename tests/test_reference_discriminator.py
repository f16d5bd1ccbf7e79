"""Reference checks of the discriminator's loss on tiny inputs: a one-hidden-layer tanh network
with hand-set weights, its logits, BCE with smoothed labels, gradient penalty, Bernoulli
entropy and the logged metrics, each recomputed in numpy float64 (the input gradient of the
network written out by hand, not by autodiff)."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from jgail import discriminator as disc

FAST = settings(max_examples=15, deadline=None, derandomize=True, database=None)


pytestmark = pytest.mark.usefixtures("trace_afresh_under_mutmut")  # tests/conftest.py


KEY = jax.random.PRNGKey(42)

# Three expert and three policy pairs, 2-d observations, 2 discrete actions, so the network
# reads 4 features: (obs - mean) / std, then the one-hot action (kept 0/1).
EXPERT_OBS = np.array([[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8]])
EXPERT_ACTION = np.array([0, 1, 1])
POLICY_OBS = np.array([[-1.0, 0.4], [0.0, 0.0], [2.0, -2.0]])
POLICY_ACTION = np.array([1, 0, 0])
INPUT_MEAN = np.array([0.2, -0.1, 0.0, 0.0])
INPUT_STD = np.array([1.5, 0.5, 1.0, 1.0])
W1 = np.array([[0.8, -0.5, 0.3], [0.2, 1.1, -0.7], [-0.4, 0.6, 0.9], [0.5, -0.3, -1.2]])
B1 = np.array([0.1, -0.2, 0.05])
W2 = np.array([[1.3], [-0.9], [0.6]])
B2 = np.array([-0.65])  # logits in (0, 1) on both sides, so a threshold other than 0 shows
CONFIG = disc.DiscriminatorConfig(hidden_sizes=(3,), activation="tanh", normalize_inputs=False)


def dense_params(w1, b1, w2, b2):
    as32 = lambda x: jnp.asarray(x, jnp.float32)
    return {"params": {"Dense_0": {"kernel": as32(w1), "bias": as32(b1)},
                       "Dense_1": {"kernel": as32(w2), "bias": as32(b2)}}}


def discriminator_state(params):
    return disc.DiscriminatorState(params=params, opt_state=None, input_mean=jnp.asarray(INPUT_MEAN, jnp.float32),
                                   input_std=jnp.asarray(INPUT_STD, jnp.float32))


STATE = discriminator_state({"d": dense_params(W1, B1, W2, B2)})


def pairs(obs, action):
    return disc.DiscriminatorBatch(obs=jnp.asarray(obs, jnp.float32), action=jnp.asarray(action))


EXPERT, POLICY = pairs(EXPERT_OBS, EXPERT_ACTION), pairs(POLICY_OBS, POLICY_ACTION)

# --- the numpy reference -----------------------------------------------------------------


def features(obs, action):
    return (np.concatenate([obs, np.eye(2)[action]], -1) - INPUT_MEAN) / INPUT_STD


def network(x, w1=W1, b1=B1, w2=W2, b2=B2):
    return np.tanh(x @ w1 + b1) @ w2[:, 0] + b2[0]


def network_input_gradient(x, w1=W1, b1=B1, w2=W2):
    """d logit / d x = W1 (w2 * tanh'(x W1 + b1)), one row per input row."""
    return ((1.0 - np.tanh(x @ w1 + b1) ** 2) * w2[:, 0]) @ w1.T


def bce(logits, label):
    """Mean binary cross-entropy of logits against a (smoothed) label: -y log D - (1-y) log(1-D)."""
    return np.mean(-label * scipy.special.log_expit(logits) - (1 - label) * scipy.special.log_expit(-logits))


def bernoulli_entropy(logits):
    p = scipy.special.expit(logits)
    return -(p * scipy.special.log_expit(logits) + (1 - p) * scipy.special.log_expit(-logits))


def gradient_penalty(expert_x, policy_x, **weights):
    mix = np.asarray(jax.random.uniform(KEY, (expert_x.shape[0], 1)), np.float64)  # the library's draw
    norms = np.sqrt(np.sum(network_input_gradient(mix * expert_x + (1 - mix) * policy_x, **weights) ** 2, -1) + 1e-12)
    return np.mean((norms - 1.0) ** 2)


EXPERT_LOGITS = network(features(EXPERT_OBS, EXPERT_ACTION))
POLICY_LOGITS = network(features(POLICY_OBS, POLICY_ACTION))

# --- tests --------------------------------------------------------------------------------


def test_logits_are_the_network_of_standardised_features():
    np.testing.assert_allclose(disc.logits(STATE, CONFIG, EXPERT, 2), EXPERT_LOGITS, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(disc.logits(STATE, CONFIG, POLICY, 2), POLICY_LOGITS, rtol=1e-5, atol=1e-6)
    assert np.ptp(np.concatenate([EXPERT_LOGITS, POLICY_LOGITS])) > 1.0  # the six logits differ


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_bce_with_smoothed_labels_equals_hand_computed_values(eps):
    config = CONFIG.replace(label_smoothing=eps)
    loss, metrics = disc.loss_fn(STATE.params, STATE, config, EXPERT, POLICY, KEY, 2)
    expected = bce(EXPERT_LOGITS, 1.0 - eps) + bce(POLICY_LOGITS, eps)  # expert label 1 - eps, policy eps
    np.testing.assert_allclose(metrics["bce"], expected, rtol=1e-5)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)  # no penalty, no entropy bonus


def test_bce_of_known_logits():
    # With only the output bias set, every logit is that bias c: with eps = 0 the BCE is
    # -log sigmoid(c) - log(1 - sigmoid(c)) = softplus(-c) + softplus(c); at c = 0, 2 log 2.
    for c in (0.0, 2.0):
        state = discriminator_state({"d": dense_params(0 * W1, 0 * B1, 0 * W2, [c])})
        _, metrics = disc.loss_fn(state.params, state, CONFIG, EXPERT, POLICY, KEY, 2)
        np.testing.assert_allclose(metrics["bce"], np.logaddexp(0, -c) + np.logaddexp(0, c), rtol=1e-6)


def test_gradient_penalty_equals_hand_computed_input_gradients():
    expected = gradient_penalty(features(EXPERT_OBS, EXPERT_ACTION), features(POLICY_OBS, POLICY_ACTION))
    penalty = disc.gradient_penalty(STATE.params, STATE, CONFIG, EXPERT, POLICY, KEY, 2)
    np.testing.assert_allclose(penalty, expected, rtol=1e-5)
    assert expected > 1e-2  # the gradient norms are far from 1: the penalty is not trivially 0


def test_gradient_penalty_mixes_each_row_of_a_batch_with_leading_dimensions():
    # [2, 3] pairs: one mixing weight per pair, gradient norms over the feature axis
    expert = pairs(np.stack([EXPERT_OBS, POLICY_OBS]), np.stack([EXPERT_ACTION, POLICY_ACTION]))
    policy = pairs(np.stack([POLICY_OBS, EXPERT_OBS[::-1]]), np.stack([POLICY_ACTION, EXPERT_ACTION[::-1]]))
    expert_x, policy_x = features(np.asarray(expert.obs, np.float64), np.asarray(expert.action)), features(
        np.asarray(policy.obs, np.float64), np.asarray(policy.action))
    mix = np.asarray(jax.random.uniform(KEY, (2, 3, 1)), np.float64)  # the library's draw
    gradients = network_input_gradient(mix * expert_x + (1 - mix) * policy_x)
    expected = np.mean((np.sqrt(np.sum(gradients**2, -1) + 1e-12) - 1.0) ** 2)
    np.testing.assert_allclose(disc.gradient_penalty(STATE.params, STATE, CONFIG, expert, policy, KEY, 2), expected,
                               rtol=1e-5)


def test_gradient_penalty_of_a_flat_network_is_one_and_differentiable():
    # zero input gradients: norm sqrt(0 + 1e-12) = 1e-6, so the penalty is (1e-6 - 1)^2 and its gradient finite
    flat = {"d": dense_params(0 * W1, B1, W2, B2)}
    penalty, grads = jax.value_and_grad(disc.gradient_penalty)(flat, STATE, CONFIG, EXPERT, POLICY, KEY, 2)
    np.testing.assert_allclose(penalty, (1e-6 - 1.0) ** 2, rtol=1e-6)
    assert all(np.all(np.isfinite(leaf)) for leaf in jax.tree.leaves(grads))


def test_airl_gradient_penalty_differentiates_the_reward_net_g():
    config = CONFIG.replace(kind="airl")
    h = dense_params(W1[:2], B1, -W2, B2)  # h reads observations only
    state = discriminator_state({"g": dense_params(W1, B1, W2, B2), "h": h})
    expected = gradient_penalty(features(EXPERT_OBS, EXPERT_ACTION), features(POLICY_OBS, POLICY_ACTION))
    np.testing.assert_allclose(disc.gradient_penalty(state.params, state, config, EXPERT, POLICY, KEY, 2), expected,
                               rtol=1e-5)


jitted_loss_fn = jax.jit(disc.loss_fn, static_argnums=6)  # config leaves traced: the lax.cond path


@pytest.mark.parametrize("loss_fn", [disc.loss_fn, jitted_loss_fn], ids=["eager", "jit"])
@pytest.mark.parametrize("grad_penalty, entropy_coef, eps", [(0.0, 0.0, 0.0), (10.0, 0.0, 0.0), (0.5, 0.0, 0.0),
                                                             (2.5, 0.3, 0.2), (0.0, 1.0, 0.1)])
def test_loss_and_metrics_equal_hand_computed_values(loss_fn, grad_penalty, entropy_coef, eps):
    config = CONFIG.replace(grad_penalty=grad_penalty, entropy_coef=entropy_coef, label_smoothing=eps)
    loss, metrics = loss_fn(STATE.params, STATE, config, EXPERT, POLICY, KEY, 2)
    bce_loss = bce(EXPERT_LOGITS, 1.0 - eps) + bce(POLICY_LOGITS, eps)
    penalty = gradient_penalty(features(EXPERT_OBS, EXPERT_ACTION), features(POLICY_OBS, POLICY_ACTION))
    penalty = penalty if grad_penalty > 0 else 0.0  # skipped, and logged as 0, when its weight is 0
    entropy = 0.5 * (bernoulli_entropy(EXPERT_LOGITS).mean() + bernoulli_entropy(POLICY_LOGITS).mean())
    expected = {
        "loss": bce_loss + grad_penalty * penalty - entropy_coef * entropy,
        "bce": bce_loss,
        "grad_penalty": penalty,
        "entropy": entropy,
        "expert_accuracy": np.mean(EXPERT_LOGITS > 0),
        "policy_accuracy": np.mean(POLICY_LOGITS < 0),
        "expert_d": np.mean(scipy.special.expit(EXPERT_LOGITS)),
        "policy_d": np.mean(scipy.special.expit(POLICY_LOGITS)),
    }
    assert set(metrics) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(metrics[name], value, rtol=1e-5, atol=1e-7, err_msg=name)
    np.testing.assert_allclose(loss, expected["loss"], rtol=1e-5)


def test_a_logit_of_exactly_zero_is_counted_wrong_on_both_sides():
    zeros = discriminator_state({"d": dense_params(0 * W1, 0 * B1, 0 * W2, [0.0])})
    _, metrics = disc.loss_fn(zeros.params, zeros, CONFIG, EXPERT, POLICY, KEY, 2)
    assert float(metrics["expert_accuracy"]) == float(metrics["policy_accuracy"]) == 0.0
    assert float(metrics["expert_d"]) == float(metrics["policy_d"]) == 0.5


@FAST
@given(logit=st.one_of(st.floats(-8, 8), st.sampled_from([-100.0, -40.0, -20.0, 20.0, 40.0, 100.0])))
def test_bernoulli_entropy_equals_scipy(logit):
    logits = np.float32([logit, -logit])
    p = scipy.special.expit(logits.astype(np.float64))
    entropy = disc.bernoulli_entropy(jnp.asarray(logits))
    if abs(logit) <= 8:
        np.testing.assert_allclose(entropy, scipy.stats.bernoulli(p).entropy(), rtol=1e-4, atol=1e-7)  # nats
    else:  # float32 1 - sigmoid(l) is 0 past l ~ 17, so only an absolute error is small there (< 1e-6 of log 2)
        np.testing.assert_allclose(entropy, bernoulli_entropy(logits.astype(np.float64)), rtol=0, atol=1e-6)
    assert np.all(np.isfinite(entropy))
