"""A frozen picture of the world at one instant: what the renderer draws and the VLM agent sees.

Engine frame: x east, y north, z up, metres, right-handed; yaw in radians, counter-clockwise from +x.
(CARLA's left-handed flip lives only in carla_bridge.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ObjectKind = Literal["ego", "car", "truck", "pedestrian"]


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
    braking: bool = False  # brake lights on


@dataclass(frozen=True)
class WorldSnapshot:
    """The world at time_s of one scenario run."""

    time_s: float
    scenario: object                 # adsgen.scenario.model.Scenario (kept untyped to avoid import cycles)
    ego: ObjectState
    actors: tuple[ObjectState, ...]
    signal_state: str | None = None  # ego approach signal: 'red' | 'yellow' | 'green' | None (no signal)
    extra: dict = field(default_factory=dict)
