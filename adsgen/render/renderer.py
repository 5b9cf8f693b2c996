"""``render(snapshot, camera, scale)``: one camera image, its depth map, instance mask and visible objects.

Pipeline (numpy + Pillow, no GPU): ground pixels are ray-cast to the plane z = 0 and textured from the road's
label raster (``ground``); road users, the signal and street lamps are z-buffered planar faces
(``raster``); faces are shaded once per face (sun, ambient, the ego's headlights, street lamps) and looked up
per pixel; then weather acts on the whole image (``effects``: haze and fog by depth, rain streaks, snow).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

from adsgen.render.appearance import GROUND_BOUNCE, SKY_GLOSS, Appearance, appearance_for
from adsgen.render.camera import Camera, make_camera
from adsgen.render.effects import (
    apply_weather,
    ego_headlight,
    night_veil,
    rain_dimming,
    to_uint8,
    transmission,
)
from adsgen.render.frame import Frame, VisibleObject, object_stats
from adsgen.render.ground import ALBEDO, ASPHALT, GRASS, SIDEWALK, GroundLayers, GroundTexture, build_texture
from adsgen.render.raster import Buffers, cross3, rasterise
from adsgen.render.scene import build_faces
from adsgen.sim.snapshot import WorldSnapshot

LAMP_TINT = np.array([1.0, 0.92, 0.78], dtype=np.float32)  # colour of headlights and street lamps (warm white)

_TEXTURES: OrderedDict[int, tuple[GroundLayers, GroundTexture]] = OrderedDict()


def texture_for(layers: GroundLayers) -> GroundTexture:
    """The label raster of a set of ground layers, built once per layers object (small LRU cache)."""
    key = id(layers)
    hit = _TEXTURES.get(key)
    if hit is not None and hit[0] is layers:
        _TEXTURES.move_to_end(key)
        return hit[1]
    tex = build_texture(layers)
    _TEXTURES[key] = (layers, tex)
    while len(_TEXTURES) > 8:
        _TEXTURES.popitem(last=False)
    return tex


def scenario_appearance(scenario: object | None) -> Appearance:
    """The appearance set by a scenario's light, weather and surface factors (daylight/clear/dry without one)."""
    factors = getattr(scenario, "factors", None)
    if factors is None:
        return appearance_for("daylight", "clear", "dry")
    return appearance_for(factors.light, factors.weather, factors.surface)


def _sun_direction(app: Appearance) -> np.ndarray:
    ce = math.cos(app.sun_elevation_rad)
    return np.array([ce * math.cos(app.sun_azimuth_rad), ce * math.sin(app.sun_azimuth_rad),
                     math.sin(app.sun_elevation_rad)])


def _ground_albedo(app: Appearance) -> np.ndarray:
    """(materials, 3) ground albedo after wetness and snow cover."""
    alb = ALBEDO.copy()
    alb[ASPHALT] *= 1.0 - 0.45 * app.wet_road
    alb[GRASS] = (1.0 - app.snow_ground) * alb[GRASS] + app.snow_ground * np.array([0.85, 0.87, 0.9])
    alb[SIDEWALK] = (1.0 - 0.7 * app.snow_ground) * alb[SIDEWALK] + 0.7 * app.snow_ground * 0.88
    alb[ASPHALT] = (1.0 - 0.5 * app.snow_ground) * alb[ASPHALT] + 0.5 * app.snow_ground * 0.8
    return alb.astype(np.float32)


def _ground_colour(snap: WorldSnapshot, tex: GroundTexture, app: Appearance, xg: np.ndarray, yg: np.ndarray,
                   t_fog: np.ndarray) -> np.ndarray:
    """(h, W, 3) shaded colour of the ground points (xg, yg) [m]: material albedo, sun, headlights and
    street lamps, rain dimming, then haze / fog by depth ``t_fog`` [m] ((h, 1) per row or (h, W))."""
    mat = tex.lookup(xg, yg)                                                  # (h, W) material ids
    tint = np.asarray(app.tint, dtype=np.float32)
    albedo = _ground_albedo(app) * tint                                       # (materials, 3)
    if app.wet_road > 0 and app.dark:  # wet asphalt mirrors light sources: a sheen where it is lit
        albedo[ASPHALT] *= 1.0 + 0.3 * app.wet_road
    sunlight = np.float32(app.ambient + app.sun * max(0.0, math.sin(app.sun_elevation_rad)))
    extra = None                                                              # (h, W) artificial light
    if app.headlights and app.dark:
        extra = ego_headlight(snap.ego, xg, yg)
    if app.street_lights:
        lamp = tex.light(xg, yg)
        extra = lamp if extra is None else extra + lamp
    dim = np.float32(rain_dimming(app))
    if extra is None:
        colour = np.take(albedo * (sunlight * dim), mat, axis=0)              # (h, W, 3)
    else:  # at night artificial light dominates: tint the whole ground light with the lamps' colour
        extra += sunlight
        colour = np.take(albedo * (LAMP_TINT * dim), mat, axis=0)             # (h, W, 3)
        colour *= extra[..., None]
    # haze / fog by depth, fused here (per row for level cameras): colour -> haze
    trans = transmission(app, t_fog)                                          # (h, 1) or (h, W)
    colour *= trans[..., None]
    colour += (np.float32(1.0) - trans)[..., None] * (np.asarray(app.haze, np.float32) * dim)
    return colour


def _shade_ground(cam: Camera, snap: WorldSnapshot, tex: GroundTexture, app: Appearance,
                  img: np.ndarray, depth: np.ndarray, a: np.ndarray, b: np.ndarray) -> int:
    """Ray-cast every pixel whose ray meets z = 0 and write its shaded ground colour and depth.

    Returns the first row from which every pixel was written (the image height when none was)."""
    R_wc = cam.R_cw.T.astype(np.float32)
    a = a.astype(np.float32)
    b = b.astype(np.float32)
    px, py = np.float32(cam.position_w[0]), np.float32(cam.position_w[1])
    cam_h = np.float32(-cam.position_w[2])
    if abs(R_wc[2, 0]) < 1e-9:
        # level camera (no roll): a ray's height change depends on its row only, so depth is per row and
        # every pixel below the horizon row sees the ground
        dz_row = R_wc[2, 1] * b + R_wc[2, 2]                                 # (H,)
        rows = np.nonzero(dz_row < -1e-6)[0]
        if len(rows) == 0:
            return len(b)
        r0 = int(rows[0])
        t_row = (cam_h / dz_row[r0:])[:, None]                               # (h, 1) depth [m]
        br = b[r0:]
        xg = (R_wc[0, 0] * a)[None, :] + (R_wc[0, 1] * br + R_wc[0, 2])[:, None]   # (h, W)
        xg *= t_row
        xg += px
        yg = (R_wc[1, 0] * a)[None, :] + (R_wc[1, 1] * br + R_wc[1, 2])[:, None]
        yg *= t_row
        yg += py
        t = np.broadcast_to(t_row, xg.shape)
        ground, all_ground = None, True
    else:
        dz = (R_wc[2, 0] * a)[None, :] + (R_wc[2, 1] * b + R_wc[2, 2])[:, None]   # (H, W) ray z per unit depth
        rows = np.nonzero((dz < -1e-6).any(axis=1))[0]
        if len(rows) == 0:
            return len(b)
        r0 = int(rows[0])
        dz = dz[r0:]                                                          # (h, W)
        ground = dz < -1e-6
        all_ground = bool(ground.all())
        with np.errstate(divide="ignore"):
            t = cam_h / dz                                                    # (h, W) depth along the axis [m]
        if not all_ground:
            t[~ground] = np.inf
        br = b[r0:]
        xg = (R_wc[0, 0] * a)[None, :] + (R_wc[0, 1] * br + R_wc[0, 2])[:, None]
        xg *= t
        xg += px
        yg = (R_wc[1, 0] * a)[None, :] + (R_wc[1, 1] * br + R_wc[1, 2])[:, None]
        yg *= t
        yg += py
        if not all_ground:
            xg[~ground] = px
            yg[~ground] = py
    colour = _ground_colour(snap, tex, app, xg, yg, t_row if ground is None else t)  # (h, W, 3)
    if all_ground:
        img[r0:] = colour
        depth[r0:] = t
        return r0
    assert ground is not None  # not all ground: the mask was made above
    np.copyto(img[r0:], colour, where=ground[..., None])
    np.copyto(depth[r0:], t, where=ground)
    return len(b)


def _sky(cam: Camera, app: Appearance, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, 1, 3) sky colour per row, from the horizon colour to the zenith colour by ray elevation."""
    R_wc = cam.R_cw.T
    ac = float(a[len(a) // 2])
    dz = R_wc[2, 0] * ac + R_wc[2, 1] * b + R_wc[2, 2]                         # (H,) ray z at the centre column
    norm = np.sqrt(ac * ac + b * b + 1.0)
    w = np.clip((dz / norm) / 0.45, 0.0, 1.0).astype(np.float32)[:, None]      # (H, 1)
    top, hor = np.asarray(app.sky_top, np.float32), np.asarray(app.sky_horizon, np.float32)
    return (hor[None, :] * (1.0 - w) + top[None, :] * w)[:, None, :]          # (H, 1, 3)


def _face_colours(quads: np.ndarray, albedo: np.ndarray, emissive: np.ndarray, snap: WorldSnapshot,
                  tex: GroundTexture, app: Appearance) -> np.ndarray:
    """(F, 3) shaded colour of each face: sun + ambient (+ ego headlights, street lamps) + emission."""
    if len(quads) == 0:
        return np.zeros((0, 3), dtype=np.float32)
    n = cross3(quads[:, 1] - quads[:, 0], quads[:, 2] - quads[:, 0])           # (F, 3) outward normals
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    centre = quads.mean(axis=1)                                               # (F, 3)
    up = np.clip(n[:, 2:3], 0.0, 1.0)                                         # (F, 1) how much a face looks up
    light = app.ambient * (0.75 + 0.25 * n[:, 2:3]) + app.sun * np.clip(n @ _sun_direction(app), 0, None)[:, None]
    # daylight reaches a side in shadow off the road too, and paint and glass mirror the sky: without these
    # a car's shaded side renders near black at noon (only the sky's and the road's own light, no sun)
    road_light = app.ambient + app.sun * max(0.0, math.sin(app.sun_elevation_rad))
    light = light + GROUND_BOUNCE * road_light * (1.0 - up) * 0.5
    sky = np.asarray(app.sky_horizon)[None, :] * (1.0 - up) + np.asarray(app.sky_top)[None, :] * up  # (F, 3)
    gloss = SKY_GLOSS * sky
    if app.headlights and app.dark:
        to_ego = np.array([snap.ego.x_m, snap.ego.y_m, 0.8]) - centre          # (F, 3)
        facing = np.clip(np.einsum("fi,fi->f", n, to_ego) / np.maximum(np.linalg.norm(to_ego, axis=1), 1e-6), 0, 1)
        hl = ego_headlight(snap.ego, centre[:, 0], centre[:, 1]) * facing
        light = light + hl[:, None] * LAMP_TINT[None, :]
    if app.street_lights:
        lamp = tex.light(centre[:, 0].astype(np.float32), centre[:, 1].astype(np.float32))
        light = light + (0.6 * lamp)[:, None] * LAMP_TINT[None, :]
    tint = np.asarray(app.tint)
    return (albedo * light * tint + gloss * tint + emissive).astype(np.float32)


def render(snapshot: WorldSnapshot, camera: str = "CAM_FRONT", scale: float = 0.5, *,
           ground: GroundLayers | None = None, appearance: Appearance | None = None, min_pixels: int = 4,
           draw_ego: bool = False, weather_seed: int = 0) -> Frame:
    """Render one camera of the rig on the snapshot's ego.

    ``ground`` defaults to the scenario's road template (``adsgen.render.road.ground_layers``); ``appearance``
    defaults to the scenario's light / weather / surface factors. Objects with fewer than ``min_pixels``
    visible pixels are not listed (they still appear in the mask). ``weather_seed`` varies rain and snow.
    """
    if ground is None:
        from adsgen.render.road import ground_layers

        ground = ground_layers(snapshot.scenario)
    app = appearance if appearance is not None else scenario_appearance(snapshot.scenario)
    tex = texture_for(ground)
    ego = snapshot.ego
    cam = make_camera(camera, ego.x_m, ego.y_m, ego.yaw_rad, scale)
    H, W = cam.height_px, cam.width_px
    a, b = cam.pixel_rays()                                                   # (W,), (H,)

    sky = _sky(cam, app, a, b) * np.float32(rain_dimming(app))               # (H, 1, 3)
    img = np.empty((H, W, 3), dtype=np.float32)                               # (H, W, 3)
    depth = np.full((H, W), np.inf, dtype=np.float32)                         # (H, W) [m]
    r_ground = _shade_ground(cam, snapshot, tex, app, img, depth, a, b)      # rows >= r_ground all ground
    if r_ground == H:  # a pitched camera: sky wherever no ground was written
        np.copyto(img, np.broadcast_to(sky, img.shape), where=np.isinf(depth)[..., None])
    else:
        img[:r_ground] = sky[:r_ground]

    faces, inst = build_faces(snapshot, lights_on=app.headlights, signal=ground.signal, lamps_m=ground.lamps_m,
                              street_lights_lit=app.street_lights, skip_ego=not draw_ego,
                              signal_kind=ground.signal_kind)
    buf = Buffers(depth=depth, face=np.full((H, W), -1, dtype=np.int32))
    quads, albedo, emissive, face_inst, cull = faces.arrays()                 # (F, 4, 3), (F, 3), (F, 3), (F,), (F,)
    regions = rasterise(cam, quads, cull, buf, a, b)                          # (F, 4)
    drawn = np.flatnonzero(buf.face.ravel() >= 0)                             # (k,) flat indices of object pixels
    mask = np.zeros((H, W), dtype=np.int16)                                   # (H, W) instance index, 0 = none
    if len(drawn):
        face_of = buf.face.ravel()[drawn]                                     # (k,)
        mask.ravel()[drawn] = face_inst[face_of]
        colours = _face_colours(quads, albedo, emissive, snapshot, tex, app)  # (F, 3)
        dim = np.float32(rain_dimming(app))
        tr = transmission(app, buf.depth.ravel()[drawn])[:, None]             # (k, 1)
        img.reshape(-1, 3)[drawn] = colours[face_of] * (tr * dim) + (np.float32(1.0) - tr) * (
            np.asarray(app.haze, np.float32) * dim)

    veil = night_veil(a, b, cam.R_cw.T, cam.position_w, buf.depth, snapshot.ego, app,
                      tex.light if app.street_lights else None)   # (H, W) or None
    if veil is not None:
        img += veil[..., None] * LAMP_TINT
    apply_weather(img, app, seed=weather_seed, veil=veil)   # haze and rain dimming were applied while shading
    image = to_uint8(img)

    objects = []
    obj_regions: dict[int, list[int]] = {}
    inst_list = face_inst.tolist()
    for k, reg in enumerate(regions.tolist()):
        if reg[1] == 0 or inst_list[k] == 0:
            continue
        r = obj_regions.setdefault(inst_list[k], [reg[0], reg[1], reg[2], reg[3]])
        r[0], r[1], r[2], r[3] = min(r[0], reg[0]), max(r[1], reg[1]), min(r[2], reg[2]), max(r[3], reg[3])
    centres = {o.id: o for o in (snapshot.actors + ((snapshot.ego,) if draw_ego else ()))}
    for k, reg in sorted(obj_regions.items()):
        st = object_stats(mask, buf.depth, k, (reg[0], reg[1], reg[2], reg[3]))
        if st is None or st[2] < min_pixels:
            continue
        box, centre, count, d75 = st
        oid = inst.ids[k]
        if oid in centres:
            o = centres[oid]
            pos = np.array([o.x_m, o.y_m, o.height_m / 2.0])
        else:  # the signal / stop sign: its head
            assert ground.signal is not None  # its instance exists only when the pole was drawn
            pos = np.array([ground.signal[0], ground.signal[1], 3.8 if oid == "traffic_signal" else 2.5])
        objects.append(VisibleObject(id=oid, kind=inst.kinds[k], box_px=box, center_px=centre, pixels=count,
                                     depth_m=d75, distance_m=float(np.linalg.norm(pos - cam.position_w)),
                                     instance=k))
    return Frame(camera=camera, time_s=snapshot.time_s, scale=scale, image=image, depth=buf.depth,
                 instance_mask=mask, instance_ids=inst.ids, objects=tuple(objects), K=cam.K, R_cw=cam.R_cw,
                 t_cw=cam.t_cw)
