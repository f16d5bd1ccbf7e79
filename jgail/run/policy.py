"""Exported policies: one self-describing .npz file that runs without jgail's training code.

    jgail export runs/expert --out cartpole.npz          # or a `jgail gail` run, --seed K
    policy = jgail.policy.load("cartpole.npz")
    action = policy.act(obs)                             # one observation [obs_dim] or a batch [n, obs_dim]
    action = policy.act(obs, key=jax.random.key(0))      # sampled, as jgail trains and evaluates

The file (format "jgail-policy", version 1) holds plain float32 arrays and one JSON string:

    spec                    JSON: format, format_version, env_id, env_options, obs_shape,
                            action_space {discrete, shape, num_actions, low, high},
                            max_episode_steps, network {hidden_sizes, activation},
                            normalize_obs, obs_clip, obs_eps, actions ("sampled" or "greedy":
                            how the policy was evaluated when exported), source, seed, training
    layer_{i}/kernel, /bias the actor MLP, input first: x <- act(x @ kernel + bias), no
                            activation after the last layer, whose output is the logits
                            (discrete) or the Gaussian mean (continuous)
    log_std                 continuous only: the Gaussian's state-independent log std
    obs_mean, obs_var       when normalize_obs: x = clip((obs - mean) / sqrt(var + eps), -clip, clip)

Reading it needs only numpy (`np.load(path)`, no pickle); README.md's "Use a trained policy
elsewhere" has a 20-line loader a user can copy, and tests/test_export.py runs it with jax and
flax blocked. `Policy.act` with no key is the greedy action (argmax / mean); with a jax key it
samples exactly as jgail's own `PolicyNetworks.dist(...).sample(key)` does. Continuous actions
are clipped to the action space's bounds, as jgail's environments clip them.
"""

from __future__ import annotations

import io
import json
import math
import os

import numpy as np

from jgail.core.atomic_io import atomic_write
from jgail.core.errors import CheckpointError
from jgail.core.normalization import CLIP

FORMAT = "jgail-policy"
FORMAT_VERSION = 1
OBS_EPS = 1e-8  # RunningStats.normalize's
ACTIVATIONS = {
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),  # flax's default
    "swish": lambda x: x / (1 + np.exp(-x)),
}


def policy_arrays(params, obs_stats, spec: dict) -> dict[str, np.ndarray]:
    """The file's arrays from an agent's params {"actor", "critic"} and RunningStats."""
    actor = params["actor"]["params"]
    dense = actor["MLP_0"]
    arrays = {}
    for i in range(len(dense)):
        arrays[f"layer_{i}/kernel"] = np.asarray(dense[f"Dense_{i}"]["kernel"], np.float32)
        arrays[f"layer_{i}/bias"] = np.asarray(dense[f"Dense_{i}"]["bias"], np.float32)
    if "log_std" in actor:
        arrays["log_std"] = np.asarray(actor["log_std"], np.float32)
    if spec["normalize_obs"]:
        arrays["obs_mean"] = np.asarray(obs_stats.mean, np.float32)
        arrays["obs_var"] = np.asarray(obs_stats.var, np.float32)
    return arrays


def export(path, params, obs_stats, agent_spec: dict, *, greedy: bool = False, source: str | None = None,
           seed: int | None = None, overwrite: bool = False) -> str:
    """Write the policy of one agent (params and obs statistics of one seed, as `load_agent`
    returns them, with its spec) to `path` (.npz added if missing), atomically. Returns the path."""
    path = os.fspath(path)
    path = path if path.endswith(".npz") else path + ".npz"
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (jgail export --overwrite) to replace it")
    spec = {"format": FORMAT, "format_version": FORMAT_VERSION,
            **{k: agent_spec[k] for k in ("env_id", "env_options", "obs_shape", "action_space", "max_episode_steps")
               if k in agent_spec},
            "network": dict(agent_spec["network"]), "normalize_obs": bool(agent_spec["normalize_obs"]),
            "obs_clip": CLIP, "obs_eps": OBS_EPS, "actions": "greedy" if greedy else "sampled",
            "source": source, "seed": seed, "training": agent_spec.get("training", {})}
    arrays = policy_arrays(params, obs_stats, spec)
    buffer = io.BytesIO()
    np.savez(buffer, spec=np.asarray(json.dumps(spec)), **arrays)
    atomic_write(path, lambda f: f.write(buffer.getvalue()), binary=True)
    return path


class Policy:
    """An exported policy: `act(obs, key=None)` on one observation [obs_dim] or a batch [..., obs_dim].

    Attributes: `spec` (the file's JSON), `env_id`, `discrete`, `greedy` (how it was evaluated
    when exported: act() without a key is greedy either way)."""

    def __init__(self, spec: dict, arrays: dict[str, np.ndarray]):
        self.spec = spec
        self.env_id = spec["env_id"]
        space = spec["action_space"]
        self.discrete = bool(space["discrete"])
        self.greedy = spec.get("actions") == "greedy"
        self._activation = ACTIVATIONS[spec["network"]["activation"]]
        self._layers = [(arrays[f"layer_{i}/kernel"], arrays[f"layer_{i}/bias"])
                        for i in range(sum(k.endswith("/kernel") for k in arrays))]
        self._log_std = arrays.get("log_std")
        self._obs = (arrays["obs_mean"], arrays["obs_var"]) if spec["normalize_obs"] else None
        self._clip, self._eps = float(spec["obs_clip"]), float(spec["obs_eps"])
        self._low = None if self.discrete else np.asarray(space["low"], np.float32)
        self._high = None if self.discrete else np.asarray(space["high"], np.float32)
        self.obs_dim = self._layers[0][0].shape[0]

    def head(self, obs) -> np.ndarray:
        """The actor's output at raw obs [..., obs_dim]: logits (discrete) or the Gaussian mean."""
        x = np.asarray(obs, np.float32)
        if x.shape[-1:] != (self.obs_dim,):
            raise ValueError(f"{self.env_id} policy: observations must end in width {self.obs_dim}, got shape "
                             f"{x.shape}")
        if self._obs is not None:
            mean, var = self._obs
            x = np.clip((x - mean) / np.sqrt(var + np.float32(self._eps)), -self._clip, self._clip)
        for i, (kernel, bias) in enumerate(self._layers):
            x = x @ kernel + bias
            if i < len(self._layers) - 1:
                x = self._activation(x)
        return x.astype(np.float32)

    def act(self, obs, key=None):
        """The action at obs [obs_dim] (an int, or [action_dim]) or at a batch [..., obs_dim]: greedy
        (argmax / mean) without `key`; with a jax PRNG key, sampled as jgail samples (the same key
        gives jgail's own action). Continuous actions are clipped to the action bounds."""
        out = self.head(obs)
        if key is None:
            action = out.argmax(-1) if self.discrete else out
        else:
            import jax  # only for sampling with a jax key: greedy use needs numpy alone

            if self.discrete:
                action = np.asarray(jax.random.categorical(key, out))
            else:
                noise = np.asarray(jax.random.normal(key, out.shape), np.float32)
                action = out + np.exp(np.broadcast_to(self._log_std, out.shape)) * noise
        if self.discrete:
            return int(action) if np.ndim(action) == 0 else action.astype(np.int32)
        return np.clip(action, self._low, self._high).astype(np.float32)


def load(path) -> Policy:
    """Read a policy written by `export` (jgail export); a file that is not one raises
    CheckpointError saying what it is missing."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no exported policy at {path}; write one with `jgail export RUN_DIR --out {path}`")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{path} is not a readable .npz file ({err})") from None
    if "spec" not in arrays:
        raise CheckpointError(f"{path} has no spec: it is not a policy written by `jgail export`")
    spec = json.loads(str(arrays.pop("spec")))
    if spec.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a {spec.get('format')!r} file, not a {FORMAT!r} one")
    if spec.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path} has format_version {spec['format_version']}; this jgail reads up to "
                              f"{FORMAT_VERSION}: upgrade jgail")
    return Policy(spec, arrays)
