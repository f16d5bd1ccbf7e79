"""Sweeping numeric hyperparameters in one compiled call.

    config = config.replace(generator=config.generator.replace(learning_rate=jnp.array([1e-3, 3e-4])))
    train = jax.jit(jax.vmap(rl.train, in_axes=(None, sweep.in_axes(config, "generator.learning_rate"))))
    states, metrics = train(key, config)                 # two runs, one per learning rate

Combine with seeds by nesting vmaps, or use `grid` to build the cross product.
"""

from __future__ import annotations

import inspect
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from jgail.core.checks import check_number
from jgail.core.errors import ConfigError


def _replace_path(tree, path: str, value):
    head, _, rest = path.partition(".")
    if not hasattr(tree, head):
        raise ConfigError(f"{type(tree).__name__} has no field {head!r} (in path {path!r})")
    inner = value if not rest else _replace_path(getattr(tree, head), rest, value)
    return tree.replace(**{head: inner})


def _validate(config) -> None:
    """Run `config.validate()` where it takes no arguments (a generator config's batch size
    is optional), so a bad swept value is refused while the values are still concrete:
    inside the jitted call they are tracers, which validation cannot see."""
    validate = getattr(config, "validate", None)
    if validate is None:
        return
    required = [p for p in inspect.signature(validate).parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not required:
        validate()


def _get_path(tree, path: str):
    for part in path.split("."):
        tree = getattr(tree, part)
    return tree


def with_swept(base, swept_config, paths):
    """`base` with the leaves at the dotted `paths` taken from `swept_config` (e.g. one sweep
    cell's config). Inside a vmapped update the other numbers then stay compile-time
    constants: batched per cell, a gradient-penalty weight of 0 turns the discriminator's
    `lax.cond` into a select that computes the penalty anyway (benchmarks/throughput.py).

    Example::

        update = lambda state, data: gail.update(
            state.replace(config=sweep.with_swept(base, state.config, ["discriminator.learning_rate"])), data)
    """
    for path in paths:
        base = _replace_path(base, path, _get_path(swept_config, path))
    return base


def in_axes(config, *swept: str):
    """A vmap in_axes prefix for `config`: axis 0 on the dotted paths `swept`, None elsewhere.
    Raises ConfigError for a path that names no field.

    Example::

        import jax
        import jax.numpy as jnp
        from jgail import envs, presets, rl, sweep

        config = presets.expert_config(envs.make("CartPole-v1"))
        config = config.replace(generator=config.generator.replace(learning_rate=jnp.array([1e-3, 3e-4])))
        axes = sweep.in_axes(config, "generator.learning_rate")
        states, metrics = jax.jit(jax.vmap(rl.train, in_axes=(None, axes)))(jax.random.key(0), config)
    """
    axes = jax.tree.map(lambda _: None, config)
    for path in swept:
        axes = _replace_path(axes, path, 0)
    return axes


def grid(config, **values):
    """Cross product of hyperparameter values, as one config with stacked leaves.

    `grid(cfg, **{"generator.learning_rate": [1e-3, 3e-4], "generator.ent_coef": [0.0, 0.01]})`
    returns (config with each swept leaf of shape [4], in_axes, list of the 4 settings).
    Every value must be a finite number within the range its config's `validate` allows
    (ConfigError otherwise). Swept leaves are stored as float32. Only numeric (pytree-leaf)
    fields can be swept; structural ones change the compiled program.

    Example::

        import jax
        from jgail import demos, envs, gail, presets, sweep

        env = envs.make("CartPole-v1", max_episode_steps=200)
        expert = demos.to_jax(demos.load("runs/demos.npz", env=env))
        swept, axes, settings = sweep.grid(presets.gail_config(env), **{
            "discriminator.learning_rate": [1e-4, 1e-3], "generator.ent_coef": [0.0, 0.01]})
        keys = jax.random.split(jax.random.key(0), 8)
        over_settings = jax.vmap(gail.train, (None, axes, None))               # the 4 settings
        states, metrics = jax.jit(jax.vmap(over_settings, (0, None, None)))(keys, swept, expert)
        metrics["episode_return"].shape    # [8 seeds, 4 settings, iterations]; axis 1 follows `settings`
    """
    paths = list(values)
    for path, column in values.items():
        try:
            array = np.asarray(column)
        except (TypeError, ValueError):  # ragged lists
            array = None
        if array is None or array.ndim != 1 or not array.size:
            raise ConfigError(f"sweep.grid: {path} needs a non-empty list of numbers, got {column!r}")
        check_number(type(config).__name__, path, array)
    settings = [dict(zip(paths, combo)) for combo in itertools.product(*values.values())]
    for path in paths:
        column = jnp.asarray([s[path] for s in settings], jnp.float32)
        config = _replace_path(config, path, column)
    _validate(config)  # ranges: each config's own rules, elementwise over the swept values
    return config, in_axes(config, *paths), settings
