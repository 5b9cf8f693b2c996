"""The engine's public per-step API: compile a batch, advance it one step, read its metrics.

One implementation of the builtin engine's physics and scripts, used by the batched loop
(``adsgen.sim.engine.BuiltinBackend``) and by the CARLA bridge (``carla_bridge.script``, which steps the
actor slots with the ego's state measured in CARLA). Arrays are (batch, slots) with slot 0 the ego.

* ``compile_batch(scenarios) -> CompiledBatch`` -- the static, padded arrays of a batch.
* ``EngineState(bt)`` -- the dynamic arrays (route coordinates s, d, psi, speed, triggers, stop signs served).
* per step, in the episode owner's order (``adsgen.sim.episode``): ``poses`` -> (the referee:
  ``contact_metrics``, PET, termination) -> ``fire_triggers`` -> ``signal_states`` / ``stop_gaps`` -> (agent) -> ``actor_controls`` -> ``advance``.
* sensing helpers the observation is built from: ``path_projection``, ``occlusion``.

Vehicles move along their route's centre-line in coordinates (s along the route, d lateral offset left
positive, psi heading relative to the route) with the kinematic bicycle model written in those
coordinates (exact, no projection):

    s' = v cos(psi) / (1 - kappa d),   d' = v sin(psi),   psi' = v tan(delta) / L - kappa s'

A steering controller tracks a lateral target (0, or a lane-change / drift profile) within the steering lock
and the tyres' grip. Longitudinal acceleration is limited by friction: |a_long| <= sqrt((mu g)^2 - a_lat^2).
Positions integrate each step's constant acceleration exactly (a vehicle stops at v = 0, it never reverses).
Pedestrians walk their crosswalk paths as discs of radius width/2.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import get_args

import numpy as np

from adsgen.scenario.geometry import ROUTE_DS_M
from adsgen.scenario.mapping import G_MPS2, friction_mu, has_stop_control
from adsgen.scenario.model import Manoeuvre, ManoeuvreType, RoadSpec, Scenario, TriggerKind
from adsgen.scenario.roads import arrival_conflict, build_road, conflict_point
from adsgen.sim import metrics
from adsgen.sim.agents.observation import (  # noqa: F401  (CURVATURE_AHEAD_M re-exported)
    CURVATURE_AHEAD_M,
    SIGNAL_GREEN,
    SIGNAL_NONE,
    SIGNAL_RED,
    SIGNAL_YELLOW,
)
from adsgen.sim.snapshot import ObjectKind
from adsgen.sim.types import DT_S

# road-user sizes [m]: length, width, height
SIZES = {"ego": (4.6, 1.9, 1.5), "car": (4.6, 1.9, 1.5), "truck": (8.0, 2.5, 3.2), "pedestrian": (0.6, 0.6, 1.75)}
WHEELBASE_FRACTION = 0.6       # [-] wheelbase / length
MAX_STEER_RAD = 0.6            # [rad]
TAN_MAX_STEER = math.tan(MAX_STEER_RAD)
MAX_PSI_RAD = 0.5              # [rad] most heading-to-route angle the lateral controller asks for
MAX_ACCEL_MPS2 = 4.0           # [m/s2] powertrain limit
ACTOR_GAIN_PER_S = 1.5         # [1/s] actor speed-tracking gain (a = gain * (v_des - v), at most ACTOR_ACCEL_MPS2)
ACTOR_ACCEL_MPS2 = 2.5         # [m/s2] actor acceleration limit
ACTOR_DECEL_MPS2 = 4.0         # [m/s2] actor comfortable braking (stop lines, holding before a turn)
LAT_GAIN_PER_M = 0.35          # [rad/m] heading-to-route target per metre of lateral error
HEAD_GAIN_PER_S = 3.0          # [1/s] heading-error gain
COMPLETED_MARGIN_M = 2.0       # [m] the ego completes when this close to its route's end
NEAR_M = 10.0                  # [m] box gaps below this are exact; above, the separating-axis lower bound


M: dict[str, int] = {name: i for i, name in enumerate(get_args(ManoeuvreType))}
"""Manoeuvre type (adsgen.scenario.model.ManoeuvreType) -> its integer code in the compiled arrays."""
TRIGGER_KINDS = {"time": 0, "ego_distance": 1, "ego_ttc": 2, "ego_arrival": 3}
"""Trigger kind (adsgen.scenario.model.TriggerKind) -> its integer code in the compiled arrays."""
assert tuple(TRIGGER_KINDS) == get_args(TriggerKind), "TRIGGER_KINDS must list the model's trigger kinds"



@functools.lru_cache(maxsize=4096)
def _projection_table(spec: RoadSpec, ego_route: str, route: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each sample of ``route``: its projection on ``ego_route`` -> (route s (n,), lateral (n,),
    ego-route heading there (n,)). Nearest sample, refined along the tangent."""
    net = build_road(spec)
    e, r = net.route(ego_route), net.route(route)
    d2 = ((r.xy[:, None, :] - e.xy[None, :, :]) ** 2).sum(-1)  # (n, m)
    k = d2.argmin(axis=1)  # (n,)
    t = np.stack([np.cos(e.heading[k]), np.sin(e.heading[k])], axis=1)  # (n, 2)
    rel = r.xy - e.xy[k]
    along = (rel * t).sum(1)
    lat = t[:, 0] * rel[:, 1] - t[:, 1] * rel[:, 0]
    return e.s[k] + along, lat, e.heading[k]


def signal_plan_state(t_s: float, plan: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Signal state per element for fixed-time plans ``plan`` (..., 4): green, yellow, all-red, offset [s]
    (CompiledBatch.sig); ``group`` 0 = NS, 1 = EW (half a cycle later), broadcast against plan[..., 0]."""
    green, yellow, all_red, offset = plan[..., 0], plan[..., 1], plan[..., 2], plan[..., 3]
    cycle = 2.0 * (green + yellow + all_red)
    tau = np.mod(t_s + offset - group * cycle / 2.0, cycle)
    return np.where(tau < green, SIGNAL_GREEN, np.where(tau < green + yellow, SIGNAL_YELLOW, SIGNAL_RED))


@dataclass
class CompiledBatch:
    """The compiled, padded arrays of a batch (static parts)."""

    scenarios: Sequence[Scenario]
    n_steps: np.ndarray      # (B,) steps to the horizon
    X: np.ndarray            # packed route points: x (P,), y, heading, curvature, cos/sin of heading
    Y: np.ndarray
    H: np.ndarray
    K: np.ndarray
    CH: np.ndarray
    SH: np.ndarray
    off: np.ndarray          # (B, A) route start index into the packed arrays
    npts: np.ndarray         # (B, A) points on the route
    rlen: np.ndarray         # (B, A) [m] route length
    d_left: np.ndarray       # (B,) [m] ego drivable bounds
    d_right: np.ndarray
    length: np.ndarray       # (B, A) [m]
    width: np.ndarray
    height: np.ndarray
    active0: np.ndarray      # (B, A) bool real slot
    is_ped: np.ndarray       # (B, A) bool
    kinds: list[list[ObjectKind]]
    ids: list[list[str]]
    v_des: np.ndarray        # (B, A) [m/s]
    s0: np.ndarray           # (B, A) [m]
    mtype: np.ndarray        # (B, A) int manoeuvre code
    tkind: np.ndarray        # (B, A) int trigger kind (-1: from the start)
    tval: np.ndarray         # (B, A)
    decel: np.ndarray        # (B, A) [m/s2]
    dur: np.ndarray          # (B, A) [s]
    lat_amp: np.ndarray      # (B, A) [m] lateral move of cut_in / cut_in_brake / head_on_drift (left +)
    stop_s: np.ndarray       # (B, A) [m] stop line along the slot's route where it is controlled (inf: none)
    line_s: np.ndarray       # (B, A) [m] the route's stop line position, controlled or not (inf: none)
    group: np.ndarray        # (B, A) signal group 0 NS / 1 EW
    has_signal: np.ndarray   # (B,) bool
    has_stop_sign: np.ndarray  # (B,) bool
    sig: np.ndarray          # (B, 4) green, yellow, all_red, offset [s]
    mu: np.ndarray           # (B,) [-]
    poff: np.ndarray         # (B, A) offset into packed projection tables
    PS: np.ndarray           # packed projection: ego-route s, lateral, ego-route heading (and its cos, sin)
    PL: np.ndarray
    PH: np.ndarray
    PC: np.ndarray
    PSN: np.ndarray
    occ_rows: np.ndarray     # rows with two or more actors (where one can hide another)
    occ_cols: np.ndarray     # slots (1..) holding a vehicle in some of those rows
    any_control: bool        # some row has a signal or stop sign
    any_conflict: bool       # some actor's route crosses its ego's route
    pet_rows: np.ndarray     # rows with a conflict point
    any_lateral: bool        # some actor cuts in or drifts
    sc_e: np.ndarray         # (B, A) [m] conflict point along the ego route (nan: none)
    sc_a: np.ndarray         # (B, A) [m] conflict point along the actor's route
    weave_amp: np.ndarray    # (B, A) [m] an impaired driver's lane-keeping weave amplitude (0: holds its lane centre)
    weave_w: np.ndarray      # (B, A) [rad/s] that weave's angular frequency
    # derived in __post_init__ (the dynamics' per-batch constants)
    wheelbase: np.ndarray = field(init=False)      # (B, A) [m] wheelbase
    inv_wheelbase: np.ndarray = field(init=False)  # (B, A) [1/m]
    mu_g: np.ndarray = field(init=False)           # (B, 1) [m/s2] friction-limited acceleration
    mu_g2: np.ndarray = field(init=False)          # (B, 1) [m2/s4]
    mu_gl: np.ndarray = field(init=False)          # (B, A) [m2/s2] grip limit of v^2 tan(delta)
    veh: np.ndarray = field(init=False)            # (B, A) bool: a vehicle slot (not a pedestrian)
    stop_ctrl: np.ndarray = field(init=False)      # (B,) bool: signal or stop sign
    any_distance_trigger: bool = field(init=False)
    any_ttc_trigger: bool = field(init=False)
    any_arrival_trigger: bool = field(init=False)
    any_second_phase: bool = field(init=False)     # some actor brakes after a cut-in (cut_in_brake)
    any_weave: bool = field(init=False)            # some actor weaves in its lane (impaired lane keeping)

    def __post_init__(self) -> None:
        self.wheelbase = np.maximum(WHEELBASE_FRACTION * self.length, 0.1)  # (B, A) [m]
        self.inv_wheelbase = 1.0 / self.wheelbase  # (B, A) [1/m]
        self.mu_g = (self.mu * G_MPS2)[:, None]  # (B, 1)
        self.mu_g2 = self.mu_g * self.mu_g
        self.mu_gl = self.mu_g * self.wheelbase  # (B, A)
        self.veh = ~self.is_ped
        self.stop_ctrl = self.has_signal | self.has_stop_sign
        self.any_distance_trigger = bool((self.tkind == 1).any())
        self.any_ttc_trigger = bool((self.tkind == 2).any())
        self.any_arrival_trigger = bool((self.tkind == 3).any())
        self.any_second_phase = bool((self.mtype == M["cut_in_brake"]).any())
        self.any_weave = bool((self.weave_amp > 0).any())


# long: packs every scenario's routes, actors, triggers and signals into the padded arrays of one CompiledBatch;
# one assignment per array field (issue 19: split after the simulation work of the day lands)
def compile_batch(scenarios: Sequence[Scenario]) -> CompiledBatch:  # noqa: PLR0915 -- see the note above
    """Pad and pack a list of scenarios into arrays."""
    b = len(scenarios)
    a = 1 + max((len(s.actors) for s in scenarios), default=0)
    route_off: dict[tuple, int] = {}
    pts: list[np.ndarray] = []
    proj_off: dict[tuple, int] = {}
    proj: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    n_pts = 0
    n_proj = 0
    f = np.zeros
    off, npts, poff = f((b, a), int), np.full((b, a), 2, int), f((b, a), int)
    rlen, length, width, height = f((b, a)), f((b, a)), f((b, a)), f((b, a))
    active0, is_ped = f((b, a), bool), f((b, a), bool)
    v_des, s0, tval, decel, dur, lat_amp = f((b, a)), f((b, a)), f((b, a)), f((b, a)), f((b, a)), f((b, a))
    mtype, tkind, group = f((b, a), int), np.full((b, a), -1, int), f((b, a), int)
    stop_s, line_s = np.full((b, a), np.inf), np.full((b, a), np.inf)
    sc_e, sc_a = np.full((b, a), np.nan), np.full((b, a), np.nan)
    weave_amp, weave_w = f((b, a)), f((b, a))
    d_left, d_right, mu = f(b), f(b), f(b)
    has_signal, has_stop = f(b, bool), f(b, bool)
    sig = f((b, 4))
    n_steps = f(b, int)
    kinds: list[list[ObjectKind]] = []
    ids: list[list[str]] = []
    # a dummy route for padded slots (two points far away)
    dummy = np.array([[1e6, 1e6, 0.0, 0.0], [1e6, 1e6 + ROUTE_DS_M, 0.0, 0.0]])
    pts.append(dummy)
    n_pts = 2
    dummy_proj = (np.full(2, -1e6), np.full(2, 1e6), np.zeros(2))
    proj.append(dummy_proj)
    n_proj = 2
    nets: dict[tuple, tuple] = {}  # cheap road key -> (RoadSpec, RoadNetwork), avoids hashing models
    for i, sc in enumerate(scenarios):
        r_ = sc.road
        rkey = (r_.template, r_.lanes, r_.lane_width_m, r_.curve_radius_m)
        if rkey not in nets:
            nets[rkey] = (r_, build_road(r_))
        spec, net = nets[rkey]
        controlled = has_stop_control(sc.factors)
        has_signal[i] = sc.factors.traffic_control == "signal"
        has_stop[i] = sc.factors.traffic_control == "stop_sign"
        sig_ = sc.road.signal
        sig[i] = (sig_.green_s, sig_.yellow_s, sig_.all_red_s, sig_.offset_s)
        mu[i] = friction_mu(sc.factors)
        n_steps[i] = int(round(sc.horizon_s / DT_S))
        slots: list[tuple[str, ObjectKind, str, float, float, Manoeuvre | None]] = [
            ("ego", "ego", sc.ego.route, sc.ego.start_s_m, sc.ego.speed_mps, None)]
        slots += [(ac.id, ac.kind, ac.route, ac.start_s_m, ac.speed_mps, ac.manoeuvre) for ac in sc.actors]
        kinds.append([k for _, k, *_ in slots])
        ids.append([n for n, *_ in slots])
        ego_route = net.route(sc.ego.route)
        d_left[i], d_right[i] = ego_route.d_left_m, ego_route.d_right_m
        for j, (_, kind, rname, start, speed, man) in enumerate(slots):
            key = (spec, rname)
            if key not in route_off:
                r = net.route(rname)
                route_off[key] = n_pts
                pts.append(np.column_stack([r.xy, r.heading, r.curvature]))
                n_pts += len(r.s)
            r = net.route(rname)
            off[i, j], npts[i, j], rlen[i, j] = route_off[key], len(r.s), r.length_m
            pkey = (spec, sc.ego.route, rname)
            if pkey not in proj_off:
                proj_off[pkey] = n_proj
                proj.append(_projection_table(spec, sc.ego.route, rname))
                n_proj += len(r.s)
            poff[i, j] = proj_off[pkey]
            length[i, j], width[i, j], height[i, j] = SIZES[kind]
            active0[i, j] = True
            is_ped[i, j] = kind == "pedestrian"
            v_des[i, j], s0[i, j] = speed, start
            if r.stop_s_m is not None:
                line_s[i, j] = r.stop_s_m
                if controlled:
                    stop_s[i, j] = r.stop_s_m
            group[i, j] = 1 if r.signal_group == "EW" else 0
            if man is not None:
                mtype[i, j] = M[man.type]
                if man.trigger is not None:
                    tkind[i, j], tval[i, j] = TRIGGER_KINDS[man.trigger.kind], man.trigger.value
                decel[i, j], dur[i, j] = man.decel_mps2, man.duration_s
                weave_amp[i, j], weave_w[i, j] = man.weave_amp_m, 2.0 * math.pi / man.weave_period_s  # vehicles only
                if man.type in ("cut_in", "cut_in_brake"):
                    lat_amp[i, j] = -man.target_lane_offset * spec.lane_width_m
                elif man.type == "head_on_drift":
                    lat_amp[i, j] = man.drift_m
                if j > 0:
                    c = conflict_point(spec, sc.ego.route, rname)
                    if c is not None:
                        sc_e[i, j], sc_a[i, j] = c.ego_s_m, c.other_s_m
                    elif tkind[i, j] == TRIGGER_KINDS["ego_arrival"]:
                        arrival_conflict(spec, sc.ego.route, rname,
                                         f"scenario {sc.name}: actors[{j - 1}].manoeuvre.trigger")
    packed = np.concatenate(pts)  # (P, 4)
    pp = [np.concatenate([p[k] for p in proj]) for k in range(3)]
    return CompiledBatch(scenarios, n_steps, packed[:, 0].copy(), packed[:, 1].copy(), packed[:, 2].copy(),
                  packed[:, 3].copy(), np.cos(packed[:, 2]), np.sin(packed[:, 2]), off, npts, rlen, d_left, d_right, length, width, height, active0, is_ped,
                  kinds, ids, v_des, s0, mtype, tkind, tval, decel, dur, lat_amp, stop_s, line_s, group, has_signal,
                  has_stop, sig, mu, poff, pp[0], pp[1], pp[2], np.cos(pp[2]), np.sin(pp[2]),
                  np.flatnonzero(active0.sum(axis=1) >= 3),
                  1 + np.flatnonzero((active0 & ~is_ped)[active0.sum(axis=1) >= 3][:, 1:].any(axis=0)),
                  bool((has_signal | has_stop).any()),
                  bool(np.isfinite(sc_e).any()), np.flatnonzero(np.isfinite(sc_e).any(axis=1)),
                  bool((lat_amp != 0).any()), sc_e, sc_a, weave_amp, weave_w)


class EngineState:
    """Dynamic arrays (B, A) of the simulated road users (the referee keeps the per-run records)."""

    def __init__(self, bt: CompiledBatch):
        b, a = bt.off.shape
        self.s = bt.s0.copy()
        self.d = np.zeros((b, a))
        self.psi = np.zeros((b, a))
        self.v = np.where(bt.mtype == M["stopped"], 0.0, bt.v_des)
        self.v = np.where(bt.is_ped & (bt.mtype == M["cross_road"]) & (bt.tkind >= 0), 0.0, self.v)
        self.acc = np.zeros((b, a))
        self.present = bt.active0.copy()            # slot still on the map
        self.triggered = bt.active0 & (bt.tkind < 0)
        self.t_trig = np.where(self.triggered, 0.0, np.inf)
        self.d_ref = np.zeros((b, a))
        self.served = np.zeros((b, a), bool)      # actors' stop sign served
        self.dwell = np.zeros((b, a))


# ---------------------------------------------------------------------------------------------- one step
def poses(bt: CompiledBatch, st: EngineState):
    """World poses from route coordinates -> x, y, yaw, cos(yaw), sin(yaw), curvature, cos/sin(psi),
    cos/sin of the route heading; all (B, A)."""
    f = np.minimum(st.s, bt.rlen) / ROUTE_DS_M
    i = np.minimum(f.astype(int), bt.npts - 2)
    w = f - i
    idx = bt.off + i
    j = idx + 1
    x0, y0, h0, c0, s0 = bt.X[idx], bt.Y[idx], bt.H[idx], bt.CH[idx], bt.SH[idx]
    ch = c0 + (bt.CH[j] - c0) * w  # lerped cos/sin of the route heading (0.5 m samples)
    sh = s0 + (bt.SH[j] - s0) * w
    x = x0 + (bt.X[j] - x0) * w - sh * st.d
    y = y0 + (bt.Y[j] - y0) * w + ch * st.d
    hd = h0 + (bt.H[j] - h0) * w
    cp, sp = np.cos(st.psi), np.sin(st.psi)
    c = ch * cp - sh * sp
    s = sh * cp + ch * sp
    return x, y, hd + st.psi, c, s, bt.K[idx], cp, sp, ch, sh


def contact_metrics(bt: CompiledBatch, live: np.ndarray, x, y, cy, sy, vx, vy):
    """Ego vs each actor from world poses (B, A) and the actors' presence ``live`` (B, A-1) ->
    (gap [m], overlap, constant-velocity TTC [s]), each (B, A-1). Box gaps are exact below NEAR_M, the
    separating-axis lower bound above; pedestrians are discs."""
    b, a = bt.off.shape
    if a < 2:
        return np.full((b, 0), np.inf), np.zeros((b, 0), bool), np.full((b, 0), np.inf)
    ego_len, ego_wid = bt.length[:, 0], bt.width[:, 0]
    act_len, act_wid = bt.length[:, 1:], bt.width[:, 1:]
    ex, ey, ec, es = x[:, :1], y[:, :1], cy[:, :1], sy[:, :1]
    ax, ay, ac, as_ = x[:, 1:], y[:, 1:], cy[:, 1:], sy[:, 1:]
    boxd = metrics.separating_gap_cs(ex, ey, ec, es, ego_len[:, None], ego_wid[:, None], ax, ay, ac, as_, act_len,
                                     act_wid)
    near = np.flatnonzero((boxd < NEAR_M) & (boxd > 0.0))
    boxd = np.maximum(boxd, 0.0)
    if len(near):
        r_, c_ = np.divmod(near, a - 1)
        boxd[r_, c_] = metrics.box_distance_cs(
            ex[r_, 0], ey[r_, 0], ec[r_, 0], es[r_, 0], ego_len[r_], ego_wid[r_], ax[r_, c_], ay[r_, c_],
            ac[r_, c_], as_[r_, c_], act_len[r_, c_], act_wid[r_, c_])
    if bt.is_ped.any():  # pedestrians are discs
        ped = bt.is_ped[:, 1:]
        disc = metrics.disc_box_distance_cs(ax, ay, act_wid / 2, ex, ey, ec, es, ego_len[:, None], ego_wid[:, None])
        dist = np.where(ped, np.maximum(disc, 0.0), boxd)
        hit = live & np.where(ped, disc <= 0.0, boxd <= 0.0)
    else:
        dist = boxd
        hit = live & (boxd <= 0.0)
    dist = np.where(live, dist, np.inf)
    ttc = metrics.ttc_constant_velocity_cs(ex[:, 0], ey[:, 0], ec[:, 0], es[:, 0], vx[:, 0], vy[:, 0], ego_len,
                                           ego_wid, ax, ay, ac, as_, vx[:, 1:], vy[:, 1:], act_len, act_wid)
    return dist, hit, np.where(live, ttc, np.inf)


def fire_triggers(bt: CompiledBatch, st: EngineState, t: float, centre_dist_m: np.ndarray, ttc_s: np.ndarray) -> None:
    """Fire the actors' triggers (time, ego centre distance (B, A-1) [m], ego TTC (B, A-1) [s], and the ego's
    time-to-arrival at each actor's conflict point from the ego slot's route position and speed in ``st``)."""
    if bt.off.shape[1] < 2 or st.triggered[:, 1:].all():
        return
    tk, tv = bt.tkind[:, 1:], bt.tval[:, 1:]
    cond = (tk == 0) & (t >= tv)
    if bt.any_distance_trigger:
        cond |= (tk == 1) & (centre_dist_m <= tv)
    if bt.any_ttc_trigger:
        cond |= (tk == 2) & (ttc_s <= tv)
    if bt.any_arrival_trigger:
        cond |= (tk == 3) & arrival_within(bt, st, tv)
    new = cond & ~st.triggered[:, 1:] & st.present[:, 1:]
    st.triggered[:, 1:] |= new
    st.t_trig[:, 1:] = np.where(new, t, st.t_trig[:, 1:])


def arrival_within(bt: CompiledBatch, st: EngineState, horizon_s: np.ndarray) -> np.ndarray:
    """(B, A-1) bool: the ego reaches each actor's conflict point (its front bumper at the point on its route,
    at its current speed) within ``horizon_s`` (B, A-1) [s], and has not passed it (its rear is not beyond).
    False where an actor has no conflict point; never true for a standing ego short of the point."""
    half = bt.length[:, :1] / 2  # (B, 1)
    gap = bt.sc_e[:, 1:] - (st.s[:, :1] + half)  # (B, A-1) [m] front bumper to the conflict point
    with np.errstate(invalid="ignore"):
        return (gap <= st.v[:, :1] * horizon_s) & (gap >= -2.0 * half)


def signal_states(bt: CompiledBatch, t: float) -> np.ndarray:
    """Signal state of every slot's approach (B, A) (SIGNAL_NONE without a signal)."""
    if not bt.any_control:
        return np.full(bt.off.shape, SIGNAL_NONE)
    return np.where(bt.has_signal[:, None], signal_plan_state(t, bt.sig[:, None, :], bt.group), SIGNAL_NONE)


def stop_gaps(bt: CompiledBatch, st: EngineState) -> np.ndarray:
    """Front-to-stop-line gap of every slot (B, A) [m] (inf: no controlled stop line ahead)."""
    if not bt.any_control:
        return np.full(bt.off.shape, np.inf)
    front = st.s + bt.length / 2
    return np.where(bt.stop_ctrl[:, None] & (front <= bt.stop_s + 0.5), bt.stop_s - front, np.inf)


def actor_controls(bt: CompiledBatch, st: EngineState, t: float, acc: np.ndarray, stop_gap, sig_state) -> None:
    """Accelerations and lateral targets of the actors (slots 1..), written into acc / st.d_ref."""
    mt, trig = bt.mtype[:, 1:], st.triggered[:, 1:]
    v, vd = st.v[:, 1:], bt.v_des[:, 1:]
    a_keep = np.minimum(np.maximum(ACTOR_GAIN_PER_S * (vd - v), -ACTOR_DECEL_MPS2), ACTOR_ACCEL_MPS2)
    if not bt.any_control and not (mt == M["turn_left_across"]).any():
        a = a_keep
    else:
        a = _stop_line_control(bt, st, v, a_keep, mt, trig, stop_gap, sig_state)
    # braking phases: brake_hard once triggered, cut_in_brake once its lateral move is complete, a run_red_light
    # driver with a trigger once it notices the conflict
    brakes = ((mt == M["brake_hard"]) | ((mt == M["run_red_light"]) & (bt.tkind[:, 1:] >= 0))) & trig
    if bt.any_second_phase:
        brakes |= (mt == M["cut_in_brake"]) & trig & (t - st.t_trig[:, 1:] >= bt.dur[:, 1:])
    a = np.where(brakes, -bt.decel[:, 1:], a)
    a = np.where(mt == M["stopped"], 0.0, a)
    ped = bt.is_ped[:, 1:]
    # pedestrians: stand until triggered, then walk at their speed
    walk = np.where((mt == M["cross_road"]) & ~trig, 0.0, vd)
    a = np.where(ped, (walk - v) / DT_S, a)
    acc[:, 1:] = a
    if not (bt.any_lateral or bt.any_weave):
        return
    # an impaired driver's lane keeping: a sinusoidal weave about its lane centre, outside a lateral manoeuvre
    amp, w = bt.weave_amp[:, 1:], bt.weave_w[:, 1:]
    weave = amp * np.sin(w * t) if bt.any_weave else 0.0
    # lateral manoeuvres: cosine profile over duration_s after the trigger, from where the weave had it
    lat = (mt == M["cut_in"]) | (mt == M["head_on_drift"]) | (mt == M["cut_in_brake"])
    frac = np.clip((t - st.t_trig[:, 1:]) / bt.dur[:, 1:], 0.0, 1.0)
    prof = (1.0 - np.cos(np.pi * frac)) / 2.0
    with np.errstate(invalid="ignore"):  # inf * 0 where untriggered (masked below)
        start = amp * np.sin(w * st.t_trig[:, 1:]) if bt.any_weave else 0.0
    st.d_ref[:, 1:] = np.where(lat & trig, start * (1.0 - prof) + bt.lat_amp[:, 1:] * prof, weave)


def _stop_line_control(bt: CompiledBatch, st: EngineState, v, a_keep, mt, trig, stop_gap, sig_state) -> np.ndarray:
    """Actors' braking for stop lines (red, stoppable yellow, unserved stop sign; run_red_light
    ignores them) and left-turners holding at their line until triggered."""
    gap = stop_gap[:, 1:]
    sig = sig_state[:, 1:]
    at_line = (v < 0.3) & (gap < 3.0)
    st.dwell[:, 1:] = np.where(bt.has_stop_sign[:, None] & at_line, st.dwell[:, 1:] + DT_S, 0.0)
    st.served[:, 1:] |= st.dwell[:, 1:] >= 1.0
    must_stop = np.where(bt.has_signal[:, None], (sig == SIGNAL_RED) |
                         ((sig == SIGNAL_YELLOW) & (v * v / (2 * np.maximum(gap, 0.1)) < ACTOR_DECEL_MPS2)),
                         bt.has_stop_sign[:, None] & ~st.served[:, 1:])
    must_stop &= (mt != M["run_red_light"]) & np.isfinite(gap)
    # a left-turner holds at its stop line until triggered
    hold = (mt == M["turn_left_across"]) & ~trig
    hold_gap = np.where(hold, bt.line_s[:, 1:] - (st.s[:, 1:] + bt.length[:, 1:] / 2), np.inf)
    hold_gap = np.where(np.isfinite(bt.line_s[:, 1:]) | ~hold, hold_gap,
                        bt.s0[:, 1:] - st.s[:, 1:] + 0.5)  # no stop line: hold where it started
    g = np.minimum(np.where(must_stop, gap, np.inf), hold_gap)
    with np.errstate(divide="ignore", invalid="ignore"):
        a_stop = -v * v / (2.0 * np.maximum(g - 0.5, 0.05))
    brake_zone = np.isfinite(g) & (v * v / (2.0 * ACTOR_DECEL_MPS2) + 2.0 >= g)
    a = np.where(brake_zone, np.minimum(a_keep, np.maximum(a_stop, -8.0)), a_keep)
    return np.where(brake_zone & (g < 0.6), -8.0, a)


def advance(bt: CompiledBatch, st: EngineState, acc: np.ndarray, kappa: np.ndarray, cpsi: np.ndarray,
            spsi: np.ndarray, moving: np.ndarray) -> None:
    """One DT_S step of the slots in ``moving`` (B, A) bool, from the requested accelerations ``acc`` (B, A)
    [m/s2] and the route curvature and cos/sin(psi) at their poses (from ``poses``): steering towards
    ``st.d_ref`` within the steering lock and the tyres' grip (v^2 tan(delta) / L <= mu g; a vehicle too
    fast for its curve cannot hold it and runs wide), friction-circle limited acceleration, exact
    constant-acceleration step stopping at v = 0, route-frame bicycle update. Other slots keep their state.
    Actors past their route's end leave the map."""
    v = st.v
    v2 = v * v
    psi_des = np.minimum(np.maximum(LAT_GAIN_PER_M * (st.d_ref - st.d), -MAX_PSI_RAD), MAX_PSI_RAD)
    yaw_rate = v * kappa + HEAD_GAIN_PER_S * (psi_des - st.psi)
    tan_lim = np.minimum(TAN_MAX_STEER, bt.mu_gl / np.maximum(v2, 1e-6))
    tan_d = np.minimum(np.maximum(bt.wheelbase * yaw_rate / np.maximum(v, 1.0), -tan_lim), tan_lim)  # tan(steer)
    curv = tan_d * bt.inv_wheelbase  # [1/m] path curvature the steering gives
    a_lat = np.minimum(v2 * np.abs(curv), bt.mu_g)
    a_lon_max = np.sqrt(np.maximum(bt.mu_g2 - a_lat * a_lat, 0.0))
    acc = np.where(bt.veh, np.minimum(np.maximum(acc, -a_lon_max), np.minimum(a_lon_max, MAX_ACCEL_MPS2)), acc)
    # exact constant-acceleration step, stopping at v = 0
    v_new = v + acc * DT_S
    travel = (v + v_new) * (DT_S / 2)
    stops = v_new < 0.0  # it comes to rest within the step (only possible when braking)
    if stops.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            travel = np.where(stops, v2 / (-2.0 * acc), travel)
        v_new = np.maximum(v_new, 0.0)
    # slots that do not move (ended runs, absent actors, an ego driven elsewhere): zero their travel
    travel = np.where(moving, travel, 0.0)
    ds = travel * cpsi / np.maximum(1.0 - kappa * st.d, 0.1)
    st.s = st.s + ds
    st.d = st.d + travel * spsi  # pedestrians keep d = psi = 0: straight paths, no steering
    st.psi = st.psi + (travel * curv - kappa * ds)
    st.v = np.where(moving, v_new, st.v)
    st.acc = np.where(moving, acc, st.acc)
    gone = st.present & (st.s >= bt.rlen - 0.05)
    gone[:, 0] = False
    st.present &= ~gone


# ------------------------------------------------------------------------------------------- sensing
def path_projection(bt: CompiledBatch, st: EngineState, yaw: np.ndarray, ch: np.ndarray, sh: np.ndarray):
    """Actors projected on their ego's route through the precomputed tables, from their yaw and their
    route's heading cos/sin at their pose (B, A) -> (ego-route s [m], lateral [m], yaw relative to the
    ego route [rad]), each (B, A-1)."""
    pi = bt.poff[:, 1:] + np.minimum((st.s[:, 1:] / ROUTE_DS_M).astype(int), bt.npts[:, 1:] - 1)
    rel_yaw = yaw[:, 1:] - bt.PH[pi]
    pc, psn, cha, sha = bt.PC[pi], bt.PSN[pi], ch[:, 1:], sh[:, 1:]
    # the actor's lateral offset d, turned from its route's frame into the ego route's frame
    lat = bt.PL[pi] + st.d[:, 1:] * (cha * pc + sha * psn)
    ps = bt.PS[pi] - st.d[:, 1:] * (sha * pc - cha * psn)
    return ps, lat, rel_yaw


def occlusion(bt: CompiledBatch, st: EngineState, x, y, cy, sy) -> np.ndarray:
    """(B, A-1) bool from world poses (B, A): the line of sight from the ego to the actor crosses another
    present vehicle's box."""
    b, a = bt.off.shape
    occluded = np.zeros((b, a - 1), bool)
    if len(bt.occ_rows):
        r = bt.occ_rows
        occluded[r] = _occlusion_rows(bt, st, r, x[r], y[r], cy[r], sy[r])
    return occluded


def _occlusion_rows(bt: CompiledBatch, st: EngineState, r: np.ndarray, x, y, cy, sy) -> np.ndarray:
    """(R, A-1) bool for rows r: the segment from the ego to the actor crosses another vehicle's box."""
    oc = bt.occ_cols  # actor slots (1..) that hold a vehicle in some row: the possible occluders
    ex, ey = x[:, :1, None], y[:, :1, None]  # (R, 1, 1)
    tx, ty = x[:, 1:, None], y[:, 1:, None]  # targets (R, A-1, 1)
    ox, oy = x[:, None, oc], y[:, None, oc]  # occluders (R, 1, O)
    c, s = cy[:, None, oc], sy[:, None, oc]
    hl, hw = bt.length[r][:, None, oc] / 2, bt.width[r][:, None, oc] / 2
    p0x, p0y = c * (ex - ox) + s * (ey - oy), -s * (ex - ox) + c * (ey - oy)
    p1x, p1y = c * (tx - ox) + s * (ty - oy), -s * (tx - ox) + c * (ty - oy)
    ux, uy = p1x - p0x, p1y - p0y
    lo_x, hi_x = metrics._slab(p0x, ux, hl)
    lo_y, hi_y = metrics._slab(p0y, uy, hw)
    lo, hi = np.maximum(lo_x, lo_y), np.minimum(hi_x, hi_y)
    blocks = (lo <= hi) & (hi >= 0.0) & (lo <= 0.999)  # (R, target, occluder)
    self_pair = (np.arange(1, bt.off.shape[1])[:, None] == oc[None, :])  # (A-1, O) an actor cannot hide itself
    blocks &= ~self_pair[None] & ~bt.is_ped[r][:, None, oc] & st.present[r][:, None, oc]
    return blocks.any(axis=2)


__all__ = [
    "ACTOR_ACCEL_MPS2", "ACTOR_DECEL_MPS2", "ACTOR_GAIN_PER_S", "COMPLETED_MARGIN_M", "CURVATURE_AHEAD_M",
    "HEAD_GAIN_PER_S", "LAT_GAIN_PER_M", "M", "MAX_ACCEL_MPS2", "MAX_PSI_RAD", "MAX_STEER_RAD",
    "NEAR_M", "SIZES", "TAN_MAX_STEER", "TRIGGER_KINDS", "WHEELBASE_FRACTION", "CompiledBatch", "EngineState",
    "actor_controls", "arrival_within", "advance", "compile_batch", "contact_metrics", "fire_triggers", "occlusion",
    "path_projection", "poses", "signal_plan_state", "signal_states", "stop_gaps",
]
