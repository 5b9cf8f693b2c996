"""Bird's-eye view: a top-down map image around the ego with the road, every road user and the signal."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from adsgen.render.ground import ALBEDO, GroundLayers
from adsgen.render.renderer import texture_for
from adsgen.sim.snapshot import ObjectState, WorldSnapshot

KIND_COLOUR = {"ego": (40, 200, 70), "car": (60, 110, 230), "truck": (240, 150, 30), "pedestrian": (230, 40, 40)}
SIGNAL_COLOUR = {"red": (255, 30, 30), "yellow": (255, 210, 0), "green": (30, 230, 60), None: (150, 150, 150)}


@dataclass(frozen=True)
class BevImage:
    """A top-down image. ``world_to_px`` maps engine-frame metres to (col, row) pixel coordinates."""

    image: np.ndarray          # (H, W, 3) uint8
    m_per_px: float            # [m/px]
    centre_m: tuple[float, float]  # world point at the image centre [m]
    rotation_rad: float        # image 'up' is this world heading [rad] (pi/2 = north up)

    def world_to_px(self, xy_m: np.ndarray) -> np.ndarray:
        """(n, 2) world points [m] -> (n, 2) pixel coordinates (col, row)."""
        H, W = self.image.shape[:2]
        rel = np.asarray(xy_m, dtype=float).reshape(-1, 2) - self.centre_m
        ang = math.pi / 2 - self.rotation_rad          # rotate so that rotation_rad points up
        c, s = math.cos(ang), math.sin(ang)
        x = c * rel[:, 0] - s * rel[:, 1]
        y = s * rel[:, 0] + c * rel[:, 1]
        return np.stack([W / 2 + x / self.m_per_px, H / 2 - y / self.m_per_px], axis=1)


def _footprint(o: ObjectState) -> np.ndarray:
    """(4, 2) world corners of an object's box."""
    c, s = math.cos(o.yaw_rad), math.sin(o.yaw_rad)
    hl, hw = o.length_m / 2, o.width_m / 2
    local = np.array([[hl, hw], [hl, -hw], [-hl, -hw], [-hl, hw]])
    return np.stack([o.x_m + c * local[:, 0] - s * local[:, 1], o.y_m + s * local[:, 0] + c * local[:, 1]], axis=1)


def bev(snapshot: WorldSnapshot, *, extent_m: float = 100.0, m_per_px: float = 0.2, heading_up: bool = False,
        ground: GroundLayers | None = None, labels: bool = True) -> BevImage:
    """A square top-down view ``extent_m`` wide centred on the ego (north up, or the ego heading up)."""

    if ground is None:
        from adsgen.render.road import ground_layers

        ground = ground_layers(snapshot.scenario)
    tex = texture_for(ground)
    size = int(round(extent_m / m_per_px))
    ego = snapshot.ego
    out = BevImage(np.zeros((size, size, 3), np.uint8), m_per_px, (ego.x_m, ego.y_m),
                   ego.yaw_rad if heading_up else math.pi / 2)
    # world coordinates of every pixel centre (inverse of world_to_px)
    px = (np.arange(size) + 0.5 - size / 2) * m_per_px                           # (size,)
    gx, gy = np.meshgrid(px, -px)                                                  # image right / up [m]
    ang = out.rotation_rad - math.pi / 2
    c, s = math.cos(ang), math.sin(ang)
    wx = (ego.x_m + c * gx - s * gy).astype(np.float32)                            # (size, size)
    wy = (ego.y_m + s * gx + c * gy).astype(np.float32)
    img = (np.clip(ALBEDO[tex.lookup(wx, wy)] * 1.1, 0, 1) * 255).astype(np.uint8)   # (size, size, 3)
    pil = Image.fromarray(img)
    draw = ImageDraw.Draw(pil)
    for lx, ly in np.asarray(ground.lamps_m).reshape(-1, 2):
        cx, cy = out.world_to_px(np.array([[lx, ly]]))[0]
        draw.ellipse([cx - 2, cy - 2, cx + 2, cy + 2], fill=(200, 200, 120))
    if ground.signal is not None:
        cx, cy = out.world_to_px(np.array(ground.signal[:2])[None])[0]
        colour = SIGNAL_COLOUR.get(snapshot.signal_state, SIGNAL_COLOUR[None]) if ground.signal_kind == "signal" \
            else (200, 0, 0)
        draw.ellipse([cx - 5, cy - 5, cx + 5, cy + 5], fill=colour, outline=(0, 0, 0))
    for o in (snapshot.ego,) + tuple(snapshot.actors):
        corners = out.world_to_px(_footprint(o))
        colour = KIND_COLOUR.get(o.kind, (200, 200, 200))
        ctr = out.world_to_px(np.array([[o.x_m, o.y_m]]))[0]
        if o.kind == "pedestrian":  # a disc, at least 4 px across, so walkers stay visible at any scale
            r = max(0.5 / m_per_px, 4.0)
            draw.ellipse([ctr[0] - r, ctr[1] - r, ctr[0] + r, ctr[1] + r], fill=colour)
            if labels:
                draw.text((ctr[0] + 6, ctr[1] - 6), o.id, fill=(255, 255, 255))
            continue
        draw.polygon([tuple(p) for p in corners], fill=colour, outline=(0, 0, 0))
        nose = out.world_to_px(np.array([[o.x_m + math.cos(o.yaw_rad) * (o.length_m / 2 + 1.5),
                                          o.y_m + math.sin(o.yaw_rad) * (o.length_m / 2 + 1.5)]]))[0]
        draw.line([tuple(ctr), tuple(nose)], fill=(0, 0, 0), width=2)
        if o.braking:
            draw.polygon([tuple(p) for p in corners[2:]] + [tuple(corners[2])], outline=(255, 0, 0))
        if labels:
            draw.text((ctr[0] + 6, ctr[1] - 6), o.id, fill=(255, 255, 255))
    return BevImage(np.asarray(pil), out.m_per_px, out.centre_m, out.rotation_rad)
