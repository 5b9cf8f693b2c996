"""A frozen picture of the world at one instant: what the renderer draws and the VLM agent sees.

Engine frame: x east, y north, z up, metres, right-handed; yaw in radians, counter-clockwise from +x.
(CARLA's left-handed flip lives only in carla_bridge.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

ObjectKind = Literal["ego", "car", "truck", "pedestrian"]

BRAKE_LIGHT_DECEL_MPS2 = 1.0
"""[m/s2] a road user decelerating harder than this shows its brake lights (ObjectState.braking)."""


def brake_lights(acc_mps2: np.ndarray) -> np.ndarray:
    """Brake lights on (bool, the shape of ``acc_mps2``) for longitudinal accelerations [m/s2]."""
    return acc_mps2 < -BRAKE_LIGHT_DECEL_MPS2


@dataclass(frozen=True)
class ObjectState:
    """One road user's pose and size."""

    id: str               # 'ego' for the ego, else the ScenarioActor id
    kind: ObjectKind
    x_m: float
    y_m: float
    yaw_rad: float
    speed_mps: float
    length_m: float
    width_m: float
    height_m: float
    braking: bool = False  # brake lights on (brake_lights)


@dataclass(frozen=True)
class WorldSnapshot:
    """The world at time_s of one scenario run."""

    time_s: float
    scenario: object                 # adsgen.scenario.model.Scenario (kept untyped to avoid import cycles)
    ego: ObjectState
    actors: tuple[ObjectState, ...]
    signal_state: str | None = None  # ego approach signal: 'red' | 'yellow' | 'green' | None (no signal)
    extra: dict = field(default_factory=dict)
