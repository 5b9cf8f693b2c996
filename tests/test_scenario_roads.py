"""Road templates: routes, OpenDRIVE lane centres matching the routes, drivable area."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from adsgen.scenario.model import RoadSpec
from adsgen.scenario.opendrive import lane_centre, write_opendrive
from adsgen.scenario.roads import TEMPLATES, build_road


def _dist_to_polyline(pts: np.ndarray, line: np.ndarray) -> np.ndarray:
    a, b = line[:-1], line[1:]  # (m, 2)
    ab = b - a
    t = np.clip(((pts[:, None] - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12), 0, 1)  # (n, m)
    proj = a + t[..., None] * ab
    return np.linalg.norm(pts[:, None] - proj, axis=-1).min(axis=1)


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("lanes", [1, 2, 3])
def test_template_routes_and_opendrive(template, lanes):
    net = build_road(RoadSpec(template=template, lanes=lanes))
    assert "S_straight_0" in net.routes or "S_left_0" in net.routes
    root = ET.fromstring(write_opendrive(net))
    assert root.tag == "OpenDRIVE" and len(root.findall("road")) == len(net.roads)
    for r in net.routes.values():
        assert np.allclose(np.diff(r.s), 0.5)
        if r.kind != "crosswalk":
            assert net.is_drivable(r.xy[4:-4]).all(), r.name
    # every OpenDRIVE driving lane centre that a route follows lies within 0.1 m of that route
    lane_routes = [r for r in net.routes.values() if r.kind == "lane"]
    for road in net.roads:
        for sec in road.sections[:1]:
            for lane in sec.left + sec.right:
                if lane.type != "driving" or lane.width[2] != 0.0:
                    continue
                s_end = road.sections[1].s if len(road.sections) > 1 else road.length
                pts = lane_centre(road, lane.id, np.linspace(0.5, s_end - 0.5, 15))
                best = min(_dist_to_polyline(pts, r.xy).max() for r in lane_routes)
                assert best < 0.1, (road.name, lane.id, best)


def test_intersection_has_stop_lines_and_crosswalks():
    net = build_road(RoadSpec(template="intersection"))
    assert {sl.approach for sl in net.stop_lines} == {"S", "N", "E", "W"}
    assert {"X_N_east", "X_N_west", "X_S_east"} <= set(net.routes)
    r = net.routes["S_straight_0"]
    xy, _ = r.at(r.stop_s_m)
    assert xy[1] < -net.spec.lanes * net.spec.lane_width_m  # stop line before the junction box
    assert {p.kind for p in net.surface_polygons()} >= {"road", "junction", "crosswalk", "sidewalk"}
    assert any(m.kind == "stop_line" for m in net.lane_markings())
    assert not net.is_drivable(np.array([[60.0, 60.0]]))[0]


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_opendrive_validates_against_the_schema(template):
    """The OpenDRIVE text validates against the OpenDRIVE 1.7 core schema that scenariogeneration installs."""
    from pathlib import Path

    import scenariogeneration
    import xmlschema

    xsd = Path(scenariogeneration.__file__).parent.parent / "schemas" / "opendrive_17_core.xsd"
    if not xsd.is_file():
        pytest.skip("scenariogeneration's OpenDRIVE schemas are not installed")
    schema = xmlschema.XMLSchema(str(xsd))
    errors = list(schema.iter_errors(write_opendrive(build_road(RoadSpec(template=template, lanes=2)))))
    assert not errors, errors[:3]
