"""Road templates: straight multi-lane road, curve, four-way intersection, T-junction and ramp merge.

Each template turns a ``RoadSpec`` into a ``RoadNetwork``: OpenDRIVE-style roads (plan-view lines and
arcs with lanes), the named routes the engine drives on (lane centre-lines and crosswalk paths, computed
analytically from the same geometry, so they coincide with the OpenDRIVE lane centres), stop lines with
their signal groups, a drivable-area test, and the polygons / markings the renderer draws.

Route names are ``{approach}_{movement}_{lane}`` (docs/simulation.md):

* approach: the arm a vehicle enters from -- ``S`` (comes from the south, heading north), ``N``, ``E``,
  ``W``, or ``R`` (the on-ramp);
* movement: ``straight``, ``left``, ``right``, ``merge`` (ramp), ``shoulder`` (parking strip, no lane index);
* lane: 0 is the lane next to the centre line (OpenDRIVE lane 1 / -1), increasing towards the kerb.

Crosswalk paths are ``X_{where}_{direction}`` (``X_mid_west``: the straight road's mid-block crosswalk,
walked westwards; ``X_N_east``: the crosswalk across the intersection's north arm, walked eastwards).
Every template puts the ego's usual approach at the south, heading north (+y).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from adsgen.errors import InputError
from adsgen.registry import Registry
from adsgen.scenario.geometry import (
    Prim,
    Route,
    chain,
    make_route,
    path_crossing,
    polyline_band,
    sample_prims,
)
from adsgen.scenario.model import RoadSpec, Scenario

ARM_LENGTH_M = 150.0       # [m] length of each junction arm, from the junction box edge
JUNCTION_CORNER_M = 6.0    # [m] extra half-size of the junction box beyond the carriageway
CROSSWALK_FROM_M = 1.0     # [m] crosswalk near edge, from the junction box edge
CROSSWALK_WIDTH_M = 3.0    # [m]
STOP_LINE_GAP_M = 1.0      # [m] stop line distance before the crosswalk's near edge
SIDEWALK_M = 2.5           # [m] sidewalk width
SHOULDER_M = 2.5           # [m] shoulder / parking strip width on open roads
STRAIGHT_LENGTH_M = 400.0  # [m]
MID_CROSSWALK_Y_M = 200.0  # [m] the straight road's mid-block crosswalk centre (y)

ARM_OUT_HEADING = {"E": 0.0, "N": math.pi / 2, "W": math.pi, "S": -math.pi / 2}  # [rad] arm's outward heading


@dataclass(frozen=True)
class LaneDef:
    """One OpenDRIVE lane: id (negative = right of the reference line), type, width polynomial in ds."""

    id: int
    type: str = "driving"       # driving | shoulder | sidewalk
    width: tuple[float, float, float, float] = (3.5, 0.0, 0.0, 0.0)  # a + b ds + c ds^2 + d ds^3 [m]
    mark: str = "none"          # outer road mark: solid | broken | none
    pred: int | None = None     # lane id in the predecessor road
    succ: int | None = None     # lane id in the successor road


@dataclass(frozen=True)
class LaneSection:
    s: float                    # [m] start of the section along the road
    left: tuple[LaneDef, ...]   # ids 1, 2, ... (driven against the reference direction)
    right: tuple[LaneDef, ...]  # ids -1, -2, ...
    center_mark: str = "solid solid"


@dataclass
class XRoad:
    """One OpenDRIVE road."""

    id: int
    name: str
    prims: list[Prim]
    sections: list[LaneSection]
    junction: int = -1
    predecessor: tuple[str, int, str] | None = None  # (elementType 'road'|'junction', id, contactPoint)
    successor: tuple[str, int, str] | None = None

    @property
    def length(self) -> float:
        return sum(p.length for p in self.prims)


@dataclass(frozen=True)
class Connection:
    """A junction connection: incoming road -> connecting road, with its lane link."""

    incoming: int
    connecting: int
    from_lane: int
    to_lane: int = -1


@dataclass(frozen=True)
class StopLine:
    """A stop line across one approach's inbound lanes."""

    approach: str
    p0: tuple[float, float]     # [m] kerb-side end
    p1: tuple[float, float]     # [m] centre-line end
    signal_group: str           # 'NS' | 'EW'


@dataclass(frozen=True)
class SurfacePolygon:
    kind: str                   # 'road' | 'shoulder' | 'sidewalk' | 'junction' | 'crosswalk'
    points: np.ndarray          # (n, 2) [m]


@dataclass(frozen=True)
class LaneMarking:
    kind: str                   # 'solid_white' | 'broken_white' | 'double_yellow' | 'stop_line'
    points: np.ndarray          # (n, 2) [m] polyline


@dataclass
class RoadNetwork:
    """A built road template: routes for the engine, geometry for the renderer, OpenDRIVE for CARLA."""

    template: str
    spec: RoadSpec
    routes: dict[str, Route]
    roads: list[XRoad]
    connections: list[Connection] = field(default_factory=list)
    stop_lines: list[StopLine] = field(default_factory=list)
    polygons: list[SurfacePolygon] = field(default_factory=list)
    markings: list[LaneMarking] = field(default_factory=list)

    def route(self, name: str) -> Route:
        try:
            return self.routes[name]
        except KeyError:
            raise InputError(
                f"road template '{self.template}' has no route {name!r}; expected one of "
                f"{', '.join(sorted(self.routes))}") from None

    def surface_polygons(self) -> list[SurfacePolygon]:
        """Polygons to paint, in drawing order (sidewalks, shoulders, roads, junction boxes, crosswalks)."""
        return list(self.polygons)

    def lane_markings(self) -> list[LaneMarking]:
        return list(self.markings)

    def is_drivable(self, xy: np.ndarray) -> np.ndarray:
        """Whether points (..., 2) lie on the road surface (lanes, shoulders, junction box) -> (...,) bool."""
        from matplotlib.path import Path

        xy = np.asarray(xy, dtype=float)
        flat = xy.reshape(-1, 2)
        inside = np.zeros(len(flat), dtype=bool)
        for poly in self.polygons:
            if poly.kind in ("road", "shoulder", "junction"):
                inside |= Path(poly.points).contains_points(flat)
        return inside.reshape(xy.shape[:-1])


TemplateBuilder = Callable[[RoadSpec], RoadNetwork]
TEMPLATES: Registry[TemplateBuilder] = Registry("road template")


def register_template(name: str) -> Callable[[TemplateBuilder], TemplateBuilder]:
    """Register a road template builder under ``name`` (a RoadSpec.template value)."""
    return TEMPLATES.register(name)


@functools.lru_cache(maxsize=256)
def build_road(spec: RoadSpec) -> RoadNetwork:
    """The RoadNetwork for a RoadSpec (cached: specs are immutable)."""
    try:
        builder = TEMPLATES[spec.template]
    except KeyError:
        raise InputError(f"unknown road template {spec.template!r}; expected one of {', '.join(TEMPLATES)}") from None
    return builder(spec)


@dataclass(frozen=True)
class ConflictPoint:
    """Where another road user's route first crosses the ego's route (centre-lines)."""

    ego_s_m: float    # [m] along the ego's route
    other_s_m: float  # [m] along the other route
    x_m: float        # [m] engine frame (the OpenDRIVE frame)
    y_m: float


@functools.lru_cache(maxsize=4096)
def conflict_point(spec: RoadSpec, ego_route: str, route: str) -> ConflictPoint | None:
    """The conflict point of ``route`` with ``ego_route`` on the road ``spec``: the first crossing of the two
    centre-lines along the ego's route, or None when they never cross (the same route, parallel lanes)."""
    if ego_route == route:
        return None
    net = build_road(spec)
    ego = net.route(ego_route)
    hit = path_crossing(ego.xy, net.route(route).xy)
    if hit is None:
        return None
    (x, y), _ = ego.at(hit[0])
    return ConflictPoint(hit[0], hit[1], float(x), float(y))


def validate_routes(scenario: Scenario, source: str = "scenario") -> None:
    """Raise InputError when the scenario names a route its road template lacks, or a wrong kind of route,
    or asks for a time-to-arrival trigger (``ego_arrival``) on a route that never crosses the ego's."""
    net = build_road(scenario.road)
    items = [("ego.route", scenario.ego.route, "car")]
    items += [(f"actors[{i}].route", a.route, a.kind) for i, a in enumerate(scenario.actors)]
    for where, name, kind in items:
        if name not in net.routes:
            raise InputError(f"{source}: {where}: road template '{net.template}' has no route {name!r}; "
                             f"expected one of {', '.join(sorted(net.routes))}")
        rk = net.routes[name].kind
        if (kind == "pedestrian") != (rk == "crosswalk"):
            want = "a crosswalk route (X_...)" if kind == "pedestrian" else "a lane or shoulder route"
            raise InputError(f"{source}: {where}: a {kind} needs {want}, got {name!r}")
    for i in range(len(scenario.actors)):
        check_arrival_trigger(scenario, i, source)


def check_arrival_trigger(scenario: Scenario, i: int, source: str = "scenario") -> None:
    """InputError when actor ``i``'s manoeuvre starts on ``ego_arrival`` but its route has no conflict point
    with the ego's route."""
    a = scenario.actors[i]
    trig = a.manoeuvre.trigger
    if trig is not None and trig.kind == "ego_arrival":
        arrival_conflict(scenario.road, scenario.ego.route, a.route, f"{source}: actors[{i}].manoeuvre.trigger")


def arrival_conflict(spec: RoadSpec, ego_route: str, route: str, where: str) -> ConflictPoint:
    """The conflict point an ``ego_arrival`` trigger measures to; InputError naming ``where`` when none."""
    c = conflict_point(spec, ego_route, route)
    if c is None:
        raise InputError(f"{where}: kind 'ego_arrival' needs a conflict point, but route {route!r} never crosses "
                         f"the ego's route {ego_route!r} on template '{spec.template}' (expected a crossing "
                         "route, or an ego_distance / time trigger)")
    return c


# ----------------------------------------------------------------------------------------------- helpers

def _two_way_sections(n: int, w: float, outer: list[tuple[str, float]]) -> tuple[LaneSection]:
    """One lane section with n driving lanes each way plus outer lanes (type, width) on both sides."""
    def side(sign: int) -> tuple[LaneDef, ...]:
        lanes = [LaneDef(sign * (i + 1), "driving", (w, 0, 0, 0), "broken" if i < n - 1 else "solid",
                         pred=sign * (i + 1), succ=sign * (i + 1)) for i in range(n)]
        for j, (typ, width) in enumerate(outer):
            lid = sign * (n + j + 1)
            lanes.append(LaneDef(lid, typ, (width, 0, 0, 0), "none", pred=lid, succ=lid))
        return tuple(lanes)

    return (LaneSection(0.0, side(+1), side(-1)),)


def _road_polys_and_marks(prims: list[Prim], n_left: int, n_right: int, w: float,
                          outer: list[tuple[str, float]], out_p: list, out_m: list,
                          centre: bool = True) -> None:
    """Surface polygons and markings of a constant-width road."""
    xy, hd = sample_prims(prims, 0.0, step_m=1.0)
    t_l, t_r = n_left * w, -n_right * w
    out_p.append(SurfacePolygon("road", polyline_band(xy, hd, t_l, t_r)))
    for typ, width in outer:
        kind = "sidewalk" if typ == "sidewalk" else "shoulder"
        if n_left:
            out_p.append(SurfacePolygon(kind, polyline_band(xy, hd, t_l + width, t_l)))
        out_p.append(SurfacePolygon(kind, polyline_band(xy, hd, t_r, t_r - width)))
        t_l, t_r = t_l + (width if n_left else 0.0), t_r - width
    nrm = np.stack([-np.sin(hd), np.cos(hd)], axis=1)  # (n, 2)
    if centre and n_left:
        out_m.append(LaneMarking("double_yellow", xy.copy()))
    for i in range(1, n_right):
        out_m.append(LaneMarking("broken_white", xy - nrm * i * w))
    for i in range(1, n_left):
        out_m.append(LaneMarking("broken_white", xy + nrm * i * w))
    out_m.append(LaneMarking("solid_white", xy - nrm * n_right * w))
    if n_left:
        out_m.append(LaneMarking("solid_white", xy + nrm * n_left * w))


def _open_road(spec: RoadSpec, name: str, prims: list[Prim], stop_s: float | None = None) -> RoadNetwork:
    """A two-way road (straight or curve) with shoulders and sidewalks; stop_s: stop lines on both
    carriageways at that distance along each lane route (signal group NS)."""
    n, w = spec.lanes, spec.lane_width_m
    outer = [("shoulder", SHOULDER_M), ("sidewalk", SIDEWALK_M)]
    road = XRoad(1, name, prims, list(_two_way_sections(n, w, outer)))
    d_total = 2 * n * w
    routes: dict[str, Route] = {}
    for k in range(n):
        t = (k + 0.5) * w
        bounds = dict(d_left_m=t + n * w, d_right_m=d_total / 2 - t + SHOULDER_M, stop_s_m=stop_s,
                      signal_group=None if stop_s is None else "NS")
        routes[f"S_straight_{k}"] = make_route(f"S_straight_{k}", "lane", [sample_prims(prims, -t)],
                                               approach="S", lane=k, **bounds)
        routes[f"N_straight_{k}"] = make_route(f"N_straight_{k}", "lane", [sample_prims(prims, t, reverse=True)],
                                               approach="N", lane=k, **bounds)
    ts = n * w + SHOULDER_M / 2
    sb = dict(d_left_m=2 * n * w + SHOULDER_M / 2, d_right_m=SHOULDER_M / 2)
    routes["S_shoulder"] = make_route("S_shoulder", "shoulder", [sample_prims(prims, -ts)], approach="S", **sb)
    routes["N_shoulder"] = make_route("N_shoulder", "shoulder", [sample_prims(prims, ts, reverse=True)],
                                      approach="N", **sb)
    polys: list[SurfacePolygon] = []
    marks: list[LaneMarking] = []
    _road_polys_and_marks(prims, n, n, w, outer, polys, marks)
    return RoadNetwork(name, spec, routes, [road], polygons=polys, markings=marks)


@register_template("straight")
def straight_road(spec: RoadSpec) -> RoadNetwork:
    """A straight two-way road, south to north, 400 m, with a signalisable mid-block crosswalk at y = 200 m."""
    prims = [Prim(0.0, 0.0, math.pi / 2, STRAIGHT_LENGTH_M)]
    y0 = MID_CROSSWALK_Y_M
    cw = CROSSWALK_WIDTH_M / 2
    stop_dist = cw + STOP_LINE_GAP_M
    net = _open_road(spec, "straight", prims, stop_s=y0 - stop_dist)
    n, w = spec.lanes, spec.lane_width_m
    half = n * w + SHOULDER_M + SIDEWALK_M / 2  # [m] sidewalk centre to sidewalk centre / 2
    east = np.array([[-half, y0], [half, y0]])
    for name, pts in (("X_mid_east", east), ("X_mid_west", east[::-1])):
        hd = math.atan2(pts[1, 1] - pts[0, 1], pts[1, 0] - pts[0, 0])
        xy = np.linspace(pts[0], pts[1], 200)
        net.routes[name] = make_route(name, "crosswalk", [(xy, np.full(200, hd))])
    net.polygons.append(SurfacePolygon("crosswalk", np.array(
        [[-n * w, y0 - cw], [n * w, y0 - cw], [n * w, y0 + cw], [-n * w, y0 + cw]])))
    net.stop_lines += [StopLine("S", (n * w, y0 - stop_dist), (0.0, y0 - stop_dist), "NS"),
                       StopLine("N", (-n * w, y0 + stop_dist), (0.0, y0 + stop_dist), "NS")]
    for sl in net.stop_lines:
        net.markings.append(LaneMarking("stop_line", np.array([sl.p0, sl.p1])))
    return net


@register_template("curve")
def curve_road(spec: RoadSpec) -> RoadNetwork:
    """100 m straight north, a left-hand arc of radius curve_radius_m (at most 90 deg, at most 250 m), 100 m out."""
    r = spec.curve_radius_m
    arc = min(r * math.pi / 2, 250.0)
    prims = chain(0.0, 0.0, math.pi / 2, [(100.0, 0.0), (arc, 1.0 / r), (100.0, 0.0)])
    return _open_road(spec, "curve", prims)


# ------------------------------------------------------------------------------------------ junctions

def _junction(spec: RoadSpec, name: str, arms: tuple[str, ...]) -> RoadNetwork:
    """A junction of perpendicular two-way arms (each ARM_LENGTH_M long) around a square box."""
    n, w = spec.lanes, spec.lane_width_m
    h = n * w + JUNCTION_CORNER_M  # [m] half-size of the junction box
    outer = [("sidewalk", SIDEWALK_M)]
    roads: list[XRoad] = []
    arm_road: dict[str, XRoad] = {}
    for i, arm in enumerate(arms):
        out = ARM_OUT_HEADING[arm]
        prim = Prim(h * math.cos(out), h * math.sin(out), out, ARM_LENGTH_M)
        road = XRoad(i + 1, f"arm_{arm}", [prim], list(_two_way_sections(n, w, outer)),
                     predecessor=("junction", 100, "start"))
        roads.append(road)
        arm_road[arm] = road
    routes: dict[str, Route] = {}
    connections: list[Connection] = []
    polys: list[SurfacePolygon] = []
    marks: list[LaneMarking] = []
    stop_lines: list[StopLine] = []
    stop_s = ARM_LENGTH_M - CROSSWALK_FROM_M - CROSSWALK_WIDTH_M - STOP_LINE_GAP_M
    next_id = 1000
    for arm in arms:
        inbound = ARM_OUT_HEADING[arm] + math.pi
        phi = inbound - math.pi / 2  # rotation from the canonical south arm
        group = "NS" if arm in ("N", "S") else "EW"
        moves: list[tuple[str, int, Prim, float]] = []  # (movement, lane, canonical prim, dest outward heading)
        for k in range(n):
            moves.append(("straight", k, Prim(k * w, -h, math.pi / 2, 2 * h), inbound))
            rl = h + k * w
            moves.append(("left", k, Prim(k * w, -h, math.pi / 2, math.pi / 2 * rl, 1.0 / rl),
                          inbound + math.pi / 2))
        rr = h - (n - 1) * w
        moves.append(("right", n - 1, Prim((n - 1) * w, -h, math.pi / 2, math.pi / 2 * rr, -1.0 / rr),
                      inbound - math.pi / 2))
        for move, k, cprim, dest_out in moves:
            dest = next((a for a in arms if abs(math.remainder(ARM_OUT_HEADING[a] - dest_out, 2 * math.pi)) < 1e-6),
                        None)
            if dest is None:
                continue
            prim = cprim.rotated(phi)
            conn = XRoad(next_id, f"conn_{arm}_{move}_{k}", [prim], [LaneSection(
                0.0, (), (LaneDef(-1, "driving", (w, 0, 0, 0), "none", pred=k + 1, succ=-(k + 1)),), "none")],
                junction=100, predecessor=("road", arm_road[arm].id, "start"),
                successor=("road", arm_road[dest].id, "start"))
            roads.append(conn)
            connections.append(Connection(arm_road[arm].id, next_id, k + 1, -1))
            next_id += 1
            t_in = (k + 0.5) * w
            pieces = [sample_prims(arm_road[arm].prims, t_in, reverse=True),
                      sample_prims([prim], -w / 2),
                      sample_prims(arm_road[dest].prims, -t_in)]
            rname = f"{arm}_{move}_{k}"
            routes[rname] = make_route(
                rname, "lane", pieces, approach=arm, lane=k, stop_s_m=stop_s, signal_group=group,
                d_left_m=t_in + n * w, d_right_m=(n - k - 0.5) * w + 1.0)
        # stop line and crosswalk across this arm
        out = ARM_OUT_HEADING[arm]
        u = np.array([math.cos(out), math.sin(out)])       # outward
        lft = np.array([-math.sin(out), math.cos(out)])    # left of outward = inbound lanes' side
        d_stop = h + ARM_LENGTH_M - stop_s
        stop_lines.append(StopLine(arm, tuple(u * d_stop + lft * n * w), tuple(u * d_stop), group))
        marks.append(LaneMarking("stop_line", np.array([u * d_stop + lft * n * w, u * d_stop])))
        c0, c1 = h + CROSSWALK_FROM_M, h + CROSSWALK_FROM_M + CROSSWALK_WIDTH_M
        polys_cw = np.array([u * c0 + lft * n * w, u * c1 + lft * n * w, u * c1 - lft * n * w, u * c0 - lft * n * w])
        half = n * w + SIDEWALK_M / 2
        mid = (c0 + c1) / 2
        a, b = u * mid - lft * half, u * mid + lft * half  # a: right of outward, b: left
        compass = {0: "east", 1: "north", 2: "west", 3: "south"}
        for p0, p1 in ((a, b), (b, a)):
            hd = math.atan2(p1[1] - p0[1], p1[0] - p0[0])
            dname = compass[round(hd / (math.pi / 2)) % 4]
            xy = np.linspace(p0, p1, 100)
            routes[f"X_{arm}_{dname}"] = make_route(f"X_{arm}_{dname}", "crosswalk", [(xy, np.full(100, hd))])
        polys.append(SurfacePolygon("crosswalk", polys_cw))
    for arm in arms:
        _road_polys_and_marks(arm_road[arm].prims, n, n, w, outer, polys, marks)
    box = np.array([[-h, -h], [h, -h], [h, h], [-h, h]])
    polys.insert(0, SurfacePolygon("junction", box))
    polys.sort(key=lambda p: ["sidewalk", "shoulder", "road", "junction", "crosswalk"].index(p.kind))
    return RoadNetwork(name, spec, routes, roads, connections, stop_lines, polys, marks)


@register_template("intersection")
def four_way(spec: RoadSpec) -> RoadNetwork:
    """A four-way intersection at the origin; arms N, E, S, W."""
    return _junction(spec, "intersection", ("S", "E", "N", "W"))


@register_template("t_junction")
def t_junction(spec: RoadSpec) -> RoadNetwork:
    """A T-junction: an east-west through road with a south arm (no north arm)."""
    return _junction(spec, "t_junction", ("S", "E", "W"))


# ----------------------------------------------------------------------------------------------- ramp

RAMP_JOIN_Y_M = 150.0     # [m] where the on-ramp lane joins the main road
ACCEL_LANE_M = 120.0      # [m] parallel acceleration lane
TAPER_M = 60.0            # [m] taper of the acceleration lane
RAMP_ANGLE_RAD = 0.25     # [rad] ramp heading relative to the main road
RAMP_STRAIGHT_M = 80.0    # [m]
RAMP_ARC_M = 60.0         # [m]


@register_template("ramp")
def ramp_merge(spec: RoadSpec) -> RoadNetwork:
    """A one-way main road (south to north, 400 m) with an on-ramp from the east merging at y = 150 m."""
    n, w = spec.lanes, spec.lane_width_m
    sh = SHOULDER_M
    main_a = XRoad(1, "main_before", [Prim(0.0, 0.0, math.pi / 2, RAMP_JOIN_Y_M)], [LaneSection(
        0.0, (), tuple(LaneDef(-(i + 1), "driving", (w, 0, 0, 0), "broken" if i < n - 1 else "solid",
                               pred=-(i + 1), succ=-(i + 1)) for i in range(n))
        + (LaneDef(-(n + 1), "shoulder", (sh, 0, 0, 0), succ=-(n + 2)),), "solid")],
        successor=("road", 2, "start"))
    b_len = STRAIGHT_LENGTH_M - RAMP_JOIN_Y_M
    drive = tuple(LaneDef(-(i + 1), "driving", (w, 0, 0, 0), "broken", pred=-(i + 1), succ=-(i + 1))
                  for i in range(n))
    c3, d3 = -3 * w / TAPER_M**2, 2 * w / TAPER_M**3
    # the acceleration lane starts here (its entry is the on-ramp's successor link), tapers, and ends
    sec1 = LaneSection(0.0, (), drive + (LaneDef(-(n + 1), "driving", (w, 0, 0, 0), "solid", succ=-(n + 1)),
                                        LaneDef(-(n + 2), "shoulder", (sh, 0, 0, 0), pred=-(n + 1),
                                                succ=-(n + 2))), "solid")
    sec2 = LaneSection(ACCEL_LANE_M, (), drive + (LaneDef(-(n + 1), "driving", (w, 0, c3, d3), "solid",
                                                          pred=-(n + 1)),
                                                  LaneDef(-(n + 2), "shoulder", (sh, 0, 0, 0), pred=-(n + 2),
                                                          succ=-(n + 1))), "solid")
    last = drive[:-1] + (LaneDef(-n, "driving", (w, 0, 0, 0), "solid", pred=-n),)
    sec3 = LaneSection(ACCEL_LANE_M + TAPER_M, (), last + (LaneDef(-(n + 1), "shoulder", (sh, 0, 0, 0), pred=-(n + 2)),),
                       "solid")
    main_b = XRoad(2, "main_after", [Prim(0.0, RAMP_JOIN_Y_M, math.pi / 2, b_len)], [sec1, sec2, sec3],
                   predecessor=("road", 1, "end"))
    # the ramp: a straight at RAMP_ANGLE_RAD then a right-hand arc ending parallel at the accel lane's edge
    h0 = math.pi / 2 + RAMP_ANGLE_RAD
    k = -RAMP_ANGLE_RAD / RAMP_ARC_M
    ex, ey = n * w, RAMP_JOIN_Y_M  # reference line end (inner edge of the ramp lane)
    dx = (math.sin(h0 + k * RAMP_ARC_M) - math.sin(h0)) / k
    dy = (math.cos(h0) - math.cos(h0 + k * RAMP_ARC_M)) / k
    ax, ay = ex - dx, ey - dy
    sx, sy = ax - RAMP_STRAIGHT_M * math.cos(h0), ay - RAMP_STRAIGHT_M * math.sin(h0)
    ramp_prims = chain(sx, sy, h0, [(RAMP_STRAIGHT_M, 0.0), (RAMP_ARC_M, k)])
    ramp = XRoad(3, "on_ramp", ramp_prims, [LaneSection(0.0, (), (
        LaneDef(-1, "driving", (w, 0, 0, 0), "solid", succ=-(n + 1)),
        LaneDef(-2, "shoulder", (sh, 0, 0, 0), succ=-(n + 2))), "solid")],
        successor=("road", 2, "start"))
    routes: dict[str, Route] = {}
    full = [Prim(0.0, 0.0, math.pi / 2, STRAIGHT_LENGTH_M)]
    for i in range(n):
        t = (i + 0.5) * w
        routes[f"S_straight_{i}"] = make_route(f"S_straight_{i}", "lane", [sample_prims(full, -t)], approach="S",
                                               lane=i, d_left_m=t, d_right_m=(n - i - 0.5) * w + sh)

    def merge_t(s: np.ndarray) -> np.ndarray:  # lane change from the accel lane into lane n-1 over the taper
        f = np.clip((s - ACCEL_LANE_M) / TAPER_M, 0.0, 1.0)
        return -((n + 0.5) * w - w * (1 - np.cos(np.pi * f)) / 2)

    routes["R_merge_0"] = make_route("R_merge_0", "lane", [
        sample_prims(ramp_prims, -w / 2), sample_prims(main_b.prims, merge_t)],
        approach="R", lane=0, d_left_m=(n + 0.5) * w, d_right_m=w / 2 + sh)
    polys: list[SurfacePolygon] = []
    marks: list[LaneMarking] = []
    _road_polys_and_marks(full, 0, n, w, [("shoulder", sh)], polys, marks, centre=False)
    _road_polys_and_marks(ramp_prims, 0, 1, w, [("shoulder", sh)], polys, marks, centre=False)
    acc = [Prim(0.0, RAMP_JOIN_Y_M, math.pi / 2, ACCEL_LANE_M + TAPER_M)]
    xy, hd = sample_prims(acc, 0.0, step_m=1.0)
    s_loc = np.linspace(0, ACCEL_LANE_M + TAPER_M, len(xy))
    f = np.clip((s_loc - ACCEL_LANE_M) / TAPER_M, 0, 1)
    width = w * (1 - 3 * f**2 + 2 * f**3)  # (n,) same cubic as the OpenDRIVE taper
    outer_x = n * w + width
    polys.append(SurfacePolygon("road", np.concatenate([
        np.stack([np.full(len(xy), n * w), xy[:, 1]], 1), np.stack([outer_x, xy[:, 1]], 1)[::-1]])))
    polys.sort(key=lambda p: ["sidewalk", "shoulder", "road", "junction", "crosswalk"].index(p.kind))
    return RoadNetwork("ramp", spec, routes, [main_a, main_b, ramp], polygons=polys, markings=marks)
