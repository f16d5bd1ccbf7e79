"""`plots.plot_metrics` draws what it is given: learning curves, and each discriminator
accuracy present (one alone too), with a legend entry per line."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from jgail.run import plots  # noqa: E402


def _metrics(**extra):
    rng = np.random.default_rng(0)
    return {"episode_return": rng.uniform(10, 200, (3, 40)), "env_steps": np.tile(np.arange(1, 41) * 1024, (3, 1)),
            **extra}


@pytest.mark.parametrize("keys", [("disc_expert_accuracy",), ("disc_policy_accuracy",),
                                  ("disc_expert_accuracy", "disc_policy_accuracy")])
def test_each_discriminator_accuracy_present_gets_its_line(keys, tmp_path):
    metrics = _metrics(**{k: np.full((3, 40), 0.7) for k in keys})
    fig = plots.plot_metrics(metrics, expert_return=200.0, random_return=22.0, out=str(tmp_path / "c.png"))
    top, bottom = fig.axes
    labels = [line.get_label() for line in bottom.get_lines() if not line.get_label().startswith("_")]
    assert len(labels) == len(keys)
    assert all(("expert" in label) == (k == "disc_expert_accuracy") for label, k in zip(labels, keys))
    assert (tmp_path / "c.png").stat().st_size > 5_000


def test_without_discriminator_metrics_there_is_one_panel():
    fig = plots.plot_metrics(_metrics())
    assert len(fig.axes) == 1
    assert fig.axes[0].get_xlabel() == "environment steps per seed"
