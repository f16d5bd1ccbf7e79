"""The greedy policy as an ONNX graph (`jgail export --format onnx`; pip install -e '.[onnx]').

The actor is a plain MLP, so the graph is written directly with `onnx.helper` (no tracing of
JAX): input `obs` [batch, obs_dim] float32; outputs `action` (int64 argmax for discrete
actions, float32 mean clipped to the action bounds for continuous ones) and `head` (the logits
or the Gaussian mean). Observation normalisation is inside the graph. Opset 17. The same
arrays and formula as the .npz export (jgail.run.policy); tests/test_export.py checks both
against the JAX policy with onnxruntime.
"""

from __future__ import annotations

import json
import os

import numpy as np

from jgail.core.atomic_io import atomic_write
from jgail.core.errors import JgailError
from jgail.run import policy

OPSET = 17
ONNX_ACTIVATIONS = ("tanh", "relu", "elu", "swish")


def require():
    """JgailError (before anything is loaded) when the `onnx` package is missing."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise JgailError("--format onnx needs the onnx package: pip install -e '.[onnx]' (or use the default "
                         "--format npz, which needs only numpy to read)") from None


def build(arrays: dict[str, np.ndarray], spec: dict):
    """The onnx.ModelProto of the greedy policy given the export's arrays and spec."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    activation = spec["network"]["activation"]
    if activation not in ONNX_ACTIVATIONS:
        raise JgailError(f"--format onnx supports the activations {ONNX_ACTIVATIONS}, not {activation!r}; "
                         "export with --format npz instead")
    obs_dim = int(arrays["layer_0/kernel"].shape[0])
    nodes, inits = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    x = "obs"
    if spec["normalize_obs"]:
        scale = np.sqrt(arrays["obs_var"] + np.float32(spec["obs_eps"]))
        nodes += [helper.make_node("Sub", [x, const("obs_mean", arrays["obs_mean"])], ["obs_centred"]),
                  helper.make_node("Div", ["obs_centred", const("obs_scale", scale)], ["obs_scaled"]),
                  helper.make_node("Clip", ["obs_scaled", const("obs_low", -spec["obs_clip"]),
                                            const("obs_high", spec["obs_clip"])], ["obs_normalised"])]
        x = "obs_normalised"
    layers = sum(k.endswith("/kernel") for k in arrays)
    for i in range(layers):
        out = "head" if i == layers - 1 else f"pre_{i}"
        nodes += [helper.make_node("MatMul", [x, const(f"kernel_{i}", arrays[f"layer_{i}/kernel"])], [f"mm_{i}"]),
                  helper.make_node("Add", [f"mm_{i}", const(f"bias_{i}", arrays[f"layer_{i}/bias"])], [out])]
        if i < layers - 1:
            x = f"h_{i}"
            if activation == "swish":
                nodes += [helper.make_node("Sigmoid", [out], [f"sig_{i}"]),
                          helper.make_node("Mul", [out, f"sig_{i}"], [x])]
            else:
                nodes.append(helper.make_node({"tanh": "Tanh", "relu": "Relu", "elu": "Elu"}[activation], [out], [x]))
    space = spec["action_space"]
    if space["discrete"]:
        nodes.append(helper.make_node("ArgMax", ["head"], ["action"], axis=-1, keepdims=0))
        action = helper.make_tensor_value_info("action", TensorProto.INT64, ["batch"])
        head_width = int(space["num_actions"])
    else:
        nodes += [helper.make_node("Min", ["head", const("action_high", space["high"])], ["action_capped"]),
                  helper.make_node("Max", ["action_capped", const("action_low", space["low"])], ["action"])]
        head_width = int(np.prod(space["shape"]))
        action = helper.make_tensor_value_info("action", TensorProto.FLOAT, ["batch", head_width])
    graph = helper.make_graph(
        nodes, f"jgail_{spec['env_id'].replace('/', '_')}_policy",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", obs_dim])],
        [action, helper.make_tensor_value_info("head", TensorProto.FLOAT, ["batch", head_width])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="jgail")
    model.metadata_props.add(key="jgail_policy_spec", value=json.dumps(spec))
    onnx.checker.check_model(model)
    return model


def export(path, params, obs_stats, agent_spec: dict, *, source: str | None = None, seed: int | None = None) -> str:
    """Write the greedy policy of one agent as ONNX to `path`, atomically. Returns the path."""
    path = os.fspath(path)
    spec = {"format": "jgail-policy-onnx", "env_id": agent_spec["env_id"],
            "env_options": agent_spec.get("env_options", {}), "obs_shape": agent_spec.get("obs_shape"),
            "action_space": agent_spec["action_space"], "network": dict(agent_spec["network"]),
            "normalize_obs": bool(agent_spec["normalize_obs"]), "obs_clip": policy.CLIP, "obs_eps": policy.OBS_EPS,
            "actions": "greedy", "source": source, "seed": seed}
    model = build(policy.policy_arrays(params, obs_stats, spec), spec)
    data = model.SerializeToString()
    atomic_write(path, lambda f: f.write(data), binary=True)
    return path
