"""The builtin engine: physics with tolerances, the default agent, the seeds, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from adsgen.paths import SEEDS_DIR
from adsgen.scenario.io import load_seeds
from adsgen.scenario.mapping import FRICTION_MU, G_MPS2, instantiate
from adsgen.scenario.model import Scenario
from adsgen.sim.agents import Action, get_agent
from adsgen.sim.backends import get_backend
from adsgen.sim.types import DT_S, TerminationReason


def _scenario(surface="dry", light="daylight", ego_speed=20.0, actors=(), horizon=10.0, weather="clear"):
    return Scenario.model_validate({
        "name": "t", "factors": {"light": light, "weather": weather, "surface": surface, "road_layout": "straight",
                                 "traffic_control": "none", "speed_limit": "mid", "other_movement": "slowing_stopped",
                                 "driver_impaired": "no", "collision_type": "rear_end"},
        "road": {"template": "straight"}, "ego": {"route": "S_straight_0", "start_s_m": 5.0, "speed_mps": ego_speed},
        "actors": list(actors), "horizon_s": horizon})


class FullBrake:
    """Requests far more braking than friction allows from the first step."""

    name = "full_brake"
    needs_images = False

    def reset(self, scenarios, seed):
        pass

    def act(self, obs):
        return Action(accel_mps2=np.full(len(obs.ego_speed_mps), -50.0))


@pytest.mark.parametrize("surface", ["dry", "wet", "snow_ice"])
@pytest.mark.parametrize("v0", [10.0, 25.0])
def test_braking_distance_matches_mu_g(surface, v0):
    be = get_backend("builtin")
    res = be.run([_scenario(surface, ego_speed=v0, horizon=20.0)], FullBrake(), record_trajectories=True)[0]
    ys = np.array([row[2] for row in res.trajectories["ego"]])
    speeds = np.array([row[4] for row in res.trajectories["ego"]])
    assert speeds[-1] == 0.0
    expected = v0**2 / (2 * FRICTION_MU[surface] * G_MPS2)
    assert abs((ys[-1] - ys[0]) - expected) / expected < 0.05


def _stopped_car(start_s):
    return {"id": "stopped", "kind": "car", "route": "S_straight_0", "start_s_m": start_s, "speed_mps": 0.0,
            "manoeuvre": {"type": "stopped"}}


def test_idm_stops_behind_stopped_car_dry_daylight():
    sc = _scenario("dry", "daylight", ego_speed=50 / 3.6, actors=[_stopped_car(120.0)], horizon=20.0)
    res = get_backend("builtin").run([sc], get_agent("idm"))[0]
    assert res.termination is TerminationReason.TIMEOUT
    assert 0.5 < res.min_distance_m < 6.0  # stopped close behind, not far away


def test_idm_collides_at_80_on_ice_at_night():
    sc = _scenario("snow_ice", "dark_unlighted", ego_speed=80 / 3.6, actors=[_stopped_car(150.0)], horizon=20.0)
    res = get_backend("builtin").run([sc], get_agent("idm"))[0]
    assert res.termination is TerminationReason.COLLISION and res.collision_partner == "stopped"
    assert res.impact_speed_mps > 5.0


def test_idm_stops_at_red_signal():
    sc = _scenario("dry", ego_speed=12.0, horizon=20.0).model_copy(update={})
    data = sc.model_dump()
    data["factors"]["traffic_control"] = "signal"
    data["road"]["signal"] = {"green_s": 5.0, "yellow_s": 3.0, "all_red_s": 1.0, "offset_s": 5.0}  # yellow at t=0
    data["ego"]["start_s_m"] = 60.0
    sc = Scenario.model_validate(data)
    res = get_backend("builtin").run([sc], get_agent("idm"), record_trajectories=True)[0]
    ys = [row[2] for row in res.trajectories["ego"]]
    stop_y = 200.0 - 1.5 - 1.0  # the mid-block crosswalk's stop line
    reds = [y for t, y in zip([r[0] for r in res.trajectories["ego"]], ys, strict=True) if 3.0 <= t <= 12.0]
    assert max(reds) < stop_y and ys[-1] > stop_y  # held at the line while red, went on green


def test_seeds_collide_as_declared():
    seeds = load_seeds(SEEDS_DIR)
    results = get_backend("builtin").run([s.scenario for s in seeds], get_agent("idm"), seed=0)
    for s, r in zip(seeds, results, strict=True):
        assert r.collided == s.expect_collision, (s.name, r)


def test_seed_nominal_equals_instantiated_manoeuvres():
    for s in load_seeds(SEEDS_DIR):
        sc = instantiate(s, s.scenario.factors, {})
        assert [a.manoeuvre.type for a in sc.actors] == [a.manoeuvre.type for a in s.scenario.actors]


@pytest.mark.slow
def test_batch_of_one_equals_batch_of_thousand():
    seeds = load_seeds(SEEDS_DIR)
    rng = np.random.default_rng(3)
    batch = []
    for i in range(1000):
        seed = seeds[i % len(seeds)]
        params = {p.path: float(rng.uniform(p.low, p.high)) for p in seed.parameters}
        factors = {"light": str(rng.choice(["daylight", "dark_unlighted", "dawn_dusk"])),
                   "weather": str(rng.choice(["clear", "rain", "fog"]))}
        batch.append(instantiate(seed, factors, params))
    be = get_backend("builtin")
    big = be.run(batch, get_agent("idm"), seed=7)
    for i in (0, 1, 2, 3, 4, 501, 998):
        one = be.run([batch[i]], get_agent("idm"), seed=7)[0]
        assert one.to_dict() == big[i].to_dict()
    assert len({r.termination for r in big}) > 1  # the batch is not degenerate


def test_run_result_fields_and_trajectories():
    seeds = {s.name: s for s in load_seeds(SEEDS_DIR)}
    r = get_backend("builtin").run([seeds["straight_crossing_path"].scenario], get_agent("idm"),
                                   record_trajectories=True)[0]
    d = r.to_dict()
    assert d["termination"] == "collision" and d["collision_partner"] == "crosser"
    assert d["pet_s"] == 0.0 and d["min_ttc_s"] == 0.0 and d["impact_speed_mps"] > 5
    assert set(r.trajectories) == {"ego", "crosser"}
    assert len(r.trajectories["ego"]) == round(r.duration_s / DT_S) + 1


def test_snapshots_give_world_states():
    seeds = {s.name: s for s in load_seeds(SEEDS_DIR)}
    sc = seeds["pedestrian_crossing"].scenario
    be = get_backend("builtin")
    snaps = be.snapshots(sc, get_agent("idm"), 0, [0.0, 2.0, 99.0])
    assert [round(s.time_s, 2) for s in snaps[:2]] == [0.0, 2.0]
    assert snaps[0].ego.y_m < snaps[1].ego.y_m and {a.id for a in snaps[0].actors} == {"parked", "walker"}
    assert snaps[0].actors[1].kind == "pedestrian"


class ConstantSpeed:
    """Holds its speed whatever happens (for physics tests)."""

    name = "constant"
    needs_images = False

    def reset(self, scenarios, seed):
        pass

    def act(self, obs):
        return Action(accel_mps2=np.zeros(len(obs.ego_speed_mps)))


def _on(template, route, speed, surface="dry", start=100.0, horizon=20.0, actors=(), radius=150.0):
    f = {"light": "daylight", "weather": "clear", "surface": surface, "road_layout": template,
         "traffic_control": "none", "speed_limit": "mid", "other_movement": "straight", "driver_impaired": "no",
         "collision_type": "head_on"}
    return Scenario.model_validate({"name": f"{template}:{route}", "factors": f,
                                    "road": {"template": template, "curve_radius_m": radius},
                                    "ego": {"route": route, "start_s_m": start, "speed_mps": speed},
                                    "actors": list(actors), "horizon_s": horizon})


@pytest.mark.parametrize("template, route, speed", [
    ("curve", "S_straight_0", 25.0), ("curve", "N_straight_1", 25.0), ("intersection", "S_right_1", 12.0),
    ("intersection", "S_left_0", 12.0), ("intersection", "W_straight_1", 15.0), ("t_junction", "E_left_1", 12.0),
    ("ramp", "R_merge_0", 20.0), ("ramp", "S_straight_1", 25.0)])
def test_idm_drives_every_template_on_the_road(template, route, speed):
    from adsgen.scenario.roads import build_road

    sc = _on(template, route, speed, radius=80.0, start=20.0)
    res = get_backend("builtin").run([sc], get_agent("idm"), record_trajectories=True)[0]
    assert res.termination in (TerminationReason.COMPLETED, TerminationReason.TIMEOUT)
    xy = np.array([row[1:3] for row in res.trajectories["ego"]])
    assert build_road(sc.road).is_drivable(xy).all()


def test_too_fast_for_the_curve_on_ice_runs_off_the_road():
    be = get_backend("builtin")
    dry, ice = be.run([_on("curve", "S_straight_0", 25.0, "dry", start=60.0, radius=80.0),
                       _on("curve", "S_straight_0", 25.0, "snow_ice", start=60.0, radius=80.0)], ConstantSpeed())
    assert dry.termination is TerminationReason.COMPLETED  # 25^2 / 80 = 7.8 m/s2 < 0.85 g
    assert ice.termination is TerminationReason.OFF_ROAD   # > 0.2 g: it cannot hold the arc


def test_head_on_drift_hits_the_ego():
    drifter = {"id": "drifter", "kind": "car", "route": "N_straight_0", "start_s_m": 230.0, "speed_mps": 15.0,
               "manoeuvre": {"type": "head_on_drift", "drift_m": 3.5, "duration_s": 1.5,
                             "trigger": {"kind": "ego_distance", "value": 40.0}}}
    res = get_backend("builtin").run([_on("straight", "S_straight_0", 15.0, start=5.0, actors=[drifter])],
                                     ConstantSpeed())[0]
    assert res.termination is TerminationReason.COLLISION and res.collision_partner == "drifter"
    assert res.impact_speed_mps > 20.0  # closing speed of two cars meeting head-on


def test_image_agents_can_render_the_current_frame():
    from adsgen.render import render

    class LooksOnce:
        name = "looks"
        needs_images = True
        renderer = staticmethod(render)  # injected: the simulation imports no renderer

        def reset(self, scenarios, seed):
            self.frames = []

        def act(self, obs):
            if obs.step == 10:
                self.frames.append(obs.render(0, "CAM_FRONT", scale=0.2))
            return Action(accel_mps2=np.zeros(len(obs.ego_speed_mps)))

    seeds = {s.name: s for s in load_seeds(SEEDS_DIR)}
    agent = LooksOnce()
    get_backend("builtin").run([seeds["cut_in"].scenario], agent)
    frame = agent.frames[0]
    assert frame.image.shape[:2] == (180, 320)


def test_idm_agent_works_without_the_optional_observation_fields():
    """Backends that give no TTC or curvature preview (e.g. CARLA's) drive the same IDM agent the same way."""
    import dataclasses

    from adsgen.sim.agents import IDMAgent

    class Stripped(IDMAgent):
        def act(self, obs):
            return super().act(dataclasses.replace(obs, actor_ttc_s=None, ego_curvature_ahead_1pm=None,
                                                   curvature_ahead_at_m=None))

    scenarios = [s.scenario for s in load_seeds(SEEDS_DIR)]
    scenarios.append(_on("curve", "S_straight_0", 25.0, radius=80.0, start=20.0))
    be = get_backend("builtin")
    for full, bare in zip(be.run(scenarios, get_agent("idm")), be.run(scenarios, Stripped()), strict=True):
        assert (full.termination, full.collision_partner) == (bare.termination, bare.collision_partner)
        assert full.duration_s == bare.duration_s
        assert full.min_distance_m == pytest.approx(bare.min_distance_m, abs=1e-6)


def test_idm_serves_a_stop_sign_then_goes():
    sc = _on("intersection", "S_straight_0", 12.0, start=60.0, horizon=25.0)
    data = sc.model_dump()
    data["factors"]["traffic_control"] = "stop_sign"
    sc = Scenario.model_validate(data)
    res = get_backend("builtin").run([sc], get_agent("idm"), record_trajectories=True)[0]
    rows = np.array(res.trajectories["ego"])  # t, x, y, yaw, v
    h = 2 * 3.5 + 6.0  # junction half-size
    stop_y = -h - 150.0 + 145.0  # the stop line is 145 m along the 150 m arm
    stopped = rows[rows[:, 4] == 0.0]
    assert len(stopped) >= round(1.0 / DT_S)  # a full stop of at least a second
    assert -3.5 < stopped[:, 2].max() + 2.3 - stop_y < 0.0  # front bumper just before the line
    assert rows[-1, 2] > 20.0  # then it went through the junction
