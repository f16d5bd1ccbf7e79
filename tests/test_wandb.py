"""--wandb PROJECT, offline (WANDB_MODE=offline: no network, no account): the W&B run holds the
scalars TensorBoard gets (checked against metrics.jsonl with a plain loop), config.json as its
config and summary.json as its summary; bad uses are refused before anything compiles."""

import glob
import json
import os
import struct
import sys
import time

import numpy as np
import pytest

from jgail import cli

pytest.importorskip("wandb")
from wandb.proto import wandb_internal_pb2  # noqa: E402

ENV = ["--env", "CartPole-v1", "--max-episode-steps", "50"]


def _records(path):
    """The protobuf records of a W&B run file (a LevelDB-style log: a 7-byte file header, then
    32 KiB blocks of records, each with a 7-byte header: crc32c, length, type 1 full / 2 first /
    3 middle / 4 last); wandb 0.31 ships no Python reader for it."""
    data = open(path, "rb").read()
    assert data[:4] == b":W&B", data[:4]
    pos, block, parts = 7, 32768, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:  # a block's tail too short for a header is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if length == 0 and kind == 0:
            pos += left
            continue
        parts += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(parts)
            parts = b""
            yield record


def _settled(path, timeout_s=30.0):
    """Wait until wandb's service, a separate process that may still be flushing after `finish`
    on a loaded machine, has left the run file unchanged for a second (CI once read it mid-write)."""
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        size = os.path.getsize(path)
        if size == last:
            return path
        last = size
        time.sleep(1.0)
    return path


def _read_offline_run(run_dir):
    files = glob.glob(str(run_dir / "wandb" / "offline-run-*" / "run-*.wandb"))
    assert len(files) == 1, files
    config, history, summary = {}, {}, {}
    for record in _records(_settled(files[0])):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            config.update({u.key: json.loads(u.value_json) for u in record.run.config.update})
        elif kind == "config":
            config.update({u.key: json.loads(u.value_json) for u in record.config.update})
        elif kind == "history":
            items = {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item}
            history[items.pop("_step")] = {k: v for k, v in items.items() if not k.startswith("_")}
        elif kind == "summary":
            summary.update({u.key or "/".join(u.nested_key): json.loads(u.value_json) for u in record.summary.update})
    return config, history, summary


def test_an_offline_wandb_run_holds_the_scalars_config_and_summary(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = tmp_path / "expert"
    assert cli.main(["expert", *ENV, "--total-timesteps", "6144", "--seeds", "2", "--chunk", "2", "--out", str(run),
                     "--no-progress", "--eval-episodes", "5", "--wandb", "jgail-test"]) == 0
    config, history, summary = _read_offline_run(run)

    saved = json.loads((run / "config.json").read_text())
    assert config["command"] == "expert" and config["args"] == saved["args"] and config["config"] == saved["config"]
    run_summary = json.loads((run / "summary.json").read_text())
    for key, value in run_summary.items():  # summary.json's entries win over the curves' last values
        assert summary[key] == (pytest.approx(value) if isinstance(value, float) else value), key

    # The reference: means across seeds of metrics.jsonl, at env steps per seed, by a plain loop.
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    expected = {}
    for row in rows:
        step = int(row["env_steps"])  # env steps per seed so far
        for name, value in row.items():
            if name not in ("iteration", "seed") and value is not None:
                expected.setdefault(step, {}).setdefault(name, []).append(value)
    assert sorted(history) == sorted(expected) and len(history) == 6
    for step, scalars in expected.items():
        assert set(history[step]) == set(scalars), step
        for name, values in scalars.items():
            assert history[step][name] == pytest.approx(float(np.mean(values)), rel=1e-6), (step, name)
    assert (run / "wandb_run_id").read_text().strip() == glob.glob(str(run / "wandb" / "offline-run-*"))[0][-8:]


def test_bad_wandb_uses_are_refused_before_compiling(tmp_path, monkeypatch, capsys):
    demos = str(tmp_path / "none.npz")  # never read: each refusal comes first
    cases = [
        (["expert", *ENV, "--out", str(tmp_path / "a"), "--wandb", "team/project"], "give a W&B project name"),
        (["sweep", *ENV, "--demos", demos, "--grid", "disc_lr=1e-3,3e-4", "--out", str(tmp_path / "b"),
          "--wandb", "p"], "a sweep's cells are different settings"),
    ]
    for argv, message in cases:
        assert cli.main(argv) == 2, argv
        assert message in capsys.readouterr().err, argv
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if the extra were not installed
    assert cli.main(["expert", *ENV, "--out", str(tmp_path / "c"), "--wandb", "p"]) == 2
    assert "pip install -e '.[wandb]'" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in "abc")
