"""Property-based tests of the dataset loader/validator and the checkpoint loader on random
malformed inputs (random dtypes and shapes, NaN/inf, JSON of any type, truncation, byte
flips): every case raises the library's own error with a message, or loads exactly what was
written. Never another exception, never a silently different load."""

import atexit
import functools
import json
import os
import shutil
import tempfile

import jax
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jgail import demos, envs
from jgail.core.errors import CheckpointError, DatasetError
from jgail.core.networks import NetworkConfig, PolicyNetworks
from jgail.core.normalization import RunningStats
from jgail.run.checkpoint import load_agent, make_spec, save_agent

ENV = envs.make("CartPole-v1", max_episode_steps=20)
PROPERTY = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int32, np.int64, np.uint8, np.bool_,
          np.complex64, np.dtype("<U3")]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6)


@functools.cache
def dataset():
    rng = np.random.default_rng(0)
    return demos.from_arrays(rng.normal(size=(12, 4)).astype(np.float32), rng.integers(0, 2, 12),
                             episode_id=np.repeat(np.arange(3), 4), episode_returns=[4.0, 4.0, 4.0], env=ENV)


def npz_bytes(arrays: dict, metadata) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "d.npz")
        np.savez(path, **arrays, metadata=np.asarray(json.dumps(metadata)))
        return open(path, "rb").read()


def load_bytes(data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "d.npz")
        open(path, "wb").write(data)
        return demos.load(path, env=ENV)


def same_json(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def assert_loads_what_was_written_or_refuses(data: bytes, arrays: dict, metadata):
    try:
        loaded = load_bytes(data)
    except DatasetError as err:
        assert str(err)
        return
    for field in demos.ARRAY_FIELDS:
        value = getattr(loaded, field)
        assert value.dtype == arrays[field].dtype and np.array_equal(value, arrays[field], equal_nan=True)
    assert same_json(loaded.metadata, dict.fromkeys(demos.RETURN_STATS) | metadata)
    demos.to_jax(loaded)
    assert demos.expert_return(loaded) is None or np.isfinite(demos.expert_return(loaded))


def original_arrays():
    return {f: getattr(dataset(), f) for f in demos.ARRAY_FIELDS}


@PROPERTY
@given(field=st.sampled_from(demos.ARRAY_FIELDS), dtype=st.sampled_from(DTYPES), data=st.data())
def test_a_field_of_any_dtype_and_shape_is_refused_or_loaded_exactly(field, dtype, data):
    original = original_arrays()[field]
    if data.draw(st.booleans()):  # nearly right: the real values, another dtype
        replacement = original.astype(dtype)
    else:
        shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=13))
        replacement = data.draw(hnp.arrays(dtype, shape))
    arrays = original_arrays() | {field: replacement}
    assert_loads_what_was_written_or_refuses(npz_bytes(arrays, dataset().metadata), arrays, dataset().metadata)


@PROPERTY
@given(key=st.sampled_from(sorted(dataset().metadata) + ["extra"]), value=json_values, delete=st.booleans())
def test_a_metadata_value_of_any_type_is_refused_or_loaded_exactly(key, value, delete):
    metadata = dict(dataset().metadata)
    if delete:
        metadata.pop(key, None)
    else:
        metadata[key] = value
    arrays = original_arrays()
    assert_loads_what_was_written_or_refuses(npz_bytes(arrays, metadata), arrays, metadata)


@PROPERTY
@given(metadata=json_values)
def test_metadata_that_is_not_an_object_is_refused(metadata):
    arrays = original_arrays()
    assert_loads_what_was_written_or_refuses(npz_bytes(arrays, metadata), arrays, metadata)


@PROPERTY
@given(data=st.data())
def test_a_truncated_or_bit_flipped_file_is_refused_or_loaded_exactly(data):
    arrays = original_arrays()
    raw = bytearray(npz_bytes(arrays, dataset().metadata))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        for position in data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=3)):
            raw[position] ^= 1 << data.draw(st.integers(0, 7))
    assert_loads_what_was_written_or_refuses(bytes(raw), arrays, dataset().metadata)


@PROPERTY
@given(obs=hnp.arrays(st.sampled_from(DTYPES), hnp.array_shapes(min_dims=0, max_dims=3, max_side=6)),
       action=hnp.arrays(st.sampled_from(DTYPES), hnp.array_shapes(min_dims=0, max_dims=2, max_side=6)),
       terminated=st.none() | hnp.arrays(st.sampled_from(DTYPES), st.integers(0, 6)))
def test_from_arrays_builds_a_valid_dataset_or_says_what_is_wrong(obs, action, terminated):
    try:
        built = demos.from_arrays(obs, action, terminated=terminated, env=ENV)
    except DatasetError as err:
        assert str(err)
        return
    demos.validate(built, ENV)
    np.testing.assert_array_equal(built.obs, np.asarray(obs, np.float32))


# Checkpoints --------------------------------------------------------------------------------

@functools.cache
def saved_agent():
    """(a pristine checkpoint directory, its params, its spec as loaded)."""
    network = NetworkConfig((8,), "tanh")
    params = jax.jit(PolicyNetworks.create(ENV.action_space, network).init, static_argnums=1)(
        jax.random.key(0), ENV.obs_dim)
    parent = tempfile.mkdtemp(prefix="jgail-malformed-")
    atexit.register(shutil.rmtree, parent, ignore_errors=True)
    directory = save_agent(os.path.join(parent, "agent"), params, RunningStats.create(ENV.obs_dim),
                           make_spec(ENV, network, False))
    return directory, params, load_agent(directory)[2]


def checkpoint_files(directory):
    return sorted(os.path.relpath(os.path.join(root, name), directory)
                  for root, _, names in os.walk(directory) for name in names)


def assert_checkpoint_loads_exactly_or_refuses(edit):
    pristine, params, spec = saved_agent()
    with tempfile.TemporaryDirectory() as tmp:
        directory = os.path.join(tmp, "agent")
        shutil.copytree(pristine, directory)
        edit(directory)
        try:
            loaded_params, _, loaded_spec = load_agent(directory)
        except CheckpointError as err:
            assert str(err)
            return
    jax.tree.map(np.testing.assert_array_equal, loaded_params, params)
    assert loaded_spec == spec


@PROPERTY
@given(data=st.data())
def test_a_damaged_checkpoint_file_is_refused_or_loaded_exactly(data):
    name = data.draw(st.sampled_from(checkpoint_files(saved_agent()[0])))
    damage = data.draw(st.sampled_from(["flip", "truncate", "garble", "append"]))

    def edit(directory):
        path = os.path.join(directory, name)
        raw = bytearray(open(path, "rb").read())
        if damage == "flip" and raw:
            for position in data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=3)):
                raw[position] ^= 1 << data.draw(st.integers(0, 7))
        elif damage == "truncate":
            raw = raw[: data.draw(st.integers(0, max(len(raw) - 1, 0)))]
        elif damage == "garble":
            raw = bytearray(data.draw(st.binary(min_size=len(raw), max_size=len(raw))))
        else:
            raw += data.draw(st.binary(min_size=1, max_size=16))
        open(path, "wb").write(bytes(raw))

    assert_checkpoint_loads_exactly_or_refuses(edit)


@PROPERTY
@given(key=st.sampled_from(["env_id", "env_options", "obs_shape", "action_space", "max_episode_steps",
                            "network", "normalize_obs", "training", "format", "format_version",
                            "state_files", "checksum_sha256"]),
       value=json_values, how=st.sampled_from(["set", "delete", "replace the whole spec"]))
def test_a_spec_of_any_shape_is_refused_or_loaded_exactly(key, value, how):
    def edit(directory):
        path = os.path.join(directory, "spec.json")
        spec = json.load(open(path))
        if how == "set":
            spec[key] = value
        elif how == "delete":
            del spec[key]
        else:
            spec = value
        json.dump(spec, open(path, "w"))

    assert_checkpoint_loads_exactly_or_refuses(edit)
