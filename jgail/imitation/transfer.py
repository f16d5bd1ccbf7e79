"""Re-optimising AIRL's learned reward: a fresh agent trained from scratch on g, with the
environment's reward hidden (Fu et al. 2018, section 7: a reward that transfers, not only
a policy that imitates).

    state, _ = gail.train(key, airl_config, expert)      # discriminator kind="airl"
    reward = transfer.LearnedReward.from_gail(state)     # g and its absorbing-state value
    agent, metrics = jax.jit(transfer.train)(key, rl_config, reward)

The learner's reward at a step from s is g(s) (g(s, a) with input_mode "state_action");
a true end adds the absorbing state's worth, gamma * g(abs) / (1 - gamma), as in GAIL's
relabelling. Rewards are clipped at +-`clip`, like GAIL's.

One PPO run on a learned reward can settle in a poor local optimum that the reward itself
scores low; `train_best_of` trains several fresh learners on the same reward in one call and
keeps the one with the highest learned return, never looking at the env's reward (as
`jgail expert` keeps the best of its seeds).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jgail.core.checks import check_count
from jgail.core.errors import ConfigError
from jgail.core.rollout import Transitions
from jgail.generators import onpolicy, rl
from jgail.imitation import discriminator as disc
from jgail.imitation.pairs import policy_pairs

__all__ = ["LearnedReward", "learned_return", "pick_best", "rewards", "train", "train_best_of"]


class LearnedReward(struct.PyTreeNode):
    """AIRL's reward network g with what it needs to score a batch."""

    discriminator: disc.DiscriminatorState
    config: disc.DiscriminatorConfig = struct.field(pytree_node=False)
    num_actions: int | None = struct.field(pytree_node=False)
    clip: float = 10.0

    @classmethod
    def from_gail(cls, state) -> LearnedReward:
        """The reward learned by a GAIL run whose discriminator is AIRL's (a `GAILState`, or a
        batch of them from `jax.vmap(gail.train)`, giving one reward per seed); the clip is
        the run's `reward_clip`. Raises ConfigError for a non-AIRL discriminator.

        Example::

            import jax
            from jgail import demos, envs, gail, presets
            from jgail.imitation import transfer

            env = envs.make("CartPole-v1", max_episode_steps=200)
            expert = demos.to_jax(demos.load("runs/demos.npz", env=env))
            airl_state, _ = jax.jit(gail.train)(jax.random.key(0), presets.airl_config(env, state_only=True), expert)
            reward = transfer.LearnedReward.from_gail(airl_state)
        """
        config = state.config
        if config.discriminator.kind != "airl":
            raise ConfigError("only an AIRL discriminator (kind='airl') learns a reward g to transfer; "
                              f"this run's discriminator is kind={config.discriminator.kind!r}")
        return cls(state.discriminator, config.discriminator, config.num_actions, config.reward_clip)


def rewards(reward: LearnedReward, batch: Transitions, gamma) -> jax.Array:
    """g(s) [T, N] for the batch's steps, plus gamma * g(abs) / (1 - gamma) at true ends."""
    shape = batch.reward.shape
    pairs = jax.tree.map(lambda x: x.reshape(shape + x.shape[1:]), policy_pairs(batch))
    config, d_state = reward.config, reward.discriminator
    if config.absorbing:
        pairs = pairs.replace(absorbing=jnp.zeros(shape))
    g = jnp.clip(disc.airl_reward_g(d_state.params, d_state, config, pairs, reward.num_actions),
                 -reward.clip, reward.clip)
    if not config.absorbing:
        return g
    one_row = jax.tree.map(lambda x: jnp.zeros((1,) + x.shape[len(shape):], x.dtype), pairs)
    g_abs = disc.airl_reward_g(d_state.params, d_state, config, one_row.replace(absorbing=jnp.ones((1,))),
                               reward.num_actions)[0]
    return g + batch.terminated * gamma * jnp.clip(g_abs, -reward.clip, reward.clip) / (1.0 - gamma)


def train(key, config: rl.RLConfig, reward: LearnedReward):
    """A fresh RL run (`config`, e.g. `presets.expert_config(env)`) on the learned reward.
    Returns (RLState, metrics [num_iterations]); metrics' episode_return is the env's,
    recorded only, and learned_reward_mean the mean reward the learner was given. Vmap over
    keys, with `reward` batched too when it came from a batch of AIRL runs.

    Example::

        reward = transfer.LearnedReward.from_gail(airl_state)     # see LearnedReward.from_gail
        agent, metrics = jax.jit(transfer.train)(jax.random.key(1), presets.expert_config(env), reward)
        metrics["episode_return"][-1]                             # the env's return, never seen by the agent
    """
    gamma = config.generator.gamma

    def relabel(state, key, batch):
        learned = rewards(reward, batch, gamma)
        return state, batch.replace_rewards(learned), {"learned_reward_mean": learned.mean()}

    def update(state):
        state, metrics, _ = onpolicy.iteration(state, relabel)
        return state, metrics

    return onpolicy.run(update, rl.init(key, config), config.num_iterations)


def learned_return(metrics) -> jax.Array:
    """How well learners did by the learned reward alone: the mean learned reward per step
    over the last tenth of their iterations (at least one). `metrics` from `train`, with
    `learned_reward_mean` [..., num_iterations]; returns [...]."""
    per_iteration = metrics["learned_reward_mean"]
    last = max(1, per_iteration.shape[-1] // 10)
    return per_iteration[..., -last:].mean(axis=-1)


def pick_best(states, metrics):
    """Of K learners trained on one reward (leading axis K on `states` and `metrics`), the one
    with the highest `learned_return`. Returns (state, metrics, index [], learned returns [K])."""
    scores = learned_return(metrics)
    best = jnp.argmax(scores)
    take = lambda x: x[best]  # noqa: E731
    return jax.tree.map(take, states), jax.tree.map(take, metrics), best, scores


def train_best_of(key, config: rl.RLConfig, reward: LearnedReward, num_learners: int):
    """`num_learners` fresh RL runs (keys split from `key`) on the same learned reward in one
    vmapped call; returns `pick_best`'s (state, metrics, index, learned returns [K]). The env's
    reward is never used to choose. Pendulum-v1 (README, AIRL; 3 sets of 8 rewards x 4 learners):
    single learners on AIRL's g averaged 0.88 normalised, the kept ones 0.95; each of the 13
    learners that stalled (0.24-0.63) had a lower learned return than every learner of its
    reward that reached 0.9.

    Example::

        state, metrics, best, scores = jax.jit(transfer.train_best_of, static_argnums=3)(
            jax.random.key(1), presets.expert_config(env), reward, 4)
    """
    check_count("train_best_of", "num_learners", num_learners)
    keys = jax.random.split(key, num_learners)
    states, metrics = jax.vmap(train, (0, None, None))(keys, config, reward)
    return pick_best(states, metrics)
