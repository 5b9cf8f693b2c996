"""CARLA blueprints and OpenSCENARIO entity descriptions for adsgen's actor kinds: the one table.

A registry (kind -> ActorModel), so a user can map kinds to other blueprints without editing the exporter or
the bridge. The exporter names ``blueprint`` in the .xosc; the CARLA bridge (``carla_bridge.actors``) spawns
the first of ``blueprint``, ``alternatives`` that the server has, then the first match of ``wildcard``.
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
    alternatives: tuple[str, ...] = ()  # blueprints the CARLA bridge tries next, in order
    wildcard: str = "vehicle.*"  # the bridge's last resort: first match (sorted by id)

    def preferences(self) -> tuple[str, ...]:
        """Blueprint ids in the order the CARLA bridge tries them."""
        return (self.blueprint, *self.alternatives)


ACTOR_MODELS: dict[str, ActorModel] = {
    "ego": ActorModel("vehicle.lincoln.mkz_2020", "car", 4.9, 2.1, 1.5,
                      alternatives=("vehicle.lincoln.mkz_2017", "vehicle.tesla.model3")),
    "car": ActorModel("vehicle.tesla.model3", "car", 4.8, 2.2, 1.5,
                      alternatives=("vehicle.audi.a2", "vehicle.lincoln.mkz_2020")),
    "truck": ActorModel("vehicle.carlamotors.european_hgv", "truck", 9.0, 2.8, 3.8, rear_axle_to_centre_m=1.6,
                        wheelbase_m=3.2, mass_kg=7500.0, max_decel_mps2=7.0,
                        alternatives=("vehicle.carlamotors.carlacola", "vehicle.mitsubishi.fusorosa"),
                        wildcard="vehicle.carlamotors.*"),
    "pedestrian": ActorModel("walker.pedestrian.0001", "pedestrian", 0.4, 0.4, 1.9, mass_kg=80.0,
                             alternatives=("walker.pedestrian.0002",), wildcard="walker.pedestrian.*"),
}


def register_actor_model(kind: str, model: ActorModel) -> None:
    """Map an actor kind (or 'ego') to another CARLA blueprint / size."""
    ACTOR_MODELS[kind] = model


def actor_model(kind: str) -> ActorModel:
    try:
        return ACTOR_MODELS[kind]
    except KeyError:
        raise KeyError(f"no CARLA blueprint for actor kind {kind!r}; known: {', '.join(ACTOR_MODELS)}") from None
