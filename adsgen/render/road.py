"""From a scenario's road template (``adsgen.scenario.roads``) to what the renderer draws on and beside it.

Surfaces and markings come from ``RoadNetwork.surface_polygons()`` / ``lane_markings()``; crosswalks get
zebra bars; street lamps stand along the sidewalks (or shoulders) every LAMP_SPACING_M; the ego approach's
traffic signal (or stop sign) stands beyond the kerb-side end of its stop line, facing the approaching traffic.
Stop lines, signal and sign appear only when the scenario's traffic_control makes the engine stop at them.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from adsgen.render.ground import ASPHALT, SIDEWALK, WHITE_PAINT, YELLOW_PAINT, GroundLayers, Marking
from adsgen.scenario.mapping import has_stop_control
from adsgen.scenario.roads import build_road

LAMP_SPACING_M = 40.0        # [m] between street lamps along one side
ZEBRA_BAR_M = 0.6            # [m] width of one crosswalk bar (and of the gap between bars)
SIGNAL_BEYOND_KERB_M = 1.2   # [m] signal pole distance beyond the road edge (junction arms)

_SURFACE_MATERIAL = {"road": ASPHALT, "junction": ASPHALT, "shoulder": ASPHALT, "crosswalk": ASPHALT,
                     "sidewalk": SIDEWALK}
# marking kind -> (offsets across the line [m], width [m], paint, dash (on, off) [m] or None)
_MARKING_STYLE = {
    "solid_white": ((0.0,), 0.15, WHITE_PAINT, None),
    "broken_white": ((0.0,), 0.15, WHITE_PAINT, (3.0, 9.0)),
    "double_yellow": ((-0.12, 0.12), 0.12, YELLOW_PAINT, None),
    "stop_line": ((0.0,), 0.45, WHITE_PAINT, None),
}


def _offset(points: np.ndarray, d: float) -> np.ndarray:
    """A polyline (n, 2) shifted d metres to its left."""
    if d == 0.0 or len(points) < 2:
        return points
    tang = np.gradient(points, axis=0)                                         # (n, 2)
    tang /= np.maximum(np.linalg.norm(tang, axis=1, keepdims=True), 1e-9)
    return points + d * np.stack([-tang[:, 1], tang[:, 0]], axis=1)


def _zebra(quad: np.ndarray) -> list[np.ndarray]:
    """White bars (each (4, 2)) across a crosswalk quad, bars parallel to its short side."""
    p0, p1, p2, p3 = (np.asarray(p, dtype=float) for p in quad[:4])
    if np.linalg.norm(p1 - p0) < np.linalg.norm(p3 - p0):   # make p0 -> p1 the long side
        p0, p1, p2, p3 = p1, p2, p3, p0
    length = float(np.linalg.norm(p1 - p0))
    bars = []
    f = 0.5 * ZEBRA_BAR_M
    while f + ZEBRA_BAR_M <= length:
        a, b = f / length, (f + ZEBRA_BAR_M) / length
        bars.append(np.array([p0 + a * (p1 - p0), p0 + b * (p1 - p0), p3 + b * (p2 - p3), p3 + a * (p2 - p3)]))
        f += 2 * ZEBRA_BAR_M
    return bars


def _band_centre(poly: np.ndarray) -> np.ndarray:
    """Centre line (n, 2) of a band polygon made of one edge and the other edge reversed (2n points)."""
    n = len(poly) // 2
    return (poly[:n] + poly[::-1][:n]) / 2.0


def _lamps(net) -> np.ndarray:
    """(k, 2) street-lamp positions along sidewalk (else shoulder) centre lines, off the drivable area."""
    polys = net.surface_polygons()
    kind = "sidewalk" if any(p.kind == "sidewalk" for p in polys) else "shoulder"
    out = []
    for j, p in enumerate(q for q in polys if q.kind == kind):
        line = _band_centre(p.points)
        seg = np.linalg.norm(np.diff(line, axis=0), axis=1)
        s = np.concatenate([[0.0], np.cumsum(seg)])                          # (n,) arc length [m]
        at = np.arange(LAMP_SPACING_M * (0.25 + 0.5 * (j % 2)), s[-1], LAMP_SPACING_M)
        out.append(np.stack([np.interp(at, s, line[:, 0]), np.interp(at, s, line[:, 1])], axis=1))
    lamps = np.concatenate(out) if out else np.zeros((0, 2))
    if len(lamps):
        lamps = lamps[~net.is_drivable(lamps)]
    return lamps


def _signal_pose(net, ego_route: str) -> tuple[float, float, float] | None:
    """(x, y, facing yaw) of the ego approach's signal: beyond the kerb end of its stop line."""
    route = net.routes.get(ego_route)
    if route is None or route.approach is None:
        return None
    line = next((sl for sl in net.stop_lines if sl.approach == route.approach), None)
    if line is None:
        return None
    p0, p1 = np.asarray(line.p0, dtype=float), np.asarray(line.p1, dtype=float)
    out = (p0 - p1) / max(float(np.linalg.norm(p0 - p1)), 1e-9)                # towards the kerb
    beyond = SIGNAL_BEYOND_KERB_M
    probe = p0 + out * 0.5
    while net.is_drivable(probe[None])[0] and beyond < 8.0:                   # step over shoulders
        beyond += 1.0
        probe = p0 + out * (beyond - SIGNAL_BEYOND_KERB_M + 0.5)
    pos = p0 + out * beyond
    heading = math.atan2(out[0], -out[1])   # approach traffic keeps the kerb on its right: out rotated +90 deg
    return float(pos[0]), float(pos[1]), float(heading + math.pi)   # the lamps face the approaching traffic


@functools.lru_cache(maxsize=64)
def _layers(road_spec, controlled: bool, traffic_control: str, ego_route: str) -> GroundLayers:
    net = build_road(road_spec)
    surfaces: list[tuple[np.ndarray, int]] = []
    for p in net.surface_polygons():
        surfaces.append((np.asarray(p.points, dtype=float), _SURFACE_MATERIAL.get(p.kind, ASPHALT)))
    for p in net.surface_polygons():
        if p.kind == "crosswalk" and len(p.points) >= 4:
            surfaces += [(bar, WHITE_PAINT) for bar in _zebra(np.asarray(p.points, dtype=float))]
    markings = []
    for m in net.lane_markings():
        if m.kind == "stop_line" and not controlled:   # the engine ignores them too: nothing to stop for
            continue
        offsets, width, paint, dash = _MARKING_STYLE.get(m.kind, ((0.0,), 0.15, WHITE_PAINT, None))
        for off in offsets:
            markings.append(Marking(_offset(np.asarray(m.points, dtype=float), off), width, paint, dash))
    signal = _signal_pose(net, ego_route) if controlled else None
    return GroundLayers(surfaces=tuple(surfaces), markings=tuple(markings), lamps_m=_lamps(net), signal=signal,
                        signal_kind=traffic_control if signal is not None else "none")


def ground_layers(scenario) -> GroundLayers:
    """The drawn road of a scenario (cached per road spec, traffic control and ego route).

    Stop lines, and the ego approach's signal or stop sign, are drawn only where the engine enforces them
    (``adsgen.scenario.mapping.has_stop_control``: traffic_control signal or stop_sign).
    """

    if scenario is None or not hasattr(scenario, "road"):
        raise ValueError("rendering needs snapshot.scenario to be a Scenario (or pass ground=...)")
    f = scenario.factors
    return _layers(scenario.road, has_stop_control(f), f.traffic_control, scenario.ego.route)
