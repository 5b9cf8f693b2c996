"""How light and weather look: the colours and light geometry of each light state, with effect strengths
from the factor mapping (``adsgen.scenario.mapping.render_settings``).

Colours are display RGB in [0, 1] (written to the image as they are, no gamma step); distances in metres.
Visual ranges are meteorological visibility (the distance at which contrast falls to 2 %), i.e. an
extinction coefficient beta = 3.912 / visibility [1/m] (Koschmieder), so a surface at depth d keeps
exp(-beta d) of its colour and takes the rest from the haze colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

KOSCHMIEDER = 3.912  # -ln(0.02): contrast threshold 2 %


@dataclass(frozen=True)
class Appearance:
    """Rendering parameters for one combination of light and weather."""

    sky_top: tuple[float, float, float]       # sky colour at the top of the image
    sky_horizon: tuple[float, float, float]   # sky colour at the horizon
    ambient: float                            # ambient light on every surface (0..1)
    sun: float                                # directional (sun) light strength (0..1)
    sun_elevation_rad: float                  # sun height above the horizon [rad] (negative at night)
    sun_azimuth_rad: float                    # sun heading, counter-clockwise from east [rad]
    visibility_m: float                       # meteorological visual range [m]
    haze: tuple[float, float, float]          # colour surfaces fade to with distance (fog/air light)
    tint: tuple[float, float, float]          # multiplicative colour cast of the whole scene
    rain: float = 0.0                         # rain streak density and darkening (0..1)
    snow: float = 0.0                         # snowflake density (0..1)
    wet_road: float = 0.0                     # darker, glossier asphalt (0..1)
    snow_ground: float = 0.0                  # how white the verge / road surface is (0..1)
    headlights: bool = False                  # vehicles' head and tail lights on; ego headlight cone drawn
    street_lights: bool = False               # street lamps lit (dark_lighted)

    @property
    def extinction_per_m(self) -> float:
        """Koschmieder extinction coefficient [1/m]."""
        return KOSCHMIEDER / self.visibility_m

    @property
    def dark(self) -> bool:
        return self.sun_elevation_rad < 0.0


_LIGHT: dict[str, Appearance] = {
    "daylight": Appearance(sky_top=(0.28, 0.48, 0.85), sky_horizon=(0.70, 0.80, 0.92), ambient=0.45, sun=0.65,
                           sun_elevation_rad=math.radians(55.0), sun_azimuth_rad=math.radians(200.0),
                           visibility_m=3000.0, haze=(0.72, 0.80, 0.90), tint=(1.0, 1.0, 1.0)),
    "dawn_dusk": Appearance(sky_top=(0.25, 0.28, 0.50), sky_horizon=(0.95, 0.60, 0.35), ambient=0.30, sun=0.35,
                            sun_elevation_rad=math.radians(5.0), sun_azimuth_rad=math.radians(270.0),
                            visibility_m=2000.0, haze=(0.75, 0.55, 0.45), tint=(1.0, 0.85, 0.72),
                            headlights=True),
    "dark_lighted": Appearance(sky_top=(0.01, 0.015, 0.04), sky_horizon=(0.06, 0.05, 0.07), ambient=0.05,
                               sun=0.0, sun_elevation_rad=math.radians(-25.0), sun_azimuth_rad=0.0,
                               visibility_m=1500.0, haze=(0.05, 0.045, 0.05), tint=(1.0, 0.92, 0.8),
                               headlights=True, street_lights=True),
    "dark_unlighted": Appearance(sky_top=(0.005, 0.008, 0.02), sky_horizon=(0.02, 0.02, 0.035), ambient=0.02,
                                 sun=0.0, sun_elevation_rad=math.radians(-25.0), sun_azimuth_rad=0.0,
                                 visibility_m=1500.0, haze=(0.01, 0.01, 0.015), tint=(0.9, 0.95, 1.1),
                                 headlights=True),
}


def _mix(a: tuple[float, float, float], b: tuple[float, float, float], w: float) -> tuple[float, float, float]:
    return tuple((1.0 - w) * x + w * y for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def appearance_for(light: str, weather: str, surface: str = "dry") -> Appearance:
    """The rendering parameters of a light x weather x surface combination.

    Effect strengths (sun level, fog density, rain, snow, cloudiness, wet road, which lights are on) come
    from the factor mapping (``adsgen.scenario.mapping.render_settings``), so the image, the agent's sensing
    and the OpenSCENARIO export share one table; this module adds only colours and geometry of light.
    """
    from types import SimpleNamespace

    from adsgen.scenario.mapping import render_settings

    if light not in _LIGHT:
        raise KeyError(f"unknown light {light!r}; expected one of {', '.join(_LIGHT)}")
    rs = render_settings(SimpleNamespace(light=light, weather=weather, surface=surface))  # type: ignore[arg-type]
    base = _LIGHT[light]
    cloud = rs.cloudiness
    level = sum(base.sky_horizon) / 3.0
    grey = (level, level, level)
    haze_level = 0.8 * level + 0.1 if not base.dark else 1.5 * level
    fog_density = max(rs.fog_density, KOSCHMIEDER / base.visibility_m)      # [1/m]
    return replace(
        base,
        sky_top=_mix(base.sky_top, grey, cloud),
        sky_horizon=_mix(base.sky_horizon, grey, cloud),
        haze=_mix(base.haze, (haze_level,) * 3, cloud),
        sun=0.65 * rs.sun_intensity * (1.0 - 0.7 * cloud) if not base.dark else 0.0,
        ambient=0.03 + 0.42 * rs.sun_intensity + (0.08 * cloud if not base.dark else 0.0),
        visibility_m=KOSCHMIEDER / fog_density,
        rain=rs.rain_intensity,
        snow=rs.snow_intensity,
        wet_road=0.8 if rs.wet_road else 0.0,
        snow_ground=max(rs.snow_intensity, 0.6 if surface == "snow_ice" else 0.0),
        headlights=rs.headlights,
        street_lights=rs.street_lights,
    )
