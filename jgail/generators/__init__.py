"""Policy optimisers ("generators") behind one interface (see `base`), and the on-policy
loop that drives them (`onpolicy`, `rl`).

Adding a generator: one new module in this package that defines a config and calls
`register("name", Config, init_optimizer, update)`; every module here is imported below,
so the CLI, presets and config validation pick the new name up with no other change.
"""

from __future__ import annotations

import importlib
import pkgutil

from jgail.generators.base import AgentState, Generator, by_name, config_for, get, names, register

__all__ = ["AgentState", "Generator", "by_name", "config_for", "get", "names", "register"]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
