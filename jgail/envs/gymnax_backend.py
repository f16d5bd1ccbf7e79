"""gymnax environments (classic control, MinAtar, bsuite, ...) on the `Env` interface.

gymnax is imported on first use: importing it creates arrays, which starts JAX's backend,
and a multi-process run (`jax.distributed.initialize`) must come before that."""

from __future__ import annotations

import dataclasses
import importlib
import sys
import types

import jax.numpy as jnp
import numpy as np

from jgail.core.env import ActionSpace, Env, with_episode_stats
from jgail.core.errors import ConfigError

# gymnax 1.0 imports these when it is imported, for its environments' render methods only
# (misc/pong, misc/rooms, bsuite/catch, ...): ~1.1 s of every jgail process's start-up, for
# env ids a run rarely uses. They are imported on first use instead.
RENDER_ONLY_MODULES = ("seaborn", "matplotlib.pyplot")


class _ImportedOnFirstUse(types.ModuleType):
    """Stands in for module `name` in the namespaces of the modules imported while it is in
    sys.modules; its first attribute read imports the real module and reads from that."""

    def __getattr__(self, attr):
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), attr)


def _gymnax():
    """The gymnax module, imported on first use with RENDER_ONLY_MODULES deferred."""
    if "gymnax" in sys.modules:
        return sys.modules["gymnax"]
    stand_ins = {name: _ImportedOnFirstUse(name) for name in RENDER_ONLY_MODULES if name not in sys.modules}
    sys.modules.update(stand_ins)
    try:
        return importlib.import_module("gymnax")
    finally:  # later imports of these modules get the real ones
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]


def names() -> list[str]:
    """gymnax's registered environment ids (imports gymnax)."""
    return list(_gymnax().registered_envs)


def make(name: str, options: dict) -> Env:
    """The `Env` for gymnax id `name`. `options` (consumed): `max_episode_steps` and any field
    of the env's params. Observations are flattened to vectors; a scalar Box action becomes
    shape (1,). Only Discrete and Box action spaces are supported. Use `jgail.envs.make`."""
    gymnax = _gymnax()  # on first use (see above)
    from gymnax.environments import spaces

    max_steps = options.pop("max_episode_steps", None)
    try:
        env, params = gymnax.make(name)
    except Exception as err:  # e.g. MNISTBandit-bsuite downloads its data
        raise ConfigError(f"{name} could not be created by gymnax: {err}") from None
    unknown = [k for k in options if not hasattr(params, k)]
    if unknown:
        fields = sorted(f.name for f in dataclasses.fields(params))
        raise ConfigError(f"{name} has no option(s) {unknown}; its parameters are {fields}")
    params = params.replace(**options)
    if max_steps is not None:
        params = params.replace(max_steps_in_episode=int(max_steps))
    space = env.action_space(params)
    if isinstance(space, spaces.Discrete):
        action_space = ActionSpace(True, (), num_actions=int(space.n))
    elif isinstance(space, spaces.Box):
        shape = tuple(space.shape) or (1,)
        low = np.broadcast_to(np.asarray(space.low, np.float32), shape)
        high = np.broadcast_to(np.asarray(space.high, np.float32), shape)
        action_space = ActionSpace(False, shape, low=tuple(map(float, low)), high=tuple(map(float, high)))
    else:
        raise ConfigError(f"{name}: action space {space} is not supported (Discrete or Box only)")
    # Observations are flattened to vectors (MinAtar's are images): jgail's networks are MLPs.
    obs_shape = (int(np.prod(env.observation_space(params).shape)),)
    scalar_box = not action_space.discrete and tuple(space.shape) == ()

    def reset_inner(key):
        obs, state = env.reset(key, params)
        return obs.reshape(-1).astype(jnp.float32), state

    def step_inner(key, state, action):
        if scalar_box:
            action = action[0]
        obs, state, reward, terminated, truncated, info = env.step(key, state, action, params)
        final_obs = info["final_observation"]
        return (
            obs.reshape(-1).astype(jnp.float32),
            state,
            reward,
            terminated,
            truncated,
            final_obs.reshape(-1).astype(jnp.float32),
        )

    all_options = dict(options, **({"max_episode_steps": max_steps} if max_steps else {}))
    cap = int(params.max_steps_in_episode)
    return with_episode_stats(action_space, reset_inner, step_inner, obs_shape, name, all_options, cap)
