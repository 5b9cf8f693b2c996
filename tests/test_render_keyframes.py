"""Keyframes of the shipped seeds on the builtin engine, and the render benchmark helper."""

from __future__ import annotations

import numpy as np
import pytest

from adsgen.paths import SEEDS_DIR
from adsgen.render import keyframes, render
from adsgen.render.bench import bench_snapshots, render_ms
from adsgen.scenario.io import load_seed


def test_keyframes_follow_the_run():
    seed = load_seed(SEEDS_DIR / "cut_in.yaml")
    frames = keyframes(seed.scenario, "idm", 0, [0.0, 4.0], ["CAM_FRONT", "CAM_BACK"], scale=0.25)
    assert [(f.time_s, f.camera) for f in frames] == [(0.0, "CAM_FRONT"), (0.0, "CAM_BACK"),
                                                     (4.0, "CAM_FRONT"), (4.0, "CAM_BACK")]
    cutter_t0, cutter_t4 = frames[0].object("cutter"), frames[2].object("cutter")
    assert cutter_t0 is not None and cutter_t4 is not None
    assert cutter_t4.depth_m < cutter_t0.depth_m      # the ego closes in on the cutter
    for f in frames:
        for o in f.objects:
            x, y = o.center_px
            assert f.instance_mask[int(y), int(x)] == o.instance
    with pytest.raises(KeyError, match="CAM_TOP"):
        keyframes(seed.scenario, "idm", 0, [0.0], ["CAM_TOP"])


def test_scenario_factors_drive_the_look():
    day, night, fog = bench_snapshots()   # daylight/clear, dark_lighted/rain, dawn_dusk/fog on one street
    lum = {k: render(s, scale=0.25).image.mean() for k, s in (("day", day), ("night", night), ("fog", fog))}
    assert lum["night"] < 0.5 * lum["day"]
    seen = {k: {o.id for o in render(s, scale=0.25).objects} for k, s in (("day", day), ("fog", fog))}
    assert seen["day"] == seen["fog"]   # fog hides by contrast, not by geometry


def test_render_ms_is_a_positive_timing():
    ms = render_ms(width=400, height=225, repeats=1)
    assert 0.0 < ms < 5000.0
    with pytest.raises(ValueError, match="scale"):
        render_ms(width=400, height=400, repeats=1)


def test_signalised_seed_shows_its_signal_and_renders_deterministically():
    seed = load_seed(SEEDS_DIR / "left_turn_across_path.yaml")
    (a,) = keyframes(seed.scenario, "idm", 3, [2.0], ["CAM_FRONT"], scale=0.25)
    (b,) = keyframes(seed.scenario, "idm", 3, [2.0], ["CAM_FRONT"], scale=0.25)   # a second, separate run
    sig = a.object("traffic_signal")
    assert sig is not None and sig.kind == "traffic_signal" and sig.pixels > 10
    assert (a.image == b.image).all() and (a.depth == b.depth).all()


@pytest.mark.parametrize("control", ["none", "signal", "stop_sign"])
def test_stop_lines_and_signals_only_where_the_engine_enforces_them(control):
    """traffic_control none: no stop line paint and no signal or sign (the engine ignores stop lines then)."""
    from adsgen.render.ground import ASPHALT, WHITE_PAINT
    from adsgen.render.renderer import texture_for
    from adsgen.render.road import ground_layers
    from adsgen.scenario.mapping import has_stop_control
    from adsgen.scenario.roads import build_road

    seed = load_seed(SEEDS_DIR / "straight_crossing_path.yaml")
    sc = seed.scenario.model_copy(update={"factors": seed.scenario.factors.model_copy(
        update={"traffic_control": control})})
    layers = ground_layers(sc)
    tex = texture_for(layers)
    lines = build_road(sc.road).stop_lines
    assert len(lines) == 4
    at = np.array([[0.75 * a + 0.25 * b for a, b in zip(sl.p0, sl.p1, strict=True)] for sl in lines])  # (4, 2)
    paint = tex.lookup(at[:, 0].astype(np.float32), at[:, 1].astype(np.float32))
    assert (paint == (WHITE_PAINT if has_stop_control(sc.factors) else ASPHALT)).all()
    (frame,) = keyframes(sc, "idm", 0, [0.5], ["CAM_FRONT"], scale=0.25)
    drawn = {o.kind for o in frame.objects} & {"traffic_signal", "stop_sign"}
    assert drawn == ({"traffic_signal"} if control == "signal" else {"stop_sign"} if control == "stop_sign"
                     else set())
