"""Saving and loading trained agents (policy params, observation statistics, spec).

    spec = make_spec(env, network, normalize_obs, training={"total_timesteps": 500_000})
    save_agent("runs/cartpole_expert", params, obs_stats, spec)
    params, obs_stats, spec = load_agent("runs/cartpole_expert")
    env, nets = rebuild_nets(spec)

An agent checkpoint is a directory:

    spec.json   JSON object: format ("jgail-agent"), format_version (1), the env's spec
                (env_id, env_options, obs_shape, action_space, max_episode_steps, as in
                Env.spec()), network {hidden_sizes, activation}, normalize_obs, training {...}
    state/      an orbax-checkpoint PyTree checkpoint of
                {"params": policy params, "obs_stats": {"mean", "var", "count"}}

Atomicity. Orbax writes `state/` under a temporary `state.orbax-checkpoint-tmp*` name and
renames it once complete (its default AtomicRenameTemporaryPath, orbax 0.12). On top of that,
save_agent builds the whole directory under a hidden temporary sibling and renames it into
place, so readers see the old checkpoint or the new one, never half of one. Replacing an
existing checkpoint (overwrite=True) renames the old one aside first, then deletes it.
"""

from __future__ import annotations

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
from jgail.core.networks import NetworkConfig, PolicyNetworks
from jgail.core.normalization import RunningStats
from jgail.envs import make

FORMAT = "jgail-agent"
FORMAT_VERSION = 1
SPEC_FILE = "spec.json"
STATE_DIR = "state"
REQUIRED_SPEC_KEYS = ("env_id", "env_options", "network", "normalize_obs")


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
        raise ValueError(f"agent spec lacks {missing}; build it with jgail.checkpoint.make_spec")
    try:
        spec = json.loads(json.dumps(spec))
    except (TypeError, ValueError) as err:
        raise ValueError(f"agent spec must be JSON-serialisable: {err}") from None
    return spec | {"format": FORMAT, "format_version": FORMAT_VERSION}


def _is_checkpoint(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, SPEC_FILE))


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
        stats = {"mean": obs_stats.mean, "var": obs_stats.var, "count": obs_stats.count}
        state = jax.tree.map(np.asarray, {"params": params, "obs_stats": stats})
        ocp.PyTreeCheckpointer().save(os.path.join(staging, STATE_DIR), state)
        write_json_atomic(os.path.join(staging, SPEC_FILE), spec)
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


def load_agent(directory) -> tuple[Any, RunningStats, dict]:
    """Restore `(params, obs_stats, spec)` saved by `save_agent`; arrays come back as jnp arrays
    on the default device (whatever device they were saved from)."""
    import orbax.checkpoint as ocp

    directory = os.path.abspath(os.fspath(directory))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"no agent checkpoint at {directory}: the directory does not exist")
    if not _is_checkpoint(directory):
        raise ValueError(f"{directory} is not a jgail agent checkpoint (no {SPEC_FILE}); "
                         f"save one with jgail.checkpoint.save_agent")
    with open(os.path.join(directory, SPEC_FILE)) as f:
        try:
            spec = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f"{directory}/{SPEC_FILE} is not valid JSON ({err})") from None
    if spec.get("format") != FORMAT or spec.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{directory}/{SPEC_FILE} has format {spec.get('format')!r} version "
                         f"{spec.get('format_version')!r}; expected {FORMAT!r} version {FORMAT_VERSION}")
    state_path = os.path.join(directory, STATE_DIR)
    if not os.path.isdir(state_path):
        raise ValueError(f"{directory} has no {STATE_DIR}/ directory; the checkpoint is incomplete")
    checkpointer = ocp.PyTreeCheckpointer()
    # Restore as NumPy: a checkpoint saved on a GPU then loads on a CPU-only machine too.
    tree_metadata = checkpointer.metadata(state_path).item_metadata.tree
    restore_args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), tree_metadata)
    state = checkpointer.restore(state_path, args=ocp.args.PyTreeRestore(restore_args=restore_args))
    state = jax.tree.map(jnp.asarray, state)
    return state["params"], RunningStats(**state["obs_stats"]), spec


def rebuild_nets(spec: dict) -> tuple[Env, PolicyNetworks]:
    """Remake the env and the policy networks a checkpoint's params belong to."""
    env = make(spec["env_id"], **spec["env_options"])
    recorded_space = spec.get("action_space")
    live_space = json.loads(json.dumps(env.action_space.to_dict()))  # tuples -> lists, as stored
    if recorded_space is not None and recorded_space != live_space:
        raise ValueError(f"{spec['env_id']} now has action space {env.action_space.to_dict()}, but "
                         f"the checkpoint was trained with {recorded_space}")
    if "obs_shape" in spec and tuple(spec["obs_shape"]) != env.obs_shape:
        raise ValueError(f"{spec['env_id']} now has observation shape {env.obs_shape}, but the "
                         f"checkpoint was trained with {tuple(spec['obs_shape'])}")
    network = NetworkConfig(tuple(spec["network"]["hidden_sizes"]), spec["network"]["activation"])
    return env, PolicyNetworks.create(env.action_space, network, bool(spec["normalize_obs"]))
