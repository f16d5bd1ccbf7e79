"""The discriminator: features, learning to separate data, penalties, sweeps, AIRL, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jgail import discriminator as disc
from jgail.core.networks import MLP

KEY = jax.random.PRNGKey(0)
TINY = disc.DiscriminatorConfig(hidden_sizes=(16,), batch_size=32, learning_rate=1e-3)
TRAIN = TINY.replace(num_updates=200, learning_rate=1e-2)  # tests share its compiled update
init = jax.jit(disc.init, static_argnums=3)  # num_actions is static
update = jax.jit(disc.update, static_argnums=5)
loss_fn = jax.jit(disc.loss_fn, static_argnums=6)


def gaussian_pairs(key, mean, num_pairs=256, obs_dim=4, num_actions=2):
    """CartPole-shaped pairs: obs ~ N(mean, 0.3) [N, obs_dim], random actions [N]."""
    obs_key, action_key = jax.random.split(key)
    return disc.DiscriminatorBatch(
        obs=mean + 0.3 * jax.random.normal(obs_key, (num_pairs, obs_dim)),
        action=jax.random.randint(action_key, (num_pairs,), 0, num_actions),
    )


EXPERT = gaussian_pairs(jax.random.PRNGKey(1), +1.0)
POLICY = gaussian_pairs(jax.random.PRNGKey(2), -1.0)


def airl_pairs(key, num_pairs=5, obs_dim=3):
    keys = jax.random.split(key, 5)
    return disc.DiscriminatorBatch(
        obs=jax.random.normal(keys[0], (num_pairs, obs_dim)),
        action=jax.random.randint(keys[1], (num_pairs,), 0, 2),
        next_obs=jax.random.normal(keys[2], (num_pairs, obs_dim)),
        terminated=jax.random.uniform(keys[3], (num_pairs,)) < 0.5,  # bool, as in rollouts
        log_pi=jnp.log(jax.random.uniform(keys[4], (num_pairs,), minval=0.1, maxval=0.9)),
    )


# --- features -------------------------------------------------------------------------


def test_cartpole_features_are_obs_then_one_hot_action():
    obs = jnp.arange(12.0).reshape(3, 4)
    features = disc.discriminator_features(
        obs, jnp.array([0, 1, 1]), None, num_actions=2, input_mode="state_action"
    )
    assert features.shape == (3, 6)
    np.testing.assert_array_equal(features[:, :4], obs)
    np.testing.assert_array_equal(features[:, 4:], [[1, 0], [0, 1], [0, 1]])


def test_continuous_actions_are_concatenated_and_leading_dims_kept():
    obs, action = jnp.ones((5, 7, 3)), jnp.full((5, 7, 2), 0.5)
    features = disc.discriminator_features(
        obs, action, None, num_actions=None, input_mode="state_action"
    )
    assert features.shape == (5, 7, 5)
    np.testing.assert_array_equal(features[..., 3:], action)


def test_state_and_state_next_state_features():
    obs, next_obs = jnp.zeros((2, 4)), jnp.ones((2, 4))
    features = lambda mode: disc.discriminator_features(
        obs, jnp.zeros(2, int), next_obs, num_actions=2, input_mode=mode
    )
    np.testing.assert_array_equal(features("state"), obs)
    pair = features("state_next_state")
    np.testing.assert_array_equal(pair, jnp.concatenate([obs, next_obs], -1))


def test_absorbing_rows_are_zero_except_indicator():
    features = jnp.full((3, 6), 2.0)
    with_indicator = disc.append_absorbing_indicator(features, jnp.array([0.0, 1.0, 0.0]))
    assert with_indicator.shape == (3, 7)
    np.testing.assert_array_equal(with_indicator[1], disc.absorbing_features(6))
    np.testing.assert_array_equal(with_indicator[1], [0, 0, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(with_indicator[0], [2, 2, 2, 2, 2, 2, 0])


def test_inputs_are_standardised_with_expert_stats_and_one_hot_kept():
    state = init(KEY, TINY, EXPERT, 2)
    features = disc.normalized_features(state, TINY, EXPERT, 2)
    np.testing.assert_allclose(features[:, :4].mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(features[:, :4].std(0), 1.0, atol=1e-4)
    np.testing.assert_array_equal(features[:, 4:], jax.nn.one_hot(EXPERT.action, 2))


# --- learning -------------------------------------------------------------------------


def test_discriminator_separates_two_distinct_datasets():
    state = init(KEY, TRAIN, EXPERT, 2)
    state, metrics = update(KEY, state, TRAIN, EXPERT, POLICY, 2)
    expert_logits = disc.logits(state, TRAIN, EXPERT, 2)
    policy_logits = disc.logits(state, TRAIN, POLICY, 2)
    assert float(jnp.mean(expert_logits > 0)) > 0.95
    assert float(jnp.mean(policy_logits < 0)) > 0.95
    assert float(jax.nn.sigmoid(expert_logits).mean()) > float(jax.nn.sigmoid(policy_logits).mean())
    assert float(metrics["expert_d"]) > float(metrics["policy_d"])  # averaged over the steps


def test_masked_rows_are_never_sampled():
    data = disc.DiscriminatorBatch(obs=jnp.arange(10.0)[:, None], action=jnp.zeros(10, int))
    mask = jnp.array([0, 1, 0, 0, 1, 0, 0, 0, 0, 1], jnp.float32)
    rows = disc.sample_rows(KEY, data, 500, mask)
    assert set(np.unique(rows.obs[:, 0]).tolist()) == {1.0, 4.0, 9.0}


def test_update_with_policy_mask_ignores_padding():
    # half of the policy rows are padding copied from the expert data: sampled, they would
    # cap D on expert pairs near 2/3; masked out, D becomes confident there
    padded = jax.tree.map(lambda p, e: jnp.concatenate([p[:128], e[:128]]), POLICY, EXPERT)
    mask = jnp.concatenate([jnp.ones(128), jnp.zeros(128)])
    state = init(KEY, TRAIN, EXPERT, 2)
    expert_d = {}
    for name, policy_mask in (("masked", mask), ("unmasked", None)):
        trained, _ = update(KEY, state, TRAIN, EXPERT, padded, 2, policy_mask=policy_mask)
        expert_d[name] = float(jnp.mean(jax.nn.sigmoid(disc.logits(trained, TRAIN, EXPERT, 2))))
    assert expert_d["masked"] > 0.9
    assert expert_d["unmasked"] < 0.8


def test_loss_adds_gradient_penalty_and_subtracts_entropy_bonus():
    state = init(KEY, TINY, EXPERT, 2)
    base, base_metrics = disc.loss_fn(state.params, state, TINY, EXPERT, POLICY, KEY, 2)
    config = TINY.replace(grad_penalty=10.0, entropy_coef=0.1)
    loss, metrics = disc.loss_fn(state.params, state, config, EXPERT, POLICY, KEY, 2)
    expected = base + 10.0 * metrics["grad_penalty"] - 0.1 * metrics["entropy"]
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    assert float(base_metrics["grad_penalty"]) == 0.0  # off when the weight is 0
    # under jit the weights are traced (lax.cond path): same values
    np.testing.assert_allclose(loss_fn(state.params, state, config, EXPERT, POLICY, KEY, 2)[0],
                               loss, rtol=1e-5)
    np.testing.assert_allclose(loss_fn(state.params, state, TINY, EXPERT, POLICY, KEY, 2)[0],
                               base, rtol=1e-5)


def test_gradient_penalty_is_finite_and_positive_for_a_steep_net():
    state = init(KEY, TINY, EXPERT, 2)
    steep = jax.tree.map(lambda w: 10.0 * w, state.params)  # Lipschitz constant >> 1
    penalty = disc.gradient_penalty(steep, state, TINY, EXPERT, POLICY, KEY, 2)
    assert bool(jnp.isfinite(penalty))
    assert float(penalty) > 1.0


def test_label_smoothing_keeps_logits_finite_on_separable_data():
    # with eps > 0 the BCE optimum is at logit log((1-eps)/eps), not infinity
    config = TRAIN.replace(label_smoothing=0.1)
    state = init(KEY, config, EXPERT, 2)
    state, _ = update(KEY, state, config, EXPERT, POLICY, 2)
    expert_logits = disc.logits(state, config, EXPERT, 2)
    assert float(jnp.max(jnp.abs(expert_logits))) < 2 * np.log(9.0)  # ~6.6 without smoothing
    assert abs(float(expert_logits.mean()) - np.log(9.0)) < 0.3


def test_absorbing_rows_are_scored_by_the_indicator_alone():
    config = TINY.replace(absorbing=True)
    batch = EXPERT.replace(absorbing=jnp.arange(256) < 2)  # bool flags work too
    state = init(KEY, config, batch, 2)
    assert state.params["d"]["params"]["Dense_0"]["kernel"].shape == (7, 16)  # 4 + 2 + indicator
    scores = disc.logits(state, config, batch, 2)
    assert float(scores[0]) == float(scores[1])  # different (s, a), both absorbing
    assert float(scores[0]) != float(scores[2])


# --- sweeps ---------------------------------------------------------------------------


def test_vmap_over_learning_rates_gives_different_params():
    config = TINY.replace(num_updates=3, learning_rate=jnp.array([1e-4, 1e-2]))
    axes = jax.tree.map(lambda _: None, config).replace(learning_rate=0)
    states = jax.vmap(disc.init, in_axes=(None, axes, None, None))(KEY, config, EXPERT, 2)
    start = jax.tree.map(lambda x: x[0], states.params)
    states, metrics = jax.vmap(disc.update, in_axes=(None, 0, axes, None, None, None))(
        KEY, states, config, EXPERT, POLICY, 2
    )
    assert metrics["loss"].shape == (2,)
    moved = [
        sum(float(jnp.sum(jnp.abs(w[i] - w0))) for w, w0 in
            zip(jax.tree.leaves(states.params), jax.tree.leaves(start)))
        for i in range(2)
    ]
    assert 0.0 < moved[0] < moved[1]  # same start, same data: the larger step moves further


def test_vmap_over_seeds_shares_the_expert_data():
    keys = jax.random.split(KEY, 3)
    states = jax.vmap(init, in_axes=(0, None, None, None))(keys, TINY, EXPERT, 2)
    batched = jax.jit(jax.vmap(disc.update, in_axes=(0, 0, None, None, None, None)),
                      static_argnums=5)
    states, metrics = batched(keys, states, TINY, EXPERT, POLICY, 2)
    assert metrics["loss"].shape == (3,)
    kernels = states.params["d"]["params"]["Dense_0"]["kernel"]
    assert kernels.shape == (3, 6, 16)
    assert float(jnp.abs(kernels[0] - kernels[1]).max()) > 0.0


# --- AIRL -----------------------------------------------------------------------------


def test_airl_logit_is_shaped_reward_minus_log_pi():
    config = disc.DiscriminatorConfig(
        hidden_sizes=(8,), kind="airl", gamma=0.9, normalize_inputs=False
    )
    batch = airl_pairs(jax.random.PRNGKey(3))
    state = init(KEY, config, batch, 2)
    net = lambda params, x: MLP((8,), "tanh", 1).apply(params, x)[..., 0]
    g = net(state.params["g"], jnp.concatenate([batch.obs, jax.nn.one_hot(batch.action, 2)], -1))
    f = g + 0.9 * (1.0 - batch.terminated) * net(state.params["h"], batch.next_obs) - net(
        state.params["h"], batch.obs
    )
    logits = disc.logits(state, config, batch, 2)
    np.testing.assert_allclose(logits, f - batch.log_pi, rtol=1e-5, atol=1e-6)
    reward_g = disc.airl_reward_g(state.params, state, config, batch, 2)
    np.testing.assert_allclose(reward_g, g, rtol=1e-6)
    # D = exp(f) / (exp(f) + pi(a|s))
    d = jnp.exp(f) / (jnp.exp(f) + jnp.exp(batch.log_pi))
    np.testing.assert_allclose(jax.nn.sigmoid(logits), d, rtol=1e-5)


def test_airl_with_absorbing_states_ends_in_the_absorbing_potential():
    # f = g(s,a) + gamma * h(s'') - h(s), where s'' is the absorbing state after a true end,
    # and the absorbing state's own row is f = g(abs) + (gamma - 1) * h(abs) (Kostrikov et al.)
    config = disc.DiscriminatorConfig(hidden_sizes=(8,), kind="airl", gamma=0.9, normalize_inputs=False,
                                      absorbing=True)
    batch = airl_pairs(jax.random.PRNGKey(3), num_pairs=6)
    absorbing = np.array([0, 0, 0, 0, 1, 1], np.float32)
    batch = batch.replace(absorbing=jnp.asarray(absorbing))
    state = init(KEY, config, batch, 2)
    net = lambda params, x: np.asarray(MLP((8,), "tanh", 1).apply(params, jnp.asarray(x))[..., 0])
    obs, next_obs = np.asarray(batch.obs), np.asarray(batch.next_obs)
    terminated = np.asarray(batch.terminated, np.float32)
    with_flag = lambda x, flag: np.where(flag[:, None] > 0, np.eye(1, x.shape[1] + 1, x.shape[1]),
                                         np.concatenate([x, np.zeros((len(x), 1))], 1))
    g_in = with_flag(np.concatenate([obs, np.eye(2)[np.asarray(batch.action)]], 1), absorbing)
    g = net(state.params["g"], g_in)
    h_now = net(state.params["h"], with_flag(obs, absorbing))
    h_next = net(state.params["h"], with_flag(next_obs, np.maximum(absorbing, terminated)))
    f = g + 0.9 * h_next - h_now
    np.testing.assert_allclose(disc.logits(state, config, batch, 2), f - np.asarray(batch.log_pi),
                               rtol=1e-5, atol=1e-6)
    h_abs = net(state.params["h"], np.eye(1, 4, 3))
    g_abs = net(state.params["g"], np.eye(1, 6, 5))
    np.testing.assert_allclose(f[4:], np.repeat(g_abs + (0.9 - 1.0) * h_abs, 2), rtol=1e-5, atol=1e-6)


def test_airl_update_runs_and_reduces_loss():
    config = disc.DiscriminatorConfig(hidden_sizes=(16,), kind="airl", batch_size=16,
                                      num_updates=50, learning_rate=1e-2)
    expert = airl_pairs(jax.random.PRNGKey(4), num_pairs=64)
    policy = airl_pairs(jax.random.PRNGKey(5), num_pairs=64).replace(obs=expert.obs - 2.0)
    state = init(KEY, config, expert, 2)
    _, first = loss_fn(state.params, state, config, expert, policy, KEY, 2)
    state, _ = update(KEY, state, config, expert, policy, 2)
    _, last = loss_fn(state.params, state, config, expert, policy, KEY, 2)
    assert bool(jnp.isfinite(last["loss"])) and float(last["loss"]) < float(first["loss"])


def test_airl_without_log_pi_is_rejected():
    config = disc.DiscriminatorConfig(kind="airl")
    with pytest.raises(ValueError, match="missing log_pi, next_obs, terminated"):
        disc.init(KEY, config, EXPERT, 2)


# --- configuration errors --------------------------------------------------------------


def test_bad_activation_is_rejected_with_valid_names():
    with pytest.raises(ValueError, match="activation='sigmoid'.*tanh, relu, elu, gelu, swish"):
        disc.DiscriminatorConfig(activation="sigmoid").validate()


def test_bad_config_raises_before_touching_data():
    # obs=None would crash any traced computation: the ValueError must come first
    not_data = disc.DiscriminatorBatch(obs=None, action=None)
    valid_modes = "state_action, state, state_next_state"
    with pytest.raises(ValueError, match=f"input_mode='pixels'.*{valid_modes}"):
        disc.init(KEY, disc.DiscriminatorConfig(input_mode="pixels"), not_data, 2)
    bad_activation = disc.DiscriminatorConfig(activation="sigmoid")
    with pytest.raises(ValueError, match="activation='sigmoid'"):
        disc.update(KEY, None, bad_activation, not_data, not_data, 2)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"kind": "gan"}, "kind='gan'.*gail, airl"),
        ({"batch_size": 0}, "batch_size=0: must be an int >= 1"),
        ({"hidden_sizes": ()}, "hidden_sizes"),
        ({"label_smoothing": 0.5}, r"label_smoothing=0.5: must be in \[0, 0.5\)"),
        ({"kind": "airl", "input_mode": "state_next_state"},
         "input_mode to 'state_action' or 'state'"),
    ],
)
def test_invalid_settings_explain_the_fix(overrides, message):
    with pytest.raises(ValueError, match=message):
        disc.DiscriminatorConfig(**overrides).validate()


def test_hidden_sizes_accept_numpy_integers_and_refuse_bools():
    disc.DiscriminatorConfig(hidden_sizes=(np.int64(8), 4)).validate()
    with pytest.raises(ValueError, match="hidden_sizes"):
        disc.DiscriminatorConfig(hidden_sizes=(True,)).validate()
