"""The canonical crash variables: the CBN's nodes and the scenario's static factors.

This module is the single source of their names, states (in order) and causal tiers.
Readers map raw crash vocabularies onto these states; the CBN learns over them; a Scenario's
static factors are these variables minus the outcome (``severity``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MPH_TO_MPS = 0.44704
"""[m/s] per [mph] (exact: 1 mile = 1609.344 m)."""
POSTED_STEP_MPH = 5.0
"""[mph] US posted speed limits are multiples of 5 mph: a bin ends half a step above its highest limit."""


@dataclass(frozen=True)
class SpeedLimitBin:
    """One state of ``speed_limit``: the posted limits it holds (the one source of the speed-limit bins)."""

    state: str
    """The canonical state name."""
    posted_mph: tuple[int, ...]
    """[mph] the posted limits in this bin, lowest first (synthetic tables write these)."""
    scenario_mph: int
    """[mph] the posted limit a generated scenario drives at."""

    @property
    def upper_mph(self) -> float:
        """[mph] the largest raw figure read as this bin (inf for the top bin)."""
        return math.inf if self is SPEED_LIMIT_BINS[-1] else self.posted_mph[-1] + POSTED_STEP_MPH / 2

    @property
    def scenario_mps(self) -> float:
        """[m/s] the scenario's posted limit, to the centimetre per second as seeds are written."""
        return round(self.scenario_mph * MPH_TO_MPS, 2)


SPEED_LIMIT_BINS: tuple[SpeedLimitBin, ...] = (
    SpeedLimitBin("low", (15, 20, 25), 25),
    SpeedLimitBin("mid", (30, 35, 40), 35),
    SpeedLimitBin("high", (45, 50, 55, 65), 55),
)


@dataclass(frozen=True)
class Variable:
    """One canonical categorical variable."""

    name: str
    """Column name in canonical tables and node name in the CBN."""
    tier: int
    """Causal tier: structure learning allows no edge from a later tier to an earlier one."""
    states: tuple[str, ...]
    """All states, in canonical order. Missing values are NaN, never a state."""
    description: str
    """What the variable means, with units where it has them."""


VARIABLES: tuple[Variable, ...] = (
    Variable("light", 0, ("daylight", "dawn_dusk", "dark_lighted", "dark_unlighted"),
             "Light condition at the crash site."),
    Variable("weather", 0, ("clear", "cloudy", "rain", "snow", "fog"),
             "Weather at the time of the crash."),
    Variable("surface", 1, ("dry", "wet", "snow_ice"),
             "Road surface condition."),
    Variable("road_layout", 1, ("straight", "curve", "intersection", "t_junction", "ramp"),
             "Road geometry where the crash happened."),
    Variable("traffic_control", 1, ("none", "signal", "stop_sign"),
             "Traffic control device governing the ego's approach."),
    Variable("speed_limit", 1, tuple(b.state for b in SPEED_LIMIT_BINS),
             f"Posted speed limit: low <= {SPEED_LIMIT_BINS[0].posted_mph[-1]} mph, "
             f"mid {SPEED_LIMIT_BINS[1].posted_mph[0]}-{SPEED_LIMIT_BINS[1].posted_mph[-1]} mph, "
             f"high >= {SPEED_LIMIT_BINS[2].posted_mph[0]} mph."),
    Variable("other_movement", 2,
             ("straight", "slowing_stopped", "turning_left", "turning_right", "changing_lanes"),
             "Movement of the other party (the adversary) just before the crash."),
    Variable("driver_impaired", 2, ("no", "distracted", "substance"),
             "Impairment of the other party's driver."),
    Variable("collision_type", 3,
             ("rear_end", "angle", "left_turn", "head_on", "sideswipe", "pedestrian", "single_vehicle"),
             "Manner of collision."),
    Variable("severity", 4, ("property_damage", "injury", "fatal"),
             "Crash severity, from the crash's report type."),
)

NAMES: tuple[str, ...] = tuple(v.name for v in VARIABLES)
STATES: dict[str, tuple[str, ...]] = {v.name: v.states for v in VARIABLES}
TIERS: dict[str, int] = {v.name: v.tier for v in VARIABLES}
OUTCOME = "severity"
"""The outcome variable: its risk is what the search maximises."""
FACTORS: tuple[str, ...] = tuple(n for n in NAMES if n != OUTCOME)
"""Static factors of a Scenario: every canonical variable but the outcome."""

SPEED_LIMIT_MPS: dict[str, float] = {b.state: b.scenario_mps for b in SPEED_LIMIT_BINS}
"""[m/s] per speed_limit state: the posted limit a generated scenario drives at (25, 35, 55 mph)."""


def speed_limit_state(mph: float | None) -> str | None:
    """Canonical speed_limit state of a posted limit in mph (None for 0 / not a limit)."""
    if mph is None or mph != mph or mph <= 0:  # NaN-safe
        return None
    return next(b.state for b in SPEED_LIMIT_BINS if mph <= b.upper_mph)
