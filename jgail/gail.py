"""GAIL (Ho & Ermon 2016, Algorithm 1) as one pure training function.

Each iteration:
  1. sample trajectories with the current policy (the env's reward is only recorded);
  2. update the discriminator D on expert vs. policy pairs;
  3. relabel the batch's rewards with the UPDATED D;
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

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jgail import bc, generators
from jgail import discriminator as disc
from jgail.demos import ExpertData
from jgail.envs import Env
from jgail.generators import AgentState
from jgail.networks import NetworkConfig, PolicyNetworks
from jgail.normalization import RunningStats
from jgail.ppo import PPOConfig
from jgail.rewards import REWARD_NAMES, relabel_rewards
from jgail.rollout import RolloutCarry, Transitions, collect, episode_stats, reset_envs


class GAILConfig(struct.PyTreeNode):
    env: Env = struct.field(pytree_node=False)
    generator: Any = PPOConfig()  # PPOConfig or TRPOConfig; ent_coef = causal entropy weight
    discriminator: disc.DiscriminatorConfig = disc.DiscriminatorConfig()
    bc: bc.BCConfig = bc.BCConfig(num_updates=0)  # num_updates > 0: BC warm start
    reward_clip: float = 10.0  # max |relabelled reward|
    reward: str = struct.field(pytree_node=False, default="neg_log_one_minus_d")
    num_envs: int = struct.field(pytree_node=False, default=16)
    num_steps: int = struct.field(pytree_node=False, default=128)
    total_timesteps: int = struct.field(pytree_node=False, default=500_000)
    network: NetworkConfig = struct.field(pytree_node=False, default=NetworkConfig())
    normalize_obs: bool = struct.field(pytree_node=False, default=False)
    replay_batches: int = struct.field(pytree_node=False, default=1)  # policy batches D sees

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def num_iterations(self) -> int:
        return max(1, self.total_timesteps // self.batch_size)

    @property
    def nets(self) -> PolicyNetworks:
        return PolicyNetworks.create(self.env.action_space, self.network, self.normalize_obs)

    @property
    def num_actions(self) -> int | None:
        return self.env.action_space.num_actions

    def validate(self) -> "GAILConfig":
        if not isinstance(self.env, Env):
            raise ValueError("GAILConfig.env must be made with jgail.envs.make(...)")
        if self.reward not in REWARD_NAMES:
            raise ValueError(f"unknown reward {self.reward!r}; valid names: {', '.join(REWARD_NAMES)}")
        if self.discriminator.kind == "airl" and self.reward not in ("airl", "logit"):
            raise ValueError("an AIRL discriminator needs reward='airl' (its logit f - log pi)")
        for field in ("num_envs", "num_steps", "total_timesteps", "replay_batches"):
            if int(getattr(self, field)) < 1:
                raise ValueError(f"GAILConfig.{field} must be >= 1, got {getattr(self, field)}")
        self.network.validate()
        self.discriminator.validate()
        self.bc.validate()
        generators.get(self.generator)
        self.generator.validate(self.batch_size)
        return self


class GAILState(struct.PyTreeNode):
    config: GAILConfig
    agent: AgentState
    obs_stats: RunningStats
    discriminator: disc.DiscriminatorState
    replay: disc.DiscriminatorBatch  # [replay_batches * T * N] recent policy pairs for D
    replay_mask: jax.Array  # [replay_batches * T * N] 1 where filled
    rollout: RolloutCarry
    key: jax.Array
    iteration: jax.Array  # []


def _flat(x):
    return x.reshape((-1,) + x.shape[2:])


def policy_pairs(batch: Transitions) -> disc.DiscriminatorBatch:
    """The policy's (s, a, s') pairs as D sees them, flat [T * N]."""
    return disc.DiscriminatorBatch(
        obs=_flat(batch.obs), action=_flat(batch.action), next_obs=_flat(batch.next_obs),
        terminated=_flat(batch.terminated).astype(jnp.float32), log_pi=_flat(batch.log_prob),
    )


def expert_pairs(expert: ExpertData, log_pi=None) -> disc.DiscriminatorBatch:
    return disc.DiscriminatorBatch(
        obs=expert.obs, action=expert.action, next_obs=expert.next_obs,
        terminated=expert.terminated.astype(jnp.float32),
        log_pi=jnp.zeros(expert.obs.shape[0]) if log_pi is None else log_pi,
    )


def with_absorbing(pairs: disc.DiscriminatorBatch, mask=None):
    """Append one absorbing row per pair, valid only where the pair terminated (DAC)."""
    real = jnp.ones_like(pairs.terminated) if mask is None else mask
    absorbing_rows = jax.tree.map(jnp.zeros_like, pairs)
    doubled = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), pairs, absorbing_rows)
    flags = jnp.concatenate([jnp.zeros_like(real), jnp.ones_like(real)])
    doubled = doubled.replace(absorbing=flags)
    return doubled, jnp.concatenate([real, real * pairs.terminated])


def init(key, config: GAILConfig, expert: ExpertData) -> GAILState:
    config.validate()
    nets = config.nets
    k_params, k_env, k_disc, k_bc, key = jax.random.split(key, 5)
    params = nets.init(k_params, config.env.obs_dim)
    obs_stats = bc.expert_obs_stats(expert) if config.normalize_obs else RunningStats.create(config.env.obs_dim)
    if config.bc.num_updates:
        params, _ = bc.fit(k_bc, config.bc, nets, params, obs_stats, expert)
    opt_state = generators.get(config.generator).init_optimizer(config.generator, params)
    expert_batch = expert_pairs(expert)
    expert_mask = None
    if config.discriminator.absorbing:
        expert_batch, expert_mask = with_absorbing(expert_batch)
    d_state = disc.init(k_disc, config.discriminator, expert_batch, config.num_actions,
                        expert_mask=expert_mask)
    rollout = reset_envs(k_env, config.env, config.num_envs)
    size = config.replay_batches * config.batch_size
    replay = empty_pairs(config.env, size)
    return GAILState(config, AgentState(params, opt_state), obs_stats, d_state, replay,
                     jnp.zeros((size,)), rollout, key, jnp.zeros((), jnp.int32))


def empty_pairs(env: Env, size: int) -> disc.DiscriminatorBatch:
    """`size` placeholder policy pairs (masked out until filled)."""
    space = env.action_space
    action = jnp.zeros((size,), jnp.int32) if space.discrete else jnp.zeros((size,) + space.shape)
    obs = jnp.zeros((size, env.obs_dim))
    return disc.DiscriminatorBatch(obs=obs, action=action, next_obs=obs, terminated=jnp.zeros((size,)),
                                   log_pi=jnp.zeros((size,)))


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


def iteration(state: GAILState, expert: ExpertData):
    """One GAIL iteration. Returns (state, metrics, (batch, relabelled rewards))."""
    config, nets = state.config, state.config.nets
    key, k_roll, k_disc, k_gen = jax.random.split(state.key, 4)
    policy = lambda obs: nets.dist(state.agent.params, state.obs_stats, obs)  # noqa: E731
    batch, rollout = collect(k_roll, config.env, policy, state.rollout, config.num_steps)

    # Policy pairs for D: this batch, plus earlier ones if replay_batches > 1.
    slot = (state.iteration % config.replay_batches) * config.batch_size
    replay = jax.tree.map(lambda buf, new: jax.lax.dynamic_update_slice_in_dim(buf, new, slot, 0),
                          state.replay, policy_pairs(batch))
    replay_mask = jax.lax.dynamic_update_slice_in_dim(state.replay_mask, jnp.ones(config.batch_size), slot, 0)
    log_pi = policy(expert.obs).log_prob(expert.action) if config.discriminator.kind == "airl" else None
    expert_batch, expert_mask = expert_pairs(expert, log_pi), None
    policy_batch, policy_mask = replay, replay_mask
    if config.discriminator.absorbing:
        expert_batch, expert_mask = with_absorbing(expert_batch)
        policy_batch, policy_mask = with_absorbing(replay, replay_mask)
    d_state, d_metrics = disc.update(k_disc, state.discriminator, config.discriminator, expert_batch,
                                     policy_batch, config.num_actions, expert_mask=expert_mask,
                                     policy_mask=policy_mask)

    rewards = relabel(d_state, config, batch)  # with the updated D
    progress = state.iteration / config.num_iterations
    agent, g_metrics = generators.get(config.generator).update(
        k_gen, state.agent, batch.replace_rewards(rewards), state.obs_stats, config.generator, nets, progress)
    obs_stats = state.obs_stats.update(batch.obs) if config.normalize_obs else state.obs_stats

    metrics = {**g_metrics, **{f"disc_{k}": v for k, v in d_metrics.items()}, **episode_stats(batch)}
    metrics["reward_mean"] = rewards.mean()
    metrics["env_steps"] = (state.iteration + 1) * config.batch_size
    new_state = state.replace(agent=agent, obs_stats=obs_stats, discriminator=d_state, replay=replay,
                              replay_mask=replay_mask, rollout=rollout, key=key,
                              iteration=state.iteration + 1)
    return new_state, metrics, (batch, rewards)


def update(state: GAILState, expert: ExpertData):
    state, metrics, _ = iteration(state, expert)
    return state, metrics


def run(state: GAILState, expert: ExpertData, num_iterations: int):
    return jax.lax.scan(lambda s, _: update(s, expert), state, None, length=num_iterations)


def train(key, config: GAILConfig, expert: ExpertData):
    return run(init(key, config, expert), expert, config.num_iterations)
