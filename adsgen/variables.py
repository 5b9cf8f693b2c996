"""The canonical crash variables: the CBN's nodes and the scenario's static factors.

This module is the single source of their names, states (in order) and causal tiers.
Readers map raw crash vocabularies onto these states; the CBN learns over them; a Scenario's
static factors are these variables minus the outcome (``severity``).
"""

from __future__ import annotations

from dataclasses import dataclass


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
    Variable("speed_limit", 1, ("low", "mid", "high"),
             "Posted speed limit: low <= 25 mph, mid 30-40 mph, high >= 45 mph."),
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

BY_NAME: dict[str, Variable] = {v.name: v for v in VARIABLES}
NAMES: tuple[str, ...] = tuple(v.name for v in VARIABLES)
STATES: dict[str, tuple[str, ...]] = {v.name: v.states for v in VARIABLES}
TIERS: dict[str, int] = {v.name: v.tier for v in VARIABLES}
OUTCOME = "severity"
"""The outcome variable: its risk is what the search maximises."""
FACTORS: tuple[str, ...] = tuple(n for n in NAMES if n != OUTCOME)
"""Static factors of a Scenario: every canonical variable but the outcome."""

# speed-limit bins in mph, used by readers (raw integers) and by the scenario mapping (speeds)
SPEED_LIMIT_BINS_MPH: dict[str, tuple[float, float]] = {
    "low": (0.0, 25.0),
    "mid": (30.0, 40.0),
    "high": (45.0, 85.0),
}


def speed_limit_state(mph: float) -> str | None:
    """Canonical speed_limit state of a posted limit in mph (None for 0 / not a limit)."""
    if mph is None or mph != mph or mph <= 0:  # NaN-safe
        return None
    if mph <= 27.5:
        return "low"
    if mph <= 42.5:
        return "mid"
    return "high"
