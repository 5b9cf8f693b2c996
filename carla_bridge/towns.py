"""A site in a CARLA Town that matches a road template, found from the map's waypoints and junctions.

- intersection / t_junction: a junction with 4 / 3 arms (arm = a cluster of the directions from the
  junction's centre to its lane entries), the arms as close to right angles as the Town has. The template's
  junction centre goes to the junction's centre; its south arm (the ego's usual approach) to one of the
  Town's arms (for a T-junction: the stem, the arm with no opposite arm).
- straight: a straight stretch (heading within STRAIGHT_TOL_RAD, no junction) of a two-way road, long
  enough for the scenario; the template's lane 0 (next to the centre line) goes onto the Town's lane next
  to its centre line.
- curve: the start of a left-hand bend after a straight run-in, on the lane next to the centre line,
  whose mean curvature over the first CURVE_PROBE_M is closest to 1 / curve_radius_m (within CURVE_TOL);
  the template's bend start (100 m north of its origin) goes there.
- ramp: no site search (a Town's on-ramps rarely match the template's merge geometry); run it on the
  generated road.

The routes move rigidly (``frames.Placement``); the Town's lanes do not bend to them. ``Site.fit_m`` says
how far the ego route near the site lies from the Town's lane centres (projection through
``map.get_waypoint``), and RunResult.extra carries it, so a poor match is visible, not silent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from adsgen.errors import ConfigError
from carla_bridge import frames
from carla_bridge._carla import import_carla
from carla_bridge.frames import Placement

ARM_TOL_RAD = math.radians(30.0)  # entries within this angle (seen from the centre) belong to one arm
STRAIGHT_TOL_RAD = math.radians(2.0)  # heading variation allowed along a "straight" stretch
WAYPOINT_STEP_M = 2.0  # [m]
FIT_RADIUS_M = 40.0  # [m] the part of the ego route (around the site) whose fit is measured
CURVE_PROBE_M = 60.0  # [m] length of bend over which a Town's curvature is measured
CURVE_RUN_IN_M = 30.0  # [m] straight run-in required before the bend
CURVE_TOL = 0.5  # largest relative curvature error |k - 1/R| R accepted
ARM_OUT_DEG = {"S": -90.0, "E": 0.0, "N": 90.0, "W": 180.0}  # template arms' outward directions


@dataclass(frozen=True)
class Site:
    """Where a template sits in a Town."""

    placement: Placement
    kind: str
    """'junction' or 'stretch'."""
    ident: int
    """Junction id or road id."""
    fit_m: float
    """Worst distance [m] of the ego route near the site from the Town's nearest lane centre."""

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.ident, "fit_m": round(self.fit_m, 3),
                "placement": repr(self.placement)}


def _ang(a: float) -> float:
    return math.remainder(a, 2 * math.pi)


def _arms(junction: Any) -> tuple[list[float], tuple[float, float]]:
    """(outward directions [rad] of a junction's arms, centre (x, y) [m]), engine frame.

    Each driving connection enters the junction from one arm (its reversed heading points out along that
    arm) and leaves into another (its heading points out). Entries and exits are clustered by direction;
    the midpoint of an arm's (distinct) entry and exit lane centres lies on its axis (two-way arms), and
    the centre is the least-squares crossing of the axes.
    """
    carla = import_carla()
    ends: list[tuple[float, float, float, int]] = []  # (outward direction, x, y, +1 entry / -1 exit), distinct
    for start, end in junction.get_waypoints(carla.LaneType.Driving):
        for wp, flip, side in ((start, math.pi, 1), (end, 0.0, -1)):
            x, y, heading = frames.pose_from_carla(wp.transform)
            if not any(e[3] == side and math.hypot(e[1] - x, e[2] - y) < 0.5 for e in ends):
                ends.append((_ang(heading + flip), x, y, side))
    clusters: list[list[tuple[float, float, float, int]]] = []
    for e in sorted(ends):
        for c in clusters:
            if abs(_ang(e[0] - c[0][0])) < ARM_TOL_RAD:
                c.append(e)
                break
        else:
            clusters.append([e])
    dirs = [math.atan2(np.mean([math.sin(e[0]) for e in c]), np.mean([math.cos(e[0]) for e in c])) for c in clusters]
    a_mat, b_vec = np.zeros((2, 2)), np.zeros(2)
    for d, c in zip(dirs, clusters, strict=True):
        u = np.array([math.cos(d), math.sin(d)])
        proj = np.eye(2) - np.outer(u, u)  # (2, 2)
        sides = [np.mean([(e[1], e[2]) for e in c if e[3] == k], axis=0) for k in (1, -1) if any(e[3] == k for e in c)]
        p = np.mean(sides, axis=0)  # entries' and exits' lane centres lie either side of a two-way arm's axis
        a_mat += proj
        b_vec += proj @ p
    centre = np.linalg.lstsq(a_mat, b_vec, rcond=None)[0]
    return dirs, (float(centre[0]), float(centre[1]))


def _right_angle_error(arms: list[float]) -> float:
    return sum(abs(_ang(4 * a - 4 * arms[0])) / 4 for a in arms)


def junctions(carla_map: Any) -> dict[int, Any]:
    """Every junction of the map, by id."""
    out: dict[int, Any] = {}
    for wp in carla_map.generate_waypoints(WAYPOINT_STEP_M):
        if wp.is_junction:
            j = wp.get_junction()
            out.setdefault(j.id, j)
    return out


def _junction_site(carla_map: Any, network: Any, scenario: Any) -> Site:
    want = 4 if network.template == "intersection" else 3
    best = None
    for jid, j in sorted(junctions(carla_map).items()):
        loc = j.bounding_box.location
        arms, (cx, cy) = _arms(j)
        if len(arms) != want:
            continue
        score = _right_angle_error(arms)
        if best is None or score < best[0] - 1e-9:
            best = (score, jid, (cx, cy, float(loc.z)), arms)
    if best is None:
        raise ConfigError(f"the Town has no {want}-arm junction for road template '{network.template}'")
    _, jid, (cx, cy, cz), arms = best
    if want == 4:  # the template's south arm onto the Town arm that keeps the other arms closest
        yaw = min((_ang(a - math.radians(ARM_OUT_DEG["S"])) for a in arms),
                  key=lambda th: sum(min(abs(_ang(math.radians(d) + th - a)) for a in arms) for d in ARM_OUT_DEG.values()))
    else:  # the stem: the arm with no opposite arm
        stem = max(arms, key=lambda a: min(abs(_ang(a + math.pi - b)) for b in arms if b is not a))
        yaw = _ang(stem - math.radians(ARM_OUT_DEG["S"]))
    place = Placement(cx, cy, yaw, cz)
    return Site(place, "junction", int(jid), _fit(carla_map, network, scenario, place, (0.0, 0.0)))


def _stretch_length(network: Any, scenario: Any) -> tuple[float, float]:
    """(lowest, highest) template y [m] the scenario's vehicles use on the straight template."""
    ys = [scenario.ego.start_s_m, scenario.ego.start_s_m + scenario.ego.speed_mps * scenario.horizon_s]
    for a in scenario.actors:
        r = network.route(a.route)
        (_, y0), _ = r.at(a.start_s_m)
        (_, y1), _ = r.at(a.start_s_m + a.speed_mps * scenario.horizon_s)
        ys += [float(y0), float(y1)]
    return max(0.0, min(ys) - 10.0), min(network.route(scenario.ego.route).length_m, max(ys) + 20.0)


def _straight_site(carla_map: Any, network: Any, scenario: Any) -> Site:
    carla = import_carla()
    y_lo, y_hi = _stretch_length(network, scenario)
    need = y_hi - y_lo
    for wp in sorted(carla_map.generate_waypoints(WAYPOINT_STEP_M), key=lambda w: (w.road_id, w.lane_id, w.s)):
        if wp.is_junction or wp.lane_type != carla.LaneType.Driving:
            continue
        left = wp.get_left_lane()
        if left is None or left.lane_type != carla.LaneType.Driving or (left.lane_id > 0) == (wp.lane_id > 0):
            continue  # not the lane next to the centre line of a two-way road
        x0, y0, h0 = frames.pose_from_carla(wp.transform)
        cur, run = wp, 0.0
        while run < need:
            nxt = cur.next(WAYPOINT_STEP_M)
            if not nxt or nxt[0].is_junction:
                break
            cur = nxt[0]
            if abs(_ang(frames.pose_from_carla(cur.transform)[2] - h0)) > STRAIGHT_TOL_RAD:
                break
            run += WAYPOINT_STEP_M
        if run < need:
            continue
        yaw = _ang(h0 - math.pi / 2)  # the template runs north
        lane0_x = 0.5 * network.spec.lane_width_m
        c, s = math.cos(yaw), math.sin(yaw)
        place = Placement(x0 - (c * lane0_x - s * y_lo), y0 - (s * lane0_x + c * y_lo), yaw,
                          float(wp.transform.location.z))
        centre = (lane0_x, (y_lo + y_hi) / 2)
        return Site(place, "stretch", int(wp.road_id), _fit(carla_map, network, scenario, place, centre,
                                                             radius_m=need / 2))
    raise ConfigError(f"the Town has no straight two-way stretch of {need:.0f} m for this scenario")


def _inner_lane_waypoints(carla_map: Any) -> list[Any]:
    """Driving waypoints outside junctions on the lane next to the centre line of a two-way road."""
    carla = import_carla()
    out = []
    for wp in sorted(carla_map.generate_waypoints(WAYPOINT_STEP_M), key=lambda w: (w.road_id, w.lane_id, w.s)):
        if wp.is_junction or wp.lane_type != carla.LaneType.Driving:
            continue
        left = wp.get_left_lane()
        if left is None or left.lane_type != carla.LaneType.Driving or (left.lane_id > 0) == (wp.lane_id > 0):
            continue
        out.append(wp)
    return out


def _headings_along(wp: Any, length_m: float, forward: bool) -> list[float] | None:
    """Headings [rad, unwrapped] every WAYPOINT_STEP_M along the lane for length_m; None at a junction / end."""
    heads = [frames.pose_from_carla(wp.transform)[2]]
    cur = wp
    for _ in range(int(length_m / WAYPOINT_STEP_M)):
        nxt = cur.next(WAYPOINT_STEP_M) if forward else cur.previous(WAYPOINT_STEP_M)
        if not nxt or nxt[0].is_junction:
            return None
        cur = nxt[0]
        heads.append(heads[-1] + _ang(frames.pose_from_carla(cur.transform)[2] - heads[-1]))
    return heads


def _curve_site(carla_map: Any, network: Any, scenario: Any) -> Site:
    """The start of a left-hand bend whose curvature is closest to the template's, after a straight run-in."""
    radius = network.spec.curve_radius_m
    arc_m = min(radius * math.pi / 2, 250.0, CURVE_PROBE_M)
    best = None
    for wp in _inner_lane_waypoints(carla_map):
        ahead = _headings_along(wp, arc_m, forward=True)
        if ahead is None:
            continue
        k_mean = (ahead[-1] - ahead[0]) / (WAYPOINT_STEP_M * (len(ahead) - 1))  # [1/m], left positive
        if k_mean <= 0:
            continue
        behind = _headings_along(wp, CURVE_RUN_IN_M, forward=False)
        if behind is None or abs(behind[-1] - behind[0]) > math.radians(3.0):
            continue
        run_in_k = abs(behind[-1] - behind[0]) / CURVE_RUN_IN_M  # [1/m] the run-in should be straight
        err = (abs(k_mean - 1.0 / radius) + run_in_k) * radius  # relative curvature error
        if best is None or err < best[0] - 1e-9:
            best = (err, wp)
    if best is None or best[0] > CURVE_TOL:
        raise ConfigError(f"the Town has no left-hand bend of radius about {radius:.0f} m (after a "
                          f"{CURVE_RUN_IN_M:.0f} m straight) for the curve template")
    wp = best[1]
    x0, y0, h0 = frames.pose_from_carla(wp.transform)
    yaw = _ang(h0 - math.pi / 2)
    lane0_x, arc_y = 0.5 * network.spec.lane_width_m, 100.0  # the template's bend starts 100 m north
    c, s = math.cos(yaw), math.sin(yaw)
    place = Placement(x0 - (c * lane0_x - s * arc_y), y0 - (s * lane0_x + c * arc_y), yaw,
                      float(wp.transform.location.z))
    return Site(place, "stretch", int(wp.road_id),
                _fit(carla_map, network, scenario, place, (lane0_x, arc_y), radius_m=FIT_RADIUS_M))


def _fit(carla_map: Any, network: Any, scenario: Any, place: Placement, centre: tuple[float, float],
         radius_m: float = FIT_RADIUS_M) -> float:
    """Worst distance [m] of the ego route points within radius_m of centre from the Town's lane centres."""
    carla = import_carla()
    route = network.route(scenario.ego.route)
    near = np.hypot(route.xy[:, 0] - centre[0], route.xy[:, 1] - centre[1]) <= radius_m  # (n,)
    worst = 0.0
    for (x, y), h in zip(route.xy[near][::4], route.heading[near][::4], strict=True):
        wx, wy, _ = place.to_world(float(x), float(y), float(h))
        wp = carla_map.get_waypoint(frames.location(wx, wy, place.z_m), project_to_road=True,
                                    lane_type=carla.LaneType.Driving)
        if wp is None:
            return math.inf
        px, py = frames.xy_from_carla(wp.transform.location.x, wp.transform.location.y)
        worst = max(worst, math.hypot(px - wx, py - wy))
    return worst


SITE_FINDERS = {"intersection": _junction_site, "t_junction": _junction_site, "straight": _straight_site,
                "curve": _curve_site}
"""template -> site finder (ramp: none; see the module doc)."""


def find_site(carla_map: Any, network: Any, scenario: Any) -> Site:
    """The Town site for the scenario's template (ConfigError when the Town has none / none is searched)."""
    try:
        finder = SITE_FINDERS[network.template]
    except KeyError:
        raise ConfigError(f"--town: no Town site search for road template '{network.template}' "
                          f"(supported: {', '.join(SITE_FINDERS)}); run it on the generated road") from None
    return finder(carla_map, network, scenario)
