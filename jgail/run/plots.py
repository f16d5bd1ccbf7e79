"""Learning curves of runs written by the run driver: what `jgail plot` draws and the notebooks use.

    fig = plot_runs(["runs/gail"], out="runs/gail/curves.png")

Top panel: the true episode return (sampled actions, as trained; the learner never saw it)
against env steps per seed, the mean across seeds with a 95% bootstrap confidence band
(scipy.stats.bootstrap over seeds), and the expert's and a random policy's return as
horizontal lines. Bottom panel (GAIL runs): the discriminator's accuracy on expert and on
policy pairs.
"""

from __future__ import annotations

import json
import os

import numpy as np

from jgail.run import driver

SMOOTHING = 5  # iterations in the moving average of each seed's curve


def load_run(run_dir: str) -> dict:
    """The metrics ([seeds, iterations] arrays), summary and config of a run directory."""
    records = driver.read_log(run_dir)
    if not records:
        raise ValueError(f"{run_dir} has no {driver.METRICS_LOG}: it is not a run directory, or nothing trained yet")
    seeds = max(r["seed"] for r in records) + 1
    run = {"dir": run_dir, "metrics": driver.metrics_array(records, seeds), "summary": {}, "config": {}}
    for key, name in (("summary", "summary.json"), ("config", "config.json")):
        path = os.path.join(run_dir, name)
        if os.path.exists(path):
            with open(path) as f:
                run[key] = json.load(f)
    return run


def smooth(curves: np.ndarray, window: int = SMOOTHING) -> np.ndarray:
    """Per row: carry the last finite value forward, then a trailing moving average."""
    filled = np.array(curves, dtype=float)
    for row in filled:
        last = np.nan
        for t in range(row.size):
            if np.isfinite(row[t]):
                last = row[t]
            else:
                row[t] = last
    out = np.full_like(filled, np.nan)
    for t in range(filled.shape[1]):
        window_values = filled[:, max(0, t - window + 1): t + 1]
        with np.errstate(all="ignore"):
            out[:, t] = np.nanmean(window_values, axis=1) if np.isfinite(window_values).any() else np.nan
    return out


def mean_and_band(curves: np.ndarray, confidence: float = 0.95, seed: int = 0):
    """Mean across seeds (rows) and a bootstrap confidence band per column (None for 1 seed)."""
    from scipy import stats

    mean = np.nanmean(curves, axis=0)
    valid = np.isfinite(curves).all(axis=0)
    if curves.shape[0] < 2 or not valid.any():
        return mean, None
    low, high = np.full_like(mean, np.nan), np.full_like(mean, np.nan)
    result = stats.bootstrap((curves[:, valid],), np.mean, axis=0, confidence_level=confidence,
                             n_resamples=1000, method="percentile", rng=np.random.default_rng(seed))
    low[valid], high[valid] = result.confidence_interval.low, result.confidence_interval.high
    return mean, (low, high)


def _label(run: dict) -> str:
    args = run["config"].get("args", {})
    command = run["config"].get("command", "run")
    parts = [command]
    if args.get("generator"):
        parts.append(args["generator"])
    return f"{' '.join(parts)} ({os.path.basename(os.path.normpath(run['dir']))})"


def _title(runs: list[dict]) -> str:
    first = runs[0]
    env = first["config"].get("args", {}).get("env") or first["summary"].get("env", {}).get("env_id", "")
    demos = first["summary"].get("demos") or {}
    data = f", {demos['num_episodes']} expert episode(s) ({demos['num_pairs']} pairs)" if demos else ""
    seeds = first["metrics"]["episode_return"].shape[0]
    return f"{env}{data}; mean of {seeds} seeds, 95% bootstrap band"


def plot_runs(run_dirs: list[str], out: str | None = None):
    """Draw the runs' curves; save a PNG to `out` when given. Returns the matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg") if out is not None and matplotlib.get_backend().lower() != "agg" else None
    import matplotlib.pyplot as plt
    from matplotlib.ticker import EngFormatter

    runs = [load_run(d) for d in run_dirs]
    has_disc = any("disc_expert_accuracy" in r["metrics"] for r in runs)
    fig, axes = plt.subplots(2 if has_disc else 1, 1, figsize=(8, 7 if has_disc else 4.2), sharex=True,
                             squeeze=False)
    top = axes[0, 0]
    levels = {}
    for i, run in enumerate(runs):
        metrics = run["metrics"]
        steps = np.nanmax(metrics["env_steps"], axis=0)
        mean, band = mean_and_band(smooth(metrics["episode_return"]))
        color = f"C{i}"
        top.plot(steps, mean, color=color, label=_label(run))
        if band is not None:
            top.fill_between(steps, band[0], band[1], color=color, alpha=0.2, linewidth=0)
        for name in ("expert_return", "random_return"):
            if run["summary"].get(name) is not None:
                levels.setdefault(name, run["summary"][name])
        if has_disc and "disc_expert_accuracy" in metrics:
            bottom = axes[1, 0]
            bottom.plot(steps, np.nanmean(smooth(metrics["disc_expert_accuracy"]), 0), color=color,
                        label=f"expert pairs, {_label(run)}")
            bottom.plot(steps, np.nanmean(smooth(metrics["disc_policy_accuracy"]), 0), color=color,
                        linestyle="--", label=f"policy pairs, {_label(run)}")
    styles = {"expert_return": ("black", "-.", "expert"), "random_return": ("grey", ":", "random policy")}
    for name, value in levels.items():
        color, style, text = styles[name]
        top.axhline(value, color=color, linestyle=style, linewidth=1, label=f"{text} ({value:.1f})")
    top.set_ylabel("episode return (true reward,\nsampled actions)")
    top.set_title(_title(runs), fontsize=10)
    top.legend(fontsize=8, loc="best")
    top.grid(alpha=0.3)
    if has_disc:
        bottom = axes[1, 0]
        bottom.set_ylabel("discriminator accuracy")
        bottom.set_ylim(-0.05, 1.05)
        bottom.axhline(0.5, color="grey", linestyle=":", linewidth=1)
        bottom.legend(fontsize=8, loc="best")
        bottom.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("environment steps per seed")
    axes[-1, 0].xaxis.set_major_formatter(EngFormatter())
    fig.tight_layout()
    if out is not None:
        tmp = out + ".tmp.png"
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, out)  # a reader never sees half a PNG
    return fig
