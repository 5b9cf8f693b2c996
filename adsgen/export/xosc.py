"""Scenario -> OpenSCENARIO 1.0 (.xosc) through the scenariogeneration package, in ScenarioRunner's style.

Conventions (CARLA ScenarioRunner 0.9.16, see docs/render_export.md):
- the ego is the ScenarioObject ``hero`` with property ``type=ego_vehicle`` and an ``external_control``
  controller (the agent under test drives it); other actors carry ``type=simulation``;
- entity names are CARLA blueprints (``adsgen.export.blueprints``);
- the road is the scenario's own OpenDRIVE file (LogicFile), written next to the .xosc;
- the whole Environment (time of day, sun, fog, precipitation, road friction) is set in Init;
- positions are WorldPositions in the OpenDRIVE frame, which is the engine frame (x east, y north, heading
  counter-clockwise from +x, radians): no conversion (CARLA's y flip happens inside CARLA);
- lane changes are relative (RelativeTargetLane, +1 = one lane to the actor's left);
- each manoeuvre is an Event whose StartTrigger is the scenario's trigger (time, ego distance, ego TTC, and the
  ego's time-to-arrival at the conflict point as a TimeToCollisionCondition towards that position);
- the storyboard stops at the horizon (SimulationTime), and lists ScenarioRunner's criteria_* conditions;
- the FileHeader description does not start with "CARLA:" (that prefix tells ScenarioRunner positions are
  in CARLA's left-handed frame; ours are in the OpenDRIVE frame);
- only conditions and actions ScenarioRunner 0.9.16 documents as supported are used (no standbyState,
  RoutingAction only in the story, relative lane changes of one lane).

scenariogeneration keeps the OpenSCENARIO version in a class attribute; ``osc_1_0()`` sets minor 0 for the
duration of a build and restores the previous value, so other users of the package are not affected.
"""

from __future__ import annotations

import contextlib
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from types import ModuleType

import numpy as np

from adsgen.export.blueprints import ActorModel, actor_model
from adsgen.export.environment import environment_settings
from adsgen.scenario.roads import build_road, conflict_point

HERO = "hero"
CARLA_CRITERIA = ("criteria_RunningStopTest", "criteria_RunningRedLightTest", "criteria_WrongLaneTest",
                  "criteria_OnSidewalkTest", "criteria_KeepLaneTest", "criteria_CollisionTest")
ROUTE_TURN_RAD = 0.5     # [rad] heading change above which an actor's route is written as waypoints


@contextlib.contextmanager
def osc_1_0() -> Iterator[ModuleType]:
    """Build scenariogeneration objects as OpenSCENARIO 1.0 inside this block (restored afterwards)."""
    from scenariogeneration import xosc

    vb = xosc.VersionBase()
    before = (xosc.VersionBase.version_major, xosc.VersionBase.version_minor)
    vb.setVersion(1, 0)
    try:
        yield xosc
    finally:
        vb.setVersion(*before)


def _rule(xosc, name: str):
    return getattr(xosc.Rule, name)


def _bbox(xosc, m: ActorModel):
    centre_x = 0.0 if m.category == "pedestrian" else m.rear_axle_to_centre_m
    return xosc.BoundingBox(m.width_m, m.length_m, m.height_m, centre_x, 0.0, m.height_m / 2)


def _entity(xosc, m: ActorModel, role: str):
    """A Vehicle or Pedestrian entity for a model, with ScenarioRunner's ``type`` property."""
    if m.category == "pedestrian":
        ent = xosc.Pedestrian(m.blueprint, m.mass_kg, xosc.PedestrianCategory.pedestrian, _bbox(xosc, m),
                              model=m.blueprint)
    else:
        front = xosc.Axle(0.5, 0.6, 1.8, m.wheelbase_m, 0.3)
        rear = xosc.Axle(0.0, 0.6, 1.8, 0.0, 0.3)
        category = getattr(xosc.VehicleCategory, m.category)
        ent = xosc.Vehicle(m.blueprint, category, _bbox(xosc, m), front, rear, m.max_speed_mps, m.max_accel_mps2,
                           m.max_decel_mps2)
    ent.add_property("type", role)
    return ent


SPAWN_Z_M = {"vehicle": 0.5, "pedestrian": 0.3, "waypoint": 0.0}  # [m] above the road, as ScenarioRunner's examples


def _world(xosc, route, s_m: float, what: str = "waypoint"):
    """WorldPosition on a route at arc length s [m] (engine frame = OpenDRIVE frame)."""
    (x, y), h = route.at(s_m)
    return xosc.WorldPosition(round(float(x), 3), round(float(y), 3), SPAWN_Z_M[what],
                              round(float(math.remainder(h, 2 * math.pi)), 5))


def _hero_controller(xosc):
    """ScenarioRunner's external control of the ego, with every override inactive (required in 1.0)."""
    props = xosc.Properties()
    props.add_property("module", "external_control")
    assign = xosc.AssignControllerAction(xosc.Controller("HeroAgent", props))
    override = xosc.OverrideControllerValueAction()
    override.set_throttle(False, 0)
    override.set_brake(False, 0)
    override.set_clutch(False, 0)
    override.set_parkingbrake(False, 0)
    override.set_steeringwheel(False, 0)
    override.set_gear(False, 0)
    return xosc.ControllerAction(assign, override)


def _speed(xosc, speed_mps: float, shape: str = "step", dimension: str = "time", value: float = 0.0):
    dyn = xosc.TransitionDynamics(getattr(xosc.DynamicsShapes, shape), getattr(xosc.DynamicsDimension, dimension),
                                  value)
    return xosc.AbsoluteSpeedAction(round(float(speed_mps), 3), dyn)


def _trigger(xosc, name: str, actor_id: str, trigger, delay_s: float = 0.0, conflict=None) -> object:
    """The StartTrigger of a manoeuvre from the scenario's Trigger (None = from the start), ``delay_s`` after
    its condition holds; ``conflict`` (adsgen.scenario.roads.ConflictPoint) is where an ego_arrival trigger
    measures to."""
    if trigger is None or trigger.kind == "time":
        t = 0.0 if trigger is None else float(trigger.value)
        cond = xosc.SimulationTimeCondition(t, _rule(xosc, "greaterThan"))
        return xosc.ValueTrigger(name, delay_s, xosc.ConditionEdge.rising, cond)
    cond = _entity_condition(xosc, trigger, actor_id, "lessThan", conflict)
    return xosc.EntityTrigger(name, delay_s, xosc.ConditionEdge.rising, cond, HERO)


def _not_yet(xosc, name: str, actor_id: str, trigger, conflict=None):
    """A condition true while ``trigger`` has not fired: its comparison reversed, evaluated level (edge none)."""
    if trigger.kind == "time":
        cond = xosc.SimulationTimeCondition(float(trigger.value), _rule(xosc, "lessThan"))
        return xosc.ValueTrigger(name, 0, xosc.ConditionEdge.none, cond)
    cond = _entity_condition(xosc, trigger, actor_id, "greaterThan", conflict)
    return xosc.EntityTrigger(name, 0, xosc.ConditionEdge.none, cond, HERO)


def _entity_condition(xosc, trigger, actor_id: str, rule: str, conflict):
    """The hero's condition of an ego_distance (centre distance to the actor), ego_ttc (TTC with the actor) or
    ego_arrival trigger: a TimeToCollisionCondition towards the conflict point's position, measured from the
    hero's bounding box (freespace, as the engine measures from the front bumper) -- OpenSCENARIO's time to
    reach a position at the current speed, the condition esmini's and ScenarioRunner's examples use to start
    a crossing actor when the ego is some seconds from the intersection."""
    value = float(trigger.value)
    if trigger.kind == "ego_distance":
        return xosc.RelativeDistanceCondition(value, _rule(xosc, rule), xosc.RelativeDistanceType.cartesianDistance,
                                              actor_id, alongroute=False, freespace=False)
    if trigger.kind == "ego_ttc":
        return xosc.TimeToCollisionCondition(value, _rule(xosc, rule), alongroute=False, freespace=False,
                                             entity=actor_id)
    if trigger.kind == "ego_arrival":
        if conflict is None:  # validated on load (adsgen.scenario.roads.check_arrival_trigger)
            raise ValueError(f"{actor_id}: an ego_arrival trigger needs its conflict point")
        at = xosc.WorldPosition(round(conflict.x_m, 3), round(conflict.y_m, 3), SPAWN_Z_M["waypoint"])
        return xosc.TimeToCollisionCondition(value, _rule(xosc, rule), alongroute=False, freespace=True,
                                             position=at)
    raise ValueError(f"unknown trigger kind {trigger.kind!r}")  # pragma: no cover - the model's Literal


def _lateral_side(route, other_route, s_m: float) -> int:
    """+1 when the other route lies to the left of ``route`` near s, else -1."""
    (x, y), h = route.at(s_m)
    d = np.linalg.norm(other_route.xy - np.array([x, y]), axis=1)
    ox, oy = other_route.xy[int(np.argmin(d))]
    cross = math.cos(h) * (oy - y) - math.sin(h) * (ox - x)
    return 1 if cross > 0 else -1


ManoeuvreWriter = Callable[..., list[tuple[str, object, object]]]
MANOEUVRE_WRITERS: dict[str, ManoeuvreWriter] = {}


def register_manoeuvre(name: str) -> Callable[[ManoeuvreWriter], ManoeuvreWriter]:
    """Register the OpenSCENARIO writer of a manoeuvre type: fn(xosc, ctx) -> [(event name, action, trigger)]."""

    def deco(fn: ManoeuvreWriter) -> ManoeuvreWriter:
        MANOEUVRE_WRITERS[name] = fn
        return fn

    return deco


class _Ctx:
    """What a manoeuvre writer needs: the actor, its route, the ego's route and the road."""

    def __init__(self, actor, route, ego_route, net):
        self.actor, self.route, self.ego_route, self.net = actor, route, ego_route, net
        self.m = actor.manoeuvre
        self.conflict = conflict_point(net.spec, ego_route.name, actor.route)

    def trigger(self, xosc, label: str, delay_s: float = 0.0):
        return _trigger(xosc, f"{self.actor.id}_{label}_start", self.actor.id, self.m.trigger, delay_s,
                        self.conflict)


@register_manoeuvre("keep")
def _keep(xosc, c: _Ctx):
    return [] if c.m.trigger is None else [
        ("keeps_speed", _speed(xosc, c.actor.speed_mps), c.trigger(xosc, "keep"))]


@register_manoeuvre("stopped")
def _stopped(xosc, c: _Ctx):
    return []   # speed 0 in Init


@register_manoeuvre("brake_hard")
def _brake(xosc, c: _Ctx):
    return [("brakes_hard", _speed(xosc, 0.0, "linear", "rate", c.m.decel_mps2), c.trigger(xosc, "brake"))]


@register_manoeuvre("cut_in")
def _cut_in(xosc, c: _Ctx):
    side = _lateral_side(c.route, c.ego_route, c.actor.start_s_m)   # towards the ego's lane
    lanes = side * abs(c.m.target_lane_offset) * (1 if c.m.target_lane_offset < 0 else -1)
    dyn = xosc.TransitionDynamics(xosc.DynamicsShapes.sinusoidal, xosc.DynamicsDimension.time, c.m.duration_s)
    return [("cuts_in", xosc.RelativeLaneChangeAction(int(lanes), c.actor.id, dyn), c.trigger(xosc, "cut_in"))]


@register_manoeuvre("cut_in_brake")
def _cut_in_brake(xosc, c: _Ctx):
    """As the engine: the cut-in, then braking to a stop once the lateral move is complete (duration_s later)."""
    brake = ("brakes_after_cut_in", _speed(xosc, 0.0, "linear", "rate", c.m.decel_mps2),
             c.trigger(xosc, "cut_in_brake", delay_s=c.m.duration_s))
    return _cut_in(xosc, c) + [brake]


@register_manoeuvre("head_on_drift")
def _drift(xosc, c: _Ctx):
    dyn = xosc.TransitionDynamics(xosc.DynamicsShapes.sinusoidal, xosc.DynamicsDimension.time, c.m.duration_s)
    return [("drifts_into_oncoming_lane", xosc.RelativeLaneChangeAction(1, c.actor.id, dyn),
             c.trigger(xosc, "drift"))]


HOLD_DECEL_MPS2 = 4.0   # [m/s2] comfortable braking of an actor holding at its stop line (the engine's)


@register_manoeuvre("turn_left_across")
def _turn_left(xosc, c: _Ctx):
    """As the engine: approach, hold at the stop line until triggered, then turn (the route gives the turn)."""
    go = ("turns_left_across", _speed(xosc, c.actor.speed_mps, "linear", "rate", 2.5), c.trigger(xosc, "turn"))
    if c.m.trigger is None:
        return [go]
    stop_s = c.route.stop_s_m
    length = actor_model(c.actor.kind).length_m
    brake_m = c.actor.speed_mps**2 / (2 * HOLD_DECEL_MPS2)
    hold_s = None if stop_s is None else stop_s - length / 2 - 0.5 - brake_m
    if hold_s is None or hold_s <= c.actor.start_s_m + 0.5 or c.actor.speed_mps <= 0.1:
        return [go]   # holds where it starts (Init speed 0, see build_xosc) until triggered
    reach = xosc.ReachPositionCondition(_world(xosc, c.route, hold_s), 2.0)
    group = xosc.ConditionGroup()
    group.add_condition(xosc.EntityTrigger(f"{c.actor.id}_at_hold_point", 0, xosc.ConditionEdge.rising, reach,
                                           c.actor.id))
    # ... and only while its trigger has not fired yet (the complement of the trigger condition; ScenarioRunner
    # does not evaluate StoryboardElementStateCondition's standbyState)
    group.add_condition(_not_yet(xosc, f"{c.actor.id}_not_yet_triggered", c.actor.id, c.m.trigger,
                                 c.conflict))
    hold_trigger = xosc.Trigger()
    hold_trigger.add_conditiongroup(group)
    hold = ("holds_at_stop_line", _speed(xosc, 0.0, "linear", "distance", round(brake_m + 0.5, 2)), hold_trigger)
    return [hold, go]


@register_manoeuvre("run_red_light")
def _red_light(xosc, c: _Ctx):
    # OpenSCENARIO 1.0 has no "ignore signals" action; the actor holds its speed through the junction and, as
    # in the engine, brakes at decel_mps2 when its trigger fires (a driver noticing the conflict late)
    run = ("runs_red_light", _speed(xosc, c.actor.speed_mps), _trigger(xosc, f"{c.actor.id}_red_light_start",
                                                                     c.actor.id, None))
    if c.m.trigger is None:
        return [run]
    return [run, ("brakes_late", _speed(xosc, 0.0, "linear", "rate", c.m.decel_mps2), c.trigger(xosc, "late_brake"))]


@register_manoeuvre("cross_road")
def _cross(xosc, c: _Ctx):
    walk = _speed(xosc, c.actor.speed_mps, "step", "time", 0.0)
    remaining = max(0.5, c.route.length_m - c.actor.start_s_m)
    stop_cond = xosc.TraveledDistanceCondition(round(remaining, 2))
    stop = xosc.EntityTrigger(f"{c.actor.id}_crossed", 0, xosc.ConditionEdge.rising, stop_cond, c.actor.id)
    return [("starts_crossing", walk, c.trigger(xosc, "cross")), ("reaches_far_side", _speed(xosc, 0.0), stop)]


def _route_action(xosc, actor_id: str, route, s0: float):
    """AssignRouteAction through start, middle and end of a turning route (None for a straight one)."""
    h = np.unwrap(route.heading)
    if abs(h[-1] - h[0]) < ROUTE_TURN_RAD:
        return None
    r = xosc.Route(f"{actor_id}_route")
    for s in (s0, (s0 + route.length_m) / 2, route.length_m):
        r.add_waypoint(_world(xosc, route, s), xosc.RouteStrategy.shortest)
    return xosc.AssignRouteAction(r)


def xosc_text(scenario, xodr_filename: str, *, carla_criteria: bool = True) -> str:
    """The OpenSCENARIO 1.0 XML text of an adsgen Scenario (built and serialised as 1.0)."""

    with osc_1_0():
        element = build_xosc(scenario, xodr_filename, carla_criteria=carla_criteria).get_element()
    ET.indent(element, space="  ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="unicode") + "\n"


def _entities(xosc: ModuleType, scenario) -> object:
    """The ego (``hero``, driven by the agent under test) and every actor, as CARLA blueprints."""
    entities = xosc.Entities()
    entities.add_scenario_object(HERO, _entity(xosc, actor_model("ego"), "ego_vehicle"))
    for a in scenario.actors:
        entities.add_scenario_object(a.id, _entity(xosc, actor_model(a.kind), "simulation"))
    return entities


def _environment_action(xosc: ModuleType, factors) -> object:
    """The whole Environment (time of day, sun, fog, precipitation, road friction) from the factors."""
    env = environment_settings(factors)
    tod = xosc.TimeOfDay(False, 2024, 6, 21, env.hour, env.minute, 0)
    weather = xosc.Weather(
        cloudstate=getattr(xosc.CloudState, env.cloud_state),
        sun=xosc.Sun(env.sun_intensity, env.sun_azimuth_rad, env.sun_elevation_rad),
        fog=xosc.Fog(env.fog_visual_range_m),
        precipitation=xosc.Precipitation(getattr(xosc.PrecipitationType, env.precipitation),
                                         env.precipitation_intensity))
    return xosc.EnvironmentAction(xosc.Environment("Environment1", tod, weather,
                                                   xosc.RoadCondition(env.friction_scale)))


def _initial_speed_mps(a, route) -> float:
    """[m/s] an actor's speed at the start: 0 for standing and crossing actors, and for a left-turner with
    no room to approach its stop line (it waits where it starts)."""
    if a.manoeuvre.type in ("stopped", "cross_road"):
        return 0.0
    if a.manoeuvre.type == "turn_left_across" and a.manoeuvre.trigger is not None and (
            route.stop_s_m is None or route.stop_s_m - actor_model(a.kind).length_m / 2 - 0.5
            - a.speed_mps**2 / (2 * HOLD_DECEL_MPS2) <= a.start_s_m + 0.5):
        return 0.0
    return a.speed_mps


def _actor_group(xosc: ModuleType, a, net, ego_route, init) -> object | None:
    """One actor: its teleport and initial speed into ``init``, and its ManeuverGroup (its route and its
    manoeuvre as Events), or None when it has no event."""
    route = net.route(a.route)
    init.add_init_action(a.id, xosc.TeleportAction(_world(
        xosc, route, a.start_s_m, "pedestrian" if a.kind == "pedestrian" else "vehicle")))
    init.add_init_action(a.id, _speed(xosc, _initial_speed_mps(a, route)))
    events = []
    ra = _route_action(xosc, a.id, route, a.start_s_m) if a.kind != "pedestrian" else None
    if ra is not None:
        t = xosc.ValueTrigger(f"{a.id}_route_start", 0, xosc.ConditionEdge.rising,
                              xosc.SimulationTimeCondition(0.0, _rule(xosc, "greaterThan")))
        events.append(("follows_route", ra, t))
    writer = MANOEUVRE_WRITERS.get(a.manoeuvre.type)
    if writer is None:
        raise KeyError(f"no OpenSCENARIO writer for manoeuvre {a.manoeuvre.type!r}")
    events += writer(xosc, _Ctx(a, route, ego_route, net))
    if not events:
        return None
    maneuver = xosc.Maneuver(f"{a.id}_{a.manoeuvre.type}")
    for name, action, trig in events:
        ev = xosc.Event(f"{a.id}_{name}", xosc.Priority.overwrite)
        ev.add_action(f"{a.id}_{name}", action)
        ev.add_trigger(trig)
        maneuver.add_event(ev)
    group = xosc.ManeuverGroup(f"{a.id}_group")
    group.add_actor(a.id)
    group.add_maneuver(maneuver)
    return group


def _hero_group(xosc: ModuleType, speed_mps: float, act_start) -> object:
    """A no-op speed hold for the ego: OpenSCENARIO needs at least one maneuver group per act."""
    maneuver = xosc.Maneuver("hero_holds_speed")
    ev = xosc.Event("hero_initial_speed", xosc.Priority.overwrite)
    ev.add_action("hero_initial_speed", _speed(xosc, speed_mps))
    ev.add_trigger(act_start)
    maneuver.add_event(ev)
    group = xosc.ManeuverGroup("hero_group")
    group.add_actor(HERO)
    group.add_maneuver(maneuver)
    return group


def _stop_trigger(xosc: ModuleType, horizon_s: float, carla_criteria: bool) -> object:
    """The storyboard's stop: the horizon, or (CARLA) its criteria."""
    stop = xosc.Trigger("stop")
    horizon = xosc.ConditionGroup("stop")
    horizon.add_condition(xosc.ValueTrigger(
        "horizon_reached", 0, xosc.ConditionEdge.rising,
        xosc.SimulationTimeCondition(float(horizon_s), _rule(xosc, "greaterThan"))))
    stop.add_conditiongroup(horizon)
    if carla_criteria:
        crit = xosc.ConditionGroup("stop")
        for name in CARLA_CRITERIA:
            crit.add_condition(xosc.ValueTrigger(name, 0, xosc.ConditionEdge.rising,
                                                 xosc.ParameterCondition("", 0, _rule(xosc, "lessThan"))))
        stop.add_conditiongroup(crit)
    return stop


def build_xosc(scenario, xodr_filename: str, *, carla_criteria: bool = True):
    """The scenariogeneration ``Scenario`` (OpenSCENARIO 1.0) of an adsgen Scenario.

    Serialise it inside ``osc_1_0()`` (scenariogeneration checks the version again when writing), or use
    ``xosc_text``.

    ``xodr_filename`` is written as the LogicFile path (the .xodr next to the .xosc). ``carla_criteria`` adds
    ScenarioRunner's criteria_* conditions to the storyboard stop trigger (esmini ignores unknown parameters
    badly; pass False for esmini-only files).
    """

    net = build_road(scenario.road)
    ego_route = net.route(scenario.ego.route)
    with osc_1_0() as xosc:
        entities = _entities(xosc, scenario)
        init = xosc.Init()
        init.add_global_action(_environment_action(xosc, scenario.factors))
        init.add_init_action(HERO, xosc.TeleportAction(_world(xosc, ego_route, scenario.ego.start_s_m, "vehicle")))
        init.add_init_action(HERO, _hero_controller(xosc))
        init.add_init_action(HERO, _speed(xosc, scenario.ego.speed_mps))

        story = xosc.Story("adsgen_story")
        act_start = xosc.ValueTrigger("act_start", 0, xosc.ConditionEdge.rising,
                                      xosc.SimulationTimeCondition(0.0, _rule(xosc, "greaterThan")))
        act_stop = xosc.ValueTrigger("act_end_at_horizon", 0, xosc.ConditionEdge.rising,
                                     xosc.SimulationTimeCondition(float(scenario.horizon_s), _rule(xosc, "greaterThan")),
                                     triggeringpoint="stop")
        act = xosc.Act("behaviour", act_start, act_stop)
        for a in scenario.actors:
            group = _actor_group(xosc, a, net, ego_route, init)
            if group is not None:
                act.add_maneuver_group(group)
        if not act.maneuvergroup:
            act.add_maneuver_group(_hero_group(xosc, scenario.ego.speed_mps, act_start))
        story.add_act(act)
        storyboard = xosc.StoryBoard(init, _stop_trigger(xosc, scenario.horizon_s, carla_criteria))
        storyboard.add_story(story)

        params = xosc.ParameterDeclarations()
        # no "CARLA:" description prefix: that would make ScenarioRunner read positions in CARLA's (y-flipped)
        # frame; ours are OpenDRIVE-frame, which ScenarioRunner converts itself and esmini reads as they are
        return xosc.Scenario(f"adsgen:{scenario.name}", "adsgen", params, entities, storyboard,
                             xosc.RoadNetwork(roadfile=xodr_filename, scenegraph=""), xosc.Catalog(),
                             osc_minor_version=0)
