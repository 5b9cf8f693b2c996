"""Keyframes chosen by what matters (adsgen.render.moments): the hazard in view, the reaction, the impact."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image as PILImage

from adsgen.paths import SEEDS_DIR
from adsgen.render.moments import MIN_HAZARD_HEIGHT_PX, Moment, frame_stem, moment_frames
from adsgen.scenario.io import load_scenario
from adsgen.sim.agents import get_agent
from adsgen.sim.engine import BuiltinBackend


def _moments(seed_file: str):
    sc = load_scenario(SEEDS_DIR / seed_file)
    backend, agent = BuiltinBackend(), get_agent("idm")
    try:
        result = backend.run([sc], agent, 0)[0].to_dict()
        return result, moment_frames(backend, sc, agent, 0, result, scale=0.4)
    finally:
        backend.close()


def test_pedestrian_seed_keyframes_show_the_pedestrian_larger_than_20_px():
    _, moments = _moments("pedestrian_crossing.yaml")
    labels = [m.label for m, _, _ in moments]
    assert labels[0] == "hazard visible" and "reaction" in labels
    first = moments[0][1].object("walker")  # the walker, not the parked truck that hides it at first
    assert first is not None and first.box_px[3] - first.box_px[1] > MIN_HAZARD_HEIGHT_PX
    assert first.box_px[2] - first.box_px[0] >= 3  # more than a sliver
    times = [m.time_s for m, _, _ in moments]
    assert times == sorted(times) and len(set(times)) == len(times)


@pytest.mark.parametrize("seed_file", ["straight_crossing_path.yaml", "cut_in.yaml"])
def test_moments_end_at_the_impact_or_the_closest_approach(seed_file):
    result, moments = _moments(seed_file)
    last, frame, _ = moments[-1]
    if result["collision_time_s"] is not None:
        assert last.label == "impact" and abs(last.time_s - result["collision_time_s"]) < 0.06
        assert frame.object(result["collision_partner"]) is not None  # the partner is in the impact frame
    else:
        assert last.label == "closest approach"
    assert moments[0][0].label == "hazard visible" and moments[0][0].hazard_height_px >= MIN_HAZARD_HEIGHT_PX


def test_frame_stems_follow_one_scheme():
    assert frame_stem("run 3 cut_in_nominal", 5.0, "CAM_FRONT") == "run-3-cut-in-nominal_t05.00s_CAM_FRONT"
    assert frame_stem("x", 12.345, "BEV") == "x_t12.35s_BEV"


def test_simulate_render_writes_front_camera_and_birds_eye_views(cli, tmp_path):
    code, stdout, err = cli(["simulate", SEEDS_DIR / "pedestrian_crossing.yaml", "--render", tmp_path, "--no-judge"])
    assert code == 0, err
    pngs = sorted(p.name for p in tmp_path.glob("*.png") if "depth" not in p.name)
    fronts = [p for p in pngs if p.endswith("_CAM_FRONT.png")]
    bevs = [p for p in pngs if p.endswith("_BEV.png")]
    assert len(fronts) == len(bevs) >= 2 and "hazard visible at t =" in stdout
    assert all(re.fullmatch(r"pedestrian-crossing-nominal_t\d\d\.\d\ds_(CAM_FRONT|BEV)\.png", p) for p in fronts + bevs)
    assert np.asarray(PILImage.open(tmp_path / bevs[0])).std() > 5  # not a blank image


def test_a_hazard_beside_the_ego_is_shown_by_the_camera_that_sees_it():
    """A car 50 degrees to the ego's left is outside CAM_FRONT's view: the keyframes come from the front-left
    camera, where it is visible, and their names and captions say so; a car ahead stays on CAM_FRONT."""
    import dataclasses
    import math

    from adsgen.render.moments import hazard_camera_frames, moment_images
    from adsgen.sim.snapshot import ObjectState

    sc = load_scenario(SEEDS_DIR / "lead_vehicle_braking.yaml")
    backend = BuiltinBackend()
    try:
        (snap,) = backend.snapshots(sc, get_agent("idm"), 0, [0.0])
    finally:
        backend.close()
    ego = snap.ego

    def car_at(oid: str, bearing_deg: float, dist_m: float) -> ObjectState:
        a = ego.yaw_rad + math.radians(bearing_deg)
        return ObjectState(oid, "car", ego.x_m + dist_m * math.cos(a), ego.y_m + dist_m * math.sin(a),
                           ego.yaw_rad - math.pi / 2, 8.0, 4.6, 1.9, 1.5)

    side = dataclasses.replace(snap, actors=(car_at("crosser", 50.0, 14.0),))
    frames = hazard_camera_frames([side], "crosser", 0.4)
    assert frames[0].camera == "CAM_FRONT_LEFT" and frames[0].object("crosser") is not None
    stems = [stem for stem, _, _ in moment_images([(Moment("impact", 0.0), frames[0], side)], "x")]
    assert stems == ["x_t00.00s_CAM_FRONT_LEFT", "x_t00.00s_BEV"]
    ahead = dataclasses.replace(snap, actors=(car_at("lead", 0.0, 20.0),))
    assert hazard_camera_frames([ahead], "lead", 0.4)[0].camera == "CAM_FRONT"
