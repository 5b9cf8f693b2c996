"""Scenario factors -> CARLA weather and the OpenSCENARIO 1.0 Environment: the one table.

``CARLA_WEATHER_TABLE`` says, per factor state, which ``carla.WeatherParameters`` fields it sets (fields no
row sets keep ``CARLA_WEATHER_BASE``). The CARLA bridge applies these fields as they are
(``carla_bridge.weather``, which adds only the carla object); the OpenSCENARIO Environment is derived from the
same numbers so that ScenarioRunner, which reads Sun elevation / azimuth [rad] as the sun's altitude /
azimuth, ``cloudiness = 100 - 100 * Sun intensity`` and ``precipitation = 100 * Precipitation intensity``,
sets the same sun, clouds and rain as the bridge. Fog visualRange is the visibility in the standard's sense,
from the factor mapping's fog density (Koschmieder, 3.912 / density, as the renderer and the agents' sensing
see it); ScenarioRunner reads it as CARLA's fog_distance. The surface's friction scale (mu(surface) /
mu(dry)) is the RoadCondition frictionScaleFactor and the bridge's tyre-friction scale.

CARLA has no snowfall: ``weather=snow`` is an overcast, hazy sky, and ``surface=snow_ice`` a fully wet
road with deposits; the physics of snow and ice come from the friction, not from the picture.
Units: angles in degrees (CARLA's convention for these fields), fog_distance in metres, the rest 0-100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

from adsgen.scenario.mapping import FRICTION_MU, SUN_ELEVATION_DEG, friction_mu, render_settings

KOSCHMIEDER = 3.912          # -ln(0.02): visual range = 3.912 / extinction
CLEAR_VISUAL_RANGE_M = 100000.0  # [m] ScenarioRunner's examples' "no fog"

CARLA_WEATHER_BASE: MappingProxyType = MappingProxyType({
    "cloudiness": 0.0, "precipitation": 0.0, "precipitation_deposits": 0.0, "wind_intensity": 5.0,
    "sun_azimuth_angle": 150.0,  # [deg] fixed, so runs differ only by their factors
    "sun_altitude_angle": 60.0,  # [deg]
    "fog_density": 0.0, "fog_distance": 0.0,  # fog_distance [m]: where the fog starts
    "fog_falloff": 0.2, "wetness": 0.0,
})

CARLA_WEATHER_TABLE: MappingProxyType = MappingProxyType({
    # the sun's altitude per light is the factor mapping's SUN_ELEVATION_DEG (the renderer's too)
    **{("light", light): {"sun_altitude_angle": deg} for light, deg in SUN_ELEVATION_DEG.items()},
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

TIME_OF_DAY: MappingProxyType = MappingProxyType({  # light -> local (hour, minute) of the OpenSCENARIO TimeOfDay
    "daylight": (12, 0),
    "dawn_dusk": (19, 30),
    "dark_lighted": (23, 0),
    "dark_unlighted": (23, 0),
})

CLOUD_STATES = ((85.0, "overcast"), (50.0, "cloudy"), (0.0, "free"))
"""[0-100] CARLA cloudiness at or above which an OpenSCENARIO 1.0 CloudState applies (rain, snow: 'rainy';
fog: 'overcast')."""


def carla_weather_fields(factors) -> dict[str, float]:
    """The carla.WeatherParameters fields for a scenario's factors (pure; KeyError for an unknown state)."""
    fields = dict(CARLA_WEATHER_BASE)
    for factor in WEATHER_FACTORS:
        fields.update(CARLA_WEATHER_TABLE[(factor, getattr(factors, factor))])
    return fields


def friction_scale(factors) -> float:
    """Tyre-road friction relative to dry asphalt, mu(surface) / mu(dry) [-]: the OpenSCENARIO
    frictionScaleFactor and the CARLA bridge's wheel tire_friction scale."""

    return friction_mu(factors) / FRICTION_MU["dry"]


@dataclass(frozen=True)
class EnvironmentSettings:
    """The numbers written into the Environment element."""

    hour: int                 # local time of day (TimeOfDay dateTime)
    minute: int
    sun_intensity: float      # [0, 1] 1 - cloudiness / 100 (ScenarioRunner's reading of Sun intensity)
    sun_elevation_rad: float  # [rad] above the horizon (negative below)
    sun_azimuth_rad: float    # [rad]
    cloud_state: str          # OpenSCENARIO 1.0 CloudState: free | cloudy | overcast | rainy | skyOff
    fog_visual_range_m: float  # [m]
    precipitation: str        # dry | rain | snow
    precipitation_intensity: float  # [0, 1]
    friction_scale: float     # RoadCondition frictionScaleFactor (1 = dry asphalt)


def environment_settings(factors) -> EnvironmentSettings:
    """Environment numbers for a scenario's factors (``adsgen.scenario.model.Factors``)."""

    carla = carla_weather_fields(factors)
    hour, minute = TIME_OF_DAY[factors.light]
    wet_sky = factors.weather in ("rain", "snow")
    if wet_sky:
        cloud = "rainy"
    elif factors.weather == "fog":
        cloud = "overcast"  # the sky is hidden
    else:
        cloud = next(name for level, name in CLOUD_STATES if carla["cloudiness"] >= level)
    if carla["precipitation"] > 0:
        precip, intensity = "rain", carla["precipitation"] / 100.0
    elif factors.weather == "snow":  # no snowfall in CARLA; the renderer's snow intensity for other tools
        precip, intensity = "snow", render_settings(factors).snow_intensity
    else:
        precip, intensity = "dry", 0.0
    fog_density = render_settings(factors).fog_density
    fog = KOSCHMIEDER / fog_density if fog_density > 0 else CLEAR_VISUAL_RANGE_M
    return EnvironmentSettings(
        hour=hour, minute=minute, sun_intensity=round(1.0 - carla["cloudiness"] / 100.0, 3),
        sun_elevation_rad=round(math.radians(carla["sun_altitude_angle"]), 4),
        sun_azimuth_rad=round(math.radians(carla["sun_azimuth_angle"]), 4), cloud_state=cloud,
        fog_visual_range_m=round(fog, 1), precipitation=precip, precipitation_intensity=round(intensity, 3),
        friction_scale=round(friction_scale(factors), 3))
