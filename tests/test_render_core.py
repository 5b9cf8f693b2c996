"""Renderer: projection, instance masks, depth, weather and light, bird's-eye view, saving."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adsgen.render import CAMERA_NAMES, RIG, appearance_for, bev, make_camera, paint_of, render, save_frame
from adsgen.render.ground import ASPHALT, WHITE_PAINT, GroundLayers, Marking
from adsgen.render.palette import VEHICLE_PAINTS
from adsgen.render.scene import build_faces
from adsgen.sim.snapshot import ObjectState, WorldSnapshot


@pytest.fixture(scope="module")
def road() -> GroundLayers:
    """A straight 4-lane road along +x with lane lines (the test's own road, independent of templates)."""
    xs = np.array([-60.0, 400.0])
    return GroundLayers(
        surfaces=((np.array([[-60, -7.0], [400, -7.0], [400, 7.0], [-60, 7.0]]), ASPHALT),),
        markings=(Marking(np.stack([xs, [0.0, 0.0]], 1)), Marking(np.stack([xs, [-3.5, -3.5]], 1), dash_m=(3, 9)),
                  Marking(np.stack([xs, [6.9, 6.9]], 1), material=WHITE_PAINT)),
        lamps_m=np.array([[x, 9.0] for x in range(0, 200, 40)], dtype=float),
        signal=(60.0, -8.5, math.pi))


def _car(oid: str, x: float, y: float, yaw: float = 0.0, kind: str = "car", braking: bool = False) -> ObjectState:
    size = (9.0, 2.5, 3.5) if kind == "truck" else ((0.5, 0.6, 1.75) if kind == "pedestrian" else (4.6, 1.9, 1.5))
    return ObjectState(oid, kind, x, y, yaw, 5.0, *size, braking=braking)


EGO = ObjectState("ego", "ego", 0.0, -1.75, 0.0, 10.0, 4.6, 1.9, 1.5)


def _snap(*actors: ObjectState, signal: str | None = "red") -> WorldSnapshot:
    return WorldSnapshot(0.0, None, EGO, tuple(actors), signal_state=signal)


def test_rig_matches_nuscenes_layout():
    assert CAMERA_NAMES == ("CAM_FRONT", "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT", "CAM_BACK", "CAM_BACK_LEFT",
                            "CAM_BACK_RIGHT")
    front = RIG["CAM_FRONT"]
    assert front.fx_px == pytest.approx(1266.4) and (front.cx_px, front.cy_px) == (800.0, 450.0)
    assert 60 < front.hfov_deg < 70 and 85 < RIG["CAM_BACK"].hfov_deg < 95
    assert make_camera("CAM_FRONT", 0, 0, 0, scale=0.5).K[0, 0] == pytest.approx(633.2)
    with pytest.raises(KeyError, match="CAM_FRONT"):
        make_camera("CAM_TOP", 0, 0, 0)


def test_known_point_projects_to_the_right_pixel():
    cam = make_camera("CAM_FRONT", 10.0, 5.0, math.pi / 2, scale=1.0)  # ego heading north
    mount = RIG["CAM_FRONT"]
    # a point 20 m straight ahead of the camera, 1 m to its right and 0.5 m below it
    p = np.array([[10.0 + 1.0, 5.0 + mount.x_m + 20.0, mount.z_m - 0.5]])
    uv, depth = cam.project(p)
    assert depth[0] == pytest.approx(20.0)
    assert uv[0, 0] == pytest.approx(800.0 + 1266.4 * 1.0 / 20.0)
    assert uv[0, 1] == pytest.approx(450.0 + 1266.4 * 0.5 / 20.0)
    # behind the camera: no pixel
    uv_b, d_b = make_camera("CAM_BACK", 10.0, 5.0, math.pi / 2).project(p)
    assert d_b[0] < 0 and np.isnan(uv_b).all()


def test_centre_on_mask_and_depth_matches_distance(road):
    lead = _car("lead", 20.0, -1.75)
    walker = _car("walker", 14.0, -5.0, math.pi / 2, kind="pedestrian")
    f = render(_snap(lead, walker), "CAM_FRONT", 0.5, ground=road)
    assert f.image.shape == (450, 800, 3) and f.image.dtype == np.uint8
    assert f.depth.shape == (450, 800) and f.depth.dtype == np.float32
    ids = {o.id for o in f.objects}
    assert {"lead", "walker", "traffic_signal"} <= ids
    for o in f.objects:
        x, y = o.center_px
        assert f.instance_mask[int(y), int(x)] == o.instance, o.id
        assert f.instance_ids[o.instance] == o.id
        x1, y1, x2, y2 = o.box_px
        assert 0 <= x1 < x2 <= f.width and 0 <= y1 < y2 <= f.height
        assert o.pixels == int(f.mask_of(o.id).sum())
    cam_x = EGO.x_m + RIG["CAM_FRONT"].x_m
    rear_face = lead.x_m - lead.length_m / 2 - cam_x      # the lead's rear face, seen head-on
    px = f.depth[f.mask_of("lead")]
    assert px.min() == pytest.approx(rear_face - 0.02, abs=0.05)   # tail lamps sit 2 cm proud of the body
    assert (np.abs(px - rear_face) < 0.05).mean() > 0.3                # many pixels: the flat rear face
    assert rear_face <= f.object("lead").depth_m <= rear_face + lead.length_m / 2  # p75 (cabin set back)
    # the ground in front of the car: depth of a ground point from the camera height and pixel row
    cam = make_camera("CAM_FRONT", EGO.x_m, EGO.y_m, EGO.yaw_rad, 0.5)
    row = 400
    b = (row + 0.5 - cam.K[1, 2]) / cam.K[1, 1]
    assert f.depth[row, 400] == pytest.approx(RIG["CAM_FRONT"].z_m / b, rel=1e-3)
    assert np.isinf(f.depth[0, 0])  # sky


def test_occluded_object_loses_pixels(road):
    lead = _car("lead", 20.0, -1.75)
    hidden = _car("hidden", 30.0, -1.75)
    f = render(_snap(lead, hidden), "CAM_FRONT", 0.5, ground=road)
    assert f.object("hidden") is None or f.object("hidden").pixels < 0.2 * f.object("lead").pixels
    alone = render(_snap(hidden), "CAM_FRONT", 0.5, ground=road)
    assert alone.object("hidden").pixels > 500


def test_side_and_back_cameras_see_the_right_things(road):
    behind = _car("behind", -15.0, -1.75)
    left = _car("left", 2.0, 4.0)
    snap = _snap(behind, left)
    assert render(snap, "CAM_BACK", 0.25, ground=road).object("behind") is not None
    assert render(snap, "CAM_FRONT", 0.25, ground=road).object("behind") is None
    assert render(snap, "CAM_FRONT_LEFT", 0.25, ground=road).object("left") is not None
    assert render(snap, "CAM_FRONT_RIGHT", 0.25, ground=road).object("left") is None


def test_brake_lights_and_signal_state_change_pixels(road):
    off = render(_snap(_car("lead", 12.0, -1.75)), "CAM_FRONT", 0.5, ground=road)
    on = render(_snap(_car("lead", 12.0, -1.75, braking=True)), "CAM_FRONT", 0.5, ground=road)
    m = off.mask_of("lead")
    red = lambda f: f.image[..., 0][m].astype(int) - f.image[..., 1][m].astype(int)  # noqa: E731
    assert (red(on) > 150).sum() > (red(off) > 150).sum()
    near = _snap(signal="green")
    g = render(near, "CAM_FRONT", 1.0, ground=road)
    r = render(_snap(signal="red"), "CAM_FRONT", 1.0, ground=road)
    sm = g.mask_of("traffic_signal")
    assert sm.any()
    assert g.image[..., 1][sm].max() > r.image[..., 1][sm].max()
    assert r.image[..., 0][sm].max() > g.image[..., 0][sm].max()


def test_road_users_are_painted_in_their_named_colours():
    """The body (vehicles) or shirt (pedestrians) faces take paint_of's colour, the one descriptions name."""
    snap = _snap(_car("lead", 20.0, -1.75), _car("hauler", 40.0, 1.75, kind="truck"),
                 _car("walker", 15.0, 5.0, kind="pedestrian"))
    faces, inst = build_faces(snap, lights_on=False, signal=None, lamps_m=np.zeros((0, 2)),
                              street_lights_lit=False)
    _, albedo, _, instance, _ = faces.arrays()
    for o in snap.actors:
        own = albedo[instance == inst.ids.index(o.id)]                  # (k, 3) albedo of its faces
        assert np.isclose(own, paint_of(o.id, o.kind).rgb).all(axis=1).sum() >= 2, o.id
    names = {paint_of(f"car{i}", "car").name for i in range(40)}
    assert len(names) >= 6 and names <= {p.name for p in VEHICLE_PAINTS}


def test_appearance_takes_every_strength_from_the_factor_mapping(monkeypatch):
    """One table of effect strengths: appearance_for follows render_settings for every combination, and a
    change to the mapping's numbers shows in the appearance (no copy of them in the renderer)."""
    from itertools import product
    from types import SimpleNamespace

    from adsgen.scenario import mapping
    from adsgen.variables import STATES

    states = {v: STATES[v] for v in ("light", "weather", "surface")}
    for light, weather, surface in product(states["light"], states["weather"], states["surface"]):
        app = appearance_for(light, weather, surface)
        rs = mapping.render_settings(SimpleNamespace(light=light, weather=weather, surface=surface))
        assert (app.rain, app.snow, app.snow_ground) == (rs.rain_intensity, rs.snow_intensity, rs.snow_cover)
        assert (app.headlights, app.street_lights, app.wet_road > 0) == (rs.headlights, rs.street_lights,
                                                                         rs.wet_road)
        assert app.extinction_per_m >= rs.fog_density
        if rs.fog_density > 0.01:
            assert app.extinction_per_m == pytest.approx(rs.fog_density)
    before = appearance_for("daylight", "fog", "dry")
    monkeypatch.setattr(mapping, "FOG_DENSITY_PER_M", {**mapping.FOG_DENSITY_PER_M, "fog": 0.1})
    monkeypatch.setattr(mapping, "SUN_LEVEL", {**mapping.SUN_LEVEL, "daylight": 0.5})
    after = appearance_for("daylight", "fog", "dry")
    assert after.visibility_m == pytest.approx(3.912 / 0.1) and after.visibility_m < before.visibility_m
    assert after.ambient < before.ambient and after.sun == pytest.approx(0.5 * before.sun)


def test_weather_and_light_change_the_image(road):
    snap = _snap(_car("lead", 25.0, -1.75), _car("truck", 45.0, -5.25, kind="truck"))
    day = render(snap, ground=road, appearance=appearance_for("daylight", "clear", "dry"))
    fog = render(snap, ground=road, appearance=appearance_for("daylight", "fog", "dry"))
    night = render(snap, ground=road, appearance=appearance_for("dark_unlighted", "clear", "dry"))
    lit = render(snap, ground=road, appearance=appearance_for("dark_lighted", "clear", "dry"))
    rain = render(snap, ground=road, appearance=appearance_for("daylight", "rain", "wet"))
    lum = lambda f: f.image.astype(float).mean(axis=2)  # noqa: E731
    # night is much darker; street lights brighten it; the headlight cone lights the road ahead
    assert lum(night).mean() < 0.4 * lum(day).mean()
    assert lum(lit).mean() > 1.2 * lum(night).mean()
    near_road, far_road = lum(night)[420:, 380:420].mean(), lum(night)[240:250, 380:420].mean()
    assert near_road > far_road + 10
    # fog: contrast collapses with distance (the far truck fades into the fog colour)
    truck = day.mask_of("truck")
    assert lum(fog)[truck].std() + abs(lum(fog)[truck].mean() - lum(fog)[:50].mean()) < \
        lum(day)[truck].std() + abs(lum(day)[truck].mean() - lum(day)[:50].mean())
    assert lum(fog)[200:260].std() < 0.6 * lum(day)[200:260].std()
    # rain: darker, with streaks (pixel noise in the sky)
    assert lum(rain).mean() < lum(day).mean()
    assert np.abs(np.diff(lum(rain)[:150], axis=1)).mean() > 3 * np.abs(np.diff(lum(day)[:150], axis=1)).mean()
    # geometry is unchanged by weather
    assert np.array_equal(np.isinf(day.depth), np.isinf(fog.depth))


def test_fog_and_rain_at_night_are_visible_in_the_headlight_beams(road):
    """A vision model must be able to tell a foggy or rainy night from a clear one: the air in the
    beams glows with fog, and the rain streaks in them are lit."""
    snap = _snap(_car("lead", 30.0, -1.75), signal=None)
    lum = lambda w: render(snap, ground=road, appearance=appearance_for("dark_unlighted", w, "dry")  # noqa: E731
                           ).image.astype(float).mean(axis=2)
    clear, fog, rain = lum("clear"), lum("fog"), lum("rain")
    H, W = clear.shape
    air = slice(int(0.40 * H), int(0.49 * H)), slice(int(0.35 * W), int(0.65 * W))  # ahead, above the horizon
    assert fog[air].mean() > clear[air].mean() + 15
    sky = slice(0, int(0.4 * H)), slice(int(0.3 * W), int(0.7 * W))
    assert np.abs(np.diff(rain[sky], axis=1)).mean() > 3 * np.abs(np.diff(clear[sky], axis=1)).mean()


def test_bev_shows_actors(road):
    snap = _snap(_car("lead", 20.0, -1.75), _car("walker", 10.0, -5.0, kind="pedestrian"))
    b = bev(snap, extent_m=80.0, m_per_px=0.25, ground=road, labels=False)
    assert b.image.shape == (320, 320, 3)
    for o, colour in ((snap.ego, (40, 200, 70)), (snap.actors[0], (60, 110, 230)), (snap.actors[1], (230, 40, 40))):
        c, r = b.world_to_px(np.array([[o.x_m, o.y_m]]))[0].astype(int)
        window = b.image[r - 3:r + 4, c - 3:c + 4].reshape(-1, 3)
        assert (window == colour).all(axis=1).sum() >= 3, o.id
    lead_px = b.world_to_px(np.array([[20.0, -1.75]]))[0]
    ego_px = b.world_to_px(np.array([[0.0, -1.75]]))[0]
    assert lead_px[0] > ego_px[0] and lead_px[1] == pytest.approx(ego_px[1])  # east is right, north up
    up = bev(snap, extent_m=80.0, m_per_px=0.25, ground=road, heading_up=True, labels=False)
    lead_up = up.world_to_px(np.array([[20.0, -1.75]]))[0]
    assert lead_up[1] < 160 and lead_up[0] == pytest.approx(160, abs=1)  # ahead = up


def test_save_frame_writes_image_depth_and_objects(road, tmp_path):
    import json

    f = render(_snap(_car("lead", 20.0, -1.75)), "CAM_FRONT", 0.25, ground=road)
    paths = save_frame(f, tmp_path, "front")
    assert paths["image"].exists() and np.load(paths["depth_npy"]).shape == (225, 400)
    rec = json.loads(paths["json"].read_text())
    assert rec["camera"] == "CAM_FRONT" and rec["objects"][0]["id"] == "lead"


def test_a_black_car_side_in_shadow_is_lit_by_daylight_not_black(road):
    """In daylight the side of a car facing away from the sun still gets the sky's and the road's light and
    mirrors the sky, so a black car reads as a dark car, not as a hole in the image; at night it stays dark."""
    behind = _car("crosser", -9.0, -1.75)  # paint_of("crosser") is black; the back camera sees its front face
    assert paint_of("crosser", "car").name == "black"
    day = render(_snap(behind), camera="CAM_BACK", ground=road, appearance=appearance_for("daylight", "clear", "dry"))
    night = render(_snap(behind), camera="CAM_BACK", ground=road,
                   appearance=appearance_for("dark_unlighted", "clear", "dry"))
    lum = lambda f: f.image.astype(float).mean(axis=2)[f.mask_of("crosser")]  # noqa: E731
    assert lum(day).size > 500
    assert lum(day).mean() > 20 and lum(day).mean() > 2.5 * lum(night).mean()
