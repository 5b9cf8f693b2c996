"""Keyframes chosen by what matters (adsgen.render.moments): the hazard in view, the reaction, the impact."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image as PILImage

from adsgen.paths import SEEDS_DIR
from adsgen.render.moments import MIN_HAZARD_HEIGHT_PX, frame_stem, moment_frames
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


def test_a_hazard_from_the_side_is_shown_by_the_camera_that_sees_it():
    """The straight-crossing car comes from the left, outside CAM_FRONT's view up to the impact: its keyframes
    come from the front-left camera, where it is visible and named in the caption."""
    from adsgen.render.moments import moment_images

    result, moments = _moments("straight_crossing_path.yaml")
    cameras = {frame.camera for _, frame, _ in moments}
    assert cameras == {"CAM_FRONT_LEFT"}, cameras
    assert max(m.hazard_height_px for m, _, _ in moments) >= MIN_HAZARD_HEIGHT_PX
    stems = [stem for stem, _, _ in moment_images(moments, "x")]
    assert any(s.endswith("_CAM_FRONT_LEFT") for s in stems)
    _, pedestrian = _moments("pedestrian_crossing.yaml")
    assert {frame.camera for _, frame, _ in pedestrian} == {"CAM_FRONT"}  # a hazard ahead stays on the front
