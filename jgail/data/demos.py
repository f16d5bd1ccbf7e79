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
                                obs_shape, action_space (as in Env.spec()), expert (a free
                                dict), expert_return_mean/std/min/max (null when unknown),
                                num_episodes, num_pairs, source; optionally filter.

Every episode's last pair is terminated or truncated, and no other pair is.
`from_arrays` may infer next_obs; then an episode's last next_obs is a copy of its last obs.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jgail.core.atomic_io import atomic_write
from jgail.core.env import Env

FORMAT_VERSION = 1
PAIR_FIELDS = ("obs", "action", "next_obs", "terminated", "truncated", "episode_id")
EPISODE_FIELDS = ("episode_returns", "episode_lengths")
ARRAY_FIELDS = PAIR_FIELDS + EPISODE_FIELDS


@dataclasses.dataclass(frozen=True, eq=False)
class Demonstrations:
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
        return int(self.obs.shape[0])

    @property
    def num_episodes(self) -> int:
        return int(self.episode_lengths.shape[0])


class ExpertData(struct.PyTreeNode):
    """The expert pairs as device arrays, for sampling inside jitted GAIL/BC updates."""

    obs: jax.Array  # [P, *obs_shape]
    action: jax.Array  # [P] int32 or [P, action_dim]
    next_obs: jax.Array  # [P, *obs_shape]
    terminated: jax.Array  # [P] bool

    @property
    def num_pairs(self) -> int:
        return int(self.obs.shape[0])


def to_jax(demos: Demonstrations) -> ExpertData:
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
    return {k: spec[k] for k in ("env_id", "env_options", "obs_shape", "action_space")} | {
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
    describing the policy, stored in the metadata."""
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
    """Keep whole episodes with return >= min_return, then the first `first_k` of those."""
    returns, num = demos.episode_returns, demos.num_episodes
    kept = np.arange(num)
    if min_return is not None:
        if np.isnan(returns).all():
            raise ValueError("the dataset records no episode returns, so it cannot be filtered "
                             "by min_return; pass episode_returns to from_arrays")
        kept = kept[returns >= min_return]
        if not kept.size:
            raise ValueError(f"no episode has return >= {min_return:g} (best was {returns.max():.1f} "
                             f"over {num} episodes); lower --min-return or train a better expert")
    if first_k is not None:
        if int(first_k) < 1:
            raise ValueError(f"first_k must be >= 1, got {first_k}")
        if first_k > kept.size:
            raise ValueError(f"asked for the first {first_k} episodes but only {kept.size} of {num} "
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


def from_arrays(obs, action, next_obs=None, terminated=None, truncated=None, episode_id=None,
                episode_returns=None, *, env: Env, expert: str = "external") -> Demonstrations:
    """A dataset from plain arrays. Pairs must be episode-major (each episode contiguous).
    Missing pieces are inferred: one episode if `episode_id` is None; `next_obs` by shifting
    within episodes (the last step then repeats its obs and is marked truncated); no
    termination; truncation at each episode's last step; unknown (NaN) returns."""
    obs, action = np.asarray(obs, np.float32), np.asarray(action)
    num_pairs = len(obs)
    if num_pairs == 0:
        raise ValueError("the dataset is empty (0 pairs); pass at least one (obs, action) pair")
    if env.action_space.discrete and not np.array_equal(action, np.round(action)):  # NaN fails too
        raise ValueError(f"{env.name} has discrete actions, but `action` holds non-integer "
                         f"values ({action.dtype}); pass action indices")
    action = action.astype(np.int32 if env.action_space.discrete else np.float32)
    ids = np.zeros(num_pairs, np.int64) if episode_id is None else np.asarray(episode_id)
    if ids.shape != (num_pairs,):
        raise ValueError(f"episode_id has shape {ids.shape}, expected ({num_pairs},) like obs")
    starts = np.r_[True, ids[1:] != ids[:-1]]
    if len(np.unique(ids)) != starts.sum():
        raise ValueError("some episode's pairs are not contiguous; sort the pairs by episode "
                         "(stably, keeping time order) before calling from_arrays")
    ids = (np.cumsum(starts) - 1).astype(np.int32)  # renumber 0..E-1 in order of appearance
    lengths = np.bincount(ids).astype(np.int32)
    is_last = np.r_[ids[1:] != ids[:-1], True]
    if next_obs is None:
        following = np.concatenate([obs[1:], obs[-1:]])
        next_obs = np.where(is_last.reshape((-1,) + (1,) * (obs.ndim - 1)), obs, following)
    terminated = np.zeros(num_pairs, bool) if terminated is None else np.asarray(terminated, bool)
    truncated = is_last & ~terminated if truncated is None else np.asarray(truncated, bool)
    if episode_returns is None:
        episode_returns = np.full(len(lengths), np.nan, np.float32)
    fields = {
        "obs": obs, "action": action, "next_obs": np.asarray(next_obs, np.float32),
        "terminated": terminated, "truncated": truncated, "episode_id": ids,
        "episode_returns": np.asarray(episode_returns, np.float32), "episode_lengths": lengths,
    }
    return validate(_build(fields, _env_metadata(env, expert, "jgail.demos.from_arrays")), env)


def _check_structure(demos: Demonstrations) -> Demonstrations:
    """What must hold whatever the env: non-empty, consistent lengths, finite, episode ends."""
    num = demos.num_pairs
    if num == 0:
        raise ValueError("the dataset is empty (0 pairs); collect at least one episode")
    sizes = {f: len(getattr(demos, f)) for f in ARRAY_FIELDS}
    expected = dict.fromkeys(PAIR_FIELDS, num) | dict.fromkeys(EPISODE_FIELDS, demos.num_episodes)
    if sizes != expected or demos.episode_lengths.sum() != num:
        raise ValueError(f"field lengths disagree: {sizes}, episode_lengths sum to "
                         f"{demos.episode_lengths.sum()}; each per-pair field needs one row per "
                         f"pair ({num}), each per-episode field one per episode")
    expected_ids = np.repeat(np.arange(demos.num_episodes), demos.episode_lengths)
    if not np.array_equal(demos.episode_id, expected_ids):
        raise ValueError("episode_id must number episodes 0..E-1 in order, each over "
                         "episode_lengths[e] contiguous pairs (episode-major data)")
    for f in ("obs", "next_obs", "action", "episode_returns"):
        values = getattr(demos, f)
        if f == "episode_returns" and np.isnan(values).all():
            continue  # unknown returns are recorded as all NaN
        bad = ~np.isfinite(values)
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise ValueError(f"{f} contains NaN or inf ({int(bad.sum())} values, first at row {row}); "
                             f"drop or fix those pairs")
    if (demos.terminated & demos.truncated).any():
        raise ValueError("some pairs are both terminated and truncated; a time-limit end that is "
                         "also a true end is terminated only")
    ends = np.cumsum(demos.episode_lengths) - 1
    done = demos.terminated | demos.truncated
    if not done[ends].all() or done.sum() != len(ends):
        raise ValueError("each episode's last pair (and only it) must be terminated or truncated")
    return demos


def validate(demos: Demonstrations, env: Env) -> Demonstrations:
    """Raise a ValueError saying what is wrong (and how to fix it) if `demos` do not fit `env`."""
    _check_structure(demos)
    meta = demos.metadata
    if meta.get("env_id") != env.name:
        raise ValueError(f"the demonstrations were collected on {meta.get('env_id')!r} but the "
                         f"environment is {env.name!r}; use the matching environment or dataset")
    if meta.get("action_space") != _jsonable(env.action_space.to_dict()):
        raise ValueError(f"action space differs: dataset {meta.get('action_space')}, "
                         f"environment {env.name} {env.action_space.to_dict()}")
    if demos.obs.shape[1:] != env.obs_shape or demos.next_obs.shape[1:] != env.obs_shape:
        raise ValueError(f"observations have shape {demos.obs.shape[1:]} per pair but {env.name} "
                         f"observations have shape {env.obs_shape}")
    space = env.action_space
    if space.discrete:
        if not np.issubdtype(demos.action.dtype, np.integer) or demos.action.ndim != 1:
            raise ValueError(f"{env.name} has discrete actions: `action` must be int of shape [P], "
                             f"got {demos.action.dtype} {demos.action.shape}")
        bad = (demos.action < 0) | (demos.action >= space.num_actions)
        if bad.any():
            raise ValueError(f"action {int(demos.action[bad][0])} out of range [0, {space.num_actions}) "
                             f"for {env.name} ({int(bad.sum())} pairs)")
    elif demos.action.shape[1:] != space.shape:
        raise ValueError(f"actions have shape {demos.action.shape[1:]} per pair but {env.name} "
                         f"takes actions of shape {space.shape}")
    return demos


def check_env_options(demos: Demonstrations, env_id: str, env_options: dict):
    """Raise if the requested env id/options differ from those the dataset was collected with."""
    if demos.metadata.get("env_id") != env_id:
        raise ValueError(f"the dataset was collected on {demos.metadata.get('env_id')!r}, "
                         f"not {env_id!r}")
    recorded, requested = demos.metadata.get("env_options", {}), _jsonable(dict(env_options))
    unset = "not set (the env's default)"
    diffs = [f"{k}: dataset {recorded.get(k, unset)}, requested {requested.get(k, unset)}"
             for k in sorted(set(recorded) | set(requested)) if recorded.get(k) != requested.get(k)]
    if diffs:
        raise ValueError(f"environment options differ from those the dataset was collected with "
                         f"({'; '.join(diffs)}); use the dataset's values or recollect")


def save(demos: Demonstrations, path) -> str:
    """Write `demos` to one .npz (the suffix is added if missing), atomically. Returns the path."""
    _check_structure(demos)
    path = os.fspath(path)
    path = path if path.endswith(".npz") else path + ".npz"
    arrays = {f: getattr(demos, f) for f in ARRAY_FIELDS}
    arrays["metadata"] = np.asarray(json.dumps(demos.metadata))
    atomic_write(path, lambda f: np.savez(f, **arrays), binary=True)
    return path


def load(path, env: Env | None = None) -> Demonstrations:
    """Read a file written by `save`; validate it against `env` when given."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no demonstrations file at {path}; collect one with "
                                f"jgail.demos.collect and jgail.demos.save")
    try:
        with np.load(path, allow_pickle=False) as data:
            contents = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path} is not a jgail demonstrations .npz file ({err})") from None
    missing = [k for k in ARRAY_FIELDS + ("metadata",) if k not in contents]
    if missing:
        raise ValueError(f"{path} is missing key(s) {missing}; it was not written by jgail.demos.save")
    try:
        metadata = json.loads(str(contents.pop("metadata")))
    except ValueError as err:
        raise ValueError(f"{path}: its metadata is not valid JSON ({err})") from None
    version = metadata.get("format_version") if isinstance(metadata, dict) else None
    if version != FORMAT_VERSION:
        raise ValueError(f"{path} has format_version {version!r}; this jgail reads "
                         f"version {FORMAT_VERSION}")
    demos = Demonstrations(**{k: contents[k] for k in ARRAY_FIELDS}, metadata=metadata)
    return validate(demos, env) if env is not None else _check_structure(demos)
