"""Search curves in a campaign: how `adsgen generate` (or any search) records its progress.

Two ways in: the search writes rows into the campaign database's ``search_curve`` table
(``CampaignStore.add_curve_points``), or a report reads a curve JSON file (``load_curve_json``), which is
either the run record `adsgen generate` writes (``run.json``: ``{"method": ..., "curve": [{"runs",
"distinct_high_risk", "wall_s", "iteration"}, ...]}``), a list of such records, or a list of generic points
``{"method", "iteration", "sim_runs", "value", "metric"?, "wall_s"?}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adsgen.campaign.store import CurvePoint
from adsgen.errors import InputError
from adsgen.safeload import load_json


def points_from_search_record(record: dict[str, Any]) -> list[CurvePoint]:
    """A search run record (run.json of `adsgen generate`) -> its distinct-high-risk curve."""
    method = str(record["method"])
    return [CurvePoint(method=method, iteration=int(p.get("iteration", i)), sim_runs=int(p["runs"]),
                       value=float(p["distinct_high_risk"]), metric="distinct_high_risk",
                       wall_s=p.get("wall_s")) for i, p in enumerate(record["curve"])]


def points_from_json(data: Any, source: str = "curve") -> list[CurvePoint]:
    """Any of the accepted curve JSON shapes -> points (InputError naming what is wrong)."""
    items = data if isinstance(data, list) else [data]
    out: list[CurvePoint] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(f"{source}: item {i} is not an object")
        try:
            if "curve" in item:
                out += points_from_search_record(item)
            else:
                out.append(CurvePoint(method=str(item["method"]), iteration=int(item["iteration"]),
                                      sim_runs=int(item["sim_runs"]), value=float(item["value"]),
                                      metric=str(item.get("metric", "distinct_high_risk")),
                                      wall_s=item.get("wall_s"), extra=item.get("extra")))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{source}: item {i}: missing or bad field {exc}; expected a search run record "
                             "(method, curve) or a point (method, iteration, sim_runs, value)") from None
    return out


def load_curve_json(path: str | Path) -> list[CurvePoint]:
    path = Path(path)
    data = load_json(path, "a search curve JSON file (run.json of adsgen generate)")
    return points_from_json(data, str(path))
