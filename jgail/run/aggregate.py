"""Honest aggregates of a sweep: per setting, across seeds, the mean, the interquartile mean
and 95% stratified bootstrap confidence intervals (rliable, Agarwal et al. 2021), the number
of seeds that reached the threshold, and a ranking; seeds whose training went non-finite are
counted separately and left out of every aggregate.

rliable is a host-only dependency (`pip install -e ".[sweep]"`; it needs pandas < 3).
"""

from __future__ import annotations

import os
import warnings

import numpy as np

CONFIDENCE = 0.95
BOOTSTRAP_REPS = 2000


def _rliable():
    try:
        from rliable import library, metrics  # heavy, optional: only sweeps aggregate
    except ImportError as err:
        raise ImportError(f"sweep aggregates need rliable: pip install -e '.[sweep]' ({err})") from None
    return library, metrics


def summarize(scores: np.ndarray, finite: np.ndarray, threshold: float | None, seed: int = 0) -> dict:
    """Aggregates of one setting across seeds. `scores` [seeds]; `finite` [seeds] False where
    training went non-finite (those seeds are counted, then left out); `threshold`: a score
    counted as reaching the goal (None: not counted); `seed` seeds the bootstrap.

    Returns {"seeds", "seeds_nonfinite", "mean", "iqm", "mean_ci", "iqm_ci",
    "seeds_reaching_threshold"} (CIs as [low, high]; None everywhere if no seed is finite;
    the count is None without a threshold). Needs rliable.

    Example::

        import numpy as np
        from jgail.run import aggregate

        scores = np.array([0.95, 1.0, 0.7, 1.02, 0.99, 0.4])
        finite = np.array([True, True, True, True, True, False])
        row = aggregate.summarize(scores, finite, threshold=0.9)
        row["iqm"], row["iqm_ci"], row["seeds_reaching_threshold"]    # over the 5 finite seeds
    """
    library, metrics = _rliable()
    good = np.asarray(scores, float)[np.asarray(finite, bool)]
    row = {"seeds": int(len(scores)), "seeds_nonfinite": int((~np.asarray(finite, bool)).sum())}
    if good.size == 0:
        return row | {"mean": None, "iqm": None, "mean_ci": None, "iqm_ci": None,
                      "seeds_reaching_threshold": None if threshold is None else 0}

    def both(x):
        return np.array([metrics.aggregate_mean(x), metrics.aggregate_iqm(x)])

    with warnings.catch_warnings():  # arch (rliable's bootstrap) deprecates the RandomState rliable passes it
        warnings.simplefilter("ignore", FutureWarning)
        point, interval = library.get_interval_estimates(
            {"s": good[:, None]}, both, reps=BOOTSTRAP_REPS, confidence_interval_size=CONFIDENCE,
            random_state=np.random.RandomState(seed))
    (mean, iqm), ci = point["s"], interval["s"]
    row |= {"mean": float(mean), "iqm": float(iqm), "mean_ci": [float(ci[0, 0]), float(ci[1, 0])],
            "iqm_ci": [float(ci[0, 1]), float(ci[1, 1])]}
    row["seeds_reaching_threshold"] = None if threshold is None else int((good >= threshold).sum())
    return row


def rank(rows: list[dict], key: str = "iqm") -> list[dict]:
    """Rows sorted best first by `key` (None last), each with its `rank` (1 = best)."""
    ordered = sorted(rows, key=lambda r: -np.inf if r.get(key) is None else r[key], reverse=True)
    return [r | {"rank": i + 1} for i, r in enumerate(ordered)]


def markdown(rows: list[dict], value: str, threshold_text: str) -> str:
    """One table row per setting, best first."""
    header = ["rank", "setting", f"IQM {value} [95% CI]", f"mean {value} [95% CI]", threshold_text,
              "non-finite seeds"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]

    def with_ci(point, ci):
        return "n/a" if point is None else f"{point:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"

    for r in rows:
        setting = ", ".join(f"{k}={v:g}" for k, v in r["setting"].items()) or "(base)"
        good = r["seeds"] - r["seeds_nonfinite"]
        reached = r.get("seeds_reaching_threshold")
        lines.append(f"| {r['rank']} | {setting} | {with_ci(r['iqm'], r['iqm_ci'])} | "
                     f"{with_ci(r['mean'], r['mean_ci'])} | {'-' if reached is None else reached}/{good} | "
                     f"{r['seeds_nonfinite']} |")
    return "\n".join(lines)


def plot(rows: list[dict], value: str, out: str, title: str) -> None:
    """Score (IQM with its 95% CI, and the mean) per setting, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r["iqm"] is not None]
    labels = [", ".join(f"{k}={v:g}" for k, v in r["setting"].items()) or "(base)" for r in rows]
    x = np.arange(len(rows))
    iqm = np.array([r["iqm"] for r in rows])
    errors = np.array([[r["iqm"] - r["iqm_ci"][0], r["iqm_ci"][1] - r["iqm"]] for r in rows]).T
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(rows) + 2), 4))
    ax.errorbar(x, iqm, yerr=errors, fmt="o", capsize=4, label="IQM, 95% bootstrap CI")
    ax.plot(x, [r["mean"] for r in rows], "x", color="grey", label="mean")
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(value)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = out + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, out)  # a reader never sees half a PNG
