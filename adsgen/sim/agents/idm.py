"""The default agent under test: IDM car-following with automatic emergency braking (AEB).

It sees the world only through a sensing model set by light and weather
(``adsgen.scenario.mapping.sensing``): objects beyond the detection range or hidden behind another
vehicle are not seen, each frame misses a visible object with the miss rate, a track needs
``confirm_hits`` detections before the planner uses it, and perceived states are ``latency_s`` old.
It stops for red (and, when it can, yellow) signals and serves stop signs. One ``IDMParams`` feeds one
vectorised IDM for the whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from adsgen.scenario.geometry import ROUTE_DS_M
from adsgen.scenario.mapping import sensing
from adsgen.scenario.model import Scenario
from adsgen.sim.agents.observation import CURVATURE_AHEAD_M, SIGNAL_RED, SIGNAL_YELLOW, Action, Observation
from adsgen.sim.metrics import ttc_constant_velocity
from adsgen.sim.rng import scenario_key, uniforms
from adsgen.sim.types import DT_S


@dataclass(frozen=True)
class IDMParams:
    """Intelligent Driver Model (Treiber et al. 2000) and AEB settings."""

    a_max_mps2: float = 1.5        # [m/s2] maximum acceleration
    b_comf_mps2: float = 2.5       # [m/s2] comfortable deceleration
    headway_s: float = 1.5         # [s] desired time headway T
    s0_m: float = 2.0              # [m] jam distance
    delta: float = 4.0             # [-] free-road exponent
    aeb_ttc_s: float = 1.2         # [s] AEB brakes fully when the constant-velocity TTC drops below this
    aeb_decel_mps2: float = 9.0    # [m/s2] AEB braking request (the engine limits it to mu*g)
    max_decel_mps2: float = 9.0    # [m/s2] most the IDM itself may request
    path_margin_m: float = 0.3     # [m] lateral margin for "in my path" (crossing road users, pedestrians)
    parallel_rad: float = 0.35     # [rad] a vehicle heading within this of the ego's route drives the same
    #                                way: it is a target (leader, AEB) only once its centre is in the ego's lane
    confirm_hits: int = 2          # detections before a track is used
    stop_dwell_s: float = 1.0      # [s] standstill at a stop sign before going
    yellow_stop_decel_mps2: float = 4.0  # [m/s2] stops on yellow if it can with at most this deceleration
    a_lat_comf_mps2: float = 2.0   # [m/s2] lateral acceleration it accepts in curves (sets curve speeds)


def idm_accel(v, v0, gap, dv, p: IDMParams) -> np.ndarray:
    """Vectorised IDM acceleration [m/s2]: speed v, desired v0, bumper gap [m] (inf: free road),
    approach rate dv = v - v_leader [m/s]."""
    v0 = np.maximum(v0, 0.1)
    s_star = p.s0_m + np.maximum(0.0, v * p.headway_s + v * dv / (2.0 * np.sqrt(p.a_max_mps2 * p.b_comf_mps2)))
    inter = np.where(np.isfinite(gap), (s_star / np.maximum(gap, 0.1)) ** 2, 0.0)
    a = p.a_max_mps2 * (1.0 - (v / v0) ** p.delta - inter)
    return np.maximum(a, -p.max_decel_mps2)


PREVIEW_M = CURVATURE_AHEAD_M  # [m] curvature preview points


def _ttc_now(obs: Observation) -> np.ndarray:
    """Constant-velocity TTC (B, A) from the observation's poses (for backends that do not provide it)."""
    v, yaw = obs.ego_speed_mps, obs.ego_yaw_rad
    ttc = ttc_constant_velocity(obs.ego_x_m, obs.ego_y_m, yaw, v * np.cos(yaw), v * np.sin(yaw), obs.ego_length_m,
                                obs.ego_width_m, obs.actor_x_m, obs.actor_y_m, obs.actor_yaw_rad,
                                obs.actor_speed_mps * np.cos(obs.actor_yaw_rad),
                                obs.actor_speed_mps * np.sin(obs.actor_yaw_rad), obs.actor_length_m, obs.actor_width_m)
    return np.where(obs.actor_active, ttc, np.inf)


def _curvature_preview(obs: Observation) -> tuple[np.ndarray, np.ndarray]:
    """|curvature| (B, K) of each ego's route at PREVIEW_M ahead, from the road templates (for backends that
    do not provide it)."""
    from adsgen.scenario.roads import build_road

    out = np.zeros((len(obs.scenarios), len(PREVIEW_M)))
    for i, sc in enumerate(obs.scenarios):
        r = build_road(sc.road).route(sc.ego.route)
        k = np.minimum(((obs.ego_route_s_m[i] + PREVIEW_M) / ROUTE_DS_M).astype(int), len(r.s) - 1)
        out[i] = np.abs(r.curvature[k])
    return out, PREVIEW_M


class IDMAgent:
    """IDM + AEB through the light/weather sensing model."""

    name = "idm"
    needs_images = False

    def __init__(self, params: IDMParams | None = None):
        self.params = params or IDMParams()

    def reset(self, scenarios: Sequence[Scenario], seed: int, n_steps: int | None = None,
              n_actors: int | None = None) -> None:
        self._b = len(scenarios)
        self._lane_half = np.array([s.road.lane_width_m / 2 for s in scenarios])  # (B,) [m]
        sens = [sensing(s.factors) for s in scenarios]
        self._range = np.array([x.detection_range_m for x in sens])  # (B,)
        self._miss = np.array([x.miss_rate for x in sens])  # (B,)
        self._lag = np.array([int(round(x.latency_s / DT_S)) for x in sens])  # (B,) steps
        self._buf_len = int(self._lag.max()) + 1
        lags, counts = np.unique(self._lag, return_counts=True)
        order = np.argsort(-counts)  # the most common latency first: it is read whole, the others patched in
        self._lag_groups = [(int(lags[i]), np.flatnonzero(self._lag == lags[i])) for i in order]
        self._n_steps = n_steps or max(int(round(s.horizon_s / DT_S)) for s in scenarios)
        self._n_actors = n_actors or max(len(s.actors) for s in scenarios)
        # per-scenario uniform draws for detection misses: (B, T, A); a scenario's draws depend only on
        # (seed, its content) and (step, actor index), so they do not change with the batch around it
        keys = np.array([scenario_key(seed, sc, "idm.detection") for sc in scenarios], dtype=np.uint64)
        self._u = uniforms(keys, self._n_steps + 1, self._n_actors)
        self._hits = np.zeros((self._b, self._n_actors), dtype=np.int16)  # (B, A)
        self._served = np.zeros(self._b, dtype=bool)  # stop sign served
        self._dwell = np.zeros(self._b)  # [s] standstill time at the stop line
        self._buf: np.ndarray | None = None

    _FEATURES = ("speed", "path_s", "path_lat", "rel_yaw", "dist", "visible_geom", "ttc")

    def _delayed(self, obs: Observation) -> np.ndarray:
        """Perceived actor features (F, B, A): each row sees the frame from its latency ago. A ring buffer
        (K, F, B, A); rows are read in groups of equal latency (a few distinct values)."""
        dist = np.hypot(obs.actor_x_m - obs.ego_x_m[:, None], obs.actor_y_m - obs.ego_y_m[:, None])
        geom = obs.actor_active & ~obs.actor_occluded
        ttc = obs.actor_ttc_s if obs.actor_ttc_s is not None else _ttc_now(obs)
        feats = (obs.actor_speed_mps, obs.actor_path_s_m, obs.actor_path_lat_m, obs.actor_path_rel_yaw_rad, dist, geom,
                 ttc)  # as in _FEATURES
        k_len = self._buf_len
        if k_len == 1:
            return np.stack(feats)  # (F, B, A)
        if obs.step == 0 or self._buf is None:
            self._buf = np.zeros((k_len, len(feats)) + dist.shape)  # (K, F, B, A)
        slot = obs.step % k_len
        for i, f in enumerate(feats):
            self._buf[slot, i] = f
        (lag0, rows0), *rest = self._lag_groups
        out = self._buf[max(obs.step - lag0, 0) % k_len]
        if not rest:
            return out  # a view: every row has the same latency
        out = out.copy()
        for lag, rows in rest:
            out[:, rows] = self._buf[max(obs.step - lag, 0) % k_len][:, rows]
        return out

    def _curve_speed(self, obs: Observation) -> np.ndarray:
        """Desired speed (B,): the set speed, lowered so that every previewed curve can be taken at
        a_lat_comf_mps2 after braking comfortably until it."""
        p = self.params
        if obs.ego_curvature_ahead_1pm is None or obs.curvature_ahead_at_m is None:  # given together
            kappa, at = _curvature_preview(obs)
        else:
            kappa, at = obs.ego_curvature_ahead_1pm, obs.curvature_ahead_at_m
        with np.errstate(divide="ignore"):
            v_curve2 = p.a_lat_comf_mps2 / kappa.T  # (K, B) [m2/s2], inf on straights
        allowed2 = v_curve2 + (2.0 * p.b_comf_mps2 * np.asarray(at))[:, None]  # reachable by comfortable braking
        return np.minimum(obs.ego_desired_speed_mps, np.sqrt(allowed2.min(axis=0)))

    def act(self, obs: Observation) -> Action:
        p = self.params
        per = self._delayed(obs)  # (F, B, A)
        pv, ps, plat, rel, dist, geom, ttc = per
        a_n = pv.shape[1]
        # detection: in range, not occluded, not missed this frame; tracks confirmed after k hits
        visible = (geom > 0.5) & (dist <= self._range[:, None])
        u = self._u[:, min(obs.step, self._u.shape[1] - 1), :a_n]
        hit = visible & (u >= self._miss[:, None])
        self._hits[:, :a_n] = np.where(visible, self._hits[:, :a_n] + hit, 0)
        tracked = visible & (self._hits[:, :a_n] >= p.confirm_hits)  # (B, A)
        v = obs.ego_speed_mps
        # targets (leaders, AEB): a same-direction vehicle once its centre is in the ego's lane (lane-based
        # target selection, as ACC does: a cut-in counts once it is in the lane), any other tracked road user
        # once its footprint is within path_margin_m of the ego's
        crel, srel = np.cos(rel), np.sin(rel)
        parallel = ~obs.actor_is_pedestrian & (crel > np.cos(p.parallel_rad))
        foot = obs.ego_width_m[:, None] / 2 + obs.actor_width_m / 2 + p.path_margin_m
        half = np.where(parallel, self._lane_half[:, None], foot)
        in_path = tracked & (np.abs(plat - obs.ego_lateral_m[:, None]) < half)
        ext = np.abs(crel) * obs.actor_length_m / 2 + np.abs(srel) * obs.actor_width_m / 2
        gap = ps - obs.ego_route_s_m[:, None] - obs.ego_length_m[:, None] / 2 - ext
        ahead = in_path & (gap > -obs.ego_length_m[:, None])
        gap = np.where(ahead, gap, np.inf)
        rows = np.arange(self._b)
        if a_n == 1:
            g_lead, v_lead = gap[:, 0], (pv * crel)[:, 0]
        elif a_n:
            lead = np.argmin(gap, axis=1)  # (B,)
            g_lead = gap[rows, lead]
            v_lead = (pv * crel)[rows, lead]
        else:
            g_lead, v_lead = np.full(self._b, np.inf), np.zeros(self._b)
        # stop line: red, yellow when stoppable, or a stop sign not yet served
        sg = obs.stop_gap_m
        stoppable = v * v / (2 * np.maximum(sg, 0.1)) <= p.yellow_stop_decel_mps2
        at_line = (v < 0.05) & (sg < 3.5)  # standing at the line
        self._dwell = np.where(obs.stop_sign & at_line, self._dwell + obs.dt_s, 0.0)
        self._served |= obs.stop_sign & (self._dwell >= p.stop_dwell_s)
        stop = (obs.signal == SIGNAL_RED) | ((obs.signal == SIGNAL_YELLOW) & stoppable) | \
            (obs.stop_sign & ~self._served)
        g_stop = np.where(stop & np.isfinite(sg), sg, np.inf)
        use_stop = g_stop < g_lead
        gap_eff = np.where(use_stop, g_stop, g_lead)
        dv = v - np.where(use_stop, 0.0, np.where(np.isfinite(g_lead), v_lead, v))
        a = idm_accel(v, self._curve_speed(obs), gap_eff, dv, p)
        # at the line: come to a full stop rather than creep (IDM only approaches s0 asymptotically)
        a = np.where(use_stop & (gap_eff < p.s0_m + 1.0) & (v < 1.0), np.minimum(a, -p.b_comf_mps2), a)
        # AEB on the tracked objects' constant-velocity TTC, as measured latency_s ago
        ttc = np.where(tracked & (in_path | ~parallel), ttc, np.inf)
        ttc = ttc[:, 0] if a_n == 1 else ttc.min(axis=1, initial=np.inf)
        a = np.where((ttc < p.aeb_ttc_s) & (v > 0.1), -p.aeb_decel_mps2, a)
        return Action(accel_mps2=a)
