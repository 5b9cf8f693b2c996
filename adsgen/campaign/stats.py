"""Campaign figures: counts by status, collision and near-miss rates by factor with Wilson intervals."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from adsgen.campaign.store import STATUSES, CampaignStore
from adsgen.sim.vocabulary import verdict_label
from adsgen.variables import FACTORS, STATES

Z_95 = 1.959963984540054  # two-sided 95 % normal quantile


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion; (0, 1) when n == 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact at the ends (no rounding residue)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def runs_frame(store: CampaignStore) -> pd.DataFrame:
    """One row per run with its scenario's factors (see CampaignStore.runs_table)."""
    columns, rows = store.runs_table()
    df = pd.DataFrame.from_records(rows, columns=columns)
    df["near_miss"] = (df["high_risk"].fillna(0).astype(bool) & ~df["collided"].fillna(0).astype(bool)
                       if len(df) else pd.Series(dtype=bool))
    return df


def by_factor(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Per factor and state: finished runs, collisions and near misses (rates with 95 % Wilson bounds),
    failed and timed-out runs."""
    rows = []
    done = df[df["status"] == "done"]
    for factor in FACTORS:
        for state in STATES[factor]:
            sub = done[done[factor] == state]
            all_sub = df[df[factor] == state]
            n = len(sub)
            if not len(all_sub):
                continue
            coll = int(sub["collided"].fillna(0).astype(bool).sum()) if n else 0
            near = int(sub["near_miss"].sum()) if n else 0
            c_lo, c_hi = wilson_interval(coll, n)
            m_lo, m_hi = wilson_interval(near, n)
            rows.append({"factor": factor, "state": state, "runs": int(len(all_sub)), "done": n,
                         "collisions": coll, "collision_rate": coll / n if n else None,
                         "collision_ci": [c_lo, c_hi],
                         "near_misses": near, "near_miss_rate": near / n if n else None, "near_miss_ci": [m_lo, m_hi],
                         "failed": int((all_sub["status"] == "failed").sum()),
                         "timed_out": int((all_sub["status"] == "timed_out").sum())})
    return rows


def campaign_status(store: CampaignStore) -> dict[str, Any]:
    """The summary `adsgen campaign status` prints (JSON-able)."""
    df = runs_frame(store)
    counts = {s: int((df["status"] == s).sum()) for s in STATUSES}
    done = df[df["status"] == "done"]
    campaign = store.campaign()
    errors = (df[df["status"].isin(["failed", "timed_out"])]["error"].fillna("").map(lambda e: e.splitlines()[0] if e
                                                                                       else "").value_counts())
    return {
        "db": str(store.path),
        "created_utc": campaign["created_utc"],
        "source": campaign["source"],
        "total": int(len(df)),
        "counts": counts,
        "verdicts": ({str(k): int(v) for k, v in done["verdict"].dropna().value_counts().items()}
                     if len(done) else {}),
        "collisions": int(done["collided"].fillna(0).astype(bool).sum()) if len(done) else 0,
        "near_misses": int(done["near_miss"].sum()) if len(done) else 0,
        "agents": sorted(df["agent"].dropna().unique().tolist()) if "agent" in df else [],
        "backends": sorted(df["backend"].dropna().unique().tolist()) if "backend" in df else [],
        "sessions": len(store.sessions()),
        "by_factor": by_factor(df),
        "top_errors": [{"error": e, "runs": int(n)} for e, n in errors.head(10).items()],
    }


def findings_line(status: dict[str, Any]) -> str:
    """The verdict counts of a campaign_status dict, valid failures first, in the shared vocabulary."""

    v = status["verdicts"]
    others = ", ".join(f"{n} {verdict_label(k)}" for k, n in sorted(v.items()) if k != "valid_failure")
    return (f"{v.get('valid_failure', 0)} valid failure(s)" + (f" ({others})" if others else "")
            + f"; {status['collisions']} collision(s), {status['near_misses']} near miss(es) "
            f"among {status['counts']['done']} done run(s)")
