"""Configurations as data, keyed by environment id, each with the evidence that chose it, for two
budgets: "cpu" (tens of envs per seed, the default; `jgail.presets.cpu`) and "accelerator"
(thousands of envs per seed on a GPU; `jgail.presets.accelerator`).

    config = presets.expert_config(env)                          # an rl.RLConfig
    config = presets.gail_config(env, generator="trpo")          # a gail.GAILConfig
    config = presets.expert_config(env, budget="accelerator")    # 2048 envs x 10 steps per seed
    env = envs.make("brax/hopper", backend=presets.backend("brax/hopper", "accelerator"))

Return per env step does not depend on the device, so an accelerator preset is tuned on CPU at
one or two seeds; what a GPU adds is seeds (and speed), not another algorithm.
"""

from __future__ import annotations

from jgail.core.env import Env
from jgail.core.errors import ConfigError
from jgail.generators.rl import RLConfig
from jgail.imitation.gail import GAILConfig
from jgail.presets import accelerator, cpu
from jgail.presets.cpu import *  # noqa: F403  the CPU presets keep their names: presets.HOPPER_EXPERT, ...
from jgail.presets.cpu import airl_config  # noqa: F401  explicit for readers

BUDGETS = ("cpu", "accelerator")


def _check_budget(budget: str, env: Env | None = None) -> None:
    if budget not in BUDGETS:
        raise ConfigError(f"unknown budget {budget!r}; choose one of {BUDGETS}")
    if budget == "accelerator" and env is not None and env.name not in accelerator.PRESETS:
        raise ConfigError(f"no accelerator preset for {env.name}; there are presets for "
                          f"{', '.join(sorted(accelerator.PRESETS))} (or use budget 'cpu')")


def backend(env_id: str, budget: str = "cpu") -> str | None:
    """The brax backend a budget's preset was tuned on (None: the env's default)."""
    _check_budget(budget)
    preset = accelerator.PRESETS.get(env_id) if budget == "accelerator" else None
    return preset.backend if preset else None


def expert_config(env: Env, total_timesteps: int | None = None, budget: str = "cpu") -> RLConfig:
    """The PPO configuration `jgail expert [--budget B]` uses for `env`."""
    _check_budget(budget, env)
    if budget == "cpu":
        return cpu.expert_config(env, total_timesteps)
    return accelerator.expert_config(env, total_timesteps)


def gail_config(env: Env, generator: str = "ppo", total_timesteps: int | None = None,
                bc_updates: int | None = None, budget: str = "cpu") -> GAILConfig:
    """The GAIL configuration `jgail gail [--budget B]` uses for `env` and `generator`.
    `bc_updates`: the BC warm start (None: the preset's; 0: GAIL alone)."""
    _check_budget(budget, env)
    if budget == "cpu":
        return cpu.gail_config(env, generator, total_timesteps, bc_updates)
    return accelerator.gail_config(env, generator, total_timesteps, bc_updates)
