"""Atomic file writes: a reader sees the old file or the complete new one, never half of one.
Every dataset, checkpoint spec, summary and results file in jgail is written through here."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from typing import Any


def fsync_dir(directory: str):
    """fsync `directory` itself, so a rename inside it survives a crash; a no-op where the
    platform cannot open a directory."""
    try:  # makes the rename itself durable; not every platform can open a directory
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write: Callable[[Any], None], binary: bool = False):
    """Call `write(file)` on a temp file beside `path`, fsync it, then `os.replace` it onto
    `path`: the target is the old file or the complete new one, never a partial write."""
    path = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes it 0600; give it a normal file's mode
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise
    fsync_dir(directory)


def write_json_atomic(path, obj):
    """Write `obj` as indented JSON, atomically (see `atomic_write`)."""
    text = json.dumps(obj, indent=2) + "\n"  # serialise first: a bad object never touches disk
    atomic_write(path, lambda f: f.write(text))
