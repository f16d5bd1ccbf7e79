"""The command line end to end on tiny settings, and its errors on bad input."""

import json
import os

import numpy as np
import pytest

from jgail import cli, demos
from jgail.cli import training

ENV = ["--env", "CartPole-v1", "--max-episode-steps", "50"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """expert -> collect, shared by the tests below (each command compiles once)."""
    root = tmp_path_factory.mktemp("cli")
    expert_dir, demo_file = str(root / "expert"), str(root / "demos.npz")
    assert cli.main(["expert", *ENV, "--out", expert_dir, "--total-timesteps", "4096", "--seeds", "2",
                     "--eval-episodes", "5"]) == 0
    assert cli.main(["collect", "--expert", expert_dir, "--episodes", "6", "--out", demo_file]) == 0
    return root, expert_dir, demo_file


def test_expert_writes_checkpoint_and_summary(workdir):
    _, expert_dir, _ = workdir
    summary = json.load(open(os.path.join(expert_dir, "summary.json")))
    assert summary["env"]["env_options"] == {"max_episode_steps": 50}
    assert len(summary["eval_mean_return_per_seed"]) == 2
    assert 0 < summary["eval_mean_return"] <= 50 and summary["env_steps"] == 4096
    assert summary["wall_time_s"] > 0 and summary["eval_episodes"] == 5


def test_expert_with_a_target_return_stops_after_the_first_chunk_reaching_it(tmp_path):
    # Every CartPole episode returns >= 1, so the first chunk (2 iterations) reaches 1.
    out = str(tmp_path / "expert")
    assert cli.main(["expert", *ENV, "--out", out, "--total-timesteps", "8192", "--seeds", "2", "--chunk", "2",
                     "--target-return", "1", "--eval-episodes", "3", "--no-progress"]) == 0
    summary = json.load(open(os.path.join(out, "summary.json")))
    assert summary["stopped_early"] and summary["target_return"] == 1.0
    assert summary["env_steps"] == 2 * 1024 and summary["env_steps_all_seeds"] == 2 * 2 * 1024
    assert len(open(os.path.join(out, "metrics.jsonl")).readlines()) == 2 * 2  # iterations x seeds


def test_a_target_return_is_reached_when_every_seeds_chunk_mean_gets_there():
    nan = float("nan")
    rng = np.random.default_rng(0)
    outcomes = set()
    for _ in range(300):
        returns = rng.uniform(0, 10, (2, 4))
        returns[rng.uniform(size=returns.shape) < 0.3] = nan  # iterations in which no episode ended
        target = rng.uniform(0, 8)
        expected = True
        for seed in returns:  # a plain loop over seeds and iterations
            ended = [r for r in seed if r == r]
            expected &= bool(ended) and sum(ended) / len(ended) >= target
        assert training.reached({"episode_return": returns}, target) == expected
        outcomes.add(expected)
    assert outcomes == {True, False}
    assert not training.reached({"episode_return": np.full((2, 3), nan)}, -1e9)  # no episode ended yet


def test_a_non_finite_target_return_is_refused_before_training(capsys, tmp_path):
    assert cli.main(["expert", *ENV, "--out", str(tmp_path / "e"), "--target-return", "nan"]) == 2
    assert "--target-return must be a finite number" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()


def test_collect_writes_a_dataset_matching_the_env(workdir):
    _, _, demo_file = workdir
    data = demos.load(demo_file)
    assert data.num_episodes == 6 and data.num_pairs == int(data.episode_lengths.sum())
    assert data.metadata["env_options"] == {"max_episode_steps": 50}
    assert data.metadata["expert"]["kind"] == "ppo"


def test_gail_and_bc_write_summaries(workdir):
    root, _, demo_file = workdir
    for command, extra in [("gail", ["--total-timesteps", "2048"]), ("bc", ["--updates", "20"])]:
        out = str(root / command)
        assert cli.main([command, *ENV, "--demos", demo_file, "--out", out, "--seeds", "2",
                         "--eval-episodes", "5", *extra]) == 0
        summary = json.load(open(os.path.join(out, "summary.json")))
        assert len(summary["eval_mean_return_per_seed"]) == 2
        assert summary["expert_return"] == pytest.approx(float(demos.load(demo_file).episode_returns.mean()))
        assert np.isfinite(summary["normalised_score_mean"]) and summary["random_return"] > 0
    metrics = np.load(os.path.join(root, "gail", "metrics.npz"))
    assert metrics["disc_loss"].shape == (2, 2) and metrics["reward_mean"].shape == (2, 2)


def test_gail_runs_the_papers_trpo_generator(workdir):
    root, _, demo_file = workdir
    out = str(root / "gail_trpo")
    assert cli.main(["gail", *ENV, "--demos", demo_file, "--out", out, "--seeds", "1", "--generator", "trpo",
                     "--total-timesteps", "1024", "--eval-episodes", "3"]) == 0
    summary = json.load(open(os.path.join(out, "summary.json")))
    assert summary["method"] == "gail-trpo" and summary["generator"] == "trpo"
    assert np.load(os.path.join(out, "metrics.npz"))["accepted"].shape == (1, 1)


def _error(capsys, argv):
    code = cli.main(argv)
    return code, capsys.readouterr().err


def test_unknown_env_is_a_clear_error(capsys, tmp_path):
    code, err = _error(capsys, ["expert", "--env", "CartPol-v1", "--out", str(tmp_path / "x")])
    assert code == 2 and "unknown environment 'CartPol-v1'" in err and "CartPole-v1" in err


def test_no_episode_passing_the_filter_is_a_clear_error(capsys, workdir, tmp_path):
    _, expert_dir, _ = workdir
    code, err = _error(capsys, ["collect", "--expert", expert_dir, "--episodes", "3", "--min-return", "1e6",
                                "--out", str(tmp_path / "d.npz")])
    assert code == 2 and "no episode has return >= 1e+06" in err and "best was" in err
    assert not os.path.exists(tmp_path / "d.npz")


def test_dataset_env_options_must_match(capsys, workdir, tmp_path):
    _, _, demo_file = workdir
    code, err = _error(capsys, ["gail", "--env", "CartPole-v1", "--max-episode-steps", "200", "--demos",
                                demo_file, "--out", str(tmp_path / "g")])
    assert code == 2 and "max_episode_steps" in err and "50" in err
    code, err = _error(capsys, ["bc", "--env", "Acrobot-v1", "--demos", demo_file, "--out", str(tmp_path / "b")])
    assert code == 2 and "CartPole-v1" in err


def test_missing_inputs_are_clear_errors(capsys, tmp_path):
    code, err = _error(capsys, ["gail", *ENV, "--demos", str(tmp_path / "none.npz"), "--out", str(tmp_path)])
    assert code == 2 and "none.npz" in err
    code, err = _error(capsys, ["collect", "--expert", str(tmp_path / "nope"), "--episodes", "2",
                                "--out", str(tmp_path / "d.npz")])
    assert code == 2 and "nope" in err


def test_collect_scripted_writes_the_hand_written_controllers_episodes(capsys, tmp_path, monkeypatch):
    # issue 30: the MountainCarContinuous row's expert, from the command line. Its controller reaches
    # the goal (+100, less 0.1 per step of full force) in every episode.
    out = str(tmp_path / "mcc.npz")
    assert cli.main(["collect", "--scripted", "--env", "MountainCarContinuous-v0", "--episodes", "3",
                     "--out", out]) == 0
    data = demos.load(out)
    assert data.num_episodes == 3 and data.metadata["expert"]["kind"] == "scripted"
    assert np.all(np.asarray(data.episode_returns) > 75), data.episode_returns
    monkeypatch.setattr(demos, "collect", lambda *a, **k: pytest.fail("rolled out before refusing"))
    code, err = _error(capsys, ["collect", "--scripted", "--env", "Pendulum-v1", "--episodes", "2",
                                "--out", str(tmp_path / "p.npz")])
    assert code == 2 and "no scripted expert for --env Pendulum-v1" in err and "MountainCarContinuous-v0" in err
    code, err = _error(capsys, ["collect", "--scripted", "--episodes", "2", "--out", str(tmp_path / "p.npz")])
    assert code == 2 and "--scripted needs --env" in err
    code, err = _error(capsys, ["collect", "--scripted", "--env", "MountainCar-v0", "--out", str(tmp_path / "p")])
    assert code == 2 and "--episodes is required with --scripted" in err
