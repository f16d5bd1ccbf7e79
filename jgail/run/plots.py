"""Learning curves and score summaries: what `jgail plot` draws and the notebooks use.

    fig = plot_runs(["runs/gail"], out="runs/gail/curves.png")       # run directories
    fig = plot_metrics(metrics, expert_return=200, random_return=22)  # a vmapped train's metrics
    rows = aggregate(scores, labels)                                  # IQM and bootstrap CIs per setting
    fig = plot_scores(values, scores, xlabel="discriminator lr")      # score against a swept setting

Top panel: the true episode return (sampled actions, as trained; the learner never saw it)
against env steps per seed, the mean across seeds with a 95% bootstrap confidence band
(scipy.stats.bootstrap over seeds), and the expert's and a random policy's return as
horizontal lines. Bottom panel (GAIL runs): the discriminator's accuracy on expert and on
policy pairs.

Scores across seeds are summarised by the interquartile mean (IQM: the mean of the middle
50% of seeds, robust to one seed that collapsed or got lucky) and the mean, each with a 95%
percentile-bootstrap confidence interval over seeds (Agarwal et al. 2021, "Deep RL at the
Edge of the Statistical Precipice").
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


def _figure(out, **subplots):
    import matplotlib

    matplotlib.use("Agg") if out is not None and matplotlib.get_backend().lower() != "agg" else None
    import matplotlib.pyplot as plt

    return plt.subplots(**subplots)


def _save(fig, out):
    if out is not None:
        tmp = out + ".tmp.png"
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, out)  # a reader never sees half a PNG


def _level_lines(ax, expert_return, random_return):
    styles = {"expert_return": ("black", "-.", "expert"), "random_return": ("grey", ":", "random policy")}
    for name, value in (("expert_return", expert_return), ("random_return", random_return)):
        if value is not None:
            color, style, text = styles[name]
            ax.axhline(value, color=color, linestyle=style, linewidth=1, label=f"{text} ({value:.1f})")


def plot_metrics(metrics, *, expert_return: float | None = None, random_return: float | None = None,
                 title: str | None = None, label: str | None = None, out: str | None = None):
    """Learning curves from metrics arrays [seeds, iterations], e.g. those of
    `jax.vmap(gail.train)` or `load_run(dir)["metrics"]`: the mean episode return across seeds
    (each seed smoothed over SMOOTHING iterations) with a 95% bootstrap band, the expert's and
    a random policy's return as lines, and the discriminator's accuracies when present.
    `metrics` may also be a list of (label, metrics) to draw several runs on one figure.
    Each metrics dict needs "episode_return"; "env_steps" sets the x axis (else iterations).
    Saves a PNG to `out` when given. Returns the matplotlib figure.

    Example::

        import jax
        from jgail import gail
        from jgail.run import plots

        # keys, config, expert as in gail.train's example
        states, metrics = jax.jit(jax.vmap(gail.train, (0, None, None)))(keys, config, expert)
        fig = plots.plot_metrics(metrics, expert_return=200.0, random_return=22.0, out="runs/curves.png")
        fig = plots.plot_metrics([("ppo", ppo_metrics), ("trpo", trpo_metrics)], title="CartPole-v1")
    """
    from matplotlib.ticker import EngFormatter

    runs = [(label or "mean over seeds", metrics)] if isinstance(metrics, dict) else list(metrics)
    runs = [(name, {k: np.asarray(v, dtype=float) for k, v in m.items()}) for name, m in runs]
    for name, m in runs:
        if m["episode_return"].ndim != 2:
            raise ValueError(f"{name}: metrics must be [seeds, iterations] arrays, got episode_return of shape "
                             f"{m['episode_return'].shape}; pass one setting of a sweep at a time")
    accuracies = (("disc_expert_accuracy", "-", "expert pairs"), ("disc_policy_accuracy", "--", "policy pairs"))
    has_disc = any(key in m for _, m in runs for key, _, _ in accuracies)
    fig, axes = _figure(out, nrows=2 if has_disc else 1, ncols=1, figsize=(8, 7 if has_disc else 4.2),
                        sharex=True, squeeze=False)
    top = axes[0, 0]
    for i, (name, m) in enumerate(runs):
        iterations = m["episode_return"].shape[1]
        steps = np.nanmax(m["env_steps"], axis=0) if "env_steps" in m else np.arange(1, iterations + 1)
        mean, band = mean_and_band(smooth(m["episode_return"]))
        color = f"C{i}"
        top.plot(steps, mean, color=color, label=name)
        if band is not None:
            top.fill_between(steps, band[0], band[1], color=color, alpha=0.2, linewidth=0)
        for key, style, pairs in accuracies if has_disc else ():
            if key in m:  # either may be missing (e.g. a log with only one of them)
                axes[1, 0].plot(steps, np.nanmean(smooth(m[key]), 0), color=color, linestyle=style,
                                label=f"{pairs}, {name}")
    _level_lines(top, expert_return, random_return)
    top.set_ylabel("episode return (true reward,\nsampled actions)")
    if title is None:
        title = f"mean of {runs[0][1]['episode_return'].shape[0]} seeds, 95% bootstrap band"
    top.set_title(title, fontsize=10)
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
    axes[-1, 0].xaxis.set_major_formatter(EngFormatter())  # 50k, 100k: tick labels that never run together
    fig.tight_layout()
    _save(fig, out)
    return fig


def plot_runs(run_dirs: list[str], out: str | None = None):
    """Draw the curves (`plot_metrics`) of run directories written by `jgail gail`/`jgail
    expert` (their metrics.jsonl; the expert and random returns from summary.json when
    recorded); save a PNG to `out` when given. Returns the figure.

    Example::

        from jgail.run import plots

        fig = plots.plot_runs(["runs/gail_ppo", "runs/gail_trpo"], out="runs/compare.png")
    """
    runs = [load_run(d) for d in run_dirs]
    levels = {}
    for run in runs:
        for name in ("expert_return", "random_return"):
            if run["summary"].get(name) is not None:
                levels.setdefault(name, run["summary"][name])
    return plot_metrics([(_label(run), run["metrics"]) for run in runs], title=_title(runs), out=out, **levels)


# ---- scores across seeds: IQM, bootstrap confidence intervals, score against a setting ---------

def iqm(scores, axis: int = -1):
    """Interquartile mean along `axis`: the mean of the middle 50% of values (25% trimmed each side)."""
    from scipy import stats

    return stats.trim_mean(np.asarray(scores, dtype=float), 0.25, axis=axis)


def _bootstrap_ci(values: np.ndarray, statistic, confidence: float, seed: int):
    from scipy import stats

    if values.size < 2:  # one seed: no interval
        return None
    if np.all(values == values[0]):  # no spread: every resample gives the same value
        return float(values[0]), float(values[0])
    result = stats.bootstrap((values,), statistic, confidence_level=confidence, n_resamples=2000,
                             method="percentile", rng=np.random.default_rng(seed))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def aggregate(scores, labels=None, *, confidence: float = 0.95, seed: int = 0) -> list[dict]:
    """One row per setting of `scores` [settings, seeds] (or [seeds] for one setting): the
    number of seeds, IQM and mean each with a percentile-bootstrap confidence interval over
    seeds (None when it cannot be drawn), median, min and max."""
    scores = np.asarray(scores, dtype=float)
    scores = scores[None] if scores.ndim == 1 else scores
    if scores.ndim != 2:
        raise ValueError(f"scores must be [settings, seeds], got shape {scores.shape}")
    labels = list(range(len(scores))) if labels is None else list(labels)
    if len(labels) != len(scores):
        raise ValueError(f"{len(labels)} labels for {len(scores)} settings")
    rows = []
    for label, row in zip(labels, scores):
        rows.append({"setting": label, "seeds": int(row.size), "iqm": float(iqm(row)),
                     "iqm_ci": _bootstrap_ci(row, iqm, confidence, seed), "mean": float(row.mean()),
                     "mean_ci": _bootstrap_ci(row, np.mean, confidence, seed), "median": float(np.median(row)),
                     "min": float(row.min()), "max": float(row.max())})
    return rows


def format_table(rows: list[dict], digits: int = 3) -> str:
    """`aggregate`'s rows as a markdown table."""
    def number(x):
        return f"{x:.{digits}g}"

    def interval(ci):
        return "n/a" if ci is None else f"[{number(ci[0])}, {number(ci[1])}]"

    lines = ["| setting | seeds | IQM | 95% CI | mean | 95% CI | min | max |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['setting']} | {r['seeds']} | {number(r['iqm'])} | {interval(r['iqm_ci'])} | "
                     f"{number(r['mean'])} | {interval(r['mean_ci'])} | {number(r['min'])} | {number(r['max'])} |")
    return "\n".join(lines)


def plot_scores(settings, scores, *, xlabel: str, ylabel: str = "evaluation return",
                expert_return: float | None = None, random_return: float | None = None,
                title: str | None = None, out: str | None = None):
    """Score against a swept setting: each seed's score as a dot, the IQM with its 95%
    bootstrap interval as a bar. `settings`: numbers (a log axis when they span 10x or more)
    or labels; `scores` [settings, seeds]. Returns the matplotlib figure."""
    scores = np.asarray(scores, dtype=float)
    rows = aggregate(scores, settings)
    numeric = all(isinstance(s, (int, float, np.number)) and not isinstance(s, bool) for s in settings)
    x = np.asarray(settings, dtype=float) if numeric else np.arange(len(settings), dtype=float)
    fig, ax = _figure(out, figsize=(6.5, 4.2))
    log = numeric and (x > 0).all() and x.max() >= 10 * x.min()
    spread = (np.exp(np.log(x) + 0.03) - x) if log else np.full_like(x, 0.03 * (np.ptp(x) or 1.0))
    for i, row in enumerate(scores):
        offsets = np.linspace(-1, 1, row.size) if row.size > 1 else np.zeros(1)
        ax.scatter(x[i] + offsets * spread[i], row, s=12, color="C0", alpha=0.5,
                   label="one seed" if i == 0 else None, zorder=2)
    centre = np.array([r["iqm"] for r in rows])
    low = np.array([r["iqm"] - r["iqm_ci"][0] if r["iqm_ci"] else 0.0 for r in rows])
    high = np.array([r["iqm_ci"][1] - r["iqm"] if r["iqm_ci"] else 0.0 for r in rows])
    ax.errorbar(x, centre, yerr=[low, high], color="C1", marker="o", capsize=4, linewidth=1.5,
                label="IQM, 95% bootstrap CI", zorder=3)
    _level_lines(ax, expert_return, random_return)
    if log:
        ax.set_xscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{s:g}" if numeric else str(s) for s in settings], rotation=0 if numeric else 20)
    ax.minorticks_off()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"{scores.shape[1]} seeds per setting", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, out)
    return fig
