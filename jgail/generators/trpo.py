"""TRPO (Schulman et al. 2015), the GAIL paper's policy optimiser ("generator").

One update on a batch of transitions:
1. advantages by GAE with the current critic;
2. the natural-gradient direction x = F^-1 g, by conjugate gradient on Fisher-vector
   products computed by autodiff (no matrix is built);
3. the largest step along x with 0.5 x^T F x = max_kl, shrunk by a backtracking line
   search until the surrogate improves and the measured KL(old || new) <= max_kl; if no
   fraction qualifies the policy is kept exactly as it was;
4. the critic regressed on the GAE returns with Adam.
`update` has PPO's signature, so GAIL takes either. Numeric hyperparameters are pytree
leaves of `TRPOConfig` (vmappable); iteration counts are static.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from jax.flatten_util import ravel_pytree

from jgail.core.advantages import advantages_and_returns
from jgail.core.checks import check_number
from jgail.core.errors import ConfigError
from jgail.core.networks import PolicyNetworks
from jgail.core.normalization import RunningStats
from jgail.core.rollout import Transitions
from jgail.generators.base import AgentState, register

# CG stops improving (and its divisions are skipped) once |r|^2 falls below this.
CG_RESIDUAL_TOL = 1e-10


class TRPOConfig(struct.PyTreeNode):
    """TRPO hyperparameters. Numeric fields are pytree leaves (vmappable); iteration counts and
    `normalize_advantages` are static. `value_minibatches` must divide num_envs * num_steps.

    Example::

        from jgail import envs, gail, generators
        from jgail.generators.trpo import TRPOConfig

        env = envs.make("CartPole-v1", max_episode_steps=200)
        config = gail.GAILConfig(env=env, generator=TRPOConfig(max_kl=0.01, ent_coef=0.0)).validate()
        same = generators.config_for("trpo", max_kl=0.01)    # by registered name
    """

    max_kl: float = 0.01  # trust region: mean KL(old || new) over the batch
    damping: float = 0.1  # CG solves (F + damping * I) x = g, well-posed when F is singular
    value_learning_rate: float = 1e-3
    ent_coef: float = 0.0  # causal-entropy weight (the paper's lambda), added to the surrogate
    gamma: float = 0.99
    gae_lambda: float = 0.97
    backtrack_ratio: float = 0.8  # candidate steps are backtrack_ratio^k of the full step
    max_grad_norm: float = 0.5  # gradient clipping of the value fit
    cg_iters: int = struct.field(pytree_node=False, default=10)
    backtrack_iters: int = struct.field(pytree_node=False, default=10)
    value_epochs: int = struct.field(pytree_node=False, default=5)
    value_minibatches: int = struct.field(pytree_node=False, default=4)
    normalize_advantages: bool = struct.field(pytree_node=False, default=True)

    def validate(self, batch_size: int | None = None):
        """Raise ConfigError on a bad setting; numeric leaves are checked where concrete
        (elementwise for swept arrays). `batch_size`: also check the value minibatch split."""
        for name in ("cg_iters", "backtrack_iters", "value_epochs", "value_minibatches"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"TRPO {name} must be a positive integer, got {value!r}")
        if batch_size is not None and batch_size % self.value_minibatches:
            raise ConfigError(
                f"TRPO: num_envs * num_steps = {batch_size} is not divisible by "
                f"value_minibatches = {self.value_minibatches}; change one of them"
            )
        for field, bounds in (
            ("max_kl", {"gt": 0}),
            ("damping", {"ge": 0}),
            ("value_learning_rate", {"gt": 0}),
            ("ent_coef", {"ge": 0}),
            ("gamma", {"ge": 0, "le": 1}),
            ("gae_lambda", {"ge": 0, "le": 1}),
            ("backtrack_ratio", {"gt": 0, "lt": 1}),
            ("max_grad_norm", {"gt": 0}),
        ):
            check_number("TRPOConfig", field, getattr(self, field), **bounds)


def _value_optimizer(config: TRPOConfig):
    # The learning rate is applied by hand so it may be a traced (vmapped) value.
    return optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.scale_by_adam(eps=1e-5))


def init_optimizer(config: TRPOConfig, params) -> optax.OptState:
    """Adam state for the critic; the actor moves by natural-gradient steps, statelessly."""
    return _value_optimizer(config).init(params["critic"])


def fisher_vector_product(kl_fn, params_flat, v, damping):
    """(F + damping * I) v with F the Hessian of `kl_fn` (mean KL(old || theta)) at theta_old.

    At theta = theta_old the KL and its gradient vanish, so this Hessian is the Fisher
    information (TRPO paper, appendix C). Forward-over-reverse autodiff: d/de grad KL(theta + e v) = H v,
    the same vector as grad(grad KL . v) at a fraction of the cost, and no matrix.
    """
    _, hessian_v = jax.jvp(jax.grad(kl_fn), (params_flat,), (v,))
    return hessian_v + damping * v


def conjugate_gradient(matvec, b, iters: int):
    """Approximately solve A x = b for symmetric positive-definite A given as `matvec`.

    A fixed `iters` iterations (lax.fori_loop, fixed shapes); once the squared residual is
    below CG_RESIDUAL_TOL the iterate is frozen instead of dividing by ~0.
    """

    def body(_, carry):
        x, r, p, r_dot_r = carry
        a_p = matvec(p)
        p_a_p = p @ a_p
        active = (r_dot_r > CG_RESIDUAL_TOL) & (p_a_p > 0)
        alpha = jnp.where(active, r_dot_r / jnp.where(active, p_a_p, 1.0), 0.0)
        x = x + alpha * p
        r = r - alpha * a_p
        new_r_dot_r = r @ r
        beta = jnp.where(active, new_r_dot_r / jnp.where(active, r_dot_r, 1.0), 0.0)
        return x, r, r + beta * p, new_r_dot_r

    init = (jnp.zeros_like(b), b, b, b @ b)
    return jax.lax.fori_loop(0, iters, body, init)[0]


def line_search(evaluate, params_flat, full_step, max_kl, backtrack_ratio, iters: int):
    """Backtracking: the first theta_old + backtrack_ratio^k * full_step, k = 0..iters-1,
    whose surrogate improves (> 0) and whose mean KL(old || new) <= max_kl.

    `evaluate(flat) -> (surrogate, kl)`. A lax.while_loop that stops at the first
    acceptance (under vmap it runs until every member has stopped). Returns
    (params_flat', accepted, steps, improvement, kl); when nothing qualifies, params_flat
    itself, accepted False, steps = iters, improvement = kl = 0.
    """
    surrogate_old, _ = evaluate(params_flat)
    zero = jnp.zeros((), surrogate_old.dtype)

    def searching(carry):
        k, accepted = carry[:2]
        return (k < iters) & ~accepted

    def try_fraction(carry):
        k, _, params, _, _ = carry
        candidate = params_flat + jnp.power(backtrack_ratio, k) * full_step
        surrogate, kl = evaluate(candidate)
        improvement = surrogate - surrogate_old
        ok = (improvement > 0) & (kl <= max_kl) & jnp.isfinite(surrogate) & jnp.isfinite(kl)
        return (
            k + 1,
            ok,
            jnp.where(ok, candidate, params),
            jnp.where(ok, improvement, zero),
            jnp.where(ok, kl, zero),
        )

    init = (jnp.zeros((), jnp.int32), jnp.zeros((), bool), params_flat, zero, zero)
    k, accepted, params, improvement, kl = jax.lax.while_loop(searching, try_fraction, init)
    return params, accepted, jnp.where(accepted, k - 1, iters), improvement, kl


def _policy_step(actor, obs_stats, obs, action, advantage, config: TRPOConfig, nets):
    """One trust-region step of the actor on flat [B, ...] data. Returns (actor, metrics)."""
    old_flat, unravel = ravel_pytree(actor)

    def dist_at(flat):
        return nets.dist({"actor": unravel(flat)}, obs_stats, obs)

    old_dist = jax.lax.stop_gradient(dist_at(old_flat))
    old_log_prob = old_dist.log_prob(action)

    def terms(flat):
        dist = dist_at(flat)
        gain = jnp.mean(jnp.exp(dist.log_prob(action) - old_log_prob) * advantage)  # importance-sampled
        return gain, dist.entropy().mean(), old_dist.kl(dist).mean()

    def evaluate(flat):  # (surrogate with the entropy bonus, mean KL(old || theta))
        gain, entropy, kl = terms(flat)
        return gain + config.ent_coef * entropy, kl

    def mean_kl(flat):
        return old_dist.kl(dist_at(flat)).mean()

    gradient = jax.grad(lambda flat: evaluate(flat)[0])(old_flat)
    fvp = lambda v: fisher_vector_product(mean_kl, old_flat, v, config.damping)  # noqa: E731
    direction = conjugate_gradient(fvp, gradient, config.cg_iters)
    # Scale so the quadratic KL model of the full step, 0.5 x^T F x, equals max_kl.
    curvature = direction @ fvp(direction)
    positive = curvature > 0
    safe_curvature = jnp.where(positive, curvature, 1.0)
    scale = jnp.where(positive, jnp.sqrt(2 * config.max_kl / safe_curvature), 0.0)
    new_flat, accepted, steps, improvement, kl = line_search(
        evaluate, old_flat, scale * direction, config.max_kl, config.backtrack_ratio,
        config.backtrack_iters,
    )
    # Select on the pytree too, so a rejected step returns the old leaves bit for bit.
    keep_or_take = lambda new, old: jnp.where(accepted, new, old)  # noqa: E731
    new_actor = jax.tree.map(keep_or_take, unravel(new_flat), actor)
    gain, entropy, _ = terms(new_flat)
    metrics = {
        "kl": kl,
        "approx_kl": kl,  # PPO's name, so loops that log it work with either generator
        "accepted": accepted.astype(jnp.float32),
        "line_search_steps": steps.astype(jnp.float32),
        "surrogate_improvement": improvement,
        "policy_loss": -gain,  # negative surrogate at the new policy (entropy apart)
        "entropy": entropy,
    }
    return new_actor, metrics


def _fit_value(key, critic, opt_state, obs_stats, obs, returns, config: TRPOConfig, nets):
    """`value_epochs` epochs of shuffled-minibatch Adam regression of V on the returns."""
    tx = _value_optimizer(config)

    def loss(critic, mb_obs, mb_returns):
        value = nets.value({"critic": critic}, obs_stats, mb_obs)
        return 0.5 * ((value - mb_returns) ** 2).mean()

    def minibatch_step(carry, minibatch):
        critic, opt_state = carry
        loss_value, grads = jax.value_and_grad(loss)(critic, *minibatch)
        updates, opt_state = tx.update(grads, opt_state, critic)
        step = jax.tree.map(lambda u: -config.value_learning_rate * u, updates)
        return (optax.apply_updates(critic, step), opt_state), loss_value

    def epoch(carry, key):
        perm = jax.random.permutation(key, returns.shape[0])
        shuffled = jax.tree.map(
            lambda x: x[perm].reshape((config.value_minibatches, -1) + x.shape[1:]), (obs, returns)
        )
        return jax.lax.scan(minibatch_step, carry, shuffled)

    (critic, opt_state), losses = jax.lax.scan(
        epoch, (critic, opt_state), jax.random.split(key, config.value_epochs)
    )
    return critic, opt_state, losses.mean()


def update(
    key,
    agent: AgentState,
    batch: Transitions,
    obs_stats: RunningStats,
    config: TRPOConfig,
    nets: PolicyNetworks,
    progress: jax.Array,
):
    """One TRPO update on `batch` ([T, N, ...]). Returns (agent, metrics)."""
    del progress  # the trust region sets the step size; there is nothing to anneal
    advantage, returns = advantages_and_returns(
        nets, agent.params, obs_stats, batch, config.gamma, config.gae_lambda
    )
    batch_size = batch.reward.size
    obs, action, advantage, returns = jax.tree.map(
        lambda x: x.reshape((batch_size,) + x.shape[2:]),
        (batch.obs, batch.action, advantage, returns),
    )
    if config.normalize_advantages:
        advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
    actor, metrics = _policy_step(
        agent.params["actor"], obs_stats, obs, action, advantage, config, nets
    )
    critic, opt_state, value_loss = _fit_value(
        key, agent.params["critic"], agent.opt_state, obs_stats, obs, returns, config, nets
    )
    params = {**agent.params, "actor": actor, "critic": critic}
    return AgentState(params, opt_state), {**metrics, "value_loss": value_loss}


register("trpo", TRPOConfig, init_optimizer, update)
