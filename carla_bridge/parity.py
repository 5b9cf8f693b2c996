"""Map parity: do a CARLA map's lane centre-lines coincide with the engine's routes?

Both directions are measured, in the engine frame (CARLA's y flip undone through ``frames``):

- map -> engine: every Driving waypoint of ``map.generate_waypoints`` lies on an engine route running the
  same way (shoulders are not checked this way: the engine drives only some of them);
- engine -> map: every lane / shoulder route point lies on a CARLA Driving / Shoulder lane centre-line
  running the same way (the waypoints joined, per lane, into polylines).

Distances are perpendicular distances to the other side's polyline (not to its nearest sample), so the
0.5 m route spacing does not count as error. Points beyond either end of the other polyline are not
measured (route ends are cut at the last full 0.5 m step). Works offline on ``carla.Map(name, xodr)`` and
online on the server's generated world (``adsgen carla check``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from adsgen.scenario import roads
from carla_bridge import frames
from carla_bridge._carla import import_carla

WAYPOINT_STEP_M = 0.5  # [m] spacing of the CARLA waypoints sampled for the comparison
FINE_STEP_M = 0.01  # [m] resampling of the polylines compared against
HEADING_SCALE_M = 5.0  # [m] weight of the heading in the nearest-point search


@dataclass(frozen=True)
class Exclusion:
    """A stretch deliberately off any lane centre (e.g. the ramp's merge, a lane change by design)."""

    route: str | None
    """Route whose points are skipped there (None: none)."""
    lane_ids: tuple[int, ...]
    """CARLA lane ids whose waypoints are skipped there (empty: none)."""
    y_range_m: tuple[float, float]
    """Engine-frame y interval [m] of the stretch."""
    why: str


@dataclass
class ParityReport:
    """Worst perpendicular distances [m] between CARLA lane centres and the engine's routes."""

    map_to_engine_m: float = 0.0
    engine_to_map_m: float = 0.0
    waypoints: int = 0
    route_points: int = 0
    unmatched_waypoints: int = 0
    """Waypoints with no same-direction route within 1 m at all (a lane the engine never drives)."""
    worst: dict[str, Any] = field(default_factory=dict)

    @property
    def max_m(self) -> float:
        return max(self.map_to_engine_m, self.engine_to_map_m)


class _Polylines:
    """Polylines (engine frame), resampled finely, queried by nearest same-direction point.

    The KD-tree lives in (x, y, HEADING_SCALE_M cos h, HEADING_SCALE_M sin h), so a lane running the other
    way is never the nearest; with FINE_STEP_M spacing the nearest-vertex distance is the perpendicular
    distance to within FINE_STEP_M / 2.
    """

    def __init__(self, lines: list[tuple[str, np.ndarray, np.ndarray]]):
        self.names = [n for n, _, _ in lines]
        feats, owner, end = [], [], []
        for k, (_, xy, hd) in enumerate(lines):
            seg = np.hypot(*np.diff(xy, axis=0).T)  # (n-1,)
            s = np.concatenate([[0.0], np.cumsum(seg)])  # (n,)
            fine = np.linspace(0.0, s[-1], max(2, int(np.ceil(s[-1] / FINE_STEP_M)) + 1))  # (m,)
            fx, fy = np.interp(fine, s, xy[:, 0]), np.interp(fine, s, xy[:, 1])
            fh = np.interp(fine, s, np.unwrap(hd))
            feats.append(np.stack([fx, fy, HEADING_SCALE_M * np.cos(fh), HEADING_SCALE_M * np.sin(fh)], 1))
            owner.append(np.full(len(fine), k))
            flag = np.zeros(len(fine), dtype=bool)
            flag[[0, -1]] = True
            end.append(flag)
        self.feats = np.concatenate(feats)  # (N, 4)
        self.owner = np.concatenate(owner)  # (N,)
        self.is_end = np.concatenate(end)  # (N,)
        self.tree = cKDTree(self.feats)

    def distance(self, xy: np.ndarray, hd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For points (n, 2) with headings (n,): (distance [m] (n,), owner index (n,), beyond an end (n,))."""
        q = np.stack([xy[:, 0], xy[:, 1], HEADING_SCALE_M * np.cos(hd), HEADING_SCALE_M * np.sin(hd)], 1)  # (n, 4)
        _, idx = self.tree.query(q)  # (n,)
        d = np.hypot(*(self.feats[idx, :2] - xy).T)  # (n,)
        return d, self.owner[idx], self.is_end[idx]


def _excluded(ex: list[Exclusion], y: float, *, route: str | None = None, lane_id: int | None = None) -> bool:
    for e in ex:
        if not e.y_range_m[0] <= y <= e.y_range_m[1]:
            continue
        if route is not None and e.route == route:
            return True
        if lane_id is not None and lane_id in e.lane_ids:
            return True
    return False


def lane_polylines(carla_map: Any, step_m: float = WAYPOINT_STEP_M) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The map's Driving and Shoulder lane centre-lines as engine-frame polylines (name, xy (n, 2), hd (n,))."""
    carla = import_carla()
    groups: dict[tuple[str, int, int, int], dict[float, tuple[float, float, float]]] = defaultdict(dict)

    def add(wp: Any) -> None:
        x, y, yaw = frames.pose_from_carla(wp.transform)
        kind = "shoulder" if wp.lane_type == carla.LaneType.Shoulder else "driving"
        groups[(kind, wp.road_id, wp.section_id, wp.lane_id)][round(float(wp.s), 3)] = (x, y, yaw)

    for wp in carla_map.generate_waypoints(step_m):  # driving lanes only
        if wp.lane_type != carla.LaneType.Driving:
            continue
        add(wp)
        for step in ("get_left_lane", "get_right_lane"):  # shoulders: reached sideways from driving lanes
            side = getattr(wp, step)()
            for _ in range(4):
                if side is None or side.lane_type not in (carla.LaneType.Driving, carla.LaneType.Shoulder):
                    break
                if side.lane_type == carla.LaneType.Shoulder:
                    add(side)
                side = getattr(side, step)()
    lines = []
    for (kind, road, section, lane), rows in sorted(groups.items()):
        arr = np.array([(s_m, *rows[s_m]) for s_m in sorted(rows)])  # (n, 4): s, x, y, yaw
        if len(arr) >= 2:
            lines.append((f"{kind} road {road} section {section} lane {lane}", arr[:, 1:3], arr[:, 3]))
    return lines


def map_parity(carla_map: Any, network: Any, exclusions: list[Exclusion] | None = None,
               step_m: float = WAYPOINT_STEP_M) -> ParityReport:
    """Compare a carla.Map with an adsgen RoadNetwork (``adsgen.scenario.roads``); see the module doc."""
    ex = list(exclusions or [])
    routes = [(name, r.xy, r.heading) for name, r in sorted(network.routes.items()) if r.kind != "crosswalk"]
    route_set = _Polylines(routes)
    lanes = lane_polylines(carla_map, step_m)
    lane_set = _Polylines(lanes)
    rep = ParityReport()
    driving = [line for line in lanes if line[0].startswith("driving")]
    for side, (queries, target) in {"map_to_engine": (driving, route_set),
                                    "engine_to_map": (routes, lane_set)}.items():
        worst = 0.0
        for name, xy, hd in queries:
            lane_id = int(name.rsplit(" ", 1)[1]) if side == "map_to_engine" else None
            keep = np.array([not _excluded(ex, float(y), route=None if lane_id is not None else name,
                                           lane_id=lane_id) for y in xy[:, 1]])  # (n,)
            d, owner, beyond = target.distance(xy[keep], hd[keep])
            measured = ~beyond
            if side == "map_to_engine":
                rep.waypoints += int(measured.sum())
                rep.unmatched_waypoints += int((measured & (d > 1.0)).sum())
                measured &= d <= 1.0
            else:
                rep.route_points += int(measured.sum())
            if measured.any():
                i = int(np.argmax(np.where(measured, d, -1.0)))
                if d[i] > worst:
                    worst = float(d[i])
                    p = xy[keep][i]
                    rep.worst[side] = {"from": name, "to": target.names[owner[i]], "x_m": float(p[0]),
                                       "y_m": float(p[1]), "distance_m": worst}
        setattr(rep, f"{side}_m", worst)
    return rep


def template_exclusions(network: Any) -> list[Exclusion]:
    """The stretches of a template deliberately off any lane centre (only the ramp's merge)."""
    if network.template != "ramp":
        return []

    y0 = roads.RAMP_JOIN_Y_M + roads.ACCEL_LANE_M
    y1 = y0 + roads.TAPER_M
    accel_lane = -(network.spec.lanes + 1)
    return [Exclusion("R_merge_0", (accel_lane,), (y0, y1),
                      "the merge route changes lanes across the acceleration lane's taper, by design")]
