"""The discriminator: features, networks, loss and Adam updates (GAIL and AIRL).

Convention (whole project): the network outputs a logit ``l``; ``sigmoid(l)`` is the
probability that a pair is EXPERT. Expert pairs get label 1, policy pairs label 0.

kind="gail": ``l = MLP(features(s, a))`` (Ho & Ermon 2016, Algorithm 1, labels swapped).
kind="airl": ``l = f(s,a,s') - log pi(a|s)`` with the shaped reward
``f = g(s,a) + gamma * (1 - terminated) * h(s') - h(s)``, so that
``D = exp(f) / (exp(f) + pi(a|s))`` (Fu et al. 2018). ``airl_reward_g`` exports g.
With ``absorbing=True`` a true end leads to the absorbing state instead of to nothing:
``f = g(s,a) + gamma * h(abs) - h(s)`` there, and the absorbing state's own transition
``f(abs) = g(abs) + (gamma - 1) * h(abs)`` (pi(abs) = 1) is scored like any other pair.
Without it, ``h(s') = 0`` after a true end makes ending a free choice whenever the learned
rewards are negative, and the learner ends episodes on purpose (seen on CartPole).

Everything below is a pure function of pytrees. Numeric config fields are pytree leaves,
so ``jax.vmap`` over a batch of configs sweeps them; ``num_actions`` is a Python int (or
None for continuous actions) and must be static under ``jax.jit``. Expert data is always
an argument, so vmapping over seeds shares it (``in_axes=None``) instead of copying it.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from jgail.core.checks import check_count, check_number
from jgail.core.errors import ConfigError
from jgail.core.networks import ACTIVATIONS, MLP

INPUT_MODES = ("state_action", "state", "state_next_state")
KINDS = ("gail", "airl")


def _check_choice(field: str, value, valid) -> None:
    if value not in valid:
        raise ConfigError(f"DiscriminatorConfig.{field}={value!r} is not supported; "
                          f"set it to one of: {', '.join(valid)}")


class DiscriminatorConfig(struct.PyTreeNode):
    """Discriminator settings. Structural fields (network shape, input mode, kind, update
    count, batch size, normalisation, absorbing) are static; learning_rate, grad_penalty,
    entropy_coef, label_smoothing and gamma are pytree leaves (vmappable)."""

    hidden_sizes: tuple[int, ...] = struct.field(pytree_node=False, default=(100, 100))
    activation: str = struct.field(pytree_node=False, default="tanh")
    input_mode: str = struct.field(pytree_node=False, default="state_action")
    num_updates: int = struct.field(pytree_node=False, default=1)  # D steps per GAIL iter
    batch_size: int = struct.field(pytree_node=False, default=256)  # per side
    normalize_inputs: bool = struct.field(pytree_node=False, default=True)  # expert stats
    absorbing: bool = struct.field(pytree_node=False, default=False)  # DAC indicator
    kind: str = struct.field(pytree_node=False, default="gail")
    learning_rate: float = 3e-4
    grad_penalty: float = 0.0  # weight of (||grad_x l(x_hat)|| - 1)^2
    entropy_coef: float = 0.0  # bonus on the Bernoulli entropy of D
    label_smoothing: float = 0.0  # expert label 1 - eps, policy label eps
    gamma: float = 0.99  # AIRL shaping only

    def validate(self) -> None:
        """Raise ConfigError on a bad setting; call before tracing (numeric leaves are checked
        where concrete, elementwise for swept arrays; tracers pass)."""
        for field, valid in (("activation", tuple(ACTIVATIONS)), ("input_mode", INPUT_MODES),
                             ("kind", KINDS)):
            _check_choice(field, getattr(self, field), valid)
        if not self.hidden_sizes or any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1
                                         for h in self.hidden_sizes):
            raise ConfigError(f"DiscriminatorConfig.hidden_sizes={self.hidden_sizes!r}: "
                              "must be a non-empty tuple of positive ints, e.g. (100, 100)")
        for field in ("num_updates", "batch_size"):
            check_count("DiscriminatorConfig", field, getattr(self, field))
        if self.kind == "airl" and self.input_mode == "state_next_state":
            raise ConfigError("DiscriminatorConfig: kind='airl' scores (s, a, s') through g and h; "
                              "set input_mode to 'state_action' or 'state' (g's input)")
        for field, bounds in (  # checked elementwise where concrete (sweeps pass arrays)
            ("learning_rate", {"gt": 0}),
            ("grad_penalty", {"ge": 0}),
            ("entropy_coef", {"ge": 0}),
            ("label_smoothing", {"ge": 0, "lt": 0.5}),
            ("gamma", {"ge": 0, "le": 1}),
        ):
            check_number("DiscriminatorConfig", field, getattr(self, field), **bounds)


class DiscriminatorBatch(struct.PyTreeNode):
    """Transitions scored by D. Leading dims [...] are free (flat [N] for updates)."""

    obs: jax.Array  # [..., obs_dim]
    action: jax.Array  # [...] int (discrete) or [..., act_dim] (continuous)
    next_obs: jax.Array | None = None  # [..., obs_dim]; state_next_state and AIRL
    terminated: jax.Array | None = None  # [...] 1.0 on true terminals (AIRL)
    log_pi: jax.Array | None = None  # [...] log pi(a|s), current policy (AIRL)
    absorbing: jax.Array | None = None  # [...] 1.0 on absorbing-state rows


class DiscriminatorState(struct.PyTreeNode):
    """D's learned state: network params, Adam state and the fixed input standardisation
    (computed once from the expert pairs by `init`)."""

    params: dict  # {"d": ...} for gail; {"g": reward net, "h": potential net} for airl
    opt_state: optax.OptState
    input_mean: jax.Array  # [feature_dim] expert feature mean (zeros if disabled)
    input_std: jax.Array  # [feature_dim] expert feature std (ones if disabled)


def _check_batch(config: DiscriminatorConfig, batch: DiscriminatorBatch) -> None:
    needs = ["next_obs"] if config.input_mode == "state_next_state" else []
    needs += ["next_obs", "terminated", "log_pi"] if config.kind == "airl" else []
    missing = sorted({name for name in needs if getattr(batch, name) is None})
    if missing:
        raise ValueError(f"DiscriminatorBatch is missing {', '.join(missing)}, needed by "
                         f"kind={config.kind!r}, input_mode={config.input_mode!r}; pass them")


def discriminator_features(obs, action, next_obs, *, num_actions: int | None, input_mode: str):
    """Raw D input [..., F]: (s, onehot(a) or a), (s) or (s, s')."""
    _check_choice("input_mode", input_mode, INPUT_MODES)
    if input_mode == "state":
        return obs
    if input_mode == "state_next_state":
        chex.assert_equal_shape([obs, next_obs])
        return jnp.concatenate([obs, next_obs], axis=-1)
    if num_actions is None:  # continuous: [..., act_dim]
        chex.assert_shape(action, obs.shape[:-1] + (None,))
        action_features = action.astype(obs.dtype)
    else:  # discrete: [...] ints
        chex.assert_shape(action, obs.shape[:-1])
        action_features = jax.nn.one_hot(action, num_actions, dtype=obs.dtype)
    return jnp.concatenate([obs, action_features], axis=-1)


def absorbing_features(feature_dim: int) -> jax.Array:
    """The absorbing state's D input [feature_dim + 1]: zeros, indicator 1 (DAC)."""
    return jnp.zeros(feature_dim + 1).at[-1].set(1.0)


def append_absorbing_indicator(features, absorbing=None):
    """[..., F] -> [..., F + 1]; rows with absorbing=1 become absorbing_features(F)."""
    regular = jnp.concatenate([features, jnp.zeros_like(features[..., :1])], axis=-1)
    if absorbing is None:
        return regular
    is_absorbing = jnp.asarray(absorbing)[..., None] > 0
    return jnp.where(is_absorbing, absorbing_features(features.shape[-1]), regular)


def feature_stats(features, weights, num_onehot: int = 0):
    """Weighted mean and std [F] of features [N, F]; one-hot columns stay 0/1."""
    weights = weights / jnp.maximum(weights.sum(), 1e-8)
    mean = weights @ features
    std = jnp.sqrt(weights @ jnp.square(features - mean))
    std = jnp.where(std < 1e-6, 1.0, std)  # constant columns: centre only
    one_hot = jnp.arange(features.shape[-1]) >= features.shape[-1] - num_onehot
    return jnp.where(one_hot, 0.0, mean), jnp.where(one_hot, 1.0, std)


def _apply_network(config, net_params, x):
    """Scalar-head MLP: [..., in_dim] -> [...] logits."""
    return MLP(tuple(config.hidden_sizes), config.activation, 1).apply(net_params, x)[..., 0]


def _batch_features(config, batch, num_actions):
    return discriminator_features(batch.obs, batch.action, batch.next_obs,
                                  num_actions=num_actions, input_mode=config.input_mode)


def normalized_features(state, config, batch, num_actions):
    """Standardised D input [..., F (+1 if absorbing)] (input of d or of AIRL's g)."""
    features = (_batch_features(config, batch, num_actions) - state.input_mean) / state.input_std
    if config.absorbing:
        features = append_absorbing_indicator(features, batch.absorbing)
    return features


def airl_reward_g(params, state, config, batch, num_actions):
    """AIRL's learned reward g(s,a) [...] (g(s) with input_mode='state')."""
    features = normalized_features(state, config, batch, num_actions)
    return _apply_network(config, params["g"], features)


def airl_shaped_reward(params, state, config, batch, num_actions):
    """f(s,a,s') = g(s,a) + gamma * (1 - terminated) * h(s') - h(s), shape [...]; with
    absorbing states, h(s') of a true end is h(abs) (and absorbing rows go abs -> abs)."""
    mean, std = state.input_mean[: batch.obs.shape[-1]], state.input_std[: batch.obs.shape[-1]]
    terminated = batch.terminated.astype(batch.obs.dtype)
    g = airl_reward_g(params, state, config, batch, num_actions)
    if not config.absorbing:
        h = lambda obs: _apply_network(config, params["h"], (obs - mean) / std)  # obs columns' stats
        return g + config.gamma * (1.0 - terminated) * h(batch.next_obs) - h(batch.obs)
    is_absorbing = jnp.zeros_like(terminated) if batch.absorbing is None else batch.absorbing
    h = lambda obs, absorbing: _apply_network(
        config, params["h"], append_absorbing_indicator((obs - mean) / std, absorbing))
    next_absorbing = jnp.maximum(is_absorbing, terminated)  # a true end, or already absorbing
    return g + config.gamma * h(batch.next_obs, next_absorbing) - h(batch.obs, is_absorbing)


def discriminator_logits(params, state, config, batch, num_actions):
    """Logits [...] of D(expert | pair); uses ``params``, and stats from ``state``."""
    _check_batch(config, batch)
    if config.kind == "airl":
        return airl_shaped_reward(params, state, config, batch, num_actions) - batch.log_pi
    features = normalized_features(state, config, batch, num_actions)
    return _apply_network(config, params["d"], features)


def logits(state, config, batch, num_actions):
    """Logits [...] with the state's own params (for reward relabelling)."""
    return discriminator_logits(state.params, state, config, batch, num_actions)


def bernoulli_entropy(logit):
    """Entropy of Bernoulli(sigmoid(l)), elementwise, stable for large |l|."""
    p = jax.nn.sigmoid(logit)
    return p * jax.nn.softplus(-logit) + (1.0 - p) * jax.nn.softplus(logit)


def gradient_penalty(params, state, config, expert_batch, policy_batch, key, num_actions):
    """mean (||grad_x net(x_hat)|| - 1)^2, x_hat random mixes of expert and policy features;
    net is d for gail, the reward net g for airl (the one reading the features)."""
    expert_x = normalized_features(state, config, expert_batch, num_actions)
    policy_x = normalized_features(state, config, policy_batch, num_actions)
    chex.assert_equal_shape([expert_x, policy_x])
    mix = jax.random.uniform(key, expert_x.shape[:-1] + (1,))
    x_hat = mix * expert_x + (1.0 - mix) * policy_x
    net_params = params["g" if config.kind == "airl" else "d"]
    # rows are independent, so the gradient of the sum is the per-row gradient
    grads = jax.grad(lambda x: _apply_network(config, net_params, x).sum())(x_hat)
    norms = jnp.sqrt(jnp.sum(jnp.square(grads), axis=-1) + 1e-12)
    return jnp.mean(jnp.square(norms - 1.0))


def loss_fn(params, state, config, expert_batch, policy_batch, key, num_actions):
    """BCE (smoothed labels) + grad_penalty * GP - entropy_coef * entropy; (loss, metrics)."""
    expert_logits = discriminator_logits(params, state, config, expert_batch, num_actions)
    policy_logits = discriminator_logits(params, state, config, policy_batch, num_actions)
    bce = lambda logit, label: optax.sigmoid_binary_cross_entropy(
        logit, jnp.full_like(logit, label)).mean()
    eps = config.label_smoothing
    bce_loss = bce(expert_logits, 1.0 - eps) + bce(policy_logits, eps)
    weight = config.grad_penalty
    gp = lambda: gradient_penalty(params, state, config, expert_batch, policy_batch, key,
                                  num_actions)
    if isinstance(weight, (int, float)):  # plain number: the GP is traced only when on
        penalty = gp() if weight > 0 else jnp.zeros(())
    else:  # traced weight: skipped at run time when 0 (not under vmap, where both run)
        penalty = jax.lax.cond(weight > 0, gp, lambda: jnp.zeros(()))
    entropy = 0.5 * (bernoulli_entropy(expert_logits).mean()
                     + bernoulli_entropy(policy_logits).mean())
    loss = bce_loss + weight * penalty - config.entropy_coef * entropy
    return loss, {
        "loss": loss, "bce": bce_loss, "grad_penalty": penalty, "entropy": entropy,
        "expert_accuracy": jnp.mean(expert_logits > 0),
        "policy_accuracy": jnp.mean(policy_logits < 0),
        "expert_d": jnp.mean(jax.nn.sigmoid(expert_logits)),
        "policy_d": jnp.mean(jax.nn.sigmoid(policy_logits)),
    }


def init(key, config, expert_batch, num_actions, *, expert_mask=None) -> DiscriminatorState:
    """Network params, Adam state and input stats from the (flat [N]) expert batch.

    ``expert_mask`` [N] (1 = valid row) excludes padding from the stats.
    """
    config.validate()
    _check_batch(config, expert_batch)
    chex.assert_rank(expert_batch.obs, 2)
    features = _batch_features(config, expert_batch, num_actions)
    feature_dim = features.shape[-1]
    if config.normalize_inputs:
        weights = jnp.ones(features.shape[0]) if expert_mask is None else expert_mask
        if config.absorbing and expert_batch.absorbing is not None:
            weights = weights * (1.0 - expert_batch.absorbing.astype(weights.dtype))  # real only
        one_hot = config.input_mode == "state_action" and num_actions is not None
        mean, std = feature_stats(features, weights, num_actions if one_hot else 0)
    else:
        mean, std = jnp.zeros(feature_dim), jnp.ones(feature_dim)
    net = MLP(tuple(config.hidden_sizes), config.activation, 1)
    input_dims = {"d": feature_dim + int(config.absorbing)}  # d's input: features (+ indicator)
    if config.kind == "airl":  # g reads the features, h the observation (each + indicator)
        input_dims = {"g": feature_dim + int(config.absorbing),
                      "h": expert_batch.obs.shape[-1] + int(config.absorbing)}
    keys = dict(zip(input_dims, jax.random.split(key, len(input_dims))))
    params = {name: net.init(keys[name], jnp.zeros((1, dim))) for name, dim in input_dims.items()}
    opt_state = optax.adam(config.learning_rate).init(params)
    return DiscriminatorState(params=params, opt_state=opt_state, input_mean=mean, input_std=std)


def sample_rows(key, data: DiscriminatorBatch, batch_size: int, mask=None):
    """batch_size rows of flat ``data`` [N], uniform with replacement over mask=1 rows."""
    num_rows = data.obs.shape[0]
    if mask is None:
        index = jax.random.randint(key, (batch_size,), 0, num_rows)
    else:
        chex.assert_shape(mask, (num_rows,))
        probs = mask / mask.sum()  # zero-probability rows are never drawn
        index = jax.random.choice(key, num_rows, (batch_size,), replace=True, p=probs)
    return jax.tree.map(lambda x: x[index], data)


def update(key, state, config, expert_data, policy_data, num_actions, *,
           expert_mask=None, policy_mask=None):
    """``config.num_updates`` Adam steps; metrics averaged over them.

    Each step samples ``batch_size`` expert and ``batch_size`` policy pairs uniformly with
    replacement from the flat [N] data, only from rows whose mask is 1 (when given).
    """
    config.validate()
    _check_batch(config, expert_data)
    _check_batch(config, policy_data)
    chex.assert_rank([expert_data.obs, policy_data.obs], 2)
    optimizer = optax.adam(config.learning_rate)  # built here: learning_rate may be traced

    def step(state, step_key):
        expert_key, policy_key, loss_key = jax.random.split(step_key, 3)
        expert_batch = sample_rows(expert_key, expert_data, config.batch_size, expert_mask)
        policy_batch = sample_rows(policy_key, policy_data, config.batch_size, policy_mask)
        grads, metrics = jax.grad(loss_fn, has_aux=True)(
            state.params, state, config, expert_batch, policy_batch, loss_key, num_actions
        )
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return state.replace(params=params, opt_state=opt_state), metrics

    state, metrics = jax.lax.scan(step, state, jax.random.split(key, config.num_updates))
    return state, jax.tree.map(jnp.mean, metrics)
