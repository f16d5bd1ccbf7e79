"""Weights & Biases as a second sink for the run driver's scalars (`--wandb PROJECT`; pip install
-e '.[wandb]').

The run logs what TensorBoard gets (every metric's mean across seeds against env steps per
seed, jgail.run.driver._write_scalars), with the run's config.json (command, arguments and the
resolved configuration) as the W&B config and its summary.json as the W&B summary when the
command ends. W&B's own files go to RUN_DIR/wandb/. Offline use is W&B's own switch:
WANDB_MODE=offline writes the run there to `wandb sync` later, and needs no network or account.

A run keeps one W&B run id (RUN_DIR/wandb_run_id), so `--resume` continues the same W&B run;
steps logged between the last checkpoint and an interruption are logged again after it, and
W&B keeps the first of each (it ignores a step at or below one it already has).
"""

from __future__ import annotations

import json
import os
import secrets

from jgail.core.atomic_io import atomic_write
from jgail.core.errors import JgailError

ID_FILE = "wandb_run_id"
_open: list[Sink] = []


def require() -> None:
    """JgailError (raised before anything compiles) when the wandb package is missing."""
    try:
        import wandb  # noqa: F401
    except ImportError:
        raise JgailError("--wandb needs the wandb package: pip install -e '.[wandb]' (set WANDB_MODE=offline "
                         "to log without a network or an account)") from None


class Sink:
    """One W&B run for one run directory: `add_scalar`/`flush` as a tensorboardX writer has them
    (a chunk's scalars are logged step by step in increasing order on flush), `finish(summary)`."""

    def __init__(self, run_dir: str, project: str, config: dict | None, resume: bool):
        import wandb

        id_path = os.path.join(run_dir, ID_FILE)
        if resume and os.path.isfile(id_path):
            with open(id_path) as f:
                run_id = f.read().strip()
        else:
            run_id = secrets.token_hex(4)  # 8 characters, as W&B ids are
            atomic_write(id_path, lambda f: f.write(run_id + "\n"))
        self.run_dir = run_dir
        self.run = wandb.init(project=project, dir=run_dir, id=run_id, resume="allow", config=config,
                              name=os.path.basename(os.path.abspath(run_dir)))
        self._pending: dict[int, dict[str, float]] = {}

    def add_scalar(self, name: str, value: float, global_step: int) -> None:
        """Queue one scalar at env step `global_step` (logged on `flush`)."""
        self._pending.setdefault(int(global_step), {})[name] = float(value)

    def flush(self) -> None:
        """Log the queued scalars, one W&B step per env step, in increasing order."""
        for step in sorted(self._pending):
            self.run.log(self._pending[step], step=step)
        self._pending.clear()

    def finish(self, exit_code: int = 0) -> None:
        """Log what is queued, the run directory's summary.json as the W&B summary, and end the run."""
        self.flush()
        path = os.path.join(self.run_dir, "summary.json")
        if os.path.isfile(path):
            with open(path) as f:
                self.run.summary.update(json.load(f))
        self.run.finish(exit_code=exit_code)


def start(run_dir: str, project: str, config: dict | None, resume: bool) -> Sink:
    """A W&B run for `run_dir` (finished by `finish_all`, which the command line calls at its end)."""
    sink = Sink(run_dir, project, config, resume)
    _open.append(sink)
    return sink


def finish_all(exit_code: int = 0) -> None:
    """Finish every W&B run this process started."""
    while _open:
        _open.pop().finish(exit_code)
