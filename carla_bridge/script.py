"""The scenario's script in CARLA: adversaries driven by the builtin engine's own manoeuvre logic.

Choice (docs/carla.md): the adversaries (cars, trucks, pedestrians) are not given to CARLA's autopilot.
Each tick, the builtin engine's per-step API (``adsgen.sim.stepper``: triggers on time / ego distance /
ego TTC / the ego's time-to-arrival at the conflict point (from its measured route position and speed); signals, stop lines and stop signs; the manoeuvres keep, brake hard, stopped, cut in (and brake),
turn left across, run the red light (braking late when triggered), drift head-on, cross the road; the friction-limited kinematic bicycle) runs on
this scenario alone, with the ego's state *measured in CARLA* (projected onto its route) and the ego slot
held still. The bridge then places vehicles there (kinematic: ``set_transform`` + ``set_target_velocity``,
physics off) and steers walkers there with walker controls. So a manoeuvre means the same thing in both
backends, and triggers react to the ego CARLA actually drove.

The physics and the scripts have one implementation, the engine's; this module only adapts it to a
measured ego. ``tests/test_carla_script.py`` replays engine runs through it and checks trajectories and
metrics agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from adsgen.scenario.geometry import ROUTE_DS_M
from adsgen.scenario.model import Scenario
from adsgen.scenario.roads import build_road
from adsgen.sim import stepper
from adsgen.sim.snapshot import ObjectKind


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


class ScenarioScript:
    """One scenario's engine state (slot 0 the ego, slots 1.. the actors), stepped with a measured ego."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.net = build_road(scenario.road)
        self.ego_route = self.net.route(scenario.ego.route)
        self.bt = stepper.compile_batch([scenario])
        self.st = stepper.EngineState(self.bt)
        self.ids: list[str] = list(self.bt.ids[0])
        self.kinds: list[ObjectKind] = list(self.bt.kinds[0])

    # ------------------------------------------------------------------------------------ state io
    def set_ego(self, pose: RoutePose, speed_mps: float, accel_mps2: float) -> None:
        """Overwrite the ego slot with the state measured in CARLA."""
        st = self.st
        st.s[0, 0], st.d[0, 0], st.psi[0, 0] = pose.s_m, pose.d_m, pose.psi_rad
        st.v[0, 0], st.acc[0, 0] = speed_mps, accel_mps2

    def poses(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Engine-frame (x, y, yaw) of every slot from its route coordinates, each (1, A)."""
        x, y, yaw, *_ = stepper.poses(self.bt, self.st)
        return x, y, yaw

    # ---------------------------------------------------------------------------- script pieces
    def signal_states(self, t_s: float) -> np.ndarray:
        """Signal state of every slot's approach (1, A) (SIGNAL_NONE without a signal)."""
        return stepper.signal_states(self.bt, t_s)

    def stop_gaps(self) -> np.ndarray:
        """Front-to-stop-line gap of every slot (1, A) [m] (inf: no controlled stop line ahead)."""
        return stepper.stop_gaps(self.bt, self.st)

    def update_triggers(self, t_s: float, centre_dist_m: np.ndarray, ttc_s: np.ndarray) -> None:
        """Fire the actors' triggers (time, ego centre distance, ego TTC, and ego time-to-arrival from the ego slot
        set by ``set_ego``), as the engine does. Arrays (1, A-1)."""
        stepper.fire_triggers(self.bt, self.st, t_s, centre_dist_m, ttc_s)

    def occlusion(self, x: np.ndarray, y: np.ndarray, yaw: np.ndarray) -> np.ndarray:
        """(1, A-1) bool: another present vehicle's box cuts the segment from the ego to the actor."""
        return stepper.occlusion(self.bt, self.st, x, y, np.cos(yaw), np.sin(yaw))

    def path_projection(self, yaw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Actors projected on the ego route: (route s, lateral, relative yaw), each (1, A-1) (engine tables)."""
        *_, ch, sh = stepper.poses(self.bt, self.st)
        return stepper.path_projection(self.bt, self.st, yaw, ch, sh)

    def advance_actors(self, t_s: float, stop_gap: np.ndarray, sig_state: np.ndarray,
                       running: bool = True) -> None:
        """One DT_S step of every actor slot (1..): the engine's controls, then its dynamics; the ego stays."""
        bt, st = self.bt, self.st
        if bt.off.shape[1] < 2:
            return
        acc = np.zeros(bt.off.shape)
        stepper.actor_controls(bt, st, t_s, acc, stop_gap, sig_state)
        _, _, _, _, _, kappa, cpsi, spsi, _, _ = stepper.poses(bt, st)
        moving = st.present & running
        moving[:, 0] = False  # the ego is CARLA's
        stepper.advance(bt, st, acc, kappa, cpsi, spsi, moving)
