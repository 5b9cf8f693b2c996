"""Scenario factors -> CARLA weather and light: one table.

Each factor state sets some fields of ``carla.WeatherParameters``; a field no row sets keeps the value in
``BASE``. Light sets the sun (street lights and headlights follow ``adsgen.scenario.mapping.render_settings``, as
in the renderer), weather sets clouds / rain / fog / wind, surface sets the road's wetness and
puddles (``precipitation_deposits``). CARLA's weather is visual only: it does not change tyre friction,
so the surface also sets the vehicles' wheel friction (``carla_bridge.actors.apply_surface_friction``).

CARLA has no snowfall: ``weather=snow`` is rendered as an overcast, hazy sky, and ``surface=snow_ice`` as a
fully wet road with deposits; the physics of snow and ice come from the friction, not from the picture.
Units: angles in degrees (CARLA's convention for these fields), fog_distance in metres, the rest 0-100.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from carla_bridge._carla import import_carla

BASE: MappingProxyType = MappingProxyType({
    "cloudiness": 0.0, "precipitation": 0.0, "precipitation_deposits": 0.0, "wind_intensity": 5.0,
    "sun_azimuth_angle": 150.0,  # [deg] fixed, so runs differ only by their factors
    "sun_altitude_angle": 60.0,  # [deg]
    "fog_density": 0.0, "fog_distance": 0.0,  # fog_distance [m]: where the fog starts
    "fog_falloff": 0.2, "wetness": 0.0,
})

WEATHER_TABLE: MappingProxyType = MappingProxyType({
    ("light", "daylight"): {"sun_altitude_angle": 60.0},
    ("light", "dawn_dusk"): {"sun_altitude_angle": 4.0},          # sun on the horizon: glare, long shadows
    ("light", "dark_lighted"): {"sun_altitude_angle": -30.0},      # night; street lights on
    ("light", "dark_unlighted"): {"sun_altitude_angle": -60.0},    # night; street lights off
    ("weather", "clear"): {"cloudiness": 5.0},
    ("weather", "cloudy"): {"cloudiness": 80.0, "wind_intensity": 20.0},
    ("weather", "rain"): {"cloudiness": 90.0, "precipitation": 70.0, "wind_intensity": 40.0,
                          "fog_density": 10.0, "fog_distance": 40.0},
    ("weather", "snow"): {"cloudiness": 95.0, "wind_intensity": 30.0, "fog_density": 35.0,
                          "fog_distance": 20.0, "fog_falloff": 0.5},
    ("weather", "fog"): {"cloudiness": 60.0, "fog_density": 75.0, "fog_distance": 5.0, "fog_falloff": 1.0},
    ("surface", "dry"): {"wetness": 0.0, "precipitation_deposits": 0.0},
    ("surface", "wet"): {"wetness": 80.0, "precipitation_deposits": 40.0},
    ("surface", "snow_ice"): {"wetness": 100.0, "precipitation_deposits": 80.0},
})
"""(factor, state) -> the WeatherParameters fields it sets. Factors not listed do not touch the weather."""

WEATHER_FACTORS = ("light", "weather", "surface")


def weather_fields(factors: Any) -> dict[str, float]:
    """The WeatherParameters fields for a scenario's factors (pure; KeyError for an unknown state)."""
    fields = dict(BASE)
    for factor in WEATHER_FACTORS:
        fields.update(WEATHER_TABLE[(factor, getattr(factors, factor))])
    return fields


def weather_parameters(factors: Any) -> Any:
    """carla.WeatherParameters for a scenario's factors."""
    carla = import_carla()
    weather = carla.WeatherParameters()
    for name, value in weather_fields(factors).items():
        setattr(weather, name, float(value))
    return weather


def apply_street_lights(world: Any, factors: Any) -> int:
    """Switch a Town's street lights as the renderer does (``mapping.render_settings(...).street_lights``:
    on for dark_lighted only); the number of lights switched. Generated roads have no street lights."""
    from adsgen.scenario.mapping import render_settings

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
