"""GAIL (Ho & Ermon 2016, Algorithm 1) as one pure training function.

Each iteration (the shared on-policy loop, `jgail.generators.onpolicy`):
  1. sample trajectories with the current policy (the env's reward is only recorded);
  2. update the discriminator D on expert vs. policy pairs;          (`discriminator_step`)
  3. relabel the batch's rewards with the UPDATED D;                  (`relabel`)
  4. take a policy-optimiser step (PPO or TRPO: any registered generator).

    state = init(key, config, expert)           # expert: jgail.demos.ExpertData
    state, metrics = update(state, expert)      # one iteration
    state, metrics = train(key, config, expert) # a whole run
    jax.jit(jax.vmap(train, (0, None, None)))(keys, config, expert)  # many seeds, one expert copy

Episode ends: a truncated step bootstraps from V(next_obs); a terminated one does not.
With `DiscriminatorConfig(absorbing=True)` a terminated step leads to an absorbing state
that D also scores (Kostrikov et al. 2019), worth r_abs / (1 - gamma) from then on.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import struct

from jgail.core.checks import check_number
from jgail.core.errors import ConfigError
from jgail.core.normalization import RunningStats
from jgail.core.rollout import Transitions
from jgail.data.demos import ExpertData
from jgail.generators import onpolicy
from jgail.generators.onpolicy import OnPolicyConfig, OnPolicyState
from jgail.imitation import bc
from jgail.imitation import discriminator as disc
from jgail.imitation.pairs import empty_pairs, expert_pairs, policy_pairs, replay_insert, with_absorbing
from jgail.imitation.rewards import REWARD_NAMES, relabel_rewards

__all__ = ["GAILConfig", "GAILState", "init", "iteration", "relabel", "run", "train", "update",
           "expert_pairs", "policy_pairs"]


class GAILConfig(OnPolicyConfig):
    """GAIL settings: the on-policy loop's (env, generator, num_envs, num_steps,
    total_timesteps, network, normalize_obs), the discriminator, an optional BC warm start
    (`bc.num_updates` > 0), the reward form (`reward`, a name in REWARD_NAMES) and its clip,
    and how many recent policy batches D replays. `jgail.presets.gail_config(env)` gives
    tuned values.

    Example::

        from jgail import discriminator, envs, gail
        from jgail.generators.trpo import TRPOConfig

        env = envs.make("CartPole-v1", max_episode_steps=200)
        config = gail.GAILConfig(
            env=env, generator=TRPOConfig(), total_timesteps=300_000,
            discriminator=discriminator.DiscriminatorConfig(absorbing=True, learning_rate=1e-3),
        ).validate()
    """

    discriminator: disc.DiscriminatorConfig = disc.DiscriminatorConfig()
    bc: bc.BCConfig = bc.BCConfig(num_updates=0)  # num_updates > 0: BC warm start
    reward_clip: float = 10.0  # max |relabelled reward|
    reward: str = struct.field(pytree_node=False, default="neg_log_one_minus_d")
    replay_batches: int = struct.field(pytree_node=False, default=1)  # policy batches D sees

    @property
    def num_actions(self) -> int | None:
        """The env's number of discrete actions; None for continuous actions."""
        return self.env.action_space.num_actions

    def validate(self) -> GAILConfig:
        """Raise ConfigError on a bad setting (reward name, AIRL pairing, counts, discriminator,
        BC, reward_clip, gamma < 1 with absorbing states); returns self."""
        if self.reward not in REWARD_NAMES:
            raise ConfigError(f"unknown reward {self.reward!r}; valid names: {', '.join(REWARD_NAMES)}")
        if self.discriminator.kind == "airl" and self.reward not in ("airl", "logit"):
            raise ConfigError("an AIRL discriminator needs reward='airl' (its logit f - log pi)")
        self.validate_loop(("num_envs", "num_steps", "total_timesteps", "replay_batches"))
        self.discriminator.validate()
        self.bc.validate()
        check_number("GAILConfig", "reward_clip", self.reward_clip, gt=0)
        if self.discriminator.absorbing:  # the absorbing state is worth r_abs / (1 - gamma)
            check_number("GAILConfig", "generator.gamma", self.generator.gamma, ge=0, lt=1)
        return self


class GAILState(OnPolicyState):
    """The whole state of one GAIL run: the on-policy state plus D and its replay of recent
    policy pairs; `jax.vmap` batches it over seeds."""

    discriminator: disc.DiscriminatorState
    replay: disc.DiscriminatorBatch  # [replay_batches * T * N] recent policy pairs for D
    replay_mask: jax.Array  # [replay_batches * T * N] 1 where filled


def _d_inputs(config: GAILConfig, pairs, mask=None):
    return with_absorbing(pairs, mask) if config.discriminator.absorbing else (pairs, mask)


def init(key, config: GAILConfig, expert: ExpertData) -> GAILState:
    """Validate `config`, then a fresh state: policy params (BC warm-started on `expert` when
    `config.bc.num_updates` > 0), D with its input statistics from `expert`, an empty replay
    and freshly reset environments. Observation statistics start from the expert's when
    `normalize_obs`.

    Example::

        import jax
        from jgail import demos, envs, gail, presets

        env = envs.make("CartPole-v1", max_episode_steps=200)
        expert = demos.to_jax(demos.load("runs/demos.npz", env=env))
        config = presets.gail_config(env, "ppo")
        state = jax.jit(gail.init)(jax.random.key(0), config, expert)
    """
    config.validate()
    nets = config.nets
    k_params, k_env, k_disc, k_bc, key = jax.random.split(key, 5)
    params = nets.init(k_params, config.env.obs_dim)
    obs_stats = bc.expert_obs_stats(expert) if config.normalize_obs else RunningStats.create(config.env.obs_dim)
    if config.bc.num_updates:
        params, _ = bc.fit(k_bc, config.bc, nets, params, obs_stats, expert)
    expert_batch, expert_mask = _d_inputs(config, expert_pairs(expert))
    size = config.replay_batches * config.batch_size
    return GAILState(
        config=config, agent=onpolicy.init_agent(k_params, config, params), obs_stats=obs_stats,
        rollout=onpolicy.init_rollout(k_env, config), key=key, iteration=jnp.zeros((), jnp.int32),
        nonfinite_iteration=onpolicy.no_nonfinite_yet(),
        discriminator=disc.init(k_disc, config.discriminator, expert_batch, config.num_actions,
                                expert_mask=expert_mask),
        replay=empty_pairs(config.env, size), replay_mask=jnp.zeros((size,)),
    )


def relabel(d_state, config: GAILConfig, batch: Transitions) -> jax.Array:
    """Rewards [T, N] from D's logits on the batch's pairs (the learner never sees env reward)."""
    pairs = jax.tree.map(lambda x: x.reshape(batch.reward.shape + x.shape[1:]), policy_pairs(batch))
    if config.discriminator.absorbing:
        pairs = pairs.replace(absorbing=jnp.zeros(batch.reward.shape))
    logits = disc.logits(d_state, config.discriminator, pairs, config.num_actions)
    rewards = relabel_rewards(logits, config.reward, config.reward_clip)
    if config.discriminator.absorbing:  # the absorbing state pays r_abs forever after a true end
        one_row = jax.tree.map(lambda x: jnp.zeros((1,) + x.shape[len(batch.reward.shape):], x.dtype), pairs)
        abs_pair = one_row.replace(absorbing=jnp.ones((1,)))  # every absorbing row is the same
        r_abs = relabel_rewards(disc.logits(d_state, config.discriminator, abs_pair, config.num_actions),
                                config.reward, config.reward_clip)[0]
        gamma = config.generator.gamma
        rewards = rewards + batch.terminated * gamma * r_abs / (1.0 - gamma)
    return rewards


def discriminator_step(state: GAILState, key, batch: Transitions, expert: ExpertData):
    """Steps 2-3: update D on expert vs. recent policy pairs, relabel `batch` with the new D."""
    config = state.config
    replay, replay_mask = replay_insert(state.replay, state.replay_mask, policy_pairs(batch), state.iteration)
    log_pi = None
    if config.discriminator.kind == "airl":  # AIRL's D needs log pi(a|s) of the expert's actions
        log_pi = config.nets.dist(state.agent.params, state.obs_stats, expert.obs).log_prob(expert.action)
    expert_batch, expert_mask = _d_inputs(config, expert_pairs(expert, log_pi))
    policy_batch, policy_mask = _d_inputs(config, replay, replay_mask)
    d_state, d_metrics = disc.update(key, state.discriminator, config.discriminator, expert_batch,
                                     policy_batch, config.num_actions, expert_mask=expert_mask,
                                     policy_mask=policy_mask)
    rewards = relabel(d_state, config, batch)
    metrics = {**{f"disc_{k}": v for k, v in d_metrics.items()}, "reward_mean": rewards.mean()}
    state = state.replace(discriminator=d_state, replay=replay, replay_mask=replay_mask)
    return state, batch.replace_rewards(rewards), metrics


def iteration(state: GAILState, expert: ExpertData):
    """One GAIL iteration. Returns (state, metrics, (batch, relabelled rewards))."""
    state, metrics, batch = onpolicy.iteration(state, functools.partial(discriminator_step, expert=expert))
    return state, metrics, (batch, batch.reward)


def update(state: GAILState, expert: ExpertData):
    """One GAIL iteration (collect, update D, relabel, generator step). Returns (state,
    metrics): scalars such as episode_return (the env's, recorded only), the discriminator's
    `disc_*` metrics, reward_mean and the generator's losses.

    Example::

        state = gail.init(jax.random.key(0), config, expert)
        step = jax.jit(gail.update)
        for _ in range(10):
            state, metrics = step(state, expert)
        float(metrics["disc_expert_accuracy"])
    """
    state, metrics, _ = iteration(state, expert)
    return state, metrics


def run(state: GAILState, expert: ExpertData, num_iterations: int):
    """Advance `num_iterations` (static) iterations in one scan; returns (state, metrics
    [num_iterations]). Long runs: call it in chunks and checkpoint the state between them.

    Example::

        state = gail.init(jax.random.key(0), config, expert)
        state, metrics = jax.jit(gail.run, static_argnums=2)(state, expert, 50)
    """
    return onpolicy.run(lambda s: update(s, expert), state, num_iterations)


def train(key, config: GAILConfig, expert: ExpertData):
    """A whole run: `init` then `config.num_iterations` iterations. Returns (state, metrics
    [num_iterations]). Vmap over keys (and over swept config leaves) with `expert` unbatched,
    so every seed shares one copy of the demonstrations.

    Example::

        import jax
        from jgail import demos, envs, gail, presets

        env = envs.make("CartPole-v1", max_episode_steps=200)
        expert = demos.to_jax(demos.load("runs/demos.npz", env=env))
        config = presets.gail_config(env, "trpo")
        keys = jax.random.split(jax.random.key(0), 8)
        states, metrics = jax.jit(jax.vmap(gail.train, (0, None, None)))(keys, config, expert)
        metrics["episode_return"].shape    # [8, config.num_iterations]
    """
    return run(init(key, config, expert), expert, config.num_iterations)
