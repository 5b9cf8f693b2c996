"""The one mapping from CBN factors to simulation parameters (with units), and seed instantiation.

Every backend, agent and renderer reads factor effects from here: the sensing model (light, weather),
render settings (light, weather), tyre-road friction (surface), the road template (road_layout), signals
and stop lines (traffic_control), speeds (speed_limit), the adversary's manoeuvre (other_movement,
collision_type) and its reaction time, rule-breaking and lane keeping (driver_impaired).

Sources for the numbers (engineering values, not fitted here):
* friction: peak tyre-road coefficients of about 0.8-0.9 on dry asphalt, 0.5-0.6 wet, 0.2-0.3 packed snow
  and 0.1-0.2 ice (Wong, *Theory of Ground Vehicles*, 4th ed., table 1.3; Bosch *Automotive Handbook*).
* sensing range: low-beam headlamps light the road to about 50-60 m, high beams to about 100-120 m
  (NHTSA/UMTRI headlamp studies); daylight camera/lidar perception stacks track cars at 150 m or more;
  fog with 'dense fog' visibility (< 200 m, WMO) and heavy precipitation cut ranges further.
* miss rates and latency: typical per-frame detection miss rates of production-grade perception of a few
  per cent in daylight, several times more at night and in precipitation; 100-150 ms perception latency.
* reaction: a driver's perception-reaction time is about 1-1.5 s (AASHTO uses 2.5 s for design);
  phone distraction adds about 0.5 s or more; alcohol adds more and raises rule violations.
* lane keeping: the standard deviation of lateral position (SDLP, "weaving") of the standardised on-road
  driving test is about 0.2 m sober and rises with blood alcohol, by 2.4 cm at 0.05 % and more with dose
  (Verster & Roth 2011, "Standard operation procedures for conducting the on-the-road driving test, and
  measurement of the SDLP", Int. J. Gen. Med. 4:359-371; Mets et al. 2011, "Effects of alcohol on highway
  driving in the STISIM driving simulator", Hum. Psychopharmacol.). The simulated sober driver holds its lane centre exactly (its sober wander is left out, as the
  reference's lane-wander band is zero for it), so an impaired driver's whole weave is modelled: a sinusoid
  of amplitude sqrt(2) x SDLP, substance SDLP 0.25 m (the sober 0.2 m plus a dose beyond 0.1 %), distracted
  0.18 m (an engineering value: drifting within the lane while looking away), period 6 s (an engineering
  value). Both stay inside the lane: the at-fault rule's lane departure needs 0.8 m in a 3.5 m lane.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from adsgen.errors import InputError
from adsgen.scenario.messages import validation_message
from adsgen.scenario.model import Factors, RoadSpec, Scenario, Seed
from adsgen.scenario.roads import arrival_conflict
from adsgen.variables import SPEED_LIMIT_MPS, STATES

G_MPS2 = 9.81  # [m/s2] gravity

# ------------------------------------------------------------------------------------------ friction
FRICTION_MU: dict[str, float] = {  # peak tyre-road friction coefficient [-]
    "dry": 0.85,
    "wet": 0.55,
    "snow_ice": 0.20,
}


def friction_mu(factors: Factors) -> float:
    """Tyre-road friction coefficient for the surface [-]."""
    return FRICTION_MU[factors.surface]


# ------------------------------------------------------------------------------------------- sensing
@dataclass(frozen=True)
class SensingParams:
    """What the agent's sensors can see, set by light and weather."""

    detection_range_m: float  # [m] objects beyond are not detected
    miss_rate: float          # [-] probability that one frame misses a visible object
    latency_s: float          # [s] age of the perceived object states


LIGHT_RANGE_M = {"daylight": 150.0, "dawn_dusk": 110.0, "dark_lighted": 80.0, "dark_unlighted": 50.0}
WEATHER_RANGE_FACTOR = {"clear": 1.0, "cloudy": 0.95, "rain": 0.7, "snow": 0.55, "fog": 0.35}
LIGHT_MISS = {"daylight": 0.02, "dawn_dusk": 0.05, "dark_lighted": 0.08, "dark_unlighted": 0.15}
WEATHER_MISS = {"clear": 0.0, "cloudy": 0.01, "rain": 0.08, "snow": 0.12, "fog": 0.15}
LIGHT_LATENCY_S = {"daylight": 0.10, "dawn_dusk": 0.10, "dark_lighted": 0.12, "dark_unlighted": 0.15}
WEATHER_LATENCY_S = {"clear": 0.0, "cloudy": 0.0, "rain": 0.02, "snow": 0.03, "fog": 0.03}


def sensing(factors: Factors) -> SensingParams:
    """The sensing model for light and weather (documented in docs/simulation.md)."""
    return SensingParams(
        detection_range_m=LIGHT_RANGE_M[factors.light] * WEATHER_RANGE_FACTOR[factors.weather],
        miss_rate=min(0.9, LIGHT_MISS[factors.light] + WEATHER_MISS[factors.weather]),
        latency_s=LIGHT_LATENCY_S[factors.light] + WEATHER_LATENCY_S[factors.weather],
    )


# ------------------------------------------------------------------------------------------ rendering
@dataclass(frozen=True)
class RenderSettings:
    """How strongly light and weather show in an image (all in [0, 1] unless stated).

    The one table of these strengths: the renderer (``adsgen.render.appearance`` adds only colours and the
    sun's direction), the CARLA bridge (street lights, headlights) and the OpenSCENARIO export (fog visual
    range, precipitation, clouds, sun intensity) all read it.
    """

    sun_intensity: float      # daylight level: 1 = clear noon, ~0 = unlit night
    street_lights: bool       # lamps along the road
    headlights: bool          # vehicles' headlights on
    fog_density: float        # [1/m] exponential fog density (Koschmieder extinction; 0 = no fog)
    rain_intensity: float     # streaks / wet-road sheen
    snow_intensity: float     # flakes
    cloudiness: float         # sky grey level
    wet_road: bool            # reflective road surface
    snow_cover: float = 0.0   # how white the ground is (falling snow or a snow / ice surface)


SUN_LEVEL = {"daylight": 1.0, "dawn_dusk": 0.45, "dark_lighted": 0.08, "dark_unlighted": 0.02}  # [-] per light
SUN_ELEVATION_DEG = {  # [deg] above the horizon per light: the renderer's sun, OpenSCENARIO's and CARLA's
    "daylight": 60.0, "dawn_dusk": 4.0,  # dawn/dusk: on the horizon, glare and long shadows
    "dark_lighted": -30.0, "dark_unlighted": -60.0,
}
OVERCAST_SUN = 0.75           # [-] sun level multiplier under cloud, rain, snow or fog
FOG_DENSITY_PER_M = {"clear": 0.0, "cloudy": 0.0, "rain": 0.004, "snow": 0.008, "fog": 0.03}  # [1/m]
CLOUDINESS = {"clear": 0.0, "cloudy": 0.7, "rain": 0.9, "snow": 0.8, "fog": 0.6}  # [-]
PRECIPITATION = 0.8           # [-] rain / snow intensity when it rains / snows
SNOW_ICE_COVER = 0.6          # [-] ground whiteness of a snow_ice surface without falling snow


def render_settings(factors: Factors) -> RenderSettings:
    """Strengths of the light and weather effects for the factors (light, weather, surface)."""
    light, weather, surface = factors.light, factors.weather, factors.surface
    snow = PRECIPITATION if weather == "snow" else 0.0
    return RenderSettings(
        sun_intensity=SUN_LEVEL[light] * (1.0 if weather == "clear" else OVERCAST_SUN),
        street_lights=light == "dark_lighted",
        headlights=light != "daylight" or weather in ("rain", "snow", "fog"),
        fog_density=FOG_DENSITY_PER_M[weather],
        rain_intensity=PRECIPITATION if weather == "rain" else 0.0,
        snow_intensity=snow,
        cloudiness=CLOUDINESS[weather],
        wet_road=surface == "wet" or weather == "rain",
        snow_cover=max(snow, SNOW_ICE_COVER if surface == "snow_ice" else 0.0),
    )


# --------------------------------------------------------------------------------------- road, speeds
ROAD_TEMPLATE: dict[str, str] = {  # road_layout -> road template name (adsgen.scenario.roads)
    "straight": "straight", "curve": "curve", "intersection": "intersection",
    "t_junction": "t_junction", "ramp": "ramp",
}


def speed_limit_mps(factors: Factors) -> float:
    """[m/s] the posted limit a scenario with these factors drives at (adsgen.variables.SPEED_LIMIT_BINS)."""
    return SPEED_LIMIT_MPS[factors.speed_limit]


def has_stop_control(factors: Factors) -> bool:
    """Whether the ego's approach has a stop line (signal or stop sign) where the template has one."""
    return factors.traffic_control != "none"


# ----------------------------------------------------------------------------------------- adversary
@dataclass(frozen=True)
class AdversaryProfile:
    """How impairment changes the adversary."""

    extra_reaction_s: float     # [s] added delay before it starts its manoeuvre
    runs_controls: bool         # ignores red lights and stop signs
    lateral_duration_scale: float  # [-] multiplies lane-change / drift durations (abrupter when < 1)
    notices_at_ttc_s: float | None  # [s] a red-light runner brakes (at its decel_mps2) once its constant-velocity
    #                                 TTC with the ego falls below this (late braking); None: it never brakes
    weave_amp_m: float          # [m] lane keeping: amplitude of its sinusoidal weave about its lane centre (sqrt(2) x SDLP)
    weave_period_s: float       # [s] period of that weave


WEAVE_PERIOD_S = 6.0  # [s] period of an impaired driver's weave (an engineering value, see the module docstring)

ADVERSARY: dict[str, AdversaryProfile] = {
    "no": AdversaryProfile(0.0, False, 1.0, None, 0.0, WEAVE_PERIOD_S),  # does not run controls, holds its lane centre
    "distracted": AdversaryProfile(0.5, True, 0.8, 1.0, round(2**0.5 * 0.18, 3), WEAVE_PERIOD_S),  # looks up late:
    #                                                                      brakes at TTC 1 s; SDLP 0.18 m
    "substance": AdversaryProfile(1.0, True, 0.6, None, round(2**0.5 * 0.25, 3), WEAVE_PERIOD_S),  # never brakes;
    #                                                                      SDLP 0.25 m
}

MANOEUVRE_FOR: dict[tuple[str, str], str] = {  # (other_movement, collision_type) -> manoeuvre; '*' = any
    ("slowing_stopped", "*"): "brake_hard",
    ("turning_left", "*"): "turn_left_across",
    ("turning_right", "*"): "keep",
    ("changing_lanes", "rear_end"): "cut_in_brake",  # cuts in ahead, then brakes: the conflict is a rear-end
    ("changing_lanes", "*"): "cut_in",  # sideswipe (and the rest): the lateral move into the ego is the conflict
    ("straight", "head_on"): "head_on_drift",
    ("straight", "pedestrian"): "cross_road",
    ("straight", "*"): "keep",
}


LATERAL_MANOEUVRES = ("cut_in", "cut_in_brake", "head_on_drift")
"""Manoeuvres whose lateral move takes duration_s (impairment makes it abrupter)."""


def adversary_manoeuvre(factors: Factors) -> str:
    """The adversary's manoeuvre for the factors (``run_red_light`` when a rule-breaking driver goes
    straight through a signal or stop sign)."""
    m = MANOEUVRE_FOR.get((factors.other_movement, factors.collision_type)) or \
        MANOEUVRE_FOR[(factors.other_movement, "*")]
    if m == "keep" and factors.traffic_control != "none" and ADVERSARY[factors.driver_impaired].runs_controls \
            and factors.road_layout in ("intersection", "t_junction"):
        return "run_red_light"
    return m


def adversary_index(scenario: Scenario) -> int | None:
    """The actor the manoeuvre mapping applies to: the first actor that is not parked ('stopped')."""
    for i, a in enumerate(scenario.actors):
        if a.manoeuvre.type != "stopped":
            return i
    return None


def world_effects(factors: Factors) -> tuple:
    """What the factors do to the simulated world beyond the compiled scenario (which already holds the road,
    speeds, the adversary's manoeuvre and impairment): friction, the sensing model and traffic control.
    Two factor combinations with equal effects and equal compiled scenarios are the same world."""
    return (friction_mu(factors), sensing(factors), factors.traffic_control)


def world_key(scenario: Scenario, reference_factors: Factors) -> tuple:
    """The identity of a compiled scenario's simulated world: its factors' effects (world_effects) and its
    content with the factors replaced by ``reference_factors`` (so factor labels without effect do not count)."""
    return (world_effects(scenario.factors),
            scenario.model_copy(update={"factors": reference_factors}).content_hash())


def acting_states(seed: Seed, factor: str) -> dict[str, tuple]:
    """World key of the seed's nominal scenario with ``factor`` set to each state its contract allows (the
    other factors nominal; states that cannot be instantiated there are left out)."""

    nominal = seed.scenario.factors
    out = {}
    for state in seed.contract.get(factor, STATES[factor]):
        try:
            sc = instantiate(seed, {factor: state})
        except InputError:
            continue
        out[state] = world_key(sc, nominal)
    return out


def factor_acts(seed: Seed, factor: str) -> bool:
    """Whether changing ``factor``'s state changes the seed's simulated world."""
    return len(set(acting_states(seed, factor).values())) > 1


def check_descriptive(seed: Seed, source: str) -> None:
    """InputError when a factor the seed declares descriptive changes its simulated world."""
    for factor in seed.descriptive:
        keys = acting_states(seed, factor)
        if len(set(keys.values())) > 1:
            raise InputError(f"{source}: descriptive: factor {factor!r} is declared descriptive but changes the "
                             f"simulated world (states {', '.join(keys)}); remove it from 'descriptive'")


# --------------------------------------------------------------------------------------- instantiate
def _set_path(data: dict[str, Any], path: str, value: float, source: str) -> None:
    """Set a numeric field addressed by a ParamRange path; actors are addressed by id."""
    parts = path.split(".")
    node: Any = data
    i = 0
    try:
        while i < len(parts) - 1:
            if parts[i] == "actors":
                node = next(a for a in node["actors"] if a["id"] == parts[i + 1])
                i += 2
                continue
            if node.get(parts[i]) is None:
                raise KeyError(parts[i])
            node = node[parts[i]]
            i += 1
        leaf = parts[-1]
        if i != len(parts) - 1 or not isinstance(node.get(leaf), int | float) or isinstance(node.get(leaf), bool):
            raise KeyError(leaf)
        node[leaf] = float(value)
    except (KeyError, StopIteration, AttributeError, TypeError, IndexError):
        raise InputError(f"{source}: parameter path {path!r} does not name a numeric field of the scenario "
                         "(expected e.g. 'ego.speed_mps' or 'actors.<id>.manoeuvre.trigger.value')") from None


def _is_vehicle_speed(seed: Seed, path: str) -> bool:
    """Whether a ParamRange path is a vehicle's speed (ego or a car/truck), which scales with the limit."""
    parts = path.split(".")
    if parts[-1] != "speed_mps":
        return False
    if parts[0] == "ego":
        return True
    if parts[0] == "actors" and len(parts) == 3:
        return any(a.id == parts[1] and a.kind != "pedestrian" for a in seed.scenario.actors)
    return False


EGO_OVER_LIMIT_MAX = 1.5
"""Largest ratio of the ego's set speed to the posted limit the optional speeding setting allows."""


def _contract_factors(seed: Seed, factors: Factors | dict[str, str]) -> Factors:
    """The factors (a dict overrides the seed's), refused when one is outside the seed's contract."""
    if isinstance(factors, dict):
        merged = {**seed.scenario.factors.model_dump(), **factors}
        try:
            factors = Factors.model_validate(merged)
        except ValidationError as exc:
            raise InputError(validation_message(exc, f"seed {seed.name}", ("factors",))) from None
    for var, allowed in seed.contract.items():
        if getattr(factors, var) not in allowed:
            raise InputError(f"seed {seed.name}: factor {var}={getattr(factors, var)!r} is outside its contract "
                             f"(allowed: {', '.join(allowed)})")
    return factors


def _adversary_manoeuvre_for(seed: Seed, adv: int, factors: Factors) -> str:
    """The manoeuvre the factors give the seed's adversary; refused when that actor cannot perform it."""
    mapped = adversary_manoeuvre(factors)
    vehicle = seed.scenario.actors[adv].kind != "pedestrian"
    if (mapped == "cross_road") != (not vehicle):
        raise InputError(f"seed {seed.name}: factors map to manoeuvre {mapped!r}, which its adversary "
                         f"({seed.scenario.actors[adv].kind}) cannot perform")
    return mapped


def _impair(m: dict[str, Any], prof: AdversaryProfile, ego_speed_mps: float) -> None:
    """Apply an impairment profile to a driver's manoeuvre (a dumped dict): abrupter lateral moves and a
    later reaction, whatever kind of trigger fires it. (Its lane keeping is set for every manoeuvre, by
    instantiate.)"""
    if m["type"] in LATERAL_MANOEUVRES:
        m["duration_s"] = round(m["duration_s"] * prof.lateral_duration_scale, 3)
    trig = m.get("trigger")
    if trig is not None and prof.extra_reaction_s > 0:
        if trig["kind"] == "time":
            trig["value"] = trig["value"] + prof.extra_reaction_s
        elif trig["kind"] == "ego_distance":
            trig["value"] = max(0.0, trig["value"] - ego_speed_mps * prof.extra_reaction_s)
        else:  # ego_ttc, ego_arrival: seconds before the conflict, the delay comes off them
            trig["value"] = max(0.0, round(trig["value"] - prof.extra_reaction_s, 3))


def _scale_arrival_gap(data: dict[str, Any], ratio: float, source: str) -> None:
    """Time-to-arrival triggers (``ego_arrival``) are seconds and need no scaling, but the ego must start as
    long before the conflict point at every limit, or at a higher limit it would start inside the trigger's
    window: the ego's start gap to the first such actor's conflict point scales with the limit like the speeds
    (kept at 0 or beyond, the route's start). Nothing changes at the seed's nominal limit (ratio 1)."""
    if ratio == 1.0:
        return
    ego = data["ego"]
    for i, a in enumerate(data["actors"]):
        trig = a["manoeuvre"].get("trigger")
        if trig is None or trig["kind"] != "ego_arrival":
            continue
        c = arrival_conflict(RoadSpec.model_validate(data["road"]), ego["route"], a["route"],
                             f"{source}: actors[{i}].manoeuvre.trigger")
        ego["start_s_m"] = round(max(0.0, c.ego_s_m - (c.ego_s_m - ego["start_s_m"]) * ratio), 3)
        return


def instantiate(seed: Seed, factors: Factors | dict[str, str], params: dict[str, float] | None = None,
                name: str | None = None, *, ego_over_limit: float = 1.0) -> Scenario:
    """A concrete Scenario from a seed, a factor combination its contract allows, and dynamic parameter
    values (ParamRange paths -> values; unlisted ones keep the seed's nominal values).

    Order: factors -> the ego's speed set to the posted limit, other vehicles' speeds scaled to it ->
    adversary manoeuvre -> params -> impairment
    (reaction delay, abrupter lateral moves). Raises InputError when a factor is outside the contract.
    Vehicle speed parameters (``actors.<car>.speed_mps``) are ranges at the seed's nominal speed limit and
    scale with the speed_limit factor like the nominal speeds do; the ego's speed is not a parameter.
    Distance triggers (``ego_distance``) scale with the limit too, so they fire at about the same time-to-arrival;
    time-to-arrival triggers (``ego_arrival``, seconds) fire at exactly the same one, and the ego's start gap to
    their conflict point scales with the limit so that the ego starts outside the trigger's window.
    ``ego_over_limit`` (off: 1.0) is the optional speeding setting: the ego's set speed is that multiple of
    the posted limit (1.0 to EGO_OVER_LIMIT_MAX), for studies of a speeding system only.
    """
    factors = _contract_factors(seed, factors)
    data = seed.scenario.model_dump(mode="json")
    data["factors"] = factors.model_dump()
    data["seed"] = seed.name
    data["road"]["template"] = ROAD_TEMPLATE[factors.road_layout]
    renames = seed.routes_by_template.get(data["road"]["template"], {})
    for part in (data["ego"], *data["actors"]):
        part["route"] = renames.get(part["route"], part["route"])
    # the ego's set speed is the posted limit (the system's choice, never the search's); the other
    # vehicles' speeds follow the limit
    ratio = SPEED_LIMIT_MPS[factors.speed_limit] / SPEED_LIMIT_MPS[seed.scenario.factors.speed_limit]
    if not 1.0 <= ego_over_limit <= EGO_OVER_LIMIT_MAX:
        raise InputError(f"ego_over_limit {ego_over_limit}: expected 1.0 (the posted limit) to {EGO_OVER_LIMIT_MAX}")
    data["ego"]["speed_mps"] = round(SPEED_LIMIT_MPS[factors.speed_limit] * ego_over_limit, 3)
    for a in data["actors"]:
        if a["kind"] != "pedestrian":
            a["speed_mps"] = round(a["speed_mps"] * ratio, 3)
    adv = adversary_index(seed.scenario)
    if adv is not None:
        m = data["actors"][adv]["manoeuvre"]
        m["type"] = _adversary_manoeuvre_for(seed, adv, factors)
        if m["type"] == "run_red_light":  # when (and whether) the runner notices the ego and brakes: its impairment
            notice = ADVERSARY[factors.driver_impaired].notices_at_ttc_s
            m["trigger"] = None if notice is None else {"kind": "ego_ttc", "value": notice}
    for path, value in (params or {}).items():
        if _is_vehicle_speed(seed, path):  # ranges are given at the seed's nominal limit: follow the factor
            value = value * ratio
        _set_path(data, path, value, f"seed {seed.name}")
    # distance triggers are given at the seed's nominal limit: scaled like the speeds, the adversary starts
    # at the same time-to-arrival of the ego whatever the limit (so speed does not decide whether it happens)
    for a in data["actors"]:
        trig = a["manoeuvre"].get("trigger")
        if trig is not None and trig["kind"] == "ego_distance":
            trig["value"] = round(trig["value"] * ratio, 3)
    _scale_arrival_gap(data, ratio, f"seed {seed.name}")
    # impairment acts on the other DRIVER only (never on a pedestrian), and only on what its manoeuvre uses
    if adv is not None and data["actors"][adv]["kind"] != "pedestrian":
        prof, m = ADVERSARY[factors.driver_impaired], data["actors"][adv]["manoeuvre"]
        m["weave_amp_m"], m["weave_period_s"] = prof.weave_amp_m, prof.weave_period_s  # its lane keeping
        if m["type"] != "run_red_light":  # (the runner's braking is set above)
            _impair(m, prof, data["ego"]["speed_mps"])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(validation_message(exc, f"seed {seed.name} with parameters {params or {}}")) from None
    return scenario.model_copy(update={"name": name or f"{seed.name}:{scenario.content_hash()[:10]}"})


__all__ = ["G_MPS2", "FRICTION_MU", "friction_mu", "SensingParams", "sensing", "RenderSettings",
           "render_settings", "ROAD_TEMPLATE", "SPEED_LIMIT_MPS", "speed_limit_mps", "has_stop_control",
           "AdversaryProfile", "ADVERSARY", "WEAVE_PERIOD_S", "world_effects", "world_key", "EGO_OVER_LIMIT_MAX", "acting_states", "factor_acts",
           "check_descriptive", "MANOEUVRE_FOR", "adversary_manoeuvre", "adversary_index",
           "instantiate"]
