"""Reward relabelling: turn discriminator logits into rewards for the learner.

Project convention: the discriminator outputs a logit ``l`` and ``D = sigmoid(l)`` is the
probability that a pair is EXPERT (expert label 1, learner label 0). Every reward form
below is a pure function ``f(logits) -> rewards`` of that logit, picked by name.

The write-ups GAIL was founded on label and sign things differently; mapped onto our
logit, several of them are the SAME function:

  name                  source convention                      reward(l)        sign
  --------------------  -------------------------------------  ---------------  --------
  "gail_tutorial"       expert 0, learner 1, r = -log D_tut     softplus(l)      positive
  "gail_paper"          cost log D_paper, D_paper high on       softplus(l)      positive
                        learner pairs, policy minimises cost
  "neg_log_one_minus_d" expert 1, r = -log(1 - D)               softplus(l)      positive
  "log_d"               expert 1, r = log D                     -softplus(-l)    negative
  "logit"               r = log D - log(1 - D)                  l                either
  "airl"                AIRL: l = f(s,a,s') - log pi(a|s)       l                either

So "gail_tutorial", "gail_paper" and "neg_log_one_minus_d" are numerically identical, as
are "logit" and "airl" (they differ in which discriminator produced the logit); and
``logit = neg_log_one_minus_d + log_d`` since ``softplus(l) - softplus(-l) = l``.

Termination bias (see MISSION.md): a positive form pays the learner for every step it
survives, a negative form pays it to end episodes early; only the signed forms ("logit",
"airl") are neutral on average. Absorbing-state handling (discriminator ``absorbing=True``)
is the principled fix; the sign column above tells you what to expect without it.

All forms are computed with ``jax.nn.softplus`` so logits of +-100 give finite rewards.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jgail.core.errors import ConfigError

RewardFn = Callable[[jax.Array], jax.Array]


def gail_tutorial(logits: jax.Array) -> jax.Array:
    """Tutorial GAIL: expert labelled 0, learner 1, reward ``-log D_tut``.

    D_tut = P(learner) = 1 - sigmoid(l) = sigmoid(-l), so
    ``-log D_tut = -log sigmoid(-l) = softplus(l)``. Always positive (survival bonus).
    """
    return jax.nn.softplus(logits)


def gail_paper(logits: jax.Array) -> jax.Array:
    """Ho & Ermon (2016): cost ``log D_paper(s,a)``, D_paper high on learner pairs.

    D_paper = P(learner) = sigmoid(-l). The policy minimises the cost, so its reward is
    ``-log D_paper = softplus(l)``. Always positive (survival bonus).
    """
    return jax.nn.softplus(logits)


def neg_log_one_minus_d(logits: jax.Array) -> jax.Array:
    """Expert labelled 1: reward ``-log(1 - D)`` with D = sigmoid(l).

    ``1 - sigmoid(l) = sigmoid(-l)``, so the reward is ``softplus(l)``. Always positive
    (survival bonus).
    """
    return jax.nn.softplus(logits)


def log_d(logits: jax.Array) -> jax.Array:
    """Expert labelled 1: reward ``log D`` with D = sigmoid(l).

    ``log sigmoid(l) = -softplus(-l)``. Always negative: pays the learner to end
    episodes early.
    """
    return -jax.nn.softplus(-logits)


def logit(logits: jax.Array) -> jax.Array:
    """The raw logit ``l = log D - log(1 - D)`` (AIRL-style). Either sign."""
    return logits


def airl(logits: jax.Array) -> jax.Array:
    """AIRL reward: the logit of the AIRL discriminator, ``f(s,a,s') - log pi(a|s)``.

    Same formula as ``logit``; the difference is the discriminator that produced the
    logit (``DiscriminatorConfig(kind="airl")``). Either sign.
    """
    return logits


_REWARD_FNS: dict[str, RewardFn] = {
    "gail_tutorial": gail_tutorial,
    "gail_paper": gail_paper,
    "neg_log_one_minus_d": neg_log_one_minus_d,
    "log_d": log_d,
    "logit": logit,
    "airl": airl,
}

REWARD_NAMES: tuple[str, ...] = tuple(_REWARD_FNS)


def get_reward_fn(name: str) -> RewardFn:
    """The reward form called ``name``; ConfigError (a ValueError) listing valid names otherwise."""
    if name not in _REWARD_FNS:
        raise ConfigError(
            f"unknown reward {name!r}; valid names: {', '.join(REWARD_NAMES)}"
        )
    return _REWARD_FNS[name]


def relabel_rewards(
    logits: jax.Array, name: str, clip: float | None = None
) -> jax.Array:
    """Rewards of the named form for discriminator ``logits`` (any shape, kept).

    ``clip`` is the largest absolute reward (symmetric clipping); None or inf disables
    it. It may be a traced scalar (e.g. a swept hyperparameter).
    """
    reward_fn = get_reward_fn(name)
    if isinstance(clip, (int, float)) and not clip > 0:
        raise ConfigError(f"clip must be > 0 (or None / inf for no clipping), got {clip}")
    rewards = reward_fn(logits)
    if clip is None or (isinstance(clip, (int, float)) and math.isinf(clip)):
        return rewards
    return jnp.clip(rewards, -clip, clip)
