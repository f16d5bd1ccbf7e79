"""The policy-optimiser ("generator") interface shared by PPO and TRPO, and its registry.

A generator is a pair of pure functions registered under a name with its config type:
    init_optimizer(config, params) -> opt_state
    update(key, agent, batch, obs_stats, config, nets, progress) -> (agent, metrics)
`batch` is a `Transitions` whose rewards the caller may have replaced (GAIL relabels
them); `progress` in [0, 1] is the fraction of training done (for annealing). The config
is a `flax.struct.PyTreeNode` with `gamma` and `ent_coef` leaves and a
`validate(batch_size)` method. Every name (CLI choices, presets, validation) comes from
this one registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from flax import struct

from jgail.core.errors import ConfigError


class AgentState(struct.PyTreeNode):
    """An agent's learned state: policy/value params and the generator's optimiser state."""

    params: Any  # {"actor": ..., "critic": ...}
    opt_state: Any  # the generator's optimiser state(s)


class Generator(NamedTuple):
    """A registered policy optimiser: its name, config type and the two functions (see above)."""

    name: str
    config_type: type
    init_optimizer: Callable
    update: Callable


_REGISTRY: dict[str, Generator] = {}


def register(name: str, config_type: type, init_optimizer: Callable, update: Callable) -> Generator:
    """Make a generator available by `name` everywhere (CLI `--generator`, presets, configs)."""
    for required in ("validate", "gamma", "ent_coef"):
        if not hasattr(config_type, required):
            raise TypeError(f"generator config {config_type.__name__} lacks {required!r}; "
                            "a generator config needs gamma, ent_coef and validate(batch_size)")
    generator = Generator(name, config_type, init_optimizer, update)
    _REGISTRY[name] = generator
    return generator


def names() -> list[str]:
    """The registered generator names, sorted (e.g. ["ppo", "trpo"])."""
    return sorted(_REGISTRY)


def get(config) -> Generator:
    """The generator a config instance belongs to."""
    for generator in _REGISTRY.values():
        if type(config) is generator.config_type:
            return generator
    raise ConfigError(f"{type(config).__name__} is not a generator config; use the config of one "
                      f"of the registered generators {names()}")


def by_name(name: str) -> Generator:
    """The generator registered as `name`; ConfigError (a ValueError) listing the names otherwise."""
    if name not in _REGISTRY:
        raise ConfigError(f"unknown generator {name!r}; choose one of {names()}")
    return _REGISTRY[name]


def config_for(name: str, **hyperparameters):
    """`config_for("ppo", ent_coef=0.0)` -> PPOConfig(...)."""
    return by_name(name).config_type(**hyperparameters)
