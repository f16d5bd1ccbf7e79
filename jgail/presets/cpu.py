"""The CPU budget's presets (tens of envs per seed): the defaults `jgail expert` and `jgail gail`
use, keyed by environment id (with a default per action type), each with the evidence that
chose it. `jgail.presets` selects between these and the accelerator budget's.

    config = presets.expert_config(env)                 # an rl.RLConfig
    config = presets.gail_config(env, generator="trpo") # a gail.GAILConfig

Evaluation in all evidence below: the mean return over 100 episodes with sampled actions,
on 2 CPU cores, fixed seeds.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from jgail.core.env import Env
from jgail.core.networks import NetworkConfig
from jgail.generators import by_name
from jgail.generators.ppo import PPOConfig
from jgail.generators.rl import RLConfig
from jgail.generators.trpo import TRPOConfig
from jgail.imitation.bc import BCConfig
from jgail.imitation.discriminator import DiscriminatorConfig
from jgail.imitation.gail import GAILConfig

# The paper's networks for policy and discriminator: two hidden layers of 100 tanh units.
PAPER_NETWORK = NetworkConfig((100, 100), "tanh")
EXPERT_NETWORK = NetworkConfig((64, 64), "tanh")

# Picked by a seed sweep (16 seeds per setting, CartPole-v1, 500k steps): 8 envs x 128 steps,
# 10 epochs of 4 minibatches, lr 1e-3 annealed, no entropy bonus: 16/16 seeds evaluate >= 475;
# purejaxrl's 4 x 128, 4 epochs, lr 2.5e-4, entropy 0.01 gave 7/16.
CLASSIC_PPO = PPOConfig(learning_rate=1e-3, ent_coef=0.0, num_epochs=10, num_minibatches=4)
# Common locomotion PPO settings (brax's and CleanRL's MuJoCo defaults) plus brax's reward
# scaling: with the env reward times 0.1, brax/inverted_double_pendulum (spring) reaches the
# 1000-step maximum (9343) by 400k steps; unscaled it scored 1360 at 500k (1 seed each). The
# value loss of unscaled returns (~1000) swamps the policy gradient under the global-norm clip.
LOCOMOTION_PPO = PPOConfig(learning_rate=3e-4, ent_coef=0.0, num_epochs=10, num_minibatches=32,
                           gae_lambda=0.95, max_grad_norm=1.0, reward_scale=0.1)
# GAIL's generator: the same, on the discriminator's rewards (about 0.1 to 1 per step).
GAIL_LOCOMOTION_PPO = LOCOMOTION_PPO.replace(reward_scale=1.0)


@dataclasses.dataclass(frozen=True)
class ExpertPreset:
    """The fields of an `RLConfig` (less the env), and why they were chosen."""

    generator: Any
    num_envs: int
    num_steps: int
    total_timesteps: int
    network: NetworkConfig
    normalize_obs: bool
    evidence: str


@dataclasses.dataclass(frozen=True)
class GAILPreset:
    """The fields of a `GAILConfig` (less the env); `generators` maps a generator name to
    its (config, policy network); other registered generators get their default config."""

    generators: dict
    discriminator: DiscriminatorConfig
    reward: str
    num_envs: int
    num_steps: int
    total_timesteps: int
    normalize_obs: bool
    evidence: str
    default_network: NetworkConfig = EXPERT_NETWORK
    bc_updates: int = 0  # BC warm start: behavioural-cloning updates before adversarial training


CLASSIC_EXPERT = ExpertPreset(
    CLASSIC_PPO, 8, 128, 500_000, EXPERT_NETWORK, False,
    "CartPole-v1: 16/16 seeds >= 475 at 500k steps (benchmarks/results/ppo_cartpole.md: 32/32); "
    "Acrobot-v1: about -76 at 500k steps.")
CONTINUOUS_EXPERT = ExpertPreset(
    LOCOMOTION_PPO, 64, 64, 5_000_000, EXPERT_NETWORK, True,
    "brax/hopper (spring), one seed, 100 episodes with sampled actions: 1295 at 3M steps (hopper now has "
    "HOPPER_EXPERT), every episode ending in a fall after ~342 steps (jaxirl's brax hopper ~2100, the paper's MuJoCo "
    "3571); without reward scaling ~846 at 3M. gamma 0.995 alone did not help (768 at 1.5M). "
    "benchmarks/results/gail_brax_before_hopper_preset.md")
PENDULUM_EXPERT = dataclasses.replace(
    CONTINUOUS_EXPERT, total_timesteps=500_000,
    evidence="brax/inverted_double_pendulum (spring): 9341 over 100 episodes at 500k steps, the "
             "1000-step maximum is ~9350 (benchmarks/results/gail_brax.md)")

# CartPole at the classic 200-step cap (the README's main job): the same PPO, 150k steps
# instead of 500k, a third of the expert's training time (issue 13). 32 seeds in one call
# (benchmarks/ppo_cartpole.py --max-episode-steps 200): 150k -> 32/32 seeds evaluate 200.0 over
# 100 episodes; 100k -> 29/32 >= 195 (min 178.8). Median env steps to a 195 training return: 42k.
# As demonstrators (benchmarks/robust_experts.py, 8 experts x 8 GAIL seeds from ONE episode):
# 64/64 runs >= 195, as with the 500k experts; stopped early once every seed averaged 200
# (`--target-return 200`, 72k-143k steps) 63/64.
CARTPOLE_200_EXPERT = dataclasses.replace(
    CLASSIC_EXPERT, total_timesteps=150_000,
    evidence="CartPole-v1 at cap 200: benchmarks/results/ppo_cartpole_200.md; "
             "benchmarks/results/robust_experts.md")

# gymnax Pendulum-v1 (swing-up, 200 steps, no terminations): the continuous PPO at 1M steps, a
# fifth of the default's 5M. 4 seeds in one call, 50 episodes each: -144, -162, -159, -165
# (random -1216); every training curve flat from 400k steps on. The continuous task of AIRL's
# reward transfer (benchmarks/airl.py, part transfer_pendulum).
SWINGUP_EXPERT = dataclasses.replace(
    CONTINUOUS_EXPERT, total_timesteps=1_000_000,
    evidence="Pendulum-v1 at 1M steps: -163 over 100 episodes, random -1188 (seed 0, benchmarks/results/airl.md); "
             "-144 to -165 over 4 seeds in an exploratory run (not kept)")

# brax/walker2d (spring): the default continuous expert falls in every episode (548 at 3M steps,
# episodes of ~211 steps; 676 at 10M, ~203: more steps do not help; jaxirl's brax walker2d ~1820).
# gamma 0.99 discounts the +1 per step of staying healthy away within ~100 steps. A longer horizon
# with an entropy bonus (gamma 0.997, ent_coef 0.01), 3 fresh seeds at 3M steps, 20 episodes each:
# 1507 / 1581 / 2146 (episodes of 846-964 steps) vs the default's 845 / 552 / 563 (202-326).
# One seed each of gamma {0.99, 0.997} x ent_coef {0, 0.01}: 359 / 539 / 1161 / 888.
# Exploratory runs, not kept. The preset itself (seed 0, 100 episodes): 1375, episodes of 876
# steps, 29/100 ending in a fall (benchmarks/results/brax_experts.md).
WALKER_EXPERT = dataclasses.replace(
    CONTINUOUS_EXPERT, generator=LOCOMOTION_PPO.replace(gamma=0.997, ent_coef=0.01), total_timesteps=3_000_000,
    evidence="brax/walker2d (spring), 3M steps: 1375 over 100 episodes (benchmarks/results/brax_experts.md); "
             "the default continuous expert 548, falling after ~211 steps (brax_experts_before_walker2d_preset.md)")

# brax/hopper (spring): the same longer horizon, and 10M steps. The default continuous expert scored
# 1295 at 3M steps, every episode a fall after ~342 steps (benchmarks/results/gail_brax_before_hopper_preset.md);
# exploratory, 3 fresh seeds at 3M: 1194 / 1473 / 1553 (episodes of 579-624 steps) vs the default's
# 963 / 799 / 1025 (226-284); the same 3 seeds at 10M: 2278 / 1501 / 2030 (episodes of 690-894
# steps), training returns still rising to ~7M (benchmarks/results/brax_expert_horizon/). Walker2d
# gains nothing from 10M (1872 / 1391 / 1938 vs 1507 / 1581 / 2146 at 3M) and stays at 3M.
# The preset's seed 0 at 10M: 1930, episodes of 806 steps (jaxirl's brax hopper ~2100).
HOPPER_EXPERT = dataclasses.replace(
    WALKER_EXPERT, total_timesteps=10_000_000,
    evidence="brax/hopper (spring), 10M steps: 1930 over 100 episodes "
             "(benchmarks/results/gail_brax_hopper_expert_10M.md); at 3M, the CPU GAIL budget's expert, 1639 "
             "(gail_brax.md); the default continuous expert 1295, falling after ~342 steps "
             "(gail_brax_before_hopper_preset.md)")

EXPERT_PRESETS = {"CartPole-v1": CLASSIC_EXPERT, "Acrobot-v1": CLASSIC_EXPERT, "MountainCar-v0": CLASSIC_EXPERT,
                  "brax/inverted_double_pendulum": PENDULUM_EXPERT, "Pendulum-v1": SWINGUP_EXPERT,
                  "brax/walker2d": WALKER_EXPERT, "brax/hopper": HOPPER_EXPERT}
DEFAULT_EXPERT = {"discrete": CLASSIC_EXPERT, "continuous": CONTINUOUS_EXPERT}
# Expert presets for an env id at one episode cap only.
EXPERT_PRESETS_AT_CAP = {("CartPole-v1", 200): CARTPOLE_200_EXPERT}

# GAIL on classic control (discrete actions), from fixed-seed experiments:
# - CartPole-v1 (200 cap), 1 expert episode, PPO, 100k steps, 32 seeds: the stock discriminator
#   (1 Adam step per iteration, lr 3e-4) gave 29/32 seeds >= 195 (25/32 from the 100-episode
#   dataset; 30/32 at 300k steps, with late collapses); grad_penalty 10 gave 15/32, 1 gave
#   25/32; D lr 1e-4 28/32; 5 D steps per iteration 32/32 on both datasets. TRPO (2x100 tanh)
#   with 5 D steps at lr 3e-4: 30/32; with this config: 32/32.
# - MountainCar-v0 (scripted expert), 10 episodes, 300k steps, 8 seeds, normalised score
#   (random 0, expert 1), 5 D steps: "logit" reward 0.87 (lr 3e-4), 0.71 (lr 1e-3);
#   "logit" + absorbing 0.52; "neg_log_one_minus_d" + absorbing 0.93 (lr 3e-4), 1.00 (lr 1e-3).
# - Absorbing states (Kostrikov et al. 2019) keep the always-positive reward from paying for
#   survival where a true end is the goal: without them Acrobot scored 0.19 (0/8 seeds).
# Final (benchmarks/gail_classic.py): CartPole 32/32 >= 195 with PPO from 1 and from 100
# episodes, 32/32 with TRPO from 1; Acrobot (PPO expert) 0.985 / 0.984 and MountainCar
# (scripted) 0.992 / 1.013 from 1 / 10 episodes, 16/16 seeds >= 0.9 each.
CLASSIC_DISCRIMINATOR = DiscriminatorConfig(num_updates=5, learning_rate=1e-3, absorbing=True)
# CartPole: D with 64x64 hidden units instead of the paper's 100x100. D's 5 Adam steps per
# iteration were the part of GAIL's cost above PPO's (GAIL-PPO / PPO time per env step 1.17 with
# 100x100, 1.09 with 64x64, 1.05 with D's update all but removed; 32 seeds, CartPole-200, one
# run). It also reached the expert sooner: CartPole-v1 from one episode, 64 seeds, median seed at
# 0.975 x expert after 40.3 s of training vs 49.7 s, 62/64 seeds ever vs 58/64
# (benchmarks/results/fast_to_expert.md). Robustness over 8 experts: benchmarks/results/robust_experts.md.
CARTPOLE_DISCRIMINATOR = CLASSIC_DISCRIMINATOR.replace(hidden_sizes=(64, 64))
_CLASSIC_EVIDENCE = "benchmarks/results/gail_classic.md; the experiments listed in jgail/presets/cpu.py"


def _classic_gail(total_timesteps: int, discriminator: DiscriminatorConfig = CLASSIC_DISCRIMINATOR,
                  bc_updates: int = 0) -> GAILPreset:
    return GAILPreset(
        generators={"ppo": (CLASSIC_PPO, EXPERT_NETWORK), "trpo": (TRPOConfig(), PAPER_NETWORK)},
        discriminator=discriminator, reward="neg_log_one_minus_d", num_envs=8, num_steps=128,
        total_timesteps=total_timesteps, normalize_obs=False, evidence=_CLASSIC_EVIDENCE,
        bc_updates=bc_updates)


# CartPole-v1 at its own 500-step cap: GAIL alone, as at the 200 cap. A BC warm start of 1000
# updates (CARTPOLE_BC_UPDATES, `jgail gail --bc-warmstart 1000`) was the default from issue 9's
# fast-to-expert study (benchmarks/results/fast_to_expert.md: ONE 500-step episode of a PPO expert,
# 64 seeds, the median seed at 0.975 x expert after 10.7 s of training against 40.3 s for GAIL
# alone), but it does not hold across experts (issue 32; benchmarks/expert_kinds.py, ONE episode
# each of 4 PPO experts, greedy PPO, 4 deterministic linear controllers and a stochastic one, 8
# seeds each, 100k steps): with the warm start 0.917 / 0.839 / 0.775 / 0.928 normalised from the
# linear controllers and 0.661 from one of the PPO experts (results/expert_kinds_bc1000.md); GAIL
# alone 0.99-1.03 on every expert kind at both caps (results/expert_kinds.md). The cause: BC on one
# near-deterministic episode leaves a near-deterministic policy (entropy 0.06-0.11 nats at GAIL's
# first iteration, vs 0.69 fresh) that falls after ~120 steps off the demonstrated states, and PPO
# without an entropy bonus barely explores from it (entropy 0.10 at the end of the run, vs 0.28-0.47
# for GAIL alone). An entropy bonus in BC (0.1, 0.3) did not fix it (linear controllers 0.80-1.00).
# The warm start stays an option; it is fast only on experts whose episodes cover the learner's states.
CARTPOLE_BC_UPDATES = 1000


# GAIL on continuous control. The stock discriminator (1 Adam step per iteration at lr 3e-4)
# barely moves in a short run: D stays near 0.5, where the absorbing state's value
# r_abs / (1 - gamma) equals that of surviving forever, and the learner drifted to falling at
# once (brax/inverted_pendulum, 4 episodes of a 200-step cap, 61k steps, 2 seeds: 8 and 12,
# random 26; brax/hopper from 25 episodes: 12, random 83). With the classic preset's D
# (5 steps per iteration, lr 1e-3) the same pendulum run scores 186 and 196.
# No absorbing state here: from 25 episodes of a hopper expert that FALLS (805, every episode
# ends by a fall after ~229 steps; 1M steps, 2 seeds) GAIL with absorbing states peaked at
# 482/425 (250k steps) and then learnt to fall sooner than the expert (215/198, episodes of
# ~85 steps): D scores the absorbing state at ~0.27, above the learner's own steps (~0.24),
# so ending the episode pays more than going on. Without it: 515/786 (normalised 0.57/0.97),
# episodes of 183/223 steps, no longer than the expert's (the survival bonus of the positive
# reward did not make the learner outlive the expert). Random: 134.
# Tuned on brax/hopper only (25 episodes of the 1295 expert, `jgail sweep`, 20 evaluation episodes
# per seed; halfcheetah and inverted_double_pendulum stay held out): 1M steps, 2 seeds per
# setting, D lr 1e-3 / 3e-4 x gradient penalty 0 / 10: 0.78 / 0.66 and 0.83 / 0.54 normalised,
# every training curve still rising at 1M. 2M steps, 3 seeds: penalty 10 -> 1.00 (3/3 seeds
# >= 0.9), penalty 0 -> 0.95 (2/3). A BC warm start (2000 updates) did not help at 1M: 0.74
# from 25 episodes (0.73 without), 0.70 from 4 (0.54), below BC alone (0.84, 0.92).
# Result (benchmarks/gail_brax.py --budget cpu, 3 seeds): hopper 1.07 / 1.06 / 1.08 from 1 / 4 / 25
# trajectories (BC 0.63 / 0.92 / 0.84) against the 1295 expert it was tuned with; against the
# stronger HOPPER_EXPERT (1639) 0.95 / 0.85 / 0.77 (BC 0.33 / 0.67 / 0.82), which HOPPER_GAIL
# (below) raised to 0.94 / 0.97 / 0.99; held out: halfcheetah
# 0.83 / 0.87 from 4 / 25 (BC 0.79 / 0.94), inverted_double_pendulum 1.00 from 1 at 2M steps (0.76 at 0.5M).
CONTINUOUS_DISCRIMINATOR = DiscriminatorConfig(num_updates=5, learning_rate=1e-3, absorbing=False,
                                               grad_penalty=10.0)
CONTINUOUS_GAIL = GAILPreset(
    generators={"ppo": (GAIL_LOCOMOTION_PPO, EXPERT_NETWORK), "trpo": (TRPOConfig(), PAPER_NETWORK)},
    discriminator=CONTINUOUS_DISCRIMINATOR, reward="neg_log_one_minus_d", num_envs=64,
    num_steps=64, total_timesteps=2_000_000, normalize_obs=True,
    evidence="brax/inverted_pendulum (tests/test_brax.py); benchmarks/results/gail_brax.md")


# brax/hopper and brax/walker2d: the generator keeps the long horizon of the env's expert preset
# (gamma 0.997, entropy 0.01; see WALKER_EXPERT). GAIL's reward, like the env's, pays per step of
# staying up, and with gamma 0.99 the learner fell sooner than the expert. brax/hopper, 25 episodes
# of the 1639 expert (HOPPER_EXPERT), `jgail sweep`, 3M steps, 3 seeds, 20 evaluation episodes per
# seed, normalised with the expert's 100-episode 1639 and random 110: gamma 0.99 / 0.997 x
# ent_coef 0 / 0.01: 0.87 / 0.90 (gamma 0.99) and 0.98 / 1.01 (gamma 0.997) (sweep file in
# benchmarks/results/gail_brax_hopper_horizon/). TRPO takes the same gamma (its entropy weight
# stays 0: not swept). Walker2d got the rule before any walker2d GAIL run.
# GAIL runs as many env steps as its env's expert trained: the generator is that same PPO, and it
# did not reach the 10M hopper expert (1930) in 3M steps (0.76 from 25), but did in 10M (0.98).
# Results (benchmarks/gail_brax.py --budget cpu, 3 seeds; expert and GAIL both at 3M steps; at 2M
# 0.89 / 0.86 / 0.91): hopper 0.94 / 0.97 / 0.99 from 1 / 4 / 25 trajectories (BC 0.33 / 0.67 /
# 0.82); GAIL-TRPO 1.00 / 1.07 from 4 / 25 (benchmarks/results/gail_brax_trpo.md); walker2d (held
# out) 1.03 / 1.08 from 4 / 25 (BC 0.90 / 0.91).
def _long_horizon_gail(expert: ExpertPreset, evidence: str) -> GAILPreset:
    ppo = GAIL_LOCOMOTION_PPO.replace(gamma=expert.generator.gamma, ent_coef=expert.generator.ent_coef)
    trpo = TRPOConfig(gamma=expert.generator.gamma)
    generators = {"ppo": (ppo, EXPERT_NETWORK), "trpo": (trpo, PAPER_NETWORK)}
    return dataclasses.replace(CONTINUOUS_GAIL, generators=generators, total_timesteps=expert.total_timesteps,
                               evidence=evidence)


HOPPER_GAIL = _long_horizon_gail(HOPPER_EXPERT, "benchmarks/results/gail_brax.md (hopper rows, 3M); "
                                                "gail_brax_hopper_expert_10M_gail_10M.md (10M); "
                                                "benchmarks/results/gail_brax_hopper_horizon/")
WALKER_GAIL = _long_horizon_gail(WALKER_EXPERT, "HOPPER_GAIL's rule; held-out result: benchmarks/results/gail_brax.md "
                                                "(walker2d rows)")

# MountainCarContinuous-v0: the continuous generator with the classic-control discriminator
# (absorbing states, no gradient penalty). Its episode ends at the goal, as MountainCar's does, and
# the expert's action flips sign with the velocity: a sharp boundary in (s, a). benchmarks/
# robust_seeds.py, scripted expert (83.1, random -33.1), 10 episodes, 2M steps, 16 seeds in one
# call, normalised: the continuous default (no absorbing, gradient penalty 10) -0.32, 0/16 (the
# learner never reaches the goal: the positive reward pays for the 999 steps of an episode that
# does not end); absorbing alone 0.15, 6/16 (bimodal: 1.03-1.09 or about -0.4; D at 0.51-0.66 on
# expert pairs: with the penalty it hardly tells the actions apart); no penalty alone -0.50, 0/16;
# both 1.009, 16/16, worst 1.006 (episodes of ~167 steps).
MOUNTAINCAR_CONTINUOUS_GAIL = dataclasses.replace(
    CONTINUOUS_GAIL, discriminator=CLASSIC_DISCRIMINATOR,
    evidence="benchmarks/results/robust_seeds.md; robust_seeds_discriminator-*.md (the settings before)")

GAIL_PRESETS = {"CartPole-v1": _classic_gail(100_000, CARTPOLE_DISCRIMINATOR), "Acrobot-v1": _classic_gail(300_000),
                "MountainCar-v0": _classic_gail(300_000), "brax/hopper": HOPPER_GAIL, "brax/walker2d": WALKER_GAIL,
                "MountainCarContinuous-v0": MOUNTAINCAR_CONTINUOUS_GAIL}
DEFAULT_GAIL = {"discrete": _classic_gail(300_000), "continuous": CONTINUOUS_GAIL}
# Presets for an env id at one episode cap only (the cap a user did not change).
GAIL_PRESETS_AT_CAP = {}


def _family(env: Env) -> str:
    return "discrete" if env.action_space.discrete else "continuous"


def expert_preset(env: Env) -> ExpertPreset:
    """The `ExpertPreset` for `env`: its own (by env id and episode cap, then by env id) or the
    default for its action type."""
    at_cap = EXPERT_PRESETS_AT_CAP.get((env.name, env.max_episode_steps))
    return at_cap or EXPERT_PRESETS.get(env.name, DEFAULT_EXPERT[_family(env)])


def gail_preset(env: Env) -> GAILPreset:
    """The `GAILPreset` for `env`: its own (by env id and episode cap, then by env id) or the
    default for its action type."""
    at_cap = GAIL_PRESETS_AT_CAP.get((env.name, env.max_episode_steps))
    return at_cap or GAIL_PRESETS.get(env.name, DEFAULT_GAIL[_family(env)])


def expert_config(env: Env, total_timesteps: int | None = None) -> RLConfig:
    """The PPO configuration `jgail expert` uses for `env`."""
    p = expert_preset(env)
    return RLConfig(env=env, generator=p.generator, num_envs=p.num_envs, num_steps=p.num_steps,
                    total_timesteps=total_timesteps or p.total_timesteps, network=p.network,
                    normalize_obs=p.normalize_obs)


def gail_config(env: Env, generator: str = "ppo", total_timesteps: int | None = None,
                bc_updates: int | None = None) -> GAILConfig:
    """The GAIL configuration `jgail gail` uses for `env` and generator `generator` (any
    registered name; one without a preset gets its default config and `default_network`).
    `bc_updates`: the BC warm start (None: the preset's; 0: GAIL alone)."""
    p = gail_preset(env)
    bc_updates = p.bc_updates if bc_updates is None else bc_updates
    policy, network = p.generators.get(generator) or (by_name(generator).config_type(), p.default_network)
    return GAILConfig(env=env, generator=policy, discriminator=p.discriminator, reward=p.reward,
                      num_envs=p.num_envs, num_steps=p.num_steps,
                      total_timesteps=total_timesteps or p.total_timesteps, network=network,
                      normalize_obs=p.normalize_obs, bc=BCConfig(num_updates=bc_updates)).validate()


# AIRL (Fu et al. 2018) on top of a GAIL preset: the AIRL discriminator with absorbing states
# (without them the learner ends CartPole episodes at once: ~10 for every seed, 0/8 >= 195).
# No BC warm start under AIRL: its rewards were tuned without one, and the state-only g(s) must
# be defined on the poor states a fresh learner starts in, which a cloned policy never visits.
# benchmarks/airl.py, 8 seeds each, PPO/scripted experts of benchmarks/gail_classic.py:
# - CartPole-200 from 1 episode, 100k steps, D lr 1e-3 (GAIL's): 8/8 >= 195; lr 3e-4: 3/8.
# - MountainCar from 10 episodes, 300k steps: lr 3e-4 0.95 normalised (8/8 >= 0.9); GAIL's
#   1e-3 0.01 (D separates before the learner has found the goal once).
# - Acrobot from 10 episodes, 300k steps, lr 1e-3: 0.979 (8/8).
# State-only g(s) for reward transfer: D also replays the last 64 policy batches (most of a
# 100k-step CartPole run), so g stays defined on the states a fresh learner starts in (the
# early learner's) and g(abs) stays below g on the expert's states. CartPole-200, 8 seeds,
# AIRL 100k steps then a fresh PPO agent 300k steps on g alone: replay 64 -> 8/8 transferred
# agents at 200 (normalised 1.00); 16 -> 0.92, 0.89 and 0.82 in three runs (one to three seeds
# learned to fall: g was lower on tilted poles, which the recent learner no longer visits,
# than at the absorbing state); 1 -> 0.70 (g(abs) drifted to -2..0.6).
# AIRL keeps the paper's 100x100 networks for g and h where GAIL's CartPole D is 64x64: with
# 64x64, CartPole-200 from 1 episode gave 6/8 seeds >= 195 (mean 195.5, min 186.1), 8/8 with
# 100x100 (benchmarks/airl.py, same seeds).
# AIRL runs longer than GAIL on CartPole and MountainCar (issue 30). Its reward f - log pi pays the
# learner its policy's entropy at every step (E_pi[-log pi] = H(pi)), so the sampled policy sharpens
# slowly: over 8 PPO experts x 8 seeds from ONE episode each (benchmarks/robust_experts.py --airl),
# CartPole-200 at GAIL's 100k steps gave 50/64 runs >= 195 with sampled actions while the GREEDY
# policies scored 64/64 at 200: the policy's entropy was still 0.52 nats of ln 2 = 0.69 at the end
# (GAIL's learners: near 0.3), every failing seed above 0.55, and D still told the learner apart
# (accuracy 0.92 expert / 0.83 policy). At 200k steps: 63/64. MountainCar (4 scripted experts x 8
# seeds, 300k): 16/32 >= 0.9 normalised (0.857-0.986 per expert), greedy worse than sampled, training
# returns still rising and entropy still falling at the end (0.11-0.18 nats); at 600k: 32/32
# (0.966-1.027). Acrobot: 32/32 at 300k (0.962-0.999), unchanged. Same experts and datasets
# (--load-dir) in each pair of runs; benchmarks/results/robust_experts_airl*.md. State-only AIRL (reward transfer)
# keeps GAIL's budget: its replayed D was tuned at 100k (8/8 transferred agents at 200).
AIRL_TOTAL_TIMESTEPS = {"CartPole-v1": 200_000, "MountainCar-v0": 600_000}
AIRL_LEARNING_RATE = {"MountainCar-v0": 3e-4}
AIRL_HIDDEN_SIZES = PAPER_NETWORK.hidden_sizes
STATE_ONLY_REPLAY_BATCHES = 64


def airl_config(env: Env, generator: str = "ppo", total_timesteps: int | None = None,
                state_only: bool = False) -> GAILConfig:
    """The configuration `jgail gail --airl` uses: `gail_config` with AIRL's discriminator
    (absorbing states kept), its reward f - log pi and its own budget where it has one
    (AIRL_TOTAL_TIMESTEPS). `state_only`: a reward g(s) of the
    state alone, the form that transfers to a fresh learner (`jgail.imitation.transfer`)."""
    if total_timesteps is None and not state_only:
        total_timesteps = AIRL_TOTAL_TIMESTEPS.get(env.name)
    config = gail_config(env, generator, total_timesteps, bc_updates=0)
    disc = config.discriminator.replace(
        kind="airl", learning_rate=AIRL_LEARNING_RATE.get(env.name, config.discriminator.learning_rate),
        hidden_sizes=AIRL_HIDDEN_SIZES)
    if state_only:
        disc = disc.replace(input_mode="state")
        config = config.replace(replay_batches=STATE_ONLY_REPLAY_BATCHES)
    return config.replace(discriminator=disc, reward="airl").validate()
