"""The ground: road surfaces and paint drawn once into a top-down label raster (a texture).

The camera image and the bird's-eye view both sample this raster: every ground pixel of a camera is
ray-cast to the plane z = 0 and looks up its material here, so the road, lane markings, stop lines and
crosswalks appear in exact perspective at any distance without per-frame polygon work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

# Materials of the label raster (uint8), and their daylight albedo (linear RGB)
GRASS, ASPHALT, SIDEWALK, WHITE_PAINT, YELLOW_PAINT = 0, 1, 2, 3, 4
MATERIAL_NAMES = ("grass", "asphalt", "sidewalk", "white_paint", "yellow_paint")
ALBEDO = np.array([
    [0.22, 0.34, 0.16],   # grass / verge
    [0.23, 0.23, 0.24],   # asphalt
    [0.52, 0.50, 0.47],   # sidewalk / kerb concrete
    [0.88, 0.88, 0.86],   # white paint
    [0.85, 0.68, 0.15],   # yellow paint
], dtype=np.float32)      # (materials, 3)
MATERIALS = {name: i for i, name in enumerate(MATERIAL_NAMES)}

MAX_TEXELS = 6_000_000   # cap on the raster size; the resolution coarsens for large roads
FINEST_RES_M = 0.05      # [m/texel]
MARGIN_M = 30.0          # [m] verge drawn around the road's bounding box


@dataclass(frozen=True)
class Marking:
    """A painted line: a polyline (n, 2) [m] in the engine frame, its width and paint."""

    points_m: np.ndarray
    width_m: float = 0.15
    material: int = WHITE_PAINT
    dash_m: tuple[float, float] | None = None   # (painted, gap) lengths [m]; None = solid


@dataclass(frozen=True)
class GroundLayers:
    """What is drawn on the ground, in painter's order: surfaces first, then markings.

    ``surfaces``: (polygon (n, 2) [m], material) pairs; ``lamps_m``: (k, 2) street-lamp positions [m];
    ``signal``: the ego approach's signal or stop-sign pole (x_m, y_m, facing_yaw_rad) or None, and
    ``signal_kind`` which one it is ('signal' | 'stop_sign' | 'none').
    """

    surfaces: tuple[tuple[np.ndarray, int], ...]
    markings: tuple[Marking, ...] = ()
    lamps_m: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    signal: tuple[float, float, float] | None = None
    signal_kind: str = "signal"


@dataclass(frozen=True)
class GroundTexture:
    """A label raster: ``labels[row, col]`` is the material at x = x0 + (col + 0.5) res, y = y0 + (row + 0.5) res."""

    labels: np.ndarray        # (rows, cols) uint8 material ids
    x0_m: float
    y0_m: float
    res_m: float              # [m/texel]
    lightmap: np.ndarray      # (rows_l, cols_l) float32 street-lamp illuminance, 0 when no lamps
    light_res_m: float        # [m/texel] of the lightmap (same origin)

    def _flat_index(self, x_m: np.ndarray, y_m: np.ndarray, res_m: float, shape: tuple[int, int]) -> np.ndarray:
        """Flat indices into a raster of ``shape`` at ``res_m`` [m/texel] (same origin), clamped to its border."""
        rows, cols = shape
        inv = np.float32(1.0 / res_m)
        c = np.clip(((x_m - np.float32(self.x0_m)) * inv).astype(np.int32), 0, cols - 1)
        r = np.clip(((y_m - np.float32(self.y0_m)) * inv).astype(np.int32), 0, rows - 1)
        r *= cols
        r += c
        return r

    def lookup(self, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        """Material ids at world points (any shape); beyond the raster, its (grass) border."""
        return self.labels.ravel()[self._flat_index(x_m, y_m, self.res_m, self.labels.shape)]

    def light(self, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        """Street-lamp illuminance at world points (any shape), 0 outside."""
        return self.lightmap.ravel()[self._flat_index(x_m, y_m, self.light_res_m, self.lightmap.shape)]


def _dash(points: np.ndarray, on_m: float, off_m: float) -> list[np.ndarray]:
    """Split a polyline (n, 2) into painted dashes of on_m separated by off_m."""
    seg = np.diff(points, axis=0)                               # (n-1, 2)
    s = np.concatenate([[0.0], np.cumsum(np.hypot(seg[:, 0], seg[:, 1]))])  # (n,) arc length [m]
    dashes = []
    start = 0.0
    period = on_m + off_m
    while start < s[-1]:
        stop = min(start + on_m, s[-1])
        ss = np.concatenate([[start], s[(s > start) & (s < stop)], [stop]])
        dashes.append(np.stack([np.interp(ss, s, points[:, 0]), np.interp(ss, s, points[:, 1])], axis=1))
        start += period
    return dashes


def build_texture(layers: GroundLayers, *, lamp_radius_m: float = 14.0) -> GroundTexture:
    """Rasterise the layers into a label raster (and a street-lamp lightmap)."""
    pts = [p for p, _ in layers.surfaces] + [m.points_m for m in layers.markings]
    allp = np.concatenate(pts) if pts else np.zeros((1, 2))
    x0, y0 = allp.min(axis=0) - MARGIN_M
    x1, y1 = allp.max(axis=0) + MARGIN_M
    area = (x1 - x0) * (y1 - y0)
    res = max(FINEST_RES_M, math.sqrt(area / MAX_TEXELS))
    cols, rows = int(math.ceil((x1 - x0) / res)), int(math.ceil((y1 - y0) / res))
    img = Image.new("L", (cols, rows), GRASS)
    draw = ImageDraw.Draw(img)

    def to_px(p: np.ndarray) -> list[tuple[float, float]]:
        q = (np.asarray(p, dtype=np.float64) - (x0, y0)) / res   # (n, 2) texel coordinates
        return [(float(a), float(b)) for a, b in q]

    for poly, material in layers.surfaces:
        if len(poly) >= 3:
            draw.polygon(to_px(poly), fill=int(material))
    for m in layers.markings:
        width = max(1, round(m.width_m / res))
        pieces = _dash(m.points_m, *m.dash_m) if m.dash_m else [m.points_m]
        for piece in pieces:
            if len(piece) >= 2:
                draw.line(to_px(piece), fill=int(m.material), width=width, joint="curve")
    labels = np.asarray(img, dtype=np.uint8)   # (rows, cols)

    light_res = 0.5
    lc, lr = int(math.ceil((x1 - x0) / light_res)), int(math.ceil((y1 - y0) / light_res))
    lightmap = np.zeros((lr, lc), dtype=np.float32)  # (rows_l, cols_l)
    if len(layers.lamps_m):
        gx = x0 + (np.arange(lc) + 0.5) * light_res   # (cols_l,)
        gy = y0 + (np.arange(lr) + 0.5) * light_res   # (rows_l,)
        for lx, ly in layers.lamps_m:
            lightmap += np.exp(-((gy[:, None] - ly) ** 2 + (gx[None, :] - lx) ** 2) / lamp_radius_m**2)
        np.minimum(lightmap, 1.5, out=lightmap)
    return GroundTexture(labels=labels, x0_m=float(x0), y0_m=float(y0), res_m=float(res),
                         lightmap=lightmap, light_res_m=light_res)
