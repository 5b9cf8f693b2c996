"""Who is at fault (adsgen.sim.fault through the episode owner's referee): constructed collisions come out
with the rule a safety engineer expects, and the engine and the CARLA bridge (fake client) agree."""

from __future__ import annotations

import numpy as np
import pytest

from adsgen.scenario.model import Scenario
from adsgen.sim.agents import Action, get_agent
from adsgen.sim.backends import get_backend
from adsgen.sim.types import TerminationReason


class Hold:
    """Requests one acceleration for the whole run (0: holds its speed; -50: full braking)."""

    needs_images = False

    def __init__(self, accel_mps2: float):
        self.name, self.accel = f"hold{accel_mps2:g}", accel_mps2

    def reset(self, scenarios, seed):
        pass

    def act(self, obs):
        return Action(accel_mps2=np.full(len(obs.ego_speed_mps), self.accel))


def _straight(name: str, ego_speed: float, actors: list[dict], ego_start: float = 60.0) -> Scenario:
    f = {"light": "daylight", "weather": "clear", "surface": "dry", "road_layout": "straight",
         "traffic_control": "none", "speed_limit": "mid", "other_movement": "straight", "driver_impaired": "no",
         "collision_type": "rear_end"}
    return Scenario.model_validate({"name": name, "factors": f, "road": {"template": "straight"},
                                    "ego": {"route": "S_straight_0", "start_s_m": ego_start, "speed_mps": ego_speed},
                                    "actors": actors, "horizon_s": 12.0})


FOLLOWER = {"id": "follower", "kind": "car", "route": "S_straight_0", "start_s_m": 30.0, "speed_mps": 22.0,
            "manoeuvre": {"type": "keep"}}
LEAD = {"id": "lead", "kind": "car", "route": "S_straight_0", "start_s_m": 90.0, "speed_mps": 15.0,
        "manoeuvre": {"type": "brake_hard", "decel_mps2": 8.0, "trigger": {"kind": "time", "value": 1.0}}}
DRIFTER = {"id": "drifter", "kind": "car", "route": "N_straight_0", "start_s_m": 230.0, "speed_mps": 15.0,
           "manoeuvre": {"type": "head_on_drift", "drift_m": 3.5, "duration_s": 1.5,
                         "trigger": {"kind": "ego_distance", "value": 40.0}}}


class ChangeLaneRight:
    """Holds its speed and moves one lane to the right from the start."""

    name, needs_images = "lane_change", False

    def reset(self, scenarios, seed):
        pass

    def act(self, obs):
        n = len(obs.ego_speed_mps)
        return Action(accel_mps2=np.zeros(n), lateral_offset_m=np.full(n, -3.5))


def _cutter(duration_s: float) -> dict:
    """A car alongside in the next lane that cuts into the ego's lane over duration_s (cosine profile)."""
    return {"id": "cutter", "kind": "car", "route": "S_straight_1", "start_s_m": 62.0, "speed_mps": 15.0,
            "manoeuvre": {"type": "cut_in", "target_lane_offset": -1, "duration_s": duration_s,
                          "trigger": {"kind": "time", "value": 1.0}}}


CASES = {  # name -> (scenario, agent, expected partner, at_fault, rule)
    "rear_ended_by_follower": (_straight("rear_ended_by_follower", 12.0, [FOLLOWER]), Hold(0.0), "follower",
                               False, "rear_ended"),
    "hit_while_stopped": (_straight("hit_while_stopped", 10.0, [DRIFTER], ego_start=5.0), Hold(-50.0), "drifter",
                          False, "ego_stopped"),
    "into_braking_lead": (_straight("into_braking_lead", 15.0, [LEAD]), Hold(0.0), "lead", True, "front"),
    # leaves its lane ~0.2 s before it touches the ego's side: within the 0.75 s reaction time
    "sudden_cut_in": (_straight("sudden_cut_in", 15.0, [_cutter(1.0)]), Hold(0.0), "cutter", False, "side_cut_in"),
    # drifts over 10 s: out of its lane over a second before contact (1.5 s by the overlap test, 1.0 s by
    # the fake CARLA collision sensor, which fires earlier), time a careful driver had to react
    "slow_drift_in": (_straight("slow_drift_in", 15.0, [_cutter(10.0)]), Hold(0.0), "cutter", True, "side"),
    # the ego changes lanes into a car that keeps its own lane alongside
    "ego_changes_lane_into_car": (
        _straight("ego_changes_lane_into_car", 15.0, [{"id": "neighbour", "kind": "car", "route": "S_straight_1",
                                                       "start_s_m": 60.0, "speed_mps": 15.0,
                                                       "manoeuvre": {"type": "keep"}}]),
        ChangeLaneRight(), "neighbour", True, "side"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_constructed_collisions_get_the_expected_fault_label(name):
    sc, agent, partner, at_fault, rule = CASES[name]
    (res,) = get_backend("builtin").run([sc], agent)
    assert res.termination is TerminationReason.COLLISION and res.collision_partner == partner
    assert (res.at_fault, res.fault_rule) == (at_fault, rule)
    d = res.to_dict()
    assert (d["at_fault"], d["fault_rule"]) == (at_fault, rule)


class LateBrake:
    """Holds its speed until some road user's TTC drops under ttc_s, then brakes fully."""

    name, needs_images = "late_brake", False

    def __init__(self, ttc_s: float):
        self.ttc_s = ttc_s

    def reset(self, scenarios, seed):
        pass

    def act(self, obs):
        return Action(accel_mps2=np.where((obs.actor_ttc_s < self.ttc_s).any(axis=1), -50.0, 0.0))


def test_near_misses_are_judged_at_their_closest_encounter():
    # a follower closes in and brakes hard only when 0.8 s from the ego: a near miss the ego did not cause
    braking_follower = {**FOLLOWER, "manoeuvre": {"type": "brake_hard", "decel_mps2": 8.0,
                                                  "trigger": {"kind": "ego_ttc", "value": 0.8}}}
    # the ego brakes late behind a braking lead and stops short of it: a near miss of its own making
    cases = [(_straight("followed_closely", 12.0, [braking_follower]), Hold(0.0), False, "rear_ended"),
             (_straight("late_on_the_brakes", 15.0, [LEAD]), LateBrake(1.2), True, "front")]
    for sc, agent, at_fault, rule in cases:
        (res,) = get_backend("builtin").run([sc], agent)
        assert not res.collided and res.min_ttc_s < 1.0, sc.name
        assert (res.at_fault, res.fault_rule) == (at_fault, rule), sc.name


def test_runs_that_are_not_high_risk_carry_no_fault_label():
    far_lead = {**LEAD, "start_s_m": 300.0, "manoeuvre": {"type": "keep"}}
    (res,) = get_backend("builtin").run([_straight("calm", 15.0, [far_lead])], Hold(0.0))
    assert not res.high_risk() and res.at_fault is None and res.fault_rule is None


def test_the_loop_oracle_labels_like_the_engine():
    from adsgen.sim.reference import run_loop

    # the oracle drives the IDM agent: a follower still rear-ends it (it keeps its distance ahead)
    sc = _straight("idm_rear_ended", 12.0, [FOLLOWER])
    (res,) = get_backend("builtin").run([sc], get_agent("idm"))
    loop = run_loop(sc)
    assert res.collided and (loop.at_fault, loop.fault_rule) == (res.at_fault, res.fault_rule) == (False, "rear_ended")


def test_engine_and_carla_bridge_give_the_same_labels():
    pytest.importorskip("carla")
    from carla_bridge.backend import CarlaBackend
    from carla_bridge.testing import FakeServer

    srv = FakeServer()
    try:
        host, port = srv.listen()
        with CarlaBackend(f"{host}:{port}", client_factory=srv.client_factory, timeout_s=2.0) as carla:
            for name, (sc, agent, partner, at_fault, rule) in CASES.items():
                (got,) = carla.run([sc], agent)
                (want,) = get_backend("builtin").run([sc], agent)
                assert got.collision_partner == want.collision_partner == partner, name
                assert (got.at_fault, got.fault_rule) == (want.at_fault, want.fault_rule) == (at_fault, rule), name
    finally:
        srv.shutdown()
