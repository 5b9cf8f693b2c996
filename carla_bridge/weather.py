"""Scenario factors -> CARLA weather and light.

The numbers live in one table in adsgen (``adsgen.export.environment.CARLA_WEATHER_TABLE``), from which the
OpenSCENARIO export derives its Environment too; this module only builds the ``carla.WeatherParameters``
object and switches street lights. Light sets the sun (street lights and headlights follow
``adsgen.scenario.mapping.render_settings``, as in the renderer), weather sets clouds / rain / fog / wind,
surface sets the road's wetness and puddles. CARLA's weather is visual only: it does not change tyre
friction, so the surface also scales the vehicles' wheel friction
(``adsgen.export.environment.friction_scale``, applied by ``carla_bridge.actors.apply_surface_friction``).
"""

from __future__ import annotations

from typing import Any

from adsgen.export.environment import CARLA_WEATHER_TABLE, WEATHER_FACTORS, carla_weather_fields
from adsgen.scenario.mapping import render_settings
from carla_bridge._carla import import_carla

__all__ = ["CARLA_WEATHER_TABLE", "WEATHER_FACTORS", "apply_street_lights", "weather_parameters"]


def weather_parameters(factors: Any) -> Any:
    """carla.WeatherParameters for a scenario's factors."""
    carla = import_carla()
    weather = carla.WeatherParameters()
    for name, value in carla_weather_fields(factors).items():
        setattr(weather, name, float(value))
    return weather


def apply_street_lights(world: Any, factors: Any) -> int:
    """Switch a Town's street lights as the renderer does (``mapping.render_settings(...).street_lights``:
    on for dark_lighted only); the number of lights switched. Generated roads have no street lights."""

    carla = import_carla()
    manager = world.get_lightmanager()
    lights = manager.get_all_lights(carla.LightGroup.Street)
    if not lights:
        return 0
    if render_settings(factors).street_lights:
        manager.turn_on(lights)
    else:
        manager.turn_off(lights)
    return len(lights)
