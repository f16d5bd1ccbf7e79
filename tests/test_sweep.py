"""`jgail sweep`: each (setting, seed) cell is the same whether trained with the others, alone,
in groups, over 4 devices or over 2 processes; structural settings are refused; a seed that
goes non-finite is flagged and left out of the aggregates while its neighbours are unaffected.

"The same" is exact for the evaluation returns of these short runs and float32 rounding for
parameters: XLA:CPU compiles a vmapped batch of 1 and of 4 cells to different kernels, whose
sums round differently (measured: at most 5e-5 relative after 2 iterations, or 2e-7 absolute
on a weight near zero). Cells computed in a batch of the same size are bit-identical (the
chunked driver and --resume tests)."""

import json
import os
import shutil
import socket
import subprocess
import sys

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from jgail import cli, demos, envs, scripted
from jgail.run import aggregate, driver

SWEEP = ["sweep", "--env", "CartPole-v1", "--max-episode-steps", "50", "--seeds", "2",
         "--grid", "disc.learning_rate=1e-4,1e-3", "--total-timesteps", "2048", "--eval-episodes", "5",
         "--no-progress"]
CODE = "import sys; from jgail.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    env = envs.make("CartPole-v1", max_episode_steps=50)
    return str(demos.save(demos.collect(jax.random.key(0), env, scripted.cartpole, 2, greedy=True),
                          root / "demos.npz"))


def _cells(out):
    """Per cell: (eval return, final parameters), read back from every group's results and checkpoint."""
    found = {}
    for name in sorted(os.listdir(out)):
        if not name.startswith("cells-"):
            continue
        lo, hi = map(int, name.split("-")[1:])
        results = json.load(open(os.path.join(out, name, "results.json")))
        step = driver.checkpoint_manager(os.path.join(out, name)).latest_step()
        # Restore as host arrays: the checkpoint may come from another device topology.
        path = os.path.join(out, name, driver.CHECKPOINT_DIR, str(step), "default")
        checkpointer = ocp.PyTreeCheckpointer()
        tree = checkpointer.metadata(path).item_metadata.tree
        restore_args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), tree)
        state = checkpointer.restore(path, args=ocp.args.PyTreeRestore(restore_args=restore_args))
        for i in range(lo, hi + 1):
            params = jax.tree.map(lambda x: np.asarray(x)[i - lo], state["agent"]["params"])
            found[i] = (results["eval_return"][i - lo], params)
    return found


def _assert_same_cells(a, b):
    assert sorted(a) == sorted(b) == [0, 1, 2, 3]
    for i in a:
        assert a[i][0] == b[i][0], f"cell {i}: eval return {a[i][0]} != {b[i][0]}"
        jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-3, atol=1e-6), a[i][1], b[i][1])
    # ... and different cells really differ (the comparison above would catch a mix-up).
    assert not np.allclose(jax.tree.leaves(a[0][1])[0], jax.tree.leaves(a[1][1])[0])


@pytest.fixture(scope="module")
def together(demo_file, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("together") / "sweep")
    assert cli.main([*SWEEP, "--demos", demo_file, "--out", out]) == 0
    return out


def test_the_sweep_reports_every_setting_with_intervals(together):
    result = json.load(open(os.path.join(together, "sweep.json")))
    assert [r["rank"] for r in result["rows"]] == [1, 2]
    assert {r["setting"]["discriminator.learning_rate"] for r in result["rows"]} == {1e-4, 1e-3}
    for row in result["rows"]:
        assert row["seeds"] == 2 and row["mean_ci"][0] <= row["mean"] <= row["mean_ci"][1]
    assert os.path.getsize(os.path.join(together, "sweep.png")) > 5_000
    assert "IQM" in open(os.path.join(together, "sweep.md")).read()


def test_each_cell_equals_the_same_cell_trained_alone(together, demo_file, tmp_path):
    alone = str(tmp_path / "alone")
    assert cli.main([*SWEEP, "--demos", demo_file, "--out", alone, "--max-parallel", "1"]) == 0
    assert len([n for n in os.listdir(alone) if n.startswith("cells-")]) == 4
    _assert_same_cells(_cells(together), _cells(alone))


def test_four_devices_give_the_one_device_results(together, demo_file, tmp_path):
    out = str(tmp_path / "devices")
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    done = subprocess.run([sys.executable, "-c", CODE, *SWEEP, "--demos", demo_file, "--out", out],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "over 4 device(s)" in done.stdout
    _assert_same_cells(_cells(together), _cells(out))


def _two_processes(*args):
    """Run `jgail sweep ARGS` as 2 processes on localhost; returns their (stdout, stderr)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [sys.executable, "-c", CODE, *args, "--coordinator", f"127.0.0.1:{port}", "--num-processes", "2"]
    workers = [subprocess.Popen([*argv, "--process-id", str(i)], env=dict(os.environ), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for i in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    return outputs


def test_two_processes_give_the_one_process_results_and_resume_from_a_shared_checkpoint(together, demo_file,
                                                                                        tmp_path):
    out = str(tmp_path / "processes")
    outputs = _two_processes(*SWEEP, "--demos", demo_file, "--out", out, "--chunk", "1",
                            "--checkpoint-every", "1")
    assert "runs cells 0..1" in outputs[0][0] and "runs cells 2..3" in outputs[1][0]
    rows = json.load(open(os.path.join(out, "sweep.json")))["rows"]
    expected = json.load(open(os.path.join(together, "sweep.json")))["rows"]
    assert [r["eval_return_per_seed"] for r in rows] == [r["eval_return_per_seed"] for r in expected]
    # One checkpoint of the whole group, written once: both processes' cells are in it.
    _assert_same_cells(_cells(out), _cells(together))
    assert len(open(os.path.join(out, "cells-0-3", driver.METRICS_LOG)).readlines()) == 2 * 4  # iterations x cells
    # Stopped after iteration 1 (as if the last checkpoint were lost too): resume on 2 processes.
    checkpoints = os.path.join(out, "cells-0-3", driver.CHECKPOINT_DIR)
    assert sorted(os.listdir(checkpoints)) == ["1", "2"]
    shutil.rmtree(os.path.join(checkpoints, "2"))
    for name in ("cells-0-3/results.json", "sweep.json"):
        os.remove(os.path.join(out, name))
    _two_processes("sweep", "--resume", out)
    assert _rows_by_lr(out) == _rows_by_lr(together)
    _assert_same_cells(_cells(out), _cells(together))


def test_resume_reads_back_finished_groups_restores_checkpoints_and_refuses_another_split(together, tmp_path):
    out = str(tmp_path / "resumed")
    shutil.copytree(together, out)
    os.remove(os.path.join(out, "cells-0-3", "results.json"))  # as if stopped after the last checkpoint
    os.remove(os.path.join(out, "sweep.json"))
    assert cli.main(["sweep", "--resume", out]) == 0
    assert _rows_by_lr(out) == _rows_by_lr(together)
    assert cli.main(["sweep", "--resume", out, "--max-parallel", "2"]) == 2  # groups of 2 were never made
    assert cli.main(["sweep", "--resume", out, "--seeds", "3"]) == 2


def _rows_by_lr(out):
    rows = json.load(open(os.path.join(out, "sweep.json")))["rows"]
    return {r["setting"]["discriminator.learning_rate"]: r for r in rows}


def test_a_diverging_seed_is_flagged_and_its_neighbours_are_unaffected(together, demo_file, tmp_path, monkeypatch):
    """Cell 1 (setting 0, seed 1) gets an infinite discriminator learning rate after the grid
    was validated (as a diverging run would: its first D step makes it non-finite)."""
    from jgail.cli import sweeping

    real_cells_config = sweeping.cells_config

    def poisoned_cells_config(swept, num_settings, seeds):
        config = real_cells_config(swept, num_settings, seeds)
        lr = config.discriminator.learning_rate.at[1].set(np.inf)
        return config.replace(discriminator=config.discriminator.replace(learning_rate=lr))

    monkeypatch.setattr(sweeping, "cells_config", poisoned_cells_config)
    out = str(tmp_path / "poisoned")
    assert cli.main([*SWEEP, "--demos", demo_file, "--out", out]) == 0
    rows, clean = _rows_by_lr(out), _rows_by_lr(together)
    flagged = rows[1e-4]
    assert flagged["seeds_nonfinite"] == 1 and clean[1e-4]["seeds_nonfinite"] == 0
    assert flagged["nonfinite_iteration_per_seed (-1: finite)"][0] == -1
    assert flagged["nonfinite_iteration_per_seed (-1: finite)"][1] >= 0
    # the aggregates use the one finite seed only: its score, not a blend with the frozen one
    assert flagged["mean"] == pytest.approx(flagged["iqm"])
    assert flagged["mean"] != pytest.approx(clean[1e-4]["mean"])
    assert rows[1e-3]["seeds_nonfinite"] == 0 and rows[1e-3]["mean"] == clean[1e-3]["mean"]
    # every other cell is the clean run's, bit for bit (same batch of 4, same program)
    poisoned, reference = _cells(out), _cells(together)
    for i in (0, 2, 3):
        assert poisoned[i][0] == reference[i][0]
        jax.tree.map(np.testing.assert_array_equal, poisoned[i][1], reference[i][1])
    assert all(np.isfinite(x).all() for x in jax.tree.leaves(poisoned[1][1]))  # frozen at its last finite values


@pytest.mark.parametrize("grid, message", [
    ("network.hidden_sizes=8,16", "structural setting"),
    ("reward=1,2", "structural setting"),
    ("disc.num_updates=1,5", "structural setting"),
    ("disc.learning_rat=1e-4", "no field 'learning_rat'"),
    ("disc.learning_rate=1e-4,inf", "finite"),
])
def test_settings_that_cannot_share_a_compiled_call_are_refused(grid, message, demo_file, tmp_path, capsys):
    argv = [*SWEEP[:7], "--grid", grid, "--demos", demo_file, "--out", str(tmp_path / "x")]
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_aggregates_leave_out_non_finite_seeds():
    scores = np.array([1.0, 0.8, np.nan, 0.9])
    row = aggregate.summarize(scores, np.array([True, True, False, True]), threshold=0.85)
    assert row["seeds_nonfinite"] == 1 and row["seeds_reaching_threshold"] == 2
    assert row["mean"] == pytest.approx(0.9)
    assert row["mean_ci"][0] <= 0.9 <= row["mean_ci"][1]


def test_grid_flags_parse_with_aliases_and_refuse_repeats():
    from jgail.cli.args import UsageError
    from jgail.cli.sweeping import parse_grid

    assert parse_grid(["disc.learning_rate=1e-4,3e-4", "gen.ent_coef=0"]) == {
        "discriminator.learning_rate": [1e-4, 3e-4], "generator.ent_coef": [0.0]}
    with pytest.raises(UsageError, match="already swept"):
        parse_grid(["disc.learning_rate=1e-4", "discriminator.learning_rate=3e-4"])
    with pytest.raises(UsageError, match="repeats a value"):
        parse_grid(["disc.learning_rate=1e-4,1e-4"])


def test_aggregates_without_a_threshold_count_nothing():
    row = aggregate.summarize(np.array([1.0, 0.5]), np.array([True, True]), threshold=None)
    assert row["seeds_reaching_threshold"] is None
    row["setting"], row["rank"] = {}, 1
    assert "| -/2 |" in aggregate.markdown([row], "return", "seeds >= ?")
