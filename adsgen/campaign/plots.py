"""Matplotlib figures of a campaign (each function returns a Figure; the caller saves and closes it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from adsgen.campaign.store import CurvePoint
from adsgen.variables import FACTORS

_STATUS_COLOURS = {"done": "#2a7ab0", "failed": "#c0392b", "timed_out": "#e67e22"}


def _figure(*args: Any, **kwargs: Any) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(*args, **kwargs)
    return fig


def rates_by_factor(rows: Sequence[dict[str, Any]], guided: bool = False) -> Any:
    """One panel per factor: collision and near-miss rate per state, with 95 % Wilson intervals, a legend in
    every panel. ``guided``: the runs came from a search, so the title says the rates are of its sample."""
    fig = _figure(figsize=(13, 10), layout="constrained")
    fig.suptitle("share of finished runs that collided / were near misses, per factor state"
                 + (" (runs chosen by a guided search: not population rates)" if guided else ""), fontsize=11)
    axes = fig.subplots(3, 3).ravel()  # (9,) one per factor
    for ax, factor in zip(axes, FACTORS, strict=True):
        sub = [r for r in rows if r["factor"] == factor and r["done"]]
        ax.set_title(factor, fontsize=10)
        if not sub:
            ax.text(0.5, 0.5, "no finished runs", ha="center", va="center", transform=ax.transAxes, fontsize=8)
            ax.set_xticks([])
            continue
        x = np.arange(len(sub))  # (states,)
        for offset, key, colour, label in ((-0.2, "collision", "#c0392b", "collision"),
                                           (0.2, "near_miss", "#e67e22", "near miss")):
            rate = np.array([r[f"{key}_rate"] for r in sub])  # (states,)
            ci = np.array([r[f"{key}_ci"] for r in sub])  # (states, 2)
            err = np.stack([rate - ci[:, 0], ci[:, 1] - rate])  # (2, states)
            ax.bar(x + offset, rate, width=0.4, color=colour, label=label, yerr=np.clip(err, 0, None),
                   capsize=2, error_kw={"elinewidth": 0.8})
        ax.set_xticks(x, [f"{r['state']}\n(n={r['done']})" for r in sub], fontsize=7, rotation=30, ha="right")
        ax.set_ylim(0, 1.15)  # headroom for the legend above the bars
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.set_ylabel("share of runs (0-1)", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
        ax.legend(fontsize=7, loc="upper right", ncols=2, title="bars: rate, whiskers: 95 % CI",
                  title_fontsize=6)
    return fig


def min_ttc_distribution(df: pd.DataFrame, threshold_s: float, clip_s: float = 10.0) -> Any:
    """Histogram of the minimum TTC of finished runs; collisions drawn as their own bar at 0."""
    fig = _figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.subplots()
    done = df[df["status"] == "done"]
    collided = done["collided"].fillna(0).astype(bool) if len(done) else pd.Series(dtype=bool)
    ttc = done.loc[~collided, "min_ttc_s"] if len(done) else pd.Series(dtype=float)
    never = int(ttc.isna().sum())
    finite = np.clip(ttc.dropna().to_numpy(dtype=float), 0, clip_s)  # (runs,)
    bins = np.linspace(0, clip_s, 41)  # (41,) bin edges [s]
    ax.hist(finite, bins=bins, color="#2a7ab0", label="no collision")
    if int(collided.sum()):
        ax.bar([-0.35], [int(collided.sum())], width=0.4, color="#c0392b", label="collision")
    ax.axvline(threshold_s, color="#e67e22", ls="--", label=f"near-miss threshold {threshold_s:g} s")
    ax.set_xlabel(f"minimum time-to-collision [s] (clipped at {clip_s:g}; {never} runs never closing)")
    ax.set_ylabel("finished runs (count)")
    ax.legend(fontsize=8)
    return fig


_FINDING_COLOURS = {"collision": "#c0392b", "near miss": "#e67e22", "no finding": "#2a7ab0"}


def stored_in_one_batch(df: pd.DataFrame) -> bool:
    """Whether the finished runs were stored in one go by a writer outside a campaign session (``adsgen
    generate`` stores its runs at the end of the search): their times then say nothing about the runs."""
    fin = df[df["finished_at"].notna()] if "finished_at" in df else df.iloc[0:0]
    if len(fin) < 2:
        return False
    no_session = "session_id" in fin and bool(fin["session_id"].isna().all())
    return no_session or fin["finished_at"].nunique() == 1


def runs_over_time(df: pd.DataFrame) -> Any:
    """Cumulative finished runs against wall time since the first run started, per status; for runs stored
    in one batch, cumulative collisions and near misses against the runs in stored order."""
    fig = _figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.subplots()
    fin = df[df["finished_at"].notna()] if "finished_at" in df else df.iloc[0:0]
    if fin.empty:
        ax.text(0.5, 0.5, "no finished runs", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    if stored_in_one_batch(fin):
        return _findings_in_stored_order(fig, ax, fin)
    t0 = float(pd.concat([fin["started_at"].dropna(), fin["finished_at"]]).min())
    for status, colour in _STATUS_COLOURS.items():
        t = np.sort(fin.loc[fin["status"] == status, "finished_at"].to_numpy(dtype=float) - t0)  # (runs,)
        if len(t):
            ax.step(t, np.arange(1, len(t) + 1), where="post", color=colour, label=f"{status} ({len(t)})")
    ax.set_xlabel("wall time since the first run started [s] (resumed campaigns include the gaps)")
    ax.set_ylabel("finished runs (count)")
    ax.legend(fontsize=8, title="run status", title_fontsize=8)
    return fig


def _findings_in_stored_order(fig: Any, ax: Any, fin: pd.DataFrame) -> Any:
    done = fin[fin["status"] == "done"].sort_values("id")
    collided = done["collided"].fillna(0).astype(bool).to_numpy()  # (runs,)
    near = done["near_miss"].fillna(False).astype(bool).to_numpy() if "near_miss" in done else \
        (done["high_risk"].fillna(0).astype(bool).to_numpy() & ~collided)  # (runs,)
    x = np.arange(1, len(done) + 1)  # (runs,) run number in stored order
    for label, hits in (("collision", collided), ("near miss", near), ("no finding", ~collided & ~near)):
        ax.step(x, np.cumsum(hits), where="post", color=_FINDING_COLOURS[label],
                label=f"{label} ({int(hits.sum())})")
    ax.set_xlabel("finished runs in the order they were stored (count); all stored at once, so no time axis")
    ax.set_ylabel("cumulative runs (count)")
    ax.legend(fontsize=8, title="finding", title_fontsize=8)
    return fig


_METHOD_NAMES = {"cbn": "CBN-guided", "random": "random", "ga": "genetic (GA)"}
"""Search method names as readers know them (the keys are adsgen.search's method names)."""


def search_curve(points: Sequence[CurvePoint]) -> Any:
    """Search progress: each method's metric against simulated runs."""
    fig = _figure(figsize=(8, 3.6), layout="constrained")
    ax = fig.subplots()
    metrics = sorted({p.metric for p in points})
    for (method, metric) in sorted({(p.method, p.metric) for p in points}):
        pts = sorted((p for p in points if p.method == method and p.metric == metric), key=lambda p: p.sim_runs)
        name = _METHOD_NAMES.get(method, method)
        label = name if len(metrics) == 1 else f"{name}: {metric}"
        label = label.replace("$", r"\$")  # names come from files: never parsed as mathtext
        ax.step([p.sim_runs for p in pts], [p.value for p in pts], where="post", label=label)
    ax.set_xlabel("simulated runs (count)")
    ax.set_ylabel(_metric_label(metrics[0]) if len(metrics) == 1 else "value (count)")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, title="search method", title_fontsize=8)
    return fig


def _metric_label(metric: str) -> str:
    """'distinct_high_risk' -> 'distinct high-risk scenarios (count)'."""
    words = metric.replace("_", " ").replace("high risk", "high-risk")
    return f"{words} scenarios (count)" if words.startswith("distinct") else f"{words} (count)"
