"""CARLA blueprints and OpenSCENARIO entity descriptions for adsgen's actor kinds.

A registry (kind -> ActorModel), so a user can map kinds to other blueprints without editing the exporter.
Sizes are the blueprints' bounding boxes (CARLA 0.9.16), rounded; positions in an OpenSCENARIO bounding box
are relative to the rear axle for vehicles (as in ScenarioRunner's examples) and to the centre for walkers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActorModel:
    """How one actor kind appears in OpenSCENARIO and CARLA."""

    blueprint: str            # CARLA blueprint id (the entity's name / model)
    category: str             # OpenSCENARIO VehicleCategory ('car', 'truck') or 'pedestrian'
    length_m: float           # bounding box length [m]
    width_m: float            # bounding box width [m]
    height_m: float           # bounding box height [m]
    rear_axle_to_centre_m: float = 1.4   # [m] bounding-box centre ahead of the rear axle (vehicles)
    wheelbase_m: float = 2.9  # [m]
    mass_kg: float = 1800.0   # [kg]
    max_speed_mps: float = 69.444  # [m/s] ScenarioRunner's examples' performance figures
    max_accel_mps2: float = 200.0
    max_decel_mps2: float = 10.0


ACTOR_MODELS: dict[str, ActorModel] = {
    "ego": ActorModel("vehicle.lincoln.mkz_2017", "car", 4.9, 2.1, 1.5),
    "car": ActorModel("vehicle.tesla.model3", "car", 4.8, 2.2, 1.5),
    "truck": ActorModel("vehicle.carlamotors.carlacola", "truck", 5.2, 2.6, 2.5, rear_axle_to_centre_m=1.6,
                        wheelbase_m=3.2, mass_kg=7500.0, max_decel_mps2=7.0),
    "pedestrian": ActorModel("walker.pedestrian.0001", "pedestrian", 0.4, 0.4, 1.9, mass_kg=80.0),
}


def register_actor_model(kind: str, model: ActorModel) -> None:
    """Map an actor kind (or 'ego') to another CARLA blueprint / size."""
    ACTOR_MODELS[kind] = model


def actor_model(kind: str) -> ActorModel:
    try:
        return ACTOR_MODELS[kind]
    except KeyError:
        raise KeyError(f"no CARLA blueprint for actor kind {kind!r}; known: {', '.join(ACTOR_MODELS)}") from None
