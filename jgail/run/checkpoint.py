"""Saving and loading trained agents (policy params, observation statistics, spec).

    spec = make_spec(env, network, normalize_obs, training={"total_timesteps": 500_000})
    save_agent("runs/cartpole_expert", params, obs_stats, spec)
    params, obs_stats, spec = load_agent("runs/cartpole_expert")
    env, nets = rebuild_nets(spec)

An agent checkpoint is a directory (mode 0755 under the usual umask):

    spec.json   JSON object: format ("jgail-agent"), format_version (1), the env's spec
                (env_id, env_options, obs_shape, action_space, max_episode_steps, as in
                Env.spec()), network {hidden_sizes, activation}, normalize_obs, training {...},
                and integrity data: state_files {path under state/: sha256 of its bytes} and
                checksum_sha256 (sha256 over the rest of the spec and the arrays' paths,
                dtypes, shapes and bytes, in sorted path order)
    state/      an orbax-checkpoint PyTree checkpoint of
                {"params": policy params, "obs_stats": {"mean", "var", "count"}}

Atomicity. Orbax writes `state/` under a temporary `state.orbax-checkpoint-tmp*` name and
renames it once complete (its default AtomicRenameTemporaryPath, orbax 0.12). On top of that,
save_agent builds the whole directory under a hidden temporary sibling and renames it into
place, so readers see the old checkpoint or the new one, never half of one. Replacing an
existing checkpoint (overwrite=True) renames the old one aside first, then deletes it.

Integrity. load_agent checks every state/ file against its recorded sha256 before orbax
reads it (orbax on damaged files fails obscurely, with asyncio tracebacks), then the restored
arrays against the shapes the spec's network implies and against checksum_sha256. Any corrupt,
truncated or mismatched checkpoint raises `CheckpointError` naming the file. Checkpoints
saved before the integrity data existed load with the shape check only.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jgail.core.atomic_io import fsync_dir, write_json_atomic
from jgail.core.env import Env
from jgail.core.errors import CheckpointError
from jgail.core.networks import NetworkConfig, PolicyNetworks
from jgail.core.normalization import RunningStats
from jgail.envs import make

FORMAT = "jgail-agent"
FORMAT_VERSION = 1
SPEC_FILE = "spec.json"
STATE_DIR = "state"
REQUIRED_SPEC_KEYS = ("env_id", "env_options", "network", "normalize_obs")
INTEGRITY_KEYS = ("state_files", "checksum_sha256")


def make_spec(env: Env, network: NetworkConfig, normalize_obs: bool, training: dict | None = None):
    """The spec `save_agent` expects: the env's spec, the network, normalisation, training numbers."""
    return env.spec() | {
        "network": {"hidden_sizes": list(network.hidden_sizes), "activation": network.activation},
        "normalize_obs": bool(normalize_obs),
        "training": dict(training or {}),
    }


def _checked_spec(spec: dict) -> dict:
    missing = [k for k in REQUIRED_SPEC_KEYS if k not in spec]
    if missing:
        raise CheckpointError(f"agent spec lacks {missing}; build it with jgail.checkpoint.make_spec")
    try:
        spec = json.loads(json.dumps(spec))
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"agent spec must be JSON-serialisable: {err}") from None
    spec = {k: v for k, v in spec.items() if k not in INTEGRITY_KEYS}
    return spec | {"format": FORMAT, "format_version": FORMAT_VERSION}


def checksum(state, spec: dict) -> str:
    """sha256 over `spec` (but its integrity keys) and every array of `state` (its path, dtype,
    shape and bytes, in sorted path order): equal exactly when both are."""
    plain_spec = {k: v for k, v in spec.items() if k not in INTEGRITY_KEYS}
    digest = hashlib.sha256(json.dumps(plain_spec, sort_keys=True).encode())
    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    for path, leaf in sorted(((jax.tree_util.keystr(p), leaf) for p, leaf in leaves), key=lambda pl: pl[0]):
        array = np.ascontiguousarray(np.asarray(leaf))
        digest.update(f"{path}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def file_sha256(path: str) -> str:
    """The sha256 of the file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _state_files(state_path: str) -> dict:
    """{path relative to state/ (POSIX): sha256} of every file orbax wrote."""
    files = {}
    for root, _, names in os.walk(state_path):
        for name in names:
            full = os.path.join(root, name)
            files[os.path.relpath(full, state_path).replace(os.sep, "/")] = file_sha256(full)
    return dict(sorted(files.items()))


def _is_checkpoint(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, SPEC_FILE))


def _normal_dir_mode(directory: str):
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(directory, 0o777 & ~mask)  # mkdtemp makes 0700; a checkpoint is as readable as a file


def save_agent(directory, params, obs_stats: RunningStats, spec: dict, *, overwrite: bool = False):
    """Save policy params, observation statistics and `spec` (see `make_spec`) to `directory`.
    Refuses to replace an existing checkpoint unless `overwrite`; never replaces anything else.
    Returns the absolute path of the checkpoint directory."""
    import orbax.checkpoint as ocp  # imported here: it is slow to import and only needed here

    spec = _checked_spec(spec)
    final = os.path.abspath(os.fspath(directory))
    if os.path.exists(final):
        if os.path.isdir(final) and not os.listdir(final):
            os.rmdir(final)
        elif not _is_checkpoint(final):
            raise FileExistsError(f"{final} exists and is not a jgail agent checkpoint; "
                                  f"refusing to replace it, choose another directory")
        elif not overwrite:
            raise FileExistsError(f"{final} already holds an agent checkpoint; pass "
                                  f"overwrite=True to replace it, or choose another directory")
    parent = os.path.dirname(final)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(final)}.", suffix=".tmp", dir=parent)
    try:
        _normal_dir_mode(staging)
        stats = {"mean": obs_stats.mean, "var": obs_stats.var, "count": obs_stats.count}
        state = jax.tree.map(np.asarray, {"params": params, "obs_stats": stats})
        state_path = os.path.join(staging, STATE_DIR)
        ocp.PyTreeCheckpointer().save(state_path, state)
        integrity = {"state_files": _state_files(state_path), "checksum_sha256": checksum(state, spec)}
        write_json_atomic(os.path.join(staging, SPEC_FILE), spec | integrity)
        if os.path.exists(final):
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(final)}.", suffix=".old", dir=parent)
            os.replace(final, old)  # `old` is an empty dir, so the rename may take its place
            os.replace(staging, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_dir(parent)
    return final


def _read_spec(directory: str) -> dict:
    """spec.json as a dict with the keys and types loading needs, or a CheckpointError."""
    path = os.path.join(directory, SPEC_FILE)
    try:
        with open(path, "rb") as f:
            spec = json.loads(f.read().decode("utf-8"))
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CheckpointError(f"{path} is not valid JSON ({err}); the checkpoint is damaged") from None
    if not isinstance(spec, dict):
        raise CheckpointError(f"{path} must hold a JSON object, not a {type(spec).__name__}; "
                              f"the checkpoint is damaged or was not written by jgail.checkpoint.save_agent")
    if spec.get("format") != FORMAT or spec.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} has format {spec.get('format')!r} version "
                              f"{spec.get('format_version')!r}; expected {FORMAT!r} version {FORMAT_VERSION}")
    missing = [k for k in REQUIRED_SPEC_KEYS if k not in spec]
    if missing:
        raise CheckpointError(f"{path} lacks {missing}; the checkpoint is damaged")
    network = spec["network"]
    problems = [
        (not isinstance(spec["env_id"], str), "env_id must be a string"),
        (not isinstance(spec["env_options"], dict), "env_options must be a JSON object"),
        (not isinstance(spec["normalize_obs"], bool), "normalize_obs must be true or false"),
        (not (isinstance(network, dict) and isinstance(network.get("activation"), str)
              and isinstance(network.get("hidden_sizes"), list) and network["hidden_sizes"]
              and all(isinstance(h, int) and not isinstance(h, bool) and h >= 1
                      for h in network["hidden_sizes"])),
         "network must be {hidden_sizes: [positive ints], activation: name}"),
        (not isinstance(spec.get("state_files", {}), dict), "state_files must be a JSON object"),
        (not isinstance(spec.get("checksum_sha256", ""), str), "checksum_sha256 must be a string"),
        (("state_files" in spec) != ("checksum_sha256" in spec),
         "state_files and checksum_sha256 must both be there (older checkpoints have neither)"),
    ]
    for bad, requirement in problems:
        if bad:
            raise CheckpointError(f"{path}: {requirement}; the checkpoint is damaged")
    return spec


def _verify_files(directory: str, state_path: str, recorded: dict):
    """Every file recorded at save time is there with the same bytes (checked before orbax reads
    them: on damaged files it fails with obscure errors and asyncio tracebacks)."""
    for name, expected in recorded.items():
        path = os.path.join(state_path, *str(name).split("/"))
        if not os.path.isfile(path):
            raise CheckpointError(f"{path} is missing; the checkpoint at {directory} is incomplete")
        if file_sha256(path) != expected:
            raise CheckpointError(f"{path} is damaged (its sha256 differs from the one recorded in "
                                  f"{SPEC_FILE}); restore the checkpoint from a copy or retrain")


def _restore(state_path: str):
    import orbax.checkpoint as ocp

    checkpointer = ocp.PyTreeCheckpointer()
    try:
        metadata = checkpointer.metadata(state_path).item_metadata
        if metadata is None:
            raise CheckpointError(f"orbax found no readable PyTree in {state_path}")
        # Restore as NumPy: a checkpoint saved on a GPU then loads on a CPU-only machine too.
        restore_args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), metadata.tree)
        return checkpointer.restore(state_path, args=ocp.args.PyTreeRestore(restore_args=restore_args))
    except CheckpointError:
        raise
    except Exception as err:  # orbax/tensorstore raise many types on damaged files
        raise CheckpointError(f"{state_path} could not be read ({type(err).__name__}: {err}); "
                              f"the checkpoint is damaged") from None


def _shapes(tree) -> dict:
    """{path: "dtype[shape]"} of every leaf."""
    return {jax.tree_util.keystr(path): f"{np.dtype(leaf.dtype).name}{list(np.shape(leaf))}"
            for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]}


def _check_arrays_fit(directory: str, state, spec: dict):
    """The restored arrays have exactly the structure, shapes and dtypes the spec's network implies."""
    try:
        env, nets = rebuild_nets(spec)
    except Exception as err:  # the spec is data from disk: a damaged one can fail anywhere in make()
        raise CheckpointError(f"{os.path.join(directory, SPEC_FILE)}: cannot rebuild the agent "
                              f"({err})") from None
    stats = RunningStats.create(env.obs_dim)
    expected = jax.eval_shape(lambda: {"params": nets.init(jax.random.key(0), env.obs_dim),
                                       "obs_stats": {"mean": stats.mean, "var": stats.var, "count": stats.count}})
    stored, wanted = _shapes(state), _shapes(expected)
    if stored != wanted:
        diffs = [f"{k}: stored {stored.get(k, 'absent')}, spec implies {wanted.get(k, 'absent')}"
                 for k in sorted(set(stored) | set(wanted)) if stored.get(k) != wanted.get(k)]
        raise CheckpointError(f"{directory}: the saved arrays do not match {SPEC_FILE} "
                              f"({'; '.join(diffs[:4])}{'; ...' if len(diffs) > 4 else ''}); "
                              f"the checkpoint is damaged or its spec was edited")


def load_agent(directory) -> tuple[Any, RunningStats, dict]:
    """Restore `(params, obs_stats, spec)` saved by `save_agent`; arrays come back as jnp arrays
    on the default device (whatever device they were saved from). The spec comes back without
    the integrity data. A corrupt or mismatched checkpoint raises CheckpointError."""
    directory = os.path.abspath(os.fspath(directory))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"no agent checkpoint at {directory}: the directory does not exist")
    if not _is_checkpoint(directory):
        raise CheckpointError(f"{directory} is not a jgail agent checkpoint (no {SPEC_FILE}); "
                              f"save one with jgail.checkpoint.save_agent")
    spec = _read_spec(directory)
    state_path = os.path.join(directory, STATE_DIR)
    if not os.path.isdir(state_path):
        raise CheckpointError(f"{directory} has no {STATE_DIR}/ directory; the checkpoint is incomplete")
    _verify_files(directory, state_path, spec.get("state_files", {}))
    state = _restore(state_path)
    _check_arrays_fit(directory, state, spec)
    if "checksum_sha256" in spec and checksum(state, spec) != spec["checksum_sha256"]:
        raise CheckpointError(f"{directory}: the restored arrays or {SPEC_FILE} differ from what was "
                              f"saved (checksum_sha256 mismatch); the checkpoint is damaged")
    state = jax.tree.map(jnp.asarray, state)
    spec = {k: v for k, v in spec.items() if k not in INTEGRITY_KEYS}
    return state["params"], RunningStats(**state["obs_stats"]), spec


def rebuild_nets(spec: dict) -> tuple[Env, PolicyNetworks]:
    """Remake the env and the policy networks a checkpoint's params belong to."""
    env = make(spec["env_id"], **spec["env_options"])
    recorded_space = spec.get("action_space")
    live_space = json.loads(json.dumps(env.action_space.to_dict()))  # tuples -> lists, as stored
    if recorded_space is not None and recorded_space != live_space:
        raise CheckpointError(f"{spec['env_id']} now has action space {env.action_space.to_dict()}, but "
                              f"the checkpoint was trained with {recorded_space}")
    if "obs_shape" in spec and list(spec["obs_shape"]) != list(env.obs_shape):
        raise CheckpointError(f"{spec['env_id']} now has observation shape {env.obs_shape}, but the "
                              f"checkpoint was trained with {spec['obs_shape']}")
    network = NetworkConfig(tuple(spec["network"]["hidden_sizes"]), spec["network"]["activation"])
    return env, PolicyNetworks.create(env.action_space, network, bool(spec["normalize_obs"]))
