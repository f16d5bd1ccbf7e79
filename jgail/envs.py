"""One pure, jittable environment interface over gymnax and brax.

    env = jgail.envs.make("CartPole-v1", max_episode_steps=200)
    obs, state = env.reset(key)
    state, step = env.step(key, state, action)   # auto-resets inside

`step.obs` is the observation the policy sees next (the reset observation after an
episode end); `step.final_obs` is the true next observation of this transition (the
pre-reset one at an episode end), which is what value bootstrapping and the
discriminator must see. `terminated` (a true end: bootstrap with 0) and `truncated`
(a time limit: bootstrap with V(final_obs)) are never both true.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import warnings
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

BRAX_PREFIX = "brax/"
BRAX_BACKENDS = ("spring", "positional", "generalized", "mjx")
DEFAULT_BRAX_BACKEND = "spring"  # ~10x faster than generalized on CPU (measured, hopper)
DEFAULT_BRAX_EPISODE_STEPS = 1000


@dataclasses.dataclass(frozen=True)
class ActionSpace:
    """Discrete: `num_actions` set, actions are int scalars. Continuous: `shape`, `low`, `high`."""

    discrete: bool
    shape: tuple[int, ...]  # () for discrete, (action_dim,) for continuous
    num_actions: int | None = None
    low: tuple[float, ...] | None = None
    high: tuple[float, ...] | None = None

    @property
    def action_dim(self) -> int:
        """Width of the action as the policy and discriminator see it (one-hot for discrete)."""
        return self.num_actions if self.discrete else int(np.prod(self.shape))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"shape": list(self.shape)}


@struct.dataclass
class EnvState:
    inner: Any  # the backend's own state
    episode_return: jax.Array  # [] return of the running episode
    episode_length: jax.Array  # [] steps taken in the running episode


@struct.dataclass
class StepResult:
    obs: jax.Array  # [obs_dim] next observation for the policy (post-reset at an end)
    reward: jax.Array  # [] environment reward (never shown to an imitation learner)
    terminated: jax.Array  # [] bool, true end of the episode
    truncated: jax.Array  # [] bool, time limit reached (and not terminated)
    final_obs: jax.Array  # [obs_dim] true next observation of this transition
    episode_return: jax.Array  # [] return of the episode that just ended (valid when done)
    episode_length: jax.Array  # [] length of the episode that just ended (valid when done)

    @property
    def done(self) -> jax.Array:
        return jnp.logical_or(self.terminated, self.truncated)


@dataclasses.dataclass(frozen=True, eq=False)
class Env:
    """A bundle of pure functions; hashable by identity so jit can treat it as static."""

    name: str
    options: tuple[tuple[str, Any], ...]  # the options `make` was called with
    obs_shape: tuple[int, ...]
    action_space: ActionSpace
    max_episode_steps: int
    reset: Callable[[jax.Array], tuple[jax.Array, EnvState]]
    step: Callable[[jax.Array, EnvState, jax.Array], tuple[EnvState, StepResult]]

    @property
    def obs_dim(self) -> int:
        return int(np.prod(self.obs_shape))

    def spec(self) -> dict:
        """JSON-able description, stored with datasets and checkpoints."""
        return {
            "env_id": self.name,
            "env_options": dict(self.options),
            "obs_shape": list(self.obs_shape),
            "action_space": self.action_space.to_dict(),
            "max_episode_steps": self.max_episode_steps,
        }


def available() -> list[str]:
    import gymnax

    return list(gymnax.registered_envs) + [BRAX_PREFIX + n for n in _brax_names()]


def _import_brax_envs():
    """brax pulls in mujoco, which prints 'Failed to import warp' lines that mean nothing here."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        from brax import envs as brax_envs
    return brax_envs


def _brax_names() -> list[str]:
    return sorted(_import_brax_envs()._envs)  # brax keeps its registry private; there is no public list


def make(name: str, **options) -> Env:
    """Make an environment by gymnax id ("CartPole-v1") or "brax/<name>" ("brax/hopper").

    Options: `max_episode_steps` (episode cap; CartPole with 200 is the classic v0 limit),
    for brax `backend` (default "spring") and any keyword brax's constructor takes;
    for gymnax any field of the env's params (e.g. `gravity`).
    """
    if not isinstance(name, str):
        raise ValueError(f"environment name must be a string, got {type(name).__name__}")
    max_steps = options.get("max_episode_steps")
    if max_steps is not None and (not isinstance(max_steps, (int, np.integer)) or max_steps < 1):
        raise ValueError(f"max_episode_steps must be a positive integer, got {max_steps!r}")
    if name.startswith(BRAX_PREFIX):
        return _make_brax(name, dict(options))
    import gymnax

    if name not in gymnax.registered_envs:
        raise ValueError(
            f"unknown environment {name!r}. Available: {', '.join(available())}"
        )
    return _make_gymnax(name, dict(options))


def _tree_select(pred, on_true, on_false):
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


def _clip_action(action_space: ActionSpace, action):
    if action_space.discrete:
        return action
    return jnp.clip(action, jnp.asarray(action_space.low), jnp.asarray(action_space.high))


def _with_episode_stats(action_space, reset_inner, step_inner, obs_shape, name, options, cap):
    """Wrap backend reset/step with return/length tracking and a uniform result type."""

    def reset(key):
        obs, inner = reset_inner(key)
        zero = jnp.zeros((), jnp.float32)
        return obs, EnvState(inner, zero, jnp.zeros((), jnp.int32))

    def step(key, state, action):
        obs, inner, reward, terminated, truncated, final_obs = step_inner(
            key, state.inner, _clip_action(action_space, action)
        )
        reward = jnp.asarray(reward, jnp.float32)
        terminated = jnp.asarray(terminated, bool)
        truncated = jnp.logical_and(jnp.asarray(truncated, bool), ~terminated)
        done = terminated | truncated
        ep_return = state.episode_return + reward
        ep_length = state.episode_length + 1
        result = StepResult(
            obs=obs,
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            final_obs=final_obs,
            episode_return=ep_return,
            episode_length=ep_length,
        )
        new_state = EnvState(
            inner,
            jnp.where(done, 0.0, ep_return),
            jnp.where(done, 0, ep_length),
        )
        return new_state, result

    return Env(name, tuple(sorted(options.items())), obs_shape, action_space, cap, reset, step)


def _make_gymnax(name: str, options: dict) -> Env:
    import gymnax
    from gymnax.environments import spaces

    max_steps = options.pop("max_episode_steps", None)
    try:
        env, params = gymnax.make(name)
    except Exception as err:  # e.g. MNISTBandit-bsuite downloads its data
        raise ValueError(f"{name} could not be created by gymnax: {err}") from None
    unknown = [k for k in options if not hasattr(params, k)]
    if unknown:
        fields = sorted(f.name for f in dataclasses.fields(params))
        raise ValueError(f"{name} has no option(s) {unknown}; its parameters are {fields}")
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
        raise ValueError(f"{name}: action space {space} is not supported (Discrete or Box only)")
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
    return _with_episode_stats(action_space, reset_inner, step_inner, obs_shape, name, all_options, cap)


def _make_brax(name: str, options: dict) -> Env:
    brax_envs = _import_brax_envs()
    short = name[len(BRAX_PREFIX):]
    if short not in _brax_names():
        raise ValueError(f"unknown environment {name!r}. Available: {', '.join(available())}")
    backend = options.pop("backend", DEFAULT_BRAX_BACKEND)
    if backend not in BRAX_BACKENDS:
        raise ValueError(f"unknown brax backend {backend!r}; choose one of {BRAX_BACKENDS}")
    cap = int(options.pop("max_episode_steps", DEFAULT_BRAX_EPISODE_STEPS))
    try:
        with warnings.catch_warnings():  # brax's notice that it is no longer maintained
            warnings.simplefilter("ignore", UserWarning)
            env = brax_envs.get_environment(short, backend=backend, **options)
    except TypeError as err:
        raise ValueError(f"{name}: bad option ({err})") from None
    action_space = ActionSpace(
        False, (env.action_size,), low=(-1.0,) * env.action_size, high=(1.0,) * env.action_size
    )

    def reset_inner(key):
        state = env.reset(key)
        return state.obs, (state, jnp.zeros((), jnp.int32))

    def step_inner(key, inner, action):
        state, t = inner
        nxt = env.step(state, action)
        t = t + 1
        terminated = nxt.done > 0.5
        truncated = t >= cap
        done = terminated | truncated
        # A fresh random start at every reset (brax's AutoResetWrapper reuses one cached state).
        fresh = env.reset(key)
        new_state = _tree_select(done, fresh, nxt)
        return (
            new_state.obs,
            (new_state, jnp.where(done, 0, t)),
            nxt.reward,
            terminated,
            truncated,
            nxt.obs,
        )

    all_options = dict(options, backend=backend, max_episode_steps=cap)
    return _with_episode_stats(
        action_space, reset_inner, step_inner, (env.observation_size,), name, all_options, cap
    )
