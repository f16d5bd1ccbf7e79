"""brax locomotion environments ("brax/<name>") on the `Env` interface.

brax is imported on first use: it pulls in mujoco, which takes seconds and prints
"Failed to import warp" lines that mean nothing here.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import jax
import jax.numpy as jnp

from jgail.core.env import ActionSpace, Env, with_episode_stats
from jgail.core.errors import ConfigError

PREFIX = "brax/"
BACKENDS = ("spring", "positional", "generalized", "mjx")
DEFAULT_BACKEND = "spring"  # ~10x faster than generalized on CPU (measured, hopper)
# Tasks brax builds on one backend only (brax 0.14: swimmer's fluid drag is generalized-only).
ENV_DEFAULT_BACKEND = {"swimmer": "generalized"}
DEFAULT_EPISODE_STEPS = 1000


class _ClipCompatNumpy:
    """jax.numpy as brax.fluid sees it, with `clip(a_min=, a_max=)` mapped to `min=`/`max=`:
    brax 0.14.2's fluid drag (brax/swimmer) calls the keywords that jax 0.10 removed."""

    def __getattr__(self, name):
        return getattr(jnp, name)

    @staticmethod
    def clip(x, a_min=None, a_max=None, **kwargs):
        return jnp.clip(x, kwargs.pop("min", a_min), kwargs.pop("max", a_max), **kwargs)


def _clip_takes_a_min() -> bool:
    try:
        jnp.clip(jnp.zeros(()), a_min=0.0)
    except TypeError:
        return False
    return True


def _brax_envs():
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        from brax import envs as brax_envs  # on first use: slow and noisy
        from brax import fluid
    if getattr(fluid, "jp", None) is jnp and not _clip_takes_a_min():
        fluid.jp = _ClipCompatNumpy()  # only brax.fluid's own reference; jax.numpy is untouched
    return brax_envs


def supported_backends(short: str) -> list[str]:
    """The backends of BACKENDS that brax builds `short` (a name without "brax/") on."""
    ok = []
    for backend in BACKENDS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                _brax_envs().get_environment(short, backend=backend)
        except Exception:  # noqa: BLE001  brax raises NotImplementedError, ValueError, ...
            continue
        ok.append(backend)
    return ok


def names() -> list[str]:
    """brax's registered environment names, without the "brax/" prefix (imports brax)."""
    return sorted(_brax_envs()._envs)  # brax keeps its registry private; there is no public list


def _tree_select(pred, on_true, on_false):
    return jax.tree.map(lambda a, b: jnp.where(pred, a, b), on_true, on_false)


def make(name: str, options: dict, available: list[str]) -> Env:
    """The `Env` for "brax/<name>". `options` (consumed): `backend` (one of BACKENDS),
    `max_episode_steps` (default DEFAULT_EPISODE_STEPS) and any keyword of brax's constructor.
    Actions are in [-1, 1]^action_size; every reset draws a fresh random start. `available`
    is listed in the error for an unknown name. Use `jgail.envs.make` rather than this."""
    short = name[len(PREFIX):]
    if short not in names():
        raise ConfigError(f"unknown environment {name!r}. Available: {', '.join(available)}")
    backend = options.pop("backend", None) or ENV_DEFAULT_BACKEND.get(short, DEFAULT_BACKEND)
    if backend not in BACKENDS:
        raise ConfigError(f"unknown brax backend {backend!r}; choose one of {BACKENDS}")
    cap = int(options.pop("max_episode_steps", DEFAULT_EPISODE_STEPS))
    try:
        with warnings.catch_warnings():  # brax's notice that it is no longer maintained
            warnings.simplefilter("ignore", UserWarning)
            env = _brax_envs().get_environment(short, backend=backend, **options)
    except TypeError as err:
        raise ConfigError(f"{name}: bad option ({err})") from None
    except (NotImplementedError, ValueError) as err:
        if "backend" not in str(err).lower():
            raise
        works = supported_backends(short)
        raise ConfigError(f"{name} does not run on brax's {backend!r} backend ({err}); "
                          f"it runs on: {', '.join(works) or 'none'} (pass --backend "
                          f"{works[0] if works else '...'})") from None
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

    # Traced, not run: brax's own `observation_size` runs a reset op by op (~0.5-6 s on CPU).
    obs = jax.eval_shape(lambda key: env.reset(key).obs, jax.random.PRNGKey(0))
    all_options = dict(options, backend=backend, max_episode_steps=cap)
    return with_episode_stats(
        action_space, reset_inner, step_inner, (obs.shape[-1],), name, all_options, cap
    )
