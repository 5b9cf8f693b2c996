"""The per-tick logic of one scenario run, independent of CARLA: measured states in, commands and metrics out.

The tick order is the episode owner's (``adsgen.sim.episode.run_episode``, the builtin engine's too):
measure -> the referee (collisions, distance, TTC, PET, at-fault evidence, termination) -> triggers ->
signals and stop lines -> agent -> actor script -> commands. The referee is the engine's own
``adsgen.sim.episode.Referee`` (a batch of one), so a RunResult from CARLA is comparable with the
engine's field by field and an at-fault rule holds on CARLA too. The collision is CARLA's collision
sensor *or* the geometric overlap test, whichever fires first (``extra['collision_source']``).

All poses here are in the template's engine frame (``frames.Placement`` maps them into the CARLA world).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from adsgen.scenario.model import Scenario
from adsgen.sim.agents.observation import SIGNAL_NAMES, Action, Observation
from adsgen.sim.episode import Poses, Referee
from adsgen.sim.snapshot import ObjectState, WorldSnapshot, brake_lights
from adsgen.sim.types import DT_S, RunResult
from carla_bridge import frames
from carla_bridge.script import RoutePose, ScenarioScript, project_on_route


@dataclass
class Measured:
    """One tick's world state, template engine frame. Actor arrays are (A-1,) in scenario order."""

    ego_x_m: float
    ego_y_m: float
    ego_yaw_rad: float
    ego_speed_mps: float
    actor_x_m: np.ndarray
    actor_y_m: np.ndarray
    actor_yaw_rad: np.ndarray
    actor_speed_mps: np.ndarray
    sensor_partner: int | None = None
    """Actor index (0-based, scenario order) the collision sensor reported this tick, if any."""
    images: dict = field(default_factory=dict)
    """'image_rgb' (H, W, 3) uint8 and 'depth_m' (H, W) float32 when cameras are attached."""


@dataclass(frozen=True)
class EgoCommand:
    accel_mps2: float
    lateral_offset_m: float


class RunCore:
    """One scenario run's CARLA-side bookkeeping: the script, the measured poses, the observation. What the
    measurements mean (metrics, termination, at-fault labels, the RunResult) is the episode owner's
    ``Referee``, the same code as the builtin engine's."""

    def __init__(self, scenario: Scenario, *, record: bool = False, backend: str = "carla"):
        self.scenario = scenario
        self.script = ScenarioScript(scenario)
        bt = self.script.bt
        self.bt = bt
        self.a = bt.off.shape[1]  # slots, ego included
        self.n_steps = int(bt.n_steps[0])
        self.ego_route = self.script.ego_route
        self.backend = backend
        self.record = record
        self.referee = Referee(bt, record)
        self.ego_pose = RoutePose(scenario.ego.start_s_m, 0.0, 0.0)
        self.d_ref = 0.0
        self.prev_speed: float | None = None
        self._tick: dict = {}

    # ------------------------------------------------------------------------------------------
    def start_poses(self) -> list[tuple[float, float, float, float]]:
        """(x, y, yaw, speed) of every slot at t = 0, ego first (the engine's initial state)."""
        x, y, yaw = self.script.poses()
        return [(float(x[0, j]), float(y[0, j]), float(yaw[0, j]), float(self.script.st.v[0, j]))
                for j in range(self.a)]

    def poses(self, k: int, m: Measured) -> Poses:
        """One tick's measurements -> the referee's Poses (the ego projected on its route, the actors'
        route coordinates from the script that placed them)."""
        t = k * DT_S
        st = self.script.st
        pose = project_on_route(self.ego_route, m.ego_x_m, m.ego_y_m, m.ego_yaw_rad, self.ego_pose.s_m)
        self.ego_pose = pose
        acc = 0.0 if self.prev_speed is None else (m.ego_speed_mps - self.prev_speed) / DT_S
        self.prev_speed = m.ego_speed_mps
        self.script.set_ego(pose, m.ego_speed_mps, acc)
        x = np.concatenate([[m.ego_x_m], m.actor_x_m])[None]  # (1, A)
        y = np.concatenate([[m.ego_y_m], m.actor_y_m])[None]
        yaw = np.concatenate([[m.ego_yaw_rad], m.actor_yaw_rad])[None]
        v = np.concatenate([[m.ego_speed_mps], m.actor_speed_mps])[None]
        self._tick = {"t": t, "x": x, "y": y, "yaw": yaw, "v": v, "m": m}
        sensor = np.array([-1 if m.sensor_partner is None else m.sensor_partner])
        return Poses(t, x, y, yaw, np.cos(yaw), np.sin(yaw), v, st.s.copy(), st.d.copy(), st.present.copy(),
                     brake_lights(st.acc).astype(float), sensor)

    def measure(self, k: int, m: Measured) -> bool:
        """Take one tick's measurements and have the referee judge them; True when the run ends here."""
        self.referee.measure(k, self.poses(k, m))
        return not bool(self.referee.running[0])

    def observation(self, k: int, renderer=None) -> Observation:
        """Triggers fire, then the Observation (batch of one) the agent sees at this tick."""
        tk = self._tick
        t, x, y, yaw, v = tk["t"], tk["x"], tk["y"], tk["yaw"], tk["v"]
        bt, st = self.bt, self.script.st
        cdist = np.hypot(x[:, 1:] - x[:, :1], y[:, 1:] - y[:, :1])
        self.script.update_triggers(t, cdist, self.referee.ttc)
        sig_state = self.script.signal_states(t)
        stop_gap = self.script.stop_gaps()
        tk["sig_state"], tk["stop_gap"] = sig_state, stop_gap
        ps, lat, rel_yaw = self.script.path_projection(yaw)
        occluded = self.script.occlusion(x, y, yaw)
        pose = self.ego_pose
        m: Measured = tk["m"]

        def snap(i: int) -> WorldSnapshot:
            return self.snapshot()

        return Observation(
            step=k, t_s=t, dt_s=DT_S, scenarios=[self.scenario], active=np.array([True]),
            ego_x_m=x[:, 0], ego_y_m=y[:, 0], ego_yaw_rad=yaw[:, 0], ego_speed_mps=v[:, 0],
            ego_length_m=bt.length[:, 0], ego_width_m=bt.width[:, 0], ego_route_s_m=np.array([pose.s_m]),
            ego_lateral_m=np.array([pose.d_m]), ego_desired_speed_mps=bt.v_des[:, 0],
            actor_active=st.present[:, 1:].copy(), actor_is_pedestrian=bt.is_ped[:, 1:], actor_x_m=x[:, 1:],
            actor_y_m=y[:, 1:], actor_yaw_rad=yaw[:, 1:], actor_speed_mps=v[:, 1:],
            actor_length_m=bt.length[:, 1:], actor_width_m=bt.width[:, 1:], actor_path_s_m=ps,
            actor_path_lat_m=lat, actor_path_rel_yaw_rad=rel_yaw, actor_occluded=occluded,
            stop_gap_m=stop_gap[:, 0], signal=sig_state[:, 0].astype(np.int8),
            stop_sign=bt.has_stop_sign & np.isfinite(stop_gap[:, 0]),
            snapshot=snap if m is not None else None, renderer=renderer)

    def snapshot(self) -> WorldSnapshot:
        """The world now, as the engine's WorldSnapshot; CARLA camera images in ``extra`` when attached."""
        tk, bt, st = self._tick, self.bt, self.script.st
        objs = []
        for j, (aid, kind) in enumerate(zip(self.script.ids, self.script.kinds, strict=True)):
            braking = bool(brake_lights(st.acc[0, j]))
            objs.append(ObjectState(aid, kind, float(tk["x"][0, j]), float(tk["y"][0, j]), float(tk["yaw"][0, j]),
                                    float(tk["v"][0, j]), float(bt.length[0, j]), float(bt.width[0, j]),
                                    float(bt.height[0, j]), braking))
        sig = SIGNAL_NAMES[int(tk["sig_state"][0, 0])] if bt.has_signal[0] and "sig_state" in tk else None
        present = tuple(o for o, p in zip(objs[1:], st.present[0, 1:], strict=True) if p)
        return WorldSnapshot(time_s=tk["t"], scenario=self.scenario, ego=objs[0], actors=present,
                             signal_state=sig, extra=dict(tk["m"].images))

    def advance(self, action: Action) -> EgoCommand:
        """Apply the agent's action to the ego target and step the actor script to the next tick."""
        tk = self._tick
        accel = float(np.asarray(action.accel_mps2).reshape(-1)[0])
        if action.lateral_offset_m is not None:
            self.d_ref = float(np.asarray(action.lateral_offset_m).reshape(-1)[0])
        self.script.advance_actors(tk["t"], tk["stop_gap"], tk["sig_state"])
        return EgoCommand(accel, self.d_ref)

    def actor_targets(self) -> list[tuple[float, float, float, float, bool]]:
        """Where each actor must be at the next tick: (x, y, yaw, speed, present), scenario order."""
        x, y, yaw = self.script.poses()
        st = self.script.st
        return [(float(x[0, j]), float(y[0, j]), float(yaw[0, j]), float(st.v[0, j]), bool(st.present[0, j]))
                for j in range(1, self.a)]

    def result(self, seed: int, extra: dict | None = None) -> RunResult:
        """The referee's RunResult of this run (``extra`` merged into its extra)."""
        return self.referee.results(seed, self.backend, [extra or {}])[0]


@dataclass(frozen=True)
class EgoControlGains:
    """The ego's low-level controller: the agent's acceleration and lateral target -> pedals and steering."""

    accel_per_throttle_mps2: float = 4.0
    """Acceleration at full throttle [m/s2] (feed-forward scale; the speed loop corrects the rest)."""
    decel_per_brake_mps2: float = 8.0
    """Deceleration at full brake on a dry road [m/s2]."""
    speed_gain_per_s: float = 1.5
    """Gain of the loop tracking the speed the commanded accelerations integrate to [1/s]."""
    speed_window_mps: float = 2.0
    """How far the integrated speed reference may run ahead of / behind the measured speed [m/s]."""
    lookahead_min_m: float = 5.0
    """Pure-pursuit lookahead at standstill [m]."""
    lookahead_time_s: float = 0.6
    """Pure-pursuit lookahead per m/s of speed [s]."""


class EgoController:
    """Pure pursuit along the ego route (offset by the lateral target) and a speed loop on the accel command."""

    def __init__(self, route, wheelbase_m: float, max_steer_deg: float, gains: EgoControlGains | None = None):
        self.route = route
        self.wheelbase_m = wheelbase_m
        self.max_steer_deg = max_steer_deg
        self.g = gains or EgoControlGains()
        self.v_ref: float | None = None

    def control(self, x: float, y: float, yaw: float, s_m: float, v: float, cmd: EgoCommand) -> tuple[float, float, float]:
        """(throttle, steer, brake) in CARLA's convention."""
        g = self.g
        if self.v_ref is None:
            self.v_ref = v
        self.v_ref = min(max(self.v_ref + cmd.accel_mps2 * DT_S, 0.0, v - g.speed_window_mps), v + g.speed_window_mps)
        a_des = cmd.accel_mps2 + g.speed_gain_per_s * (self.v_ref - v)
        if self.v_ref <= 0.0 and cmd.accel_mps2 <= 0.0:
            a_des = min(a_des, -g.decel_per_brake_mps2 * 0.3)  # hold at standstill
        throttle = min(max(a_des / g.accel_per_throttle_mps2, 0.0), 1.0)
        brake = min(max(-a_des / g.decel_per_brake_mps2, 0.0), 1.0)
        look = g.lookahead_min_m + g.lookahead_time_s * v
        (px, py), hd = self.route.at(s_m + look)
        tx, ty = px - math.sin(hd) * cmd.lateral_offset_m, py + math.cos(hd) * cmd.lateral_offset_m
        dx, dy = tx - x, ty - y
        lx = math.cos(yaw) * dx + math.sin(yaw) * dy
        ly = -math.sin(yaw) * dx + math.cos(yaw) * dy
        curvature = 2.0 * ly / max(lx * lx + ly * ly, 1e-6)
        steer = frames.steer_to_carla(math.atan(self.wheelbase_m * curvature), self.max_steer_deg)
        return throttle, steer, brake
