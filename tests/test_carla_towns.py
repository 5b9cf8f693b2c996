"""Town mode: sites found from a map's junctions and waypoints (offline, real carla.Map), the routes moved
there rigidly, and a run at a rotated site giving the same outcome as on the generated road."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from adsgen.errors import ConfigError
from adsgen.scenario.io import load_scenario
from adsgen.scenario.model import RoadSpec
from adsgen.scenario.opendrive import write_opendrive
from adsgen.scenario.roads import build_road
from adsgen.sim.agents import get_agent

carla = pytest.importorskip("carla")

from carla_bridge.frames import Placement  # noqa: E402
from carla_bridge.towns import find_site  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "carla"


def _town(spec: RoadSpec):
    return carla.Map("Town99", write_opendrive(build_road(spec)))


def test_junction_site_is_the_junction_at_a_right_angle_with_the_routes_on_its_lanes():
    sc = load_scenario(FIXTURES / "left_turn.yaml")
    site = find_site(_town(sc.road), build_road(sc.road), sc)
    assert site.kind == "junction"
    assert math.hypot(site.placement.dx_m, site.placement.dy_m) < 0.05
    assert abs(math.remainder(4 * site.placement.yaw_rad, 2 * math.pi)) < 1e-3  # a multiple of 90 deg
    assert site.fit_m < 0.2


def test_t_junction_stem_goes_to_the_templates_south_arm():
    spec = RoadSpec(template="t_junction", lanes=2, lane_width_m=3.5)
    sc = load_scenario(FIXTURES / "red_light.yaml").model_copy(update={
        "road": spec, "ego": load_scenario(FIXTURES / "red_light.yaml").ego.model_copy(update={"route": "S_left_0"})})
    site = find_site(_town(spec), build_road(spec), sc)
    assert abs(site.placement.yaw_rad) < 1e-3 and site.fit_m < 0.2


def test_four_arm_template_finds_no_site_in_a_town_with_only_a_t_junction():
    town = _town(RoadSpec(template="t_junction", lanes=2))
    sc = load_scenario(FIXTURES / "left_turn.yaml")
    with pytest.raises(ConfigError, match="4-arm junction"):
        find_site(town, build_road(sc.road), sc)


def test_straight_site_puts_lane_zero_on_the_towns_inner_lane():
    sc = load_scenario(FIXTURES / "cut_in.yaml")
    site = find_site(_town(sc.road), build_road(sc.road), sc)
    assert site.kind == "stretch" and site.fit_m < 0.05


@pytest.mark.parametrize("radius", [60.0, 400.0])
def test_curve_site_is_the_bend_start_with_the_templates_radius(radius):
    spec = RoadSpec(template="curve", curve_radius_m=radius)
    sc = load_scenario(FIXTURES / "cut_in.yaml").model_copy(update={"road": spec})
    site = find_site(_town(spec), build_road(spec), sc)
    assert math.hypot(site.placement.dx_m, site.placement.dy_m) < 0.1 and site.fit_m < 0.1


def test_curve_needs_a_bend_and_ramp_has_no_town_site_search():
    curve = RoadSpec(template="curve")
    sc = load_scenario(FIXTURES / "cut_in.yaml").model_copy(update={"road": curve})
    with pytest.raises(ConfigError, match="left-hand bend"):
        find_site(_town(RoadSpec(template="straight")), build_road(curve), sc)
    ramp = RoadSpec(template="ramp")
    sc = sc.model_copy(update={"road": ramp})
    with pytest.raises(ConfigError, match="ramp"):
        find_site(_town(RoadSpec(template="straight")), build_road(ramp), sc)


def test_placement_round_trips_poses():
    p = Placement(12.0, -7.0, 2.1, 0.3)
    x, y, yaw = p.from_world(*p.to_world(3.0, 4.0, 0.5))
    assert (x, y) == pytest.approx((3.0, 4.0)) and yaw == pytest.approx(0.5)
    tf = p.carla_transform(3.0, 4.0, 0.5)
    assert p.pose_from_carla(tf) == pytest.approx((3.0, 4.0, 0.5), abs=1e-5)


def test_a_run_at_a_rotated_town_site_matches_the_generated_road():
    from carla_bridge.backend import CarlaBackend
    from carla_bridge.testing import FakeServer

    sc = load_scenario(FIXTURES / "red_light.yaml")
    results = {}
    for town in (None, "Town99"):
        srv = FakeServer(towns={"Town99": write_opendrive(build_road(sc.road))}, street_lights=4)
        host, port = srv.listen()
        with CarlaBackend(f"{host}:{port}", town=town, client_factory=srv.client_factory) as backend:
            (results[town],) = backend.run([sc], get_agent("idm"))
        srv.shutdown()
        assert srv.alive == []
    gen, twn = results[None], results["Town99"]
    assert twn.extra["carla"]["map"] == "Town99" and twn.extra["carla"]["site"]["kind"] == "junction"
    assert abs(math.remainder(4 * float(twn.extra["carla"]["site"]["placement"].split("yaw_rad=")[1][:-1]),
                              2 * math.pi)) < 1e-3
    assert twn.termination is gen.termination
    assert twn.min_distance_m == pytest.approx(gen.min_distance_m, abs=0.05)
    assert twn.min_ttc_s == pytest.approx(gen.min_ttc_s, abs=0.05)
