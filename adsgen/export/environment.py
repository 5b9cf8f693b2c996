"""Scenario factors -> the OpenSCENARIO 1.0 Environment (time of day, sun, fog, precipitation, friction).

Every figure comes from the one factor mapping (``adsgen.scenario.mapping``): fog visual range from the
render settings' fog density (Koschmieder, 3.912 / density), precipitation from its rain / snow intensity,
cloud state from its cloudiness, friction scale = mu(surface) / mu(dry). Time of day and sun position are
chosen per light state; ScenarioRunner turns Sun elevation / azimuth (radians) into CARLA's sun angles,
Fog visualRange into fog distance, Precipitation intensity into precipitation, cloudState into cloudiness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

KOSCHMIEDER = 3.912          # -ln(0.02): visual range = 3.912 / extinction
CLEAR_VISUAL_RANGE_M = 100000.0  # [m] ScenarioRunner's examples' "no fog"


@dataclass(frozen=True)
class EnvironmentSettings:
    """The numbers written into the Environment element."""

    hour: int                 # local time of day (TimeOfDay dateTime)
    minute: int
    sun_intensity: float      # [0, 1]
    sun_elevation_rad: float  # [rad] above the horizon (negative below)
    sun_azimuth_rad: float    # [rad]
    cloud_state: str          # OpenSCENARIO 1.0 CloudState: free | cloudy | overcast | rainy | skyOff
    fog_visual_range_m: float  # [m]
    precipitation: str        # dry | rain | snow
    precipitation_intensity: float  # [0, 1]
    friction_scale: float     # RoadCondition frictionScaleFactor (1 = dry asphalt)


_TIME_OF_DAY = {  # light -> (hour, minute, sun elevation [deg])
    "daylight": (12, 0, 60.0),
    "dawn_dusk": (19, 30, 4.0),
    "dark_lighted": (23, 0, -30.0),
    "dark_unlighted": (23, 0, -30.0),
}


def environment_settings(factors) -> EnvironmentSettings:
    """Environment numbers for a scenario's factors (``adsgen.scenario.model.Factors``)."""
    from adsgen.scenario.mapping import FRICTION_MU, friction_mu, render_settings

    rs = render_settings(factors)
    hour, minute, elev_deg = _TIME_OF_DAY[factors.light]
    if rs.cloudiness >= 0.85:
        cloud = "rainy" if factors.weather in ("rain", "snow") else "overcast"
    elif rs.cloudiness >= 0.5:
        cloud = "cloudy" if factors.weather != "fog" else "overcast"
    else:
        cloud = "free"
    if rs.rain_intensity > 0:
        precip, intensity = "rain", rs.rain_intensity
    elif rs.snow_intensity > 0:
        precip, intensity = "snow", rs.snow_intensity
    else:
        precip, intensity = "dry", 0.0
    fog = KOSCHMIEDER / rs.fog_density if rs.fog_density > 0 else CLEAR_VISUAL_RANGE_M
    return EnvironmentSettings(
        hour=hour, minute=minute, sun_intensity=round(rs.sun_intensity, 3),
        sun_elevation_rad=round(math.radians(elev_deg), 4), sun_azimuth_rad=0.0, cloud_state=cloud,
        fog_visual_range_m=round(fog, 1), precipitation=precip, precipitation_intensity=round(intensity, 3),
        friction_scale=round(friction_mu(factors) / FRICTION_MU["dry"], 3))
