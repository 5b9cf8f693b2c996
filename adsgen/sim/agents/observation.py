"""What an agent sees and returns at each step, for a whole batch of egos at once.

Ground truth only: an agent applies its own sensing model (range, misses, latency), as the IDM agent
does through ``adsgen.scenario.mapping.sensing``. Arrays are shaped (batch,) for the ego and
(batch, actors) for the other road users (padded; ``actor_active`` marks real ones). Frame: x east,
y north [m], yaw counter-clockwise from +x [rad], speeds [m/s].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SIGNAL_NONE, SIGNAL_GREEN, SIGNAL_YELLOW, SIGNAL_RED = 0, 1, 2, 3
SIGNAL_NAMES = {SIGNAL_NONE: None, SIGNAL_GREEN: "green", SIGNAL_YELLOW: "yellow", SIGNAL_RED: "red"}
CURVATURE_AHEAD_M = np.array([0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 55.0, 70.0])
"""[m] preview distances of the route curvature ahead of the ego (``Observation.curvature_ahead_at_m``)."""

Renderer = Callable[[Any, str, float], Any]
"""renderer(snapshot, camera, scale) -> frame: how an image agent's frames are drawn (e.g.
``adsgen.render.render``); the agent brings it (``Agent.renderer``) and backends pass it on, so the
simulation never imports a renderer."""


@dataclass
class Observation:
    """Ground truth for one step of a batch."""

    step: int                          # step index (t = step * dt_s)
    t_s: float                         # [s] simulated time
    dt_s: float                        # [s] step length
    scenarios: Sequence[Any]           # the batch's Scenario objects
    active: np.ndarray                 # (B,) bool: the run is still going
    # ego (B,)
    ego_x_m: np.ndarray
    ego_y_m: np.ndarray
    ego_yaw_rad: np.ndarray
    ego_speed_mps: np.ndarray
    ego_length_m: np.ndarray
    ego_width_m: np.ndarray
    ego_route_s_m: np.ndarray          # [m] progress along the ego's route (centre of the ego)
    ego_lateral_m: np.ndarray          # [m] offset from the route centre-line, left positive
    ego_desired_speed_mps: np.ndarray  # [m/s] the scenario's ego speed (cruise set point)
    # other road users (B, A)
    actor_active: np.ndarray           # bool: a real, present road user
    actor_is_pedestrian: np.ndarray    # bool
    actor_x_m: np.ndarray
    actor_y_m: np.ndarray
    actor_yaw_rad: np.ndarray
    actor_speed_mps: np.ndarray
    actor_length_m: np.ndarray
    actor_width_m: np.ndarray
    actor_path_s_m: np.ndarray         # [m] the actor's position projected on the ego's route (route s)
    actor_path_lat_m: np.ndarray       # [m] its lateral offset from the ego route's centre-line
    actor_path_rel_yaw_rad: np.ndarray  # [rad] its heading relative to the ego route at that point
    actor_occluded: np.ndarray         # bool: another vehicle blocks the line of sight from the ego
    # traffic control on the ego's route (B,)
    stop_gap_m: np.ndarray             # [m] ego front to its next stop line (inf: none ahead)
    signal: np.ndarray                 # int8: SIGNAL_NONE / GREEN / YELLOW / RED for the ego's approach
    stop_sign: np.ndarray              # bool: the stop line ahead is a stop sign
    snapshot: Callable[[int], Any] | None = None
    """snapshot(i) -> WorldSnapshot of row i now."""
    actor_ttc_s: np.ndarray | None = None
    """(B, A) [s] constant-velocity time-to-collision of each road user with the ego (inf: none);
    None when a backend does not provide it (agents then compute it from the poses)."""
    ego_curvature_ahead_1pm: np.ndarray | None = None
    """(B, K) [1/m] |curvature| of the ego's route at curvature_ahead_at_m ahead (None: not provided)."""
    curvature_ahead_at_m: np.ndarray | None = None
    """(K,) [m] preview distances ahead of the ego along its route."""
    renderer: Renderer | None = None
    """Draws a snapshot for ``render`` (the agent's ``renderer``); None: images are not available."""

    def render(self, i: int, camera: str = "CAM_FRONT", scale: float = 0.5) -> Any:
        """The render callback for image agents: row i's camera frame now (e.g. an ``adsgen.render.Frame``
        with the image, depth map and visible objects), drawn by the injected ``renderer``."""
        if self.snapshot is None:
            raise RuntimeError("this backend gives no world snapshots to render")
        if self.renderer is None:
            raise RuntimeError("no renderer: an agent that reads images sets its `renderer` attribute "
                               "(e.g. adsgen.render.render)")
        return self.renderer(self.snapshot(i), camera, scale)


@dataclass
class Action:
    """Controls for the batch."""

    accel_mps2: np.ndarray                    # (B,) [m/s2] longitudinal acceleration request (friction-limited)
    lateral_offset_m: np.ndarray | None = None  # (B,) [m] target offset from the route centre-line (left +)
