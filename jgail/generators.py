"""The policy-optimiser ("generator") interface shared by PPO and TRPO.

A generator is a pair of pure functions registered against its config type:
    init_optimizer(config, params) -> opt_state
    update(key, agent, batch, obs_stats, config, nets, progress) -> (agent, metrics)
`batch` is a `Transitions` whose rewards the caller may have replaced (GAIL relabels
them); `progress` in [0, 1] is the fraction of training done (for annealing).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from flax import struct


class AgentState(struct.PyTreeNode):
    params: Any  # {"actor": ..., "critic": ...}
    opt_state: Any  # the generator's optimiser state(s)


class Generator(NamedTuple):
    init_optimizer: Callable
    update: Callable


_REGISTRY: dict[type, Generator] = {}


def register(config_type: type, init_optimizer: Callable, update: Callable) -> None:
    _REGISTRY[config_type] = Generator(init_optimizer, update)


def names() -> dict[str, type]:
    _load_builtin()
    return {cls.__name__.removesuffix("Config").lower(): cls for cls in _REGISTRY}


def get(config) -> Generator:
    _load_builtin()
    try:
        return _REGISTRY[type(config)]
    except KeyError:
        raise ValueError(
            f"{type(config).__name__} is not a generator config; use one of "
            f"{[c.__name__ for c in _REGISTRY]}"
        ) from None


def config_for(name: str, **hyperparameters):
    """`config_for("ppo", ent_coef=0.0)` -> PPOConfig(...)."""
    table = names()
    if name not in table:
        raise ValueError(f"unknown generator {name!r}; choose one of {sorted(table)}")
    return table[name](**hyperparameters)


def _load_builtin():
    import jgail.ppo  # noqa: F401  (each registers itself)
    import jgail.trpo  # noqa: F401
