"""Bar: the CARLA client's own OpenDRIVE parser, on every road template, puts the lane centre-lines within
0.1 m of the engine's routes (after the left-handed y flip). Offline: carla.Map(name, xodr), no server."""

from __future__ import annotations

import pytest

from adsgen.scenario.model import RoadSpec
from adsgen.scenario.opendrive import write_opendrive
from adsgen.scenario.roads import TEMPLATES, build_road
from carla_bridge.parity import map_parity, template_exclusions

carla = pytest.importorskip("carla")

PARITY_M = 0.1  # [m] the bar
VARIANTS = [(1, 2.75, 30.0), (2, 3.5, 150.0), (4, 4.5, 2000.0)]  # (lanes, lane width [m], curve radius [m])


@pytest.mark.parametrize("lanes,width,radius", VARIANTS)
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_parses_in_carla_with_lane_centres_on_the_routes(template, lanes, width, radius):
    net = build_road(RoadSpec(template=template, lanes=lanes, lane_width_m=width, curve_radius_m=radius))
    cmap = carla.Map(f"adsgen_{template}", write_opendrive(net))
    rep = map_parity(cmap, net, template_exclusions(net))
    assert rep.map_to_engine_m < PARITY_M, rep.worst
    assert rep.engine_to_map_m < PARITY_M, rep.worst
    assert rep.unmatched_waypoints == 0  # every CARLA driving lane is a lane the engine drives
    route_points = sum(len(r.xy) for r in net.routes.values() if r.kind != "crosswalk")
    assert rep.route_points > 0.9 * route_points  # measured nearly everywhere, not skipped as 'beyond an end'
    assert rep.waypoints > 100


def test_parity_check_catches_a_lane_width_mismatch():
    net = build_road(RoadSpec(template="curve", lanes=2, lane_width_m=3.5, curve_radius_m=150.0))
    other = build_road(RoadSpec(template="curve", lanes=2, lane_width_m=3.7, curve_radius_m=150.0))
    rep = map_parity(carla.Map("w", write_opendrive(other)), net)
    assert rep.max_m > PARITY_M


def test_parity_check_catches_a_missing_y_flip(monkeypatch):
    from carla_bridge import frames, parity

    net = build_road(RoadSpec(template="t_junction", lanes=1, lane_width_m=3.5))
    cmap = carla.Map("t", write_opendrive(net))
    monkeypatch.setattr(parity.frames, "pose_from_carla",
                        lambda tf: (tf.location.x, tf.location.y, frames.yaw_from_carla_rad(tf.rotation.yaw)))
    rep = map_parity(cmap, net)
    assert rep.max_m > PARITY_M or rep.unmatched_waypoints > 0
