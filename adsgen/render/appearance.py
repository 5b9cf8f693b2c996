"""How light and weather look: the colours and sun direction of each light state; every effect strength
(sun level, fog density, rain, snow, clouds, wet road, which lights are on) comes from the factor mapping
(``adsgen.scenario.mapping.render_settings``) and is only turned into light levels here.

Colours are display RGB in [0, 1] (written to the image as they are, no gamma step); distances in metres.
Visual ranges are meteorological visibility (the distance at which contrast falls to 2 %), i.e. an
extinction coefficient beta = 3.912 / visibility [1/m] (Koschmieder), so a surface at depth d keeps
exp(-beta d) of its colour and takes the rest from the haze colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

from adsgen.scenario.mapping import SUN_ELEVATION_DEG, render_settings

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


@dataclass(frozen=True)
class _Palette:
    """Colours and sun geometry of one light state (strengths come from the factor mapping)."""

    sky_top: tuple[float, float, float]
    sky_horizon: tuple[float, float, float]
    haze: tuple[float, float, float]
    tint: tuple[float, float, float]
    sun_azimuth_rad: float
    clear_air_visibility_m: float   # [m] aerial perspective without fog (the mapping's fog adds to it)


_PALETTE: dict[str, _Palette] = {
    "daylight": _Palette(sky_top=(0.28, 0.48, 0.85), sky_horizon=(0.70, 0.80, 0.92), haze=(0.72, 0.80, 0.90),
                         tint=(1.0, 1.0, 1.0), sun_azimuth_rad=math.radians(200.0), clear_air_visibility_m=3000.0),
    "dawn_dusk": _Palette(sky_top=(0.25, 0.28, 0.50), sky_horizon=(0.95, 0.60, 0.35), haze=(0.75, 0.55, 0.45),
                          tint=(1.0, 0.85, 0.72), sun_azimuth_rad=math.radians(270.0), clear_air_visibility_m=2000.0),
    "dark_lighted": _Palette(sky_top=(0.01, 0.015, 0.04), sky_horizon=(0.06, 0.05, 0.07), haze=(0.05, 0.045, 0.05),
                             tint=(1.0, 0.92, 0.8), sun_azimuth_rad=0.0,
                             clear_air_visibility_m=1500.0),
    "dark_unlighted": _Palette(sky_top=(0.005, 0.008, 0.02), sky_horizon=(0.02, 0.02, 0.035),
                               haze=(0.01, 0.01, 0.015), tint=(0.9, 0.95, 1.1),
                               sun_azimuth_rad=0.0,
                               clear_air_visibility_m=1500.0),
}

# How the mapping's strengths become light levels (0..1 of the albedo)
SUN_DIRECT = 0.65        # directional sunlight at sun_intensity 1, before clouds
CLOUD_SUN_LOSS = 0.7     # fraction of direct sun a full overcast (cloudiness 1) takes away
AMBIENT_FLOOR = 0.03     # ambient light with no sun at all (sky glow)
AMBIENT_PER_SUN = 0.42   # ambient light added per unit of sun_intensity
CLOUD_AMBIENT = 0.08     # extra diffuse light of a cloud layer (daytime), per unit of cloudiness
WET_ROAD = 0.8           # darkening / sheen of wet asphalt
GROUND_BOUNCE = 0.25     # share of the light on the road that it reflects onto faces looking sideways / down
SKY_GLOSS = 0.12         # share of the sky's colour a painted or glass face mirrors (clearcoat, windows)


def _mix(a: tuple[float, float, float], b: tuple[float, float, float], w: float) -> tuple[float, float, float]:
    return tuple((1.0 - w) * x + w * y for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def appearance_for(light: str, weather: str, surface: str = "dry") -> Appearance:
    """The rendering parameters of a light x weather x surface combination.

    Effect strengths (sun level, fog density, rain, snow, cloudiness, wet road, snow cover, which lights are
    on) come from the factor mapping (``adsgen.scenario.mapping.render_settings``), so the image, the CARLA
    bridge and the OpenSCENARIO export share one table; this module adds only colours and the sun's direction.
    """

    if light not in _PALETTE:
        raise KeyError(f"unknown light {light!r}; expected one of {', '.join(_PALETTE)}")
    rs = render_settings(SimpleNamespace(light=light, weather=weather, surface=surface))  # type: ignore[arg-type]
    pal = _PALETTE[light]
    elevation_rad = math.radians(SUN_ELEVATION_DEG[light])
    dark = elevation_rad < 0.0
    cloud = rs.cloudiness
    level = sum(pal.sky_horizon) / 3.0
    haze_level = 1.5 * level if dark else 0.8 * level + 0.1
    extinction = max(rs.fog_density, KOSCHMIEDER / pal.clear_air_visibility_m)      # [1/m]
    return Appearance(
        sky_top=_mix(pal.sky_top, (level,) * 3, cloud),
        sky_horizon=_mix(pal.sky_horizon, (level,) * 3, cloud),
        ambient=AMBIENT_FLOOR + AMBIENT_PER_SUN * rs.sun_intensity + (0.0 if dark else CLOUD_AMBIENT * cloud),
        sun=0.0 if dark else SUN_DIRECT * rs.sun_intensity * (1.0 - CLOUD_SUN_LOSS * cloud),
        sun_elevation_rad=elevation_rad,
        sun_azimuth_rad=pal.sun_azimuth_rad,
        visibility_m=KOSCHMIEDER / extinction,
        haze=_mix(pal.haze, (haze_level,) * 3, cloud),
        tint=pal.tint,
        rain=rs.rain_intensity,
        snow=rs.snow_intensity,
        wet_road=WET_ROAD if rs.wet_road else 0.0,
        snow_ground=rs.snow_cover,
        headlights=rs.headlights,
        street_lights=rs.street_lights,
    )
