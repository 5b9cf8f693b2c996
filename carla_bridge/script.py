"""The scenario's script in CARLA: adversaries driven by the builtin engine's own manoeuvre logic.

Choice (docs/carla.md): the adversaries (cars, trucks, pedestrians) are not given to CARLA's autopilot.
Each tick, the builtin engine's manoeuvre and trigger logic (``BuiltinBackend._actor_controls``: keep,
brake hard, stopped, cut in, turn left across, run the red light, drift head-on, cross the road; stop
lines, signals and stop signs) runs on this scenario alone, with the ego's state *measured in CARLA*
(projected onto its route), and the adversaries' route coordinates (s, d, psi, v) are advanced with the
engine's friction-limited kinematic bicycle. The bridge then places vehicles there (kinematic:
``set_transform`` + ``set_target_velocity``, physics off) and steers walkers there with walker controls.
So a manoeuvre means the same thing in both backends, and triggers react to the ego CARLA actually drove.

This module couples to the engine on purpose, so the manoeuvres have one implementation, not two: it uses
``compile_batch`` (the per-scenario arrays), ``_State``, ``_actor_controls`` (the manoeuvre, trigger and
stop-line logic), ``_signal_state`` and ``_pet_update``; it mirrors the engine's route-frame bicycle
update and pose formula for the actor slots. ``tests/test_carla_script.py`` replays engine runs through
it and checks trajectories and metrics agree, so an engine change this module misses fails a test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from adsgen.scenario.geometry import ROUTE_DS_M
from adsgen.scenario.mapping import G_MPS2
from adsgen.scenario.model import Scenario
from adsgen.scenario.roads import build_road
from adsgen.sim import engine
from adsgen.sim.types import DT_S


@dataclass(frozen=True)
class RoutePose:
    """A pose in route (Frenet) coordinates."""

    s_m: float
    """Arc length along the route [m]."""
    d_m: float
    """Lateral offset, left positive [m]."""
    psi_rad: float
    """Heading relative to the route's tangent [rad]."""


def project_on_route(route, x_m: float, y_m: float, yaw_rad: float, s_hint_m: float | None = None,
                     window_m: float = 30.0) -> RoutePose:
    """Engine-frame pose -> route coordinates (nearest route sample, refined along the tangent).

    With s_hint_m only samples within window_m of the hint are searched (a route may pass near itself).
    """
    xy = route.xy  # (n, 2)
    if s_hint_m is None:
        lo, hi = 0, len(xy)
    else:
        lo = max(0, int((s_hint_m - window_m) / ROUTE_DS_M))
        hi = min(len(xy), int((s_hint_m + window_m) / ROUTE_DS_M) + 2)
    seg = xy[lo:hi]
    k = lo + int(np.argmin((seg[:, 0] - x_m) ** 2 + (seg[:, 1] - y_m) ** 2))
    h = float(route.heading[k])
    tx, ty = math.cos(h), math.sin(h)
    rx, ry = x_m - float(xy[k, 0]), y_m - float(xy[k, 1])
    along = rx * tx + ry * ty
    lateral = tx * ry - ty * rx
    return RoutePose(float(route.s[k]) + along, lateral, math.remainder(yaw_rad - h, 2 * math.pi))


def _segment_hits_box(p0: tuple[float, float], p1: tuple[float, float], hl: float, hw: float) -> bool:
    """Whether the segment p0 -> p1 (box frame) meets the box [-hl, hl] x [-hw, hw] before reaching p1."""
    lo, hi = -math.inf, math.inf
    for a, b, h in ((p0[0], p1[0], hl), (p0[1], p1[1], hw)):
        u = b - a
        if abs(u) < 1e-9:
            if abs(a) > h:
                return False
            continue
        t1, t2 = (-h - a) / u, (h - a) / u
        lo, hi = max(lo, min(t1, t2)), min(hi, max(t1, t2))
    return lo <= hi and hi >= 0.0 and lo <= 0.999


class ScenarioScript:
    """One scenario's engine state (slot 0 the ego, slots 1.. the actors), stepped with a measured ego."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.net = build_road(scenario.road)
        self.ego_route = self.net.route(scenario.ego.route)
        self.bt = engine.compile_batch([scenario])
        self.st = engine._State(self.bt, False, False)
        self._engine = engine.BuiltinBackend()
        self.wheelbase = np.maximum(engine.WHEELBASE_FRACTION * self.bt.length, 0.1)  # (1, A) [m]
        self.mu_g = float(self.bt.mu[0]) * G_MPS2  # [m/s2]
        self.ids: list[str] = list(self.bt.ids[0])
        self.kinds: list[str] = list(self.bt.kinds[0])

    # ------------------------------------------------------------------------------------ state io
    def set_ego(self, pose: RoutePose, speed_mps: float, accel_mps2: float) -> None:
        """Overwrite the ego slot with the state measured in CARLA."""
        st = self.st
        st.s[0, 0], st.d[0, 0], st.psi[0, 0] = pose.s_m, pose.d_m, pose.psi_rad
        st.v[0, 0], st.acc[0, 0] = speed_mps, accel_mps2

    def poses(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Engine-frame (x, y, yaw, route curvature) of every slot from its route coordinates, each (1, A)."""
        bt, st = self.bt, self.st
        f = np.minimum(st.s, bt.rlen) / ROUTE_DS_M
        i = np.minimum(f.astype(int), bt.npts - 2)
        w = f - i
        idx = bt.off + i
        h0 = bt.H[idx]
        hd = h0 + (bt.H[idx + 1] - h0) * w  # route heading, interpolated (headings are unwrapped per route)
        x = bt.X[idx] + (bt.X[idx + 1] - bt.X[idx]) * w - np.sin(hd) * st.d
        y = bt.Y[idx] + (bt.Y[idx + 1] - bt.Y[idx]) * w + np.cos(hd) * st.d
        return x, y, hd + st.psi, bt.K[idx]

    # ---------------------------------------------------------------------------- script pieces
    def signal_states(self, t_s: float) -> np.ndarray:
        """Signal state of every slot's approach (1, A) (SIGNAL_NONE without a signal)."""
        bt = self.bt
        from adsgen.sim.agents.observation import SIGNAL_NONE

        return np.where(bt.has_signal[:, None], engine._signal_state(t_s, *(bt.sig.T[:, :, None]), bt.group),
                        SIGNAL_NONE)

    def stop_gaps(self) -> np.ndarray:
        """Front-to-stop-line gap of every slot (1, A) [m] (inf: no controlled stop line ahead)."""
        bt, st = self.bt, self.st
        ctrl = bt.has_signal | bt.has_stop_sign
        front = st.s + bt.length / 2
        return np.where(ctrl[:, None] & (front <= bt.stop_s + 0.5), bt.stop_s - front, np.inf)

    def update_triggers(self, t_s: float, centre_dist_m: np.ndarray, ttc_s: np.ndarray) -> None:
        """Fire the actors' triggers (time, ego centre distance, ego TTC), as the engine does. Arrays (1, A-1)."""
        bt, st = self.bt, self.st
        if bt.off.shape[1] < 2:
            return
        tk, tv = bt.tkind[:, 1:], bt.tval[:, 1:]
        cond = np.select([tk == 0, tk == 1, tk == 2],
                         [np.full_like(centre_dist_m, t_s) >= tv, centre_dist_m <= tv, ttc_s <= tv], False)
        new = cond & ~st.triggered[:, 1:] & st.present[:, 1:]
        st.triggered[:, 1:] |= new
        st.t_trig[:, 1:] = np.where(new, t_s, st.t_trig[:, 1:])

    def update_pet(self, t_s: float) -> None:
        self._engine._pet_update(self.bt, self.st, t_s)

    def occlusion(self, x: np.ndarray, y: np.ndarray, yaw: np.ndarray) -> np.ndarray:
        """(1, A-1) bool: another present vehicle's box cuts the segment from the ego to the actor."""
        bt, st = self.bt, self.st
        a_n = bt.off.shape[1]
        out = np.zeros((1, a_n - 1), bool)
        for j in range(1, a_n):
            for o in range(1, a_n):
                if o == j or bt.is_ped[0, o] or not st.present[0, o]:
                    continue
                c, s_ = math.cos(yaw[0, o]), math.sin(yaw[0, o])
                p = [(c * (px - x[0, o]) + s_ * (py - y[0, o]), -s_ * (px - x[0, o]) + c * (py - y[0, o]))
                     for px, py in ((x[0, 0], y[0, 0]), (x[0, j], y[0, j]))]
                if _segment_hits_box(p[0], p[1], bt.length[0, o] / 2, bt.width[0, o] / 2):
                    out[0, j - 1] = True
                    break
        return out

    def path_projection(self, yaw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Actors projected on the ego route: (route s, lateral, relative yaw), each (1, A-1) (engine tables)."""
        bt, st = self.bt, self.st
        pi = bt.poff[:, 1:] + np.minimum((st.s[:, 1:] / ROUTE_DS_M).astype(int), bt.npts[:, 1:] - 1)
        rel_yaw = yaw[:, 1:] - bt.PH[pi]
        lat = bt.PL[pi] + st.d[:, 1:] * np.cos(rel_yaw - st.psi[:, 1:])
        ps = bt.PS[pi] - st.d[:, 1:] * np.sin(rel_yaw - st.psi[:, 1:])
        return ps, lat, rel_yaw

    def advance_actors(self, t_s: float, stop_gap: np.ndarray, sig_state: np.ndarray,
                       running: bool = True) -> None:
        """One DT_S step of every actor slot (1..): the engine's controls, then its bicycle update."""
        bt, st = self.bt, self.st
        a_n = bt.off.shape[1]
        if a_n < 2:
            return
        acc = np.zeros((1, a_n))
        engine.BuiltinBackend._actor_controls(bt, st, t_s, acc, stop_gap, sig_state)
        _, _, _, kappa = self.poses()
        veh = ~bt.is_ped
        v = st.v
        vsafe = np.maximum(v, 1.0)
        psi_des = np.clip(engine.LAT_GAIN_PER_M * (st.d_ref - st.d), -engine.MAX_PSI_RAD, engine.MAX_PSI_RAD)
        yaw_rate = v * kappa + engine.HEAD_GAIN_PER_S * (psi_des - st.psi)
        tan_d = np.clip(self.wheelbase * yaw_rate / vsafe, -engine.TAN_MAX_STEER, engine.TAN_MAX_STEER)
        a_lat = np.minimum(v * v * np.abs(tan_d) / self.wheelbase, self.mu_g)
        a_lon_max = np.sqrt(np.maximum(self.mu_g ** 2 - a_lat * a_lat, 0.0))
        acc = np.where(veh, np.clip(acc, -a_lon_max, np.minimum(a_lon_max, engine.MAX_ACCEL_MPS2)), acc)
        v_new = v + acc * DT_S
        stops = v_new < 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            travel = np.where(stops, np.where(acc < 0, v * v / (-2.0 * acc), 0.0), (v + v_new) / 2 * DT_S)
        v_new = np.maximum(v_new, 0.0)
        ds = travel * np.cos(st.psi) / np.maximum(1.0 - kappa * st.d, 0.1)
        dd = travel * np.sin(st.psi)
        dpsi = travel * tan_d / self.wheelbase - kappa * ds
        moving = st.present & running
        moving[:, 0] = False  # the ego is CARLA's
        st.s = np.where(moving, st.s + ds, st.s)
        st.d = np.where(moving & veh, st.d + dd, st.d)
        st.psi = np.where(moving & veh, st.psi + dpsi, st.psi)
        st.v = np.where(moving, v_new, st.v)
        st.acc = np.where(moving, acc, st.acc)
        gone = st.present & (st.s >= bt.rlen - 0.05)
        gone[:, 0] = False
        st.present &= ~gone
