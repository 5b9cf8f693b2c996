"""Blueprints by actor kind, and the per-vehicle tyre friction set from the surface factor.

The blueprints come from adsgen's one table (``adsgen.export.blueprints.ACTOR_MODELS``, which the OpenSCENARIO
export names too). The first of a kind's preferences that the server has is used, so runs are reproducible
across servers with the same content; a server without any of them falls back to the first blueprint
matching the kind's wildcard (sorted by id), and to a ConfigError naming the kind if none exists.
"""

from __future__ import annotations

from typing import Any

from adsgen.errors import ConfigError
from adsgen.export.blueprints import ACTOR_MODELS

EGO_ROLE_NAME = "hero"  # CARLA's convention for the vehicle under test (ScenarioRunner, the spectator)
ADVERSARY_ROLE_NAME = "scenario"

SPAWN_LIFT_M = {"ego": 0.3, "car": 0.3, "truck": 0.3, "pedestrian": 1.0}
"""[m] spawn height above the road, so the spawn does not start inside the ground (walkers by their centre)."""


def pick_blueprint(library: Any, kind: str, role_name: str) -> Any:
    """The blueprint for a kind ('ego', 'car', 'truck', 'pedestrian') with its role_name set."""
    if kind not in ACTOR_MODELS:
        raise ConfigError(f"actor kind {kind!r}: expected one of {', '.join(ACTOR_MODELS)}")
    model = ACTOR_MODELS[kind]
    preferred, wildcard = model.preferences(), model.wildcard
    blueprint = None
    for bp_id in preferred:
        found = library.filter(bp_id)
        if found:
            blueprint = found[0]
            break
    if blueprint is None:
        candidates = sorted(library.filter(wildcard), key=lambda b: b.id)
        if not candidates:
            raise ConfigError(f"the CARLA server has no blueprint for actor kind {kind!r} ({wildcard})")
        blueprint = candidates[0]
    if blueprint.has_attribute("role_name"):
        blueprint.set_attribute("role_name", role_name)
    if kind == "pedestrian" and blueprint.has_attribute("is_invincible"):
        blueprint.set_attribute("is_invincible", "false")  # a hit pedestrian must register as a collision
    return blueprint


def apply_surface_friction(vehicle: Any, friction_ratio: float) -> list[float]:
    """Scale every wheel's tire_friction by friction_ratio (surface mu / dry mu); the new values.

    CARLA's weather does not touch friction; the blueprint's own value is its dry-road friction.
    """
    if friction_ratio <= 0.0:
        raise ValueError(f"friction_ratio must be > 0, got {friction_ratio}")
    physics = vehicle.get_physics_control()
    wheels = list(physics.wheels)
    for wheel in wheels:
        wheel.tire_friction = float(wheel.tire_friction) * float(friction_ratio)
    physics.wheels = wheels
    vehicle.apply_physics_control(physics)
    return [float(w.tire_friction) for w in wheels]


def extent_m(actor: Any) -> tuple[float, float, float]:
    """(length, width, height) [m] of an actor's bounding box."""
    e = actor.bounding_box.extent
    return 2.0 * float(e.x), 2.0 * float(e.y), 2.0 * float(e.z)
