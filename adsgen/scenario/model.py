"""The Scenario model: static factors plus concrete dynamic parameters, and the seed model.

Units are in field names (``_m``, ``_mps``, ``_s``, ``_mps2``). Unknown keys are rejected everywhere.
A Scenario is one concrete, runnable test; a Seed is a family (its "contract" of allowed factor states,
a nominal scenario and the ranges of dynamic parameters the search may vary).

Route names (``EgoSpec.route``, ``ActorSpec.route``) are defined by the road templates in
``adsgen.scenario.roads``; they are validated there, against the scenario's template.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from adsgen.variables import FACTORS, STATES


class StrictModel(BaseModel):
    """Base of every config/spec model: unknown keys rejected, finite numbers only, validated on assignment,
    frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_assignment=True, allow_inf_nan=False)


Light = Literal["daylight", "dawn_dusk", "dark_lighted", "dark_unlighted"]
Weather = Literal["clear", "cloudy", "rain", "snow", "fog"]
Surface = Literal["dry", "wet", "snow_ice"]
RoadLayout = Literal["straight", "curve", "intersection", "t_junction", "ramp"]
TrafficControl = Literal["none", "signal", "stop_sign"]
SpeedLimit = Literal["low", "mid", "high"]
OtherMovement = Literal["straight", "slowing_stopped", "turning_left", "turning_right", "changing_lanes"]
DriverImpaired = Literal["no", "distracted", "substance"]
CollisionType = Literal["rear_end", "angle", "left_turn", "head_on", "sideswipe", "pedestrian", "single_vehicle"]


class Factors(StrictModel):
    """The scenario's static factors: one state of each canonical CBN variable except the outcome."""

    light: Light = Field(description="Light condition; sets the agent's sensing and the rendered image.")
    weather: Weather = Field(description="Weather; sets sensing, rendering and (with surface) friction.")
    surface: Surface = Field(description="Road surface; sets tyre-road friction.")
    road_layout: RoadLayout = Field(description="Road geometry; picks the road template.")
    traffic_control: TrafficControl = Field(description="Signal or stop line on the ego's approach.")
    speed_limit: SpeedLimit = Field(description="Posted limit bin; sets the speeds.")
    other_movement: OtherMovement = Field(description="Adversary movement before the conflict.")
    driver_impaired: DriverImpaired = Field(description="Adversary impairment: reaction time, rule-breaking, lane keeping.")
    collision_type: CollisionType = Field(description="Conflict type the scenario stages.")


assert tuple(Factors.model_fields) == FACTORS, "Factors must list the canonical factors in order"
for _name in FACTORS:  # the Literal states must equal the canonical states, in order
    assert get_args(Factors.model_fields[_name].annotation) == STATES[_name], _name


ActorKind = Literal["car", "truck", "pedestrian"]
ManoeuvreType = Literal[
    "keep",              # follow the route at the given speed
    "brake_hard",        # brake at decel_mps2 when triggered, to a stop
    "stopped",           # standing still from the start (also parked cars / occluders)
    "cut_in",            # change into the ego's lane when triggered, over duration_s
    "turn_left_across",  # turn left across the ego's path when triggered (route gives the turn)
    "run_red_light",     # ignore the signal / stop line on its approach; when triggered (a driver noticing the
    #                      conflict late), brake at decel_mps2; without a trigger it never brakes
    "head_on_drift",     # drift laterally into the oncoming (ego's) lane when triggered
    "cross_road",        # pedestrian steps out and crosses when triggered
    "cut_in_brake",      # cut_in, then brake at decel_mps2 to a stop once the lateral move is complete
]
TriggerKind = Literal["time", "ego_distance", "ego_ttc", "ego_arrival"]


class Trigger(StrictModel):
    """When a manoeuvre starts."""

    kind: TriggerKind = Field("ego_distance", description=(
        "time: at value seconds; ego_distance: when the ego is within value metres (Euclidean); "
        "ego_ttc: when the ego's time-to-collision with this actor falls below value seconds; "
        "ego_arrival: when the ego's time to reach the conflict point (where this actor's route crosses the "
        "ego's, from the road template), front bumper first, at its current speed, is at most value seconds."))
    value: float = Field(ge=0.0, description="Seconds (time, ego_ttc, ego_arrival) or metres (ego_distance).")


class Manoeuvre(StrictModel):
    """What an actor does, and when."""

    type: ManoeuvreType = Field("keep", description="The manoeuvre.")
    trigger: Trigger | None = Field(None, description="When it starts; None means from the start.")
    decel_mps2: float = Field(8.0, gt=0.0, le=12.0, description=(
        "Braking deceleration of brake_hard, of cut_in_brake's second phase and of a triggered run_red_light [m/s2]."))
    duration_s: float = Field(2.0, gt=0.0, le=10.0, description=(
        "Lateral-move duration (cut_in, cut_in_brake, head_on_drift) [s]."))
    target_lane_offset: int = Field(-1, ge=-3, le=3, description=(
        "cut_in, cut_in_brake: lanes to move; -1 = one lane to the left (towards the centre line, lane index - 1), "
        "+1 = one lane to the right (towards the kerb). Seeds put the ego on the inner lane 0, so -1 "
        "moves an adversary from lane 1 into the ego's lane."))
    drift_m: float = Field(3.5, gt=0.0, le=8.0, description="head_on_drift: lateral drift to the left [m].")
    weave_amp_m: float = Field(0.0, ge=0.0, le=0.8, description=(
        "Lane keeping of an impaired driver: amplitude of a sinusoidal weave about its lane centre [m] (0: it "
        "holds the centre), before and outside a lateral manoeuvre; at most 0.8 m, where a car's body would "
        "cross the marking of a 3.5 m lane. Set from driver_impaired by instantiate."))
    weave_period_s: float = Field(6.0, gt=0.0, le=60.0, description="Period of that weave [s].")


class SignalSpec(StrictModel):
    """Fixed-time traffic-signal plan (used when factors.traffic_control is 'signal').

    Two phase groups: 'NS' (approaches from S and N) and 'EW' (from E and W). Group NS is green
    from ``offset_s`` into the cycle; EW runs the same timing half a cycle later.
    """

    green_s: float = Field(20.0, gt=0.0, le=120.0, description="Green time per group [s].")
    yellow_s: float = Field(3.0, ge=0.0, le=10.0, description="Yellow time per group [s].")
    all_red_s: float = Field(1.0, ge=0.0, le=10.0, description="All-red clearance after each yellow [s].")
    offset_s: float = Field(0.0, ge=0.0, description="Time into the NS group's green at t = 0 [s].")


class RoadSpec(StrictModel):
    """Which road template and its geometry."""

    template: RoadLayout = Field(description="Road template; equals factors.road_layout for generated scenarios.")
    lanes: int = Field(2, ge=1, le=4, description="Lanes per direction on the ego's road.")
    lane_width_m: float = Field(3.5, ge=2.5, le=4.5, description="Lane width [m].")
    curve_radius_m: float = Field(150.0, ge=30.0, le=2000.0, description="Curve radius for the curve template [m].")
    signal: SignalSpec = Field(default_factory=SignalSpec, description="Signal plan (traffic_control 'signal').")


class EgoSpec(StrictModel):
    """The vehicle driven by the agent under test."""

    route: str = Field(description="Route name from the road template (lane path the ego follows).")
    start_s_m: float = Field(0.0, ge=0.0, description="Start position along the route [m].")
    speed_mps: float = Field(ge=0.0, le=45.0, description="Initial and desired speed [m/s].")


class ActorSpec(StrictModel):
    """One other road user."""

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", description="Unique actor name.")
    kind: ActorKind = Field("car", description="car, truck or pedestrian.")
    route: str = Field(description="Route name from the road template (a lane path or a crosswalk path).")
    start_s_m: float = Field(ge=0.0, description="Start position along its route [m].")
    speed_mps: float = Field(ge=0.0, le=45.0, description="Initial and cruise speed [m/s].")
    manoeuvre: Manoeuvre = Field(default_factory=Manoeuvre, description="Its manoeuvre and trigger.")

    @model_validator(mode="after")
    def _pedestrians_do_not_weave(self) -> ActorSpec:
        if self.kind == "pedestrian" and self.manoeuvre.weave_amp_m > 0:
            raise ValueError("manoeuvre.weave_amp_m: a pedestrian walks its crosswalk straight (expected 0; the "
                             "weave is a driver's lane keeping)")
        return self


class Scenario(StrictModel):
    """One concrete, runnable test scenario."""

    schema_version: Literal[1] = Field(1, description="File format version.")
    name: str = Field(min_length=1, description="Human-readable name (not part of the identity hash).")
    seed: str | None = Field(None, description="Seed family this scenario was derived from.")
    factors: Factors
    road: RoadSpec
    ego: EgoSpec
    actors: list[ActorSpec] = Field(default_factory=list, max_length=16)
    horizon_s: float = Field(10.0, gt=0.0, le=120.0, description="Simulated time [s].")

    @model_validator(mode="after")
    def _unique_actor_ids(self) -> Scenario:
        ids = [a.id for a in self.actors]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"actor ids must be unique, repeated: {', '.join(dupes)}")
        return self

    def spec(self) -> dict:
        """The scenario as plain JSON-able data (what YAML files hold)."""
        return self.model_dump(mode="json")

    _hash: str | None = PrivateAttr(default=None)

    def content_hash(self) -> str:
        """Identity of the scenario's content: sha256 of its canonical JSON, without its name (cached:
        scenarios are immutable)."""
        if self._hash is None:
            data = self.spec()
            data.pop("name", None)
            blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
            self._hash = hashlib.sha256(blob.encode()).hexdigest()
        return self._hash

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Scenario:
        """A copy; a changed copy gets its content hash recomputed."""
        out = super().model_copy(update=update, deep=deep)
        if update and set(update) - {"name"}:  # the name is not part of the content hash
            out._hash = None
        return out


class ParamRange(StrictModel):
    """A dynamic parameter the search may vary, addressed by a dotted path into the Scenario."""

    path: str = Field(description="e.g. 'ego.speed_mps' or 'actors.lead.manoeuvre.trigger.value'.")
    low: float
    high: float
    bins: int = Field(4, ge=1, le=50, description="Bins used to decide whether two scenarios are distinct.")

    @model_validator(mode="after")
    def _ordered(self) -> ParamRange:
        if not self.low <= self.high:
            raise ValueError(f"low ({self.low}) must be <= high ({self.high})")
        return self


class Seed(StrictModel):
    """A seed scenario family: its contract, nominal scenario and searchable parameters."""

    schema_version: Literal[1] = 1
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    nhtsa_precrash_type: str = Field(description="The NHTSA pre-crash scenario type it models.")
    contract: dict[str, list[str]] = Field(description=(
        "Allowed states per factor; a factor not listed may take any state."))
    scenario: Scenario = Field(description="The nominal scenario.")
    parameters: list[ParamRange] = Field(default_factory=list)
    expect_collision: bool = Field(description="Whether the default agent collides at the nominal parameters.")
    descriptive: list[str] = Field(default_factory=list, description=(
        "Factors that label this seed's scenarios but do not change its simulated world (checked on load: a "
        "factor declared descriptive must not change the compiled scenario, see docs/simulation.md)."))
    routes_by_template: dict[str, dict[str, str]] = Field(default_factory=dict, description=(
        "Route renames used when the contract lets road_layout pick another template than the nominal "
        "scenario's: template -> {nominal route name: route name in that template}."))

    @model_validator(mode="after")
    def _ego_speed_not_searched(self) -> Seed:
        if any(p.path == "ego.speed_mps" for p in self.parameters):
            raise ValueError("parameters: 'ego.speed_mps' cannot be searched: the ego drives at the posted limit "
                             "(its speed is the system's choice, see docs/search.md); remove that range")
        return self

    @model_validator(mode="after")
    def _descriptive_known(self) -> Seed:
        bad = [f for f in self.descriptive if f not in FACTORS]
        if bad:
            raise ValueError(f"descriptive names unknown factor(s) {bad}; expected some of {', '.join(FACTORS)}")
        return self

    @model_validator(mode="after")
    def _contract_valid(self) -> Seed:
        for var, allowed in self.contract.items():
            if var not in FACTORS:
                raise ValueError(f"contract names unknown factor {var!r}; expected one of {', '.join(FACTORS)}")
            bad = [s for s in allowed if s not in STATES[var]]
            if bad or not allowed:
                raise ValueError(f"contract.{var}: states {bad or '[]'} not in {list(STATES[var])}")
            if getattr(self.scenario.factors, var) not in allowed:
                raise ValueError(f"scenario.factors.{var} is outside the seed's own contract")
        return self
