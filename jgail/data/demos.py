"""Expert demonstrations: collect them from a policy, filter, validate, save and load.

    demos = collect(key, env, policy_fn, num_episodes=100, expert={"kind": "ppo", "path": p})
    demos = filter_episodes(demos, min_return=195)      # the reference experiment's filter
    save(demos, "cartpole_expert.npz")
    demos = load("cartpole_expert.npz", env=env)         # validated against the env
    expert = to_jax(demos)                              # jnp arrays for the GAIL loop

File format: one `.npz` (format_version 1), read with `np.load(path, allow_pickle=False)`.
P pairs over E episodes, episode-major (episode 0's steps in order, then episode 1's, ...):

    obs              [P, *obs_shape] float32  observation the expert acted on ([P, obs_dim])
    action           [P] int32 (discrete) or [P, *action_shape] float32 (unclipped sample)
    next_obs         [P, *obs_shape] float32  true next observation (pre-reset at an end)
    terminated       [P] bool   true end of the episode
    truncated        [P] bool   time-limit end (never together with terminated)
    episode_id       [P] int32  0..E-1, non-decreasing
    episode_returns  [E] float32  sum of the environment's rewards (all NaN when unknown)
    episode_lengths  [E] int32  pairs per episode; they sum to P
    metadata         []  str    a JSON object: format_version (1), env_id, env_options,
                                obs_shape, action_space, max_episode_steps (as in Env.spec();
                                files written before it was recorded lack it), expert (a free
                                dict), expert_return_mean/std/min/max (null when unknown, and
                                read as null when absent), num_episodes, num_pairs, source;
                                optionally filter.

Every episode's last pair is terminated or truncated, and no other pair is.
`from_arrays` may infer next_obs; then an episode's last next_obs is a copy of its last obs.
Every problem with a file or a dataset raises `jgail.core.errors.DatasetError` (a ValueError)
with a message saying what is wrong; a missing file raises FileNotFoundError.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jgail.core.atomic_io import atomic_write
from jgail.core.env import Env
from jgail.core.errors import DatasetError
from jgail.envs import make

FORMAT_VERSION = 1
PAIR_FIELDS = ("obs", "action", "next_obs", "terminated", "truncated", "episode_id")
EPISODE_FIELDS = ("episode_returns", "episode_lengths")
ARRAY_FIELDS = PAIR_FIELDS + EPISODE_FIELDS
RETURN_STATS = ("expert_return_mean", "expert_return_std", "expert_return_min", "expert_return_max")
# The kinds of NumPy dtype each field may have: f float, i/u int, b bool.
FIELD_KINDS = {"obs": "f", "next_obs": "f", "action": "iuf", "terminated": "b", "truncated": "b",
               "episode_id": "iu", "episode_returns": "f", "episode_lengths": "iu"}
KIND_NAMES = {"f": "float", "iuf": "int or float", "b": "bool", "iu": "int"}


@dataclasses.dataclass(frozen=True, eq=False)
class Demonstrations:
    """A demonstration dataset on the host: NumPy arrays of P pairs over E episodes,
    episode-major, and its metadata (the file format in the module docstring). Build one with
    `collect`, `from_arrays`, `from_minari` or `load`; `to_jax` makes the device copy."""

    obs: np.ndarray  # [P, *obs_shape] float32
    action: np.ndarray  # [P] int32 or [P, *action_shape] float32
    next_obs: np.ndarray  # [P, *obs_shape] float32, pre-reset at episode ends
    terminated: np.ndarray  # [P] bool
    truncated: np.ndarray  # [P] bool
    episode_id: np.ndarray  # [P] int32, 0..E-1
    episode_returns: np.ndarray  # [E] float32
    episode_lengths: np.ndarray  # [E] int32
    metadata: dict

    @property
    def num_pairs(self) -> int:
        """P, the number of (s, a, s') pairs."""
        return int(self.obs.shape[0])

    @property
    def num_episodes(self) -> int:
        """E, the number of episodes."""
        return int(self.episode_lengths.shape[0])


class ExpertData(struct.PyTreeNode):
    """The expert pairs as device arrays, for sampling inside jitted GAIL/BC updates."""

    obs: jax.Array  # [P, *obs_shape]
    action: jax.Array  # [P] int32 or [P, action_dim]
    next_obs: jax.Array  # [P, *obs_shape]
    terminated: jax.Array  # [P] bool

    @property
    def num_pairs(self) -> int:
        """P, the number of pairs."""
        return int(self.obs.shape[0])


def to_jax(demos: Demonstrations) -> ExpertData:
    """The pairs GAIL and BC learn from (obs, action, next_obs, terminated) as jnp arrays on
    the default device; episode structure, returns and metadata stay on the host.

    Example::

        import jax
        from jgail import demos, envs, gail, presets

        env = envs.make("CartPole-v1", max_episode_steps=200)
        expert = demos.to_jax(demos.load("runs/demos.npz", env=env))   # ExpertData: obs [P, obs_dim], ...
        state = gail.init(jax.random.key(0), presets.gail_config(env), expert)
    """
    fields = ("obs", "action", "next_obs", "terminated")
    return ExpertData(*(jnp.asarray(getattr(demos, f)) for f in fields))


def _jsonable(obj):
    return json.loads(json.dumps(obj))  # tuples become lists, so stored and live specs compare


def _return_stats(returns: np.ndarray) -> dict:
    known = returns.size and not np.isnan(returns).all()
    stats = {"mean": np.mean, "std": np.std, "min": np.min, "max": np.max}
    return {f"expert_return_{name}": float(fn(returns)) if known else None for name, fn in stats.items()}


def _build(fields: dict, metadata: dict) -> Demonstrations:
    """Set the derived metadata (counts, return statistics) and make the dataset."""
    metadata = dict(metadata, format_version=FORMAT_VERSION)
    metadata |= _return_stats(fields["episode_returns"])
    metadata |= {"num_episodes": len(fields["episode_lengths"]), "num_pairs": len(fields["obs"])}
    return Demonstrations(**fields, metadata=_jsonable(metadata))


def _env_metadata(env: Env, expert, source: str) -> dict:
    spec = env.spec()
    expert = {"name": expert} if isinstance(expert, str) else dict(expert or {"name": "unspecified"})
    return {k: spec[k] for k in ("env_id", "env_options", "obs_shape", "action_space", "max_episode_steps")} | {
        "expert": expert, "source": source
    }


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _rollout(key, env: Env, policy_fn, num_episodes: int, greedy: bool):
    """One episode per env: a `lax.scan` of env.max_episode_steps steps, records [T, N, ...]."""
    k_reset, k_run = jax.random.split(key)
    obs, env_state = jax.vmap(env.reset)(jax.random.split(k_reset, num_episodes))

    def one_step(carry, key):
        obs, env_state, finished = carry
        k_act, k_env = jax.random.split(key)
        dist = policy_fn(obs)
        action = dist.mode() if greedy else dist.sample(k_act)
        env_state, step = jax.vmap(env.step)(jax.random.split(k_env, num_episodes), env_state, action)
        record = (obs, action, step.final_obs, step.reward, step.terminated, step.truncated, ~finished)
        return (step.obs, env_state, finished | step.done), record

    carry = (obs, env_state, jnp.zeros((num_episodes,), bool))
    # The episode cap bounds every episode, so max_episode_steps steps finish them all.
    _, records = jax.lax.scan(one_step, carry, jax.random.split(k_run, env.max_episode_steps))
    return records


def collect(key, env: Env, policy_fn, num_episodes: int, *, greedy: bool = False, expert=None):
    """Roll `policy_fn(obs [N, obs_dim]) -> distribution` for one whole episode on each of
    `num_episodes` parallel envs; keep every env's steps up to and including its first end.
    Actions are sampled (the policy as trained) unless `greedy`. `expert`: a dict (or a name)
    describing the policy, stored in the metadata. `policy_fn` and `env` are static under
    jit: pass the same function object to reuse the compiled rollout. Raises RuntimeError if
    an episode does not end within env.max_episode_steps.

    Example::

        import jax
        from jgail import demos, envs, presets, rl, scripted

        env = envs.make("CartPole-v1", max_episode_steps=200)
        data = demos.collect(jax.random.key(0), env, scripted.cartpole, 100, expert="scripted cartpole")

        config = presets.expert_config(env)                   # or a policy trained here
        state, _ = jax.jit(rl.train)(jax.random.key(1), config)
        policy = rl.rollout_policy(state.agent.params, state.obs_stats, config.nets)
        data = demos.collect(jax.random.key(0), env, policy, 100, expert={"kind": "ppo"})
        data.num_episodes, data.num_pairs, data.episode_returns.mean()
    """
    if int(num_episodes) < 1:
        raise ValueError(f"num_episodes must be >= 1, got {num_episodes}")
    records = jax.device_get(_rollout(key, env, policy_fn, int(num_episodes), bool(greedy)))
    obs, action, next_obs, reward, terminated, truncated, active = records  # [T, N, ...]
    if not ((terminated | truncated) & active).any(0).all():
        raise RuntimeError(f"{env.name}: an episode did not end within max_episode_steps")
    keep = active.T  # [N, T]: steps up to and including each env's first end

    def episode_major(x):
        return np.swapaxes(np.asarray(x), 0, 1)[keep]

    lengths = keep.sum(1).astype(np.int32)
    fields = {
        "obs": episode_major(obs).astype(np.float32),
        "action": episode_major(action).astype(np.int32 if env.action_space.discrete else np.float32),
        "next_obs": episode_major(next_obs).astype(np.float32),
        "terminated": episode_major(terminated).astype(bool),
        "truncated": episode_major(truncated).astype(bool),
        "episode_id": np.repeat(np.arange(len(lengths), dtype=np.int32), lengths),
        "episode_returns": (reward.astype(np.float64) * active).sum(0).astype(np.float32),
        "episode_lengths": lengths,
    }
    source = f"jgail.demos.collect(num_episodes={int(num_episodes)}, greedy={bool(greedy)})"
    return _build(fields, _env_metadata(env, expert, source))


def filter_episodes(demos: Demonstrations, min_return=None, first_k=None) -> Demonstrations:
    """Keep whole episodes with return >= min_return, then the first `first_k` of those (None:
    no such filter). Episodes are renumbered 0..k-1; the metadata records the filter. Raises
    DatasetError when no episode passes, fewer than `first_k` do, or `min_return` is given but
    the dataset's returns are unknown.

    Example::

        data = demos.collect(jax.random.key(0), env, policy, 100)
        best = demos.filter_episodes(data, min_return=195)             # the reference filter
        one = demos.filter_episodes(data, min_return=195, first_k=1)   # one expert episode
    """
    returns, num = demos.episode_returns, demos.num_episodes
    kept = np.arange(num)
    if min_return is not None:
        if np.isnan(returns).all():
            raise DatasetError("the dataset records no episode returns, so it cannot be filtered "
                               "by min_return; pass episode_returns to from_arrays")
        kept = kept[returns >= min_return]
        if not kept.size:
            raise DatasetError(f"no episode has return >= {min_return:g} (best was {returns.max():.1f} "
                               f"over {num} episodes); lower --min-return or train a better expert")
    if first_k is not None:
        if int(first_k) < 1:
            raise DatasetError(f"first_k must be >= 1, got {first_k}")
        if first_k > kept.size:
            raise DatasetError(f"asked for the first {first_k} episodes but only {kept.size} of {num} "
                               f"pass the filter; collect more episodes or lower first_k")
        kept = kept[: int(first_k)]
    pair_mask = np.isin(demos.episode_id, kept)
    lengths = demos.episode_lengths[kept]
    fields = {f: getattr(demos, f)[pair_mask] for f in PAIR_FIELDS}
    fields |= {
        "episode_id": np.repeat(np.arange(kept.size, dtype=np.int32), lengths),
        "episode_returns": returns[kept],
        "episode_lengths": lengths,
    }
    history = {"min_return": min_return, "first_k": first_k, "episodes_before": num}
    return _build(fields, dict(demos.metadata, filter=history))


def _as_array(name: str, values, rows: int | None = None, dtype=None) -> np.ndarray:
    """`values` as an array of real numbers (converted to `dtype`) with `rows` rows (any
    number if None), or a DatasetError naming `name`."""
    try:
        array = np.asarray(values)
    except (TypeError, ValueError) as err:  # ragged nested lists
        raise DatasetError(f"{name} must be an array of numbers ({err})") from None
    if array.dtype.kind not in "biuf":
        raise DatasetError(f"{name} must be an array of numbers, got dtype {array.dtype}")
    if array.ndim == 0:
        raise DatasetError(f"{name} must have one row per pair (or per episode), got a scalar")
    if rows is not None and len(array) != rows:
        raise DatasetError(f"{name} has {len(array)} rows but obs has {rows}; pass one per pair")
    return array if dtype is None else array.astype(dtype)


def _as_flags(name: str, values, rows: int) -> np.ndarray:
    """A bool array from bools or 0/1 numbers; anything else is a DatasetError."""
    array = _as_array(name, values, rows)
    if array.dtype != bool and not np.isin(array, (0, 1)).all():
        raise DatasetError(f"{name} must hold booleans (or 0/1), got values such as "
                           f"{array[~np.isin(array, (0, 1))].ravel()[0].item()!r}")
    return array.astype(bool)


def from_arrays(obs, action, next_obs=None, terminated=None, truncated=None, episode_id=None,
                episode_returns=None, *, env: Env, expert: str = "external") -> Demonstrations:
    """A dataset from plain arrays. Pairs must be episode-major (each episode contiguous).
    Missing pieces are inferred: one episode if `episode_id` is None; `next_obs` by shifting
    within episodes (the last step then repeats its obs and is marked truncated); no
    termination; truncation at each episode's last step; unknown (NaN) returns, so the
    expert's return is unknown too (`expert_return` gives None). `obs` [P, *obs_shape],
    `action` [P] (discrete indices) or [P, *action_shape], flags [P] bool or 0/1, `episode_id`
    [P] any labels (renumbered 0..E-1), `episode_returns` [E]. The result is validated against
    `env`; every problem raises DatasetError.

    Example::

        import numpy as np
        from jgail import demos, envs

        env = envs.make("CartPole-v1", max_episode_steps=200)
        obs = np.random.randn(300, 4).astype(np.float32)
        action = np.random.randint(0, 2, 300)
        episode_id = np.repeat([0, 1, 2], 100)                 # three episodes of 100 steps
        data = demos.from_arrays(obs, action, episode_id=episode_id,
                                 episode_returns=[100.0, 100.0, 100.0], env=env, expert="my controller")
        demos.save(data, "runs/external.npz")
    """
    obs = _as_array("obs", obs, dtype=np.float32)
    num_pairs = len(obs)
    if num_pairs == 0:
        raise DatasetError("the dataset is empty (0 pairs); pass at least one (obs, action) pair")
    action = _as_array("action", action, num_pairs)
    if not np.isfinite(action).all():
        raise DatasetError("action contains NaN or inf; drop or fix those pairs")
    if action.dtype == bool:
        action = action.astype(np.int32)
    if env.action_space.discrete:
        if not np.array_equal(action, np.round(action)):
            raise DatasetError(f"{env.name} has discrete actions, but `action` holds non-integer "
                               f"values ({action.dtype}); pass action indices")
        bad = (action < 0) | (action >= env.action_space.num_actions)
        if bad.any():  # checked before the cast to int32, which would wrap large values
            raise DatasetError(f"action {action[bad].ravel()[0].item()!r} out of range [0, "
                               f"{env.action_space.num_actions}) for {env.name} ({int(bad.sum())} values, "
                               f"first at row {int(np.argwhere(bad)[0][0])})")
    action = action.astype(np.int32 if env.action_space.discrete else np.float32)
    ids = np.zeros(num_pairs, np.int64) if episode_id is None else _as_array("episode_id", episode_id, num_pairs)
    if ids.shape != (num_pairs,):
        raise DatasetError(f"episode_id has shape {ids.shape}, expected ({num_pairs},) like obs")
    starts = np.r_[True, ids[1:] != ids[:-1]]
    if len(np.unique(ids)) != starts.sum():
        raise DatasetError("some episode's pairs are not contiguous; sort the pairs by episode "
                           "(stably, keeping time order) before calling from_arrays")
    ids = (np.cumsum(starts) - 1).astype(np.int32)  # renumber 0..E-1 in order of appearance
    lengths = np.bincount(ids).astype(np.int32)
    is_last = np.r_[ids[1:] != ids[:-1], True]
    if next_obs is None:
        following = np.concatenate([obs[1:], obs[-1:]])
        next_obs = np.where(is_last.reshape((-1,) + (1,) * (obs.ndim - 1)), obs, following)
    terminated = np.zeros(num_pairs, bool) if terminated is None else _as_flags("terminated", terminated, num_pairs)
    truncated = is_last & ~terminated if truncated is None else _as_flags("truncated", truncated, num_pairs)
    if episode_returns is None:
        episode_returns = np.full(len(lengths), np.nan, np.float32)
    fields = {
        "obs": obs, "action": action, "next_obs": _as_array("next_obs", next_obs, num_pairs, np.float32),
        "terminated": terminated, "truncated": truncated, "episode_id": ids,
        "episode_returns": _as_array("episode_returns", episode_returns, len(lengths), np.float32),
        "episode_lengths": lengths,
    }
    return validate(_build(fields, _env_metadata(env, expert, "jgail.demos.from_arrays")), env)


def _is_finite_number(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _check_metadata(meta) -> None:
    """The metadata keys the loader and the checks read, with the types they need."""
    if not isinstance(meta, dict):
        raise DatasetError(f"metadata must be a JSON object, got {type(meta).__name__}")
    if not isinstance(meta.get("env_id"), str):
        raise DatasetError(f"metadata env_id must be the environment's id (a string), got "
                           f"{meta.get('env_id')!r}")
    if not isinstance(meta.get("env_options"), dict):
        raise DatasetError(f"metadata env_options must be a JSON object of the options the env was "
                           f"made with ({{}} for none), got {meta.get('env_options')!r}")
    if not isinstance(meta.get("action_space"), dict):
        raise DatasetError(f"metadata action_space must be a JSON object (as ActionSpace.to_dict() "
                           f"gives), got {meta.get('action_space')!r}")
    obs_shape = meta.get("obs_shape")
    if not (isinstance(obs_shape, list) and all(isinstance(n, int) and n >= 0 for n in obs_shape)):
        raise DatasetError(f"metadata obs_shape must be a list of sizes, got {obs_shape!r}")
    cap = meta.get("max_episode_steps")
    if cap is not None and not (isinstance(cap, int) and not isinstance(cap, bool) and cap >= 1):
        raise DatasetError(f"metadata max_episode_steps must be a positive integer, got {cap!r}")
    for key in RETURN_STATS:
        if meta.get(key) is not None and not _is_finite_number(meta[key]):
            raise DatasetError(f"metadata {key} must be a finite number or null, got {meta[key]!r}")


def _check_arrays(demos: Demonstrations) -> None:
    """Each field an array of the right kind and rank."""
    for field, kinds in FIELD_KINDS.items():
        values = getattr(demos, field)
        if not isinstance(values, np.ndarray) or values.dtype.kind not in kinds:
            dtype = values.dtype if isinstance(values, np.ndarray) else type(values).__name__
            raise DatasetError(f"{field} must be a {KIND_NAMES[kinds]} array, got {dtype}")
        if values.ndim == 0 or (field not in ("obs", "next_obs", "action") and values.ndim != 1):
            raise DatasetError(f"{field} has shape {values.shape}; it needs one "
                               f"{'row' if values.ndim == 0 else 'value'} per "
                               f"{'episode' if field in EPISODE_FIELDS else 'pair'}")
    if demos.next_obs.shape != demos.obs.shape:
        raise DatasetError(f"next_obs has shape {demos.next_obs.shape} but obs {demos.obs.shape}; "
                           f"each pair needs both")


def _check_structure(demos: Demonstrations) -> Demonstrations:
    """What must hold whatever the env: types, non-empty, consistent lengths, finite, episode ends."""
    _check_metadata(demos.metadata)
    _check_arrays(demos)
    num = demos.num_pairs
    if num == 0:
        raise DatasetError("the dataset is empty (0 pairs); collect at least one episode")
    if (demos.episode_lengths < 1).any():
        raise DatasetError(f"episode_lengths must all be >= 1, got {int(demos.episode_lengths.min())} "
                           f"(episode {int(np.argmin(demos.episode_lengths))})")
    sizes = {f: len(getattr(demos, f)) for f in ARRAY_FIELDS}
    expected = dict.fromkeys(PAIR_FIELDS, num) | dict.fromkeys(EPISODE_FIELDS, demos.num_episodes)
    if sizes != expected or demos.episode_lengths.sum() != num:
        raise DatasetError(f"field lengths disagree: {sizes}, episode_lengths sum to "
                           f"{demos.episode_lengths.sum()}; each per-pair field needs one row per "
                           f"pair ({num}), each per-episode field one per episode")
    counts = {"num_pairs": num, "num_episodes": demos.num_episodes}
    for key, count in counts.items():
        if demos.metadata.get(key, count) != count:
            raise DatasetError(f"metadata says {key}={demos.metadata[key]!r} but the arrays hold {count}")
    expected_ids = np.repeat(np.arange(demos.num_episodes), demos.episode_lengths)
    if not np.array_equal(demos.episode_id, expected_ids):
        raise DatasetError("episode_id must number episodes 0..E-1 in order, each over "
                           "episode_lengths[e] contiguous pairs (episode-major data)")
    for f in ("obs", "next_obs", "action", "episode_returns"):
        values = getattr(demos, f)
        if f == "episode_returns" and np.isnan(values).all():
            continue  # unknown returns are recorded as all NaN
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise DatasetError(f"{f} contains NaN or inf ({int(bad.sum())} values, first at row {row}); "
                               f"drop or fix those pairs")
    if (demos.terminated & demos.truncated).any():
        raise DatasetError("some pairs are both terminated and truncated; a time-limit end that is "
                           "also a true end is terminated only")
    ends = np.cumsum(demos.episode_lengths) - 1
    done = demos.terminated | demos.truncated
    if not done[ends].all() or done.sum() != len(ends):
        raise DatasetError("each episode's last pair (and only it) must be terminated or truncated")
    return demos


def validate(demos: Demonstrations, env: Env) -> Demonstrations:
    """Raise a DatasetError saying what is wrong (and how to fix it) if `demos` do not fit `env`."""
    _check_structure(demos)
    meta = demos.metadata
    if meta.get("env_id") != env.name:
        raise DatasetError(f"the demonstrations were collected on {meta.get('env_id')!r} but the "
                           f"environment is {env.name!r}; use the matching environment or dataset")
    if meta.get("action_space") != _jsonable(env.action_space.to_dict()):
        raise DatasetError(f"action space differs: dataset {meta.get('action_space')}, "
                           f"environment {env.name} {env.action_space.to_dict()}")
    if demos.obs.shape[1:] != env.obs_shape or demos.next_obs.shape[1:] != env.obs_shape:
        raise DatasetError(f"observations have shape {demos.obs.shape[1:]} per pair but {env.name} "
                           f"observations have shape {env.obs_shape}")
    if meta["obs_shape"] != list(env.obs_shape):
        raise DatasetError(f"metadata obs_shape {meta['obs_shape']} disagrees with the observations' "
                           f"shape {list(env.obs_shape)}")
    space = env.action_space
    if space.discrete:
        if not np.issubdtype(demos.action.dtype, np.integer) or demos.action.ndim != 1:
            raise DatasetError(f"{env.name} has discrete actions: `action` must be int of shape [P], "
                               f"got {demos.action.dtype} {demos.action.shape}")
        bad = (demos.action < 0) | (demos.action >= space.num_actions)
        if bad.any():
            raise DatasetError(f"action {int(demos.action[bad][0])} out of range [0, {space.num_actions}) "
                               f"for {env.name} ({int(bad.sum())} pairs, first at row {int(np.argmax(bad))})")
    elif demos.action.shape[1:] != space.shape:
        raise DatasetError(f"actions have shape {demos.action.shape[1:]} per pair but {env.name} "
                           f"takes actions of shape {space.shape}")
    return demos


def expert_return(demos: Demonstrations) -> float | None:
    """The expert's mean episode return, or None when the dataset does not know it (arrays
    given to `from_arrays` without `episode_returns`). Unknown is legitimate: GAIL and BC need
    no returns; only the normalised score does."""
    value = demos.metadata.get("expert_return_mean")
    if value is not None:
        return float(value)
    returns = np.asarray(demos.episode_returns, np.float64)
    known = returns.size and np.isfinite(returns).all()  # _check_structure: all known or all NaN
    return float(returns.mean()) if known else None


def _recorded_max_episode_steps(demos: Demonstrations) -> int:
    """The episode cap the data was collected under: recorded since it was added to the
    metadata; for older files, that of the env remade from the recorded id and options."""
    meta = demos.metadata
    for recorded in (meta.get("max_episode_steps"), meta["env_options"].get("max_episode_steps")):
        if isinstance(recorded, int) and not isinstance(recorded, bool):
            return recorded
    try:
        return make(meta["env_id"], **meta["env_options"]).max_episode_steps
    except (TypeError, ValueError, KeyError) as err:
        raise DatasetError(f"cannot remake the dataset's environment {meta['env_id']!r} with options "
                           f"{meta['env_options']} to find its episode cap: {err}") from None


def check_env(demos: Demonstrations, env: Env) -> None:
    """Raise a DatasetError listing every difference between the environment the dataset was
    collected on and `env`, comparing effective settings, not how they were spelled: the id,
    the episode cap (`max_episode_steps=500` equals CartPole-v1's default cap), the other
    options, the observation shape and the action space."""
    _check_metadata(demos.metadata)
    meta = demos.metadata
    if meta["env_id"] != env.name:
        raise DatasetError(f"the dataset was collected on {meta['env_id']!r}, not {env.name!r}; "
                           f"use the matching environment or dataset")
    unset = "not set (the env's default)"
    diffs = []
    recorded_cap = _recorded_max_episode_steps(demos)
    if recorded_cap != env.max_episode_steps:
        diffs.append(f"max_episode_steps: dataset {recorded_cap}, environment {env.max_episode_steps}")
    recorded = {k: v for k, v in meta["env_options"].items() if k != "max_episode_steps"}
    live = {k: v for k, v in _jsonable(dict(env.options)).items() if k != "max_episode_steps"}
    diffs += [f"{k}: dataset {recorded.get(k, unset)}, environment {live.get(k, unset)}"
              for k in sorted(set(recorded) | set(live)) if recorded.get(k) != live.get(k)]
    if list(meta["obs_shape"]) != list(env.obs_shape):
        diffs.append(f"obs_shape: dataset {meta['obs_shape']}, environment {list(env.obs_shape)}")
    if meta["action_space"] != _jsonable(env.action_space.to_dict()):
        diffs.append(f"action_space: dataset {meta['action_space']}, environment {env.action_space.to_dict()}")
    if diffs:
        raise DatasetError(f"the environment differs from the one the dataset was collected on "
                           f"({'; '.join(diffs)}); use the dataset's settings or recollect")


def check_env_options(demos: Demonstrations, env_id: str, env_options: dict):
    """Raise if the requested env id/options differ from those the dataset was collected with,
    as spelled. Prefer `check_env`, which compares effective settings."""
    if demos.metadata.get("env_id") != env_id:
        raise DatasetError(f"the dataset was collected on {demos.metadata.get('env_id')!r}, "
                           f"not {env_id!r}")
    recorded, requested = demos.metadata.get("env_options"), _jsonable(dict(env_options))
    if not isinstance(recorded, dict):
        raise DatasetError(f"the dataset's metadata env_options must be a JSON object, got {recorded!r}")
    unset = "not set (the env's default)"
    diffs = [f"{k}: dataset {recorded.get(k, unset)}, requested {requested.get(k, unset)}"
             for k in sorted(set(recorded) | set(requested)) if recorded.get(k) != requested.get(k)]
    if diffs:
        raise DatasetError(f"environment options differ from those the dataset was collected with "
                           f"({'; '.join(diffs)}); use the dataset's values or recollect")


def save(demos: Demonstrations, path) -> str:
    """Write `demos` to one .npz (the suffix is added if missing), atomically, replacing any
    file there. Returns the path. Raises DatasetError if the dataset is malformed.

    Example::

        import jax
        from jgail import demos, envs, scripted

        env = envs.make("CartPole-v1", max_episode_steps=200)
        data = demos.collect(jax.random.key(0), env, scripted.cartpole, 10)
        path = demos.save(data, "runs/demos")    # -> "runs/demos.npz"
    """
    _check_structure(demos)
    path = os.fspath(path)
    path = path if path.endswith(".npz") else path + ".npz"
    arrays = {f: getattr(demos, f) for f in ARRAY_FIELDS}
    arrays["metadata"] = np.asarray(json.dumps(demos.metadata))
    atomic_write(path, lambda f: np.savez(f, **arrays), binary=True)
    return path


def _read_npz(path: str) -> dict:
    """Every array of the .npz at `path`, or a DatasetError saying why it cannot be read."""
    not_ours = f"{path} is not a jgail demonstrations .npz file"
    if not zipfile.is_zipfile(path):
        raise DatasetError(f"{not_ours} (it is not a zip archive; is it truncated?)")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except Exception as err:  # a damaged member raises any of many types (zipfile, numpy, struct)
        reason = ("it holds object arrays, which jgail never writes" if "pickle" in str(err)
                  else f"{type(err).__name__}: {err}")
        raise DatasetError(f"{not_ours} or it is damaged ({reason})") from None


def load(path, env: Env | None = None) -> Demonstrations:
    """Read a file written by `save`; validate it against `env` when given. Metadata that lacks
    the return statistics (older or hand-made files) reads them as null (unknown). A missing
    file raises FileNotFoundError; anything wrong with it, DatasetError.

    Example::

        from jgail import demos, envs

        env = envs.make("CartPole-v1", max_episode_steps=200)
        data = demos.load("runs/demos.npz", env=env)    # checked against env's spaces
        expert = demos.to_jax(data)
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no demonstrations file at {path}; collect one with "
                                f"jgail.demos.collect and jgail.demos.save")
    contents = _read_npz(path)
    missing = [k for k in ARRAY_FIELDS + ("metadata",) if k not in contents]
    if missing:
        raise DatasetError(f"{path} is missing key(s) {missing}; it was not written by jgail.demos.save")
    raw_metadata = contents.pop("metadata")
    if raw_metadata.dtype.kind != "U" or raw_metadata.ndim != 0:
        raise DatasetError(f"{path}: its metadata must be one JSON string, got a "
                           f"{raw_metadata.dtype} array of shape {raw_metadata.shape}")
    try:
        metadata = json.loads(str(raw_metadata))
    except (ValueError, RecursionError) as err:
        raise DatasetError(f"{path}: its metadata is not valid JSON ({err})") from None
    version = metadata.get("format_version") if isinstance(metadata, dict) else None
    if version != FORMAT_VERSION:
        raise DatasetError(f"{path} has format_version {version!r}; this jgail reads "
                           f"version {FORMAT_VERSION}")
    metadata = dict.fromkeys(RETURN_STATS) | metadata
    demos = Demonstrations(**{k: contents[k] for k in ARRAY_FIELDS}, metadata=metadata)
    try:
        return validate(demos, env) if env is not None else _check_structure(demos)
    except DatasetError as err:
        raise DatasetError(f"{path}: {err}") from None


def from_minari(dataset_or_path, *, env: Env, download: bool = False) -> Demonstrations:
    """A dataset from a Minari dataset (`pip install 'jgail[minari]'`): a `minari.MinariDataset`,
    a local dataset id such as "cartpole/expert-v0" (looked up under $MINARI_DATASETS_PATH,
    default ~/.minari/datasets; fetched from the Minari server first only if `download`), or
    the path of a dataset's directory (or of its `data/` folder).

    Minari stores an episode as T+1 observations and T actions, rewards, terminations and
    truncations; pair t is (obs t, action t, obs t+1), so next_obs is the true next
    observation at an episode's end too. A step both terminated and truncated (a true end on
    the time limit's last step) becomes terminated only; an episode whose last step is
    neither (recording stopped mid-episode) becomes truncated there. Returns are the sums of
    the recorded rewards. The spaces must match `env`'s: a Box of the env's observation shape,
    and Discrete(n) (starting at 0) or a Box of the same shape and bounds for actions; no
    episode may be longer than env.max_episode_steps.

    Example::

        from jgail import demos, envs

        env = envs.make("CartPole-v1", max_episode_steps=500)
        data = demos.from_minari("cartpole/expert-v0", env=env)    # or a dataset directory
        demos.save(demos.filter_episodes(data, first_k=10), "runs/minari_cartpole.npz")
    """
    try:
        import minari  # optional and heavy (gymnasium, h5py): only this function needs it
        from gymnasium import spaces
    except ImportError as err:
        raise ImportError(f"reading Minari datasets needs minari and gymnasium ({err}); install them with "
                          "pip install 'jgail[minari]'") from None
    dataset = dataset_or_path if isinstance(dataset_or_path, minari.MinariDataset) else None
    if dataset is None:
        source = os.fspath(dataset_or_path)
        if os.path.isdir(source):
            data_dir = os.path.join(source, "data")
            dataset = minari.MinariDataset(data_dir if os.path.isdir(data_dir) else source)
        else:
            try:
                dataset = minari.load_dataset(source, download=download)
            except FileNotFoundError:
                raise FileNotFoundError(
                    f"no Minari dataset {source!r}: it is neither a directory nor a dataset id under "
                    f"{os.environ.get('MINARI_DATASETS_PATH', '~/.minari/datasets')} ($MINARI_DATASETS_PATH); "
                    f"give its path, or fetch it first with `minari download {source}`") from None
    name = dataset.spec.dataset_id
    obs_space, action_space = dataset.observation_space, dataset.action_space
    if not isinstance(obs_space, spaces.Box) or tuple(obs_space.shape) != env.obs_shape:
        raise DatasetError(f"Minari dataset {name} has observation space {obs_space}, but {env.name} observes "
                           f"arrays of shape {env.obs_shape}; flatten them and use demos.from_arrays")
    ours = env.action_space
    if ours.discrete:
        fits = isinstance(action_space, spaces.Discrete) and int(action_space.start) == 0 \
            and int(action_space.n) == ours.num_actions
    else:
        fits = isinstance(action_space, spaces.Box) and tuple(action_space.shape) == ours.shape \
            and np.allclose(action_space.low, ours.low) and np.allclose(action_space.high, ours.high)
    if not fits:
        raise DatasetError(f"Minari dataset {name} has action space {action_space}, but {env.name} takes "
                           f"{ours.to_dict()}; use the matching environment")
    columns = {k: [] for k in ("obs", "action", "next_obs", "terminated", "truncated", "episode_id")}
    returns = []
    for index, episode in enumerate(dataset.iterate_episodes()):
        length = len(episode)
        if length == 0:
            continue
        if length > env.max_episode_steps:
            raise DatasetError(f"Minari dataset {name}: episode {episode.id} has {length} steps, more than "
                               f"{env.name}'s cap of {env.max_episode_steps}; make the env with "
                               f"max_episode_steps >= {length}")
        terminated = np.asarray(episode.terminations, bool)
        truncated = np.asarray(episode.truncations, bool) & ~terminated
        if (terminated | truncated)[:-1].any():
            raise DatasetError(f"Minari dataset {name}: episode {episode.id} ends before its last step")
        truncated[-1] |= not terminated[-1]
        observations = np.asarray(episode.observations, np.float32)
        columns["obs"].append(observations[:-1])
        columns["next_obs"].append(observations[1:])
        columns["action"].append(np.asarray(episode.actions))
        columns["terminated"].append(terminated)
        columns["truncated"].append(truncated)
        columns["episode_id"].append(np.full(length, index))
        returns.append(float(np.sum(episode.rewards, dtype=np.float64)))
    if not returns:
        raise DatasetError(f"Minari dataset {name} holds no steps")
    arrays = {k: np.concatenate(v) for k, v in columns.items()}
    demos = from_arrays(**arrays, episode_returns=np.asarray(returns, np.float32), env=env)
    env_spec = dataset.env_spec
    expert = {"kind": "minari", "dataset_id": name, "minari_version": dataset.minari_version,
              "minari_env_id": None if env_spec is None else env_spec.id,
              "algorithm_name": dataset.storage.metadata.get("algorithm_name")}
    metadata = _jsonable(dict(demos.metadata, expert=expert, source=f"jgail.demos.from_minari({name!r})"))
    return dataclasses.replace(demos, metadata=metadata)
