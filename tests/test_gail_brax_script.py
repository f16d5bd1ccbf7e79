"""benchmarks/gail_brax.py's own parts that decide what a long run records or refuses: the
training curve a row keeps (against a plain loop) and the tuning overrides' checks, which must
stop a run before it loads an env or compiles anything."""

import math
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks import gail_brax  # noqa: E402


def test_the_training_curve_is_each_windows_mean_over_the_iterations_that_finished_an_episode():
    rng = np.random.default_rng(0)
    curves = rng.normal(size=(3, 47))
    curves[1, :10] = np.nan  # seed 1 finished no episode in its first 10 iterations (window 0)
    steps_per_seed = 47 * 640
    result = gail_brax.training_curve(curves, steps_per_seed, points=5)
    # A plain loop: 47 iterations in 5 windows, the first 47 % 5 = 2 one longer (10, 10, 9, 9, 9).
    sizes = [10, 10, 9, 9, 9]
    ends = np.cumsum(sizes)
    assert result["env_steps"] == [int(e * 640) for e in ends]
    for seed in range(3):
        for w, (start, end) in enumerate(zip(np.concatenate([[0], ends[:-1]]), ends)):
            values = [v for v in curves[seed, start:end] if not math.isnan(v)]
            expected = sum(values) / len(values) if values else math.nan
            got = result["per_seed"][seed][w]
            assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)
    assert math.isnan(result["per_seed"][1][0]) and not math.isnan(result["per_seed"][1][1])


@pytest.mark.parametrize("argv, message", [
    (["--ppo-epochs", "0", "--name", "t"], "--ppo-epochs must be at least 1"),
    (["--budget", "accelerator", "--ppo-epochs", "10", "--name", "t"], "pass --generator ppo"),
    (["--disc-updates", "2"], "pass another --name"),
])
def test_the_tuning_overrides_are_refused_with_what_to_pass_before_anything_runs(argv, message, capsys):
    with pytest.raises(SystemExit):
        gail_brax.parse_args(argv)
    assert message in capsys.readouterr().err


def test_the_tuning_overrides_reach_the_run_when_valid():
    args = gail_brax.parse_args(["--budget", "accelerator", "--generator", "ppo", "--ppo-epochs", "10",
                                 "--disc-updates", "2", "--name", "t"])
    assert (args.ppo_epochs, args.disc_updates) == (10, 2)
