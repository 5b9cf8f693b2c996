"""Light and weather acting on a rendered image: headlight cone, haze and fog by depth, rain, snow."""

from __future__ import annotations

import math

import numpy as np

from adsgen.render.appearance import Appearance
from adsgen.sim.snapshot import ObjectState

HEADLIGHT_RANGE_M = 45.0   # [m] distance at which low beams fall to half their intensity
HEADLIGHT_SPREAD = 0.28    # lateral half-width growth of the beam per metre ahead [m/m]


def ego_headlight(ego: ObjectState, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
    """Illuminance (0..~1.6) of the ego's low beams on ground / object points (any shape)."""
    c, s = math.cos(ego.yaw_rad), math.sin(ego.yaw_rad)
    dx, dy = x_m - ego.x_m, y_m - ego.y_m
    fwd = c * dx + s * dy - ego.length_m / 2.0          # ahead of the front bumper [m]
    lat = -s * dx + c * dy                               # to the left [m]
    spread = HEADLIGHT_SPREAD * np.maximum(fwd, 0.0) + 0.9
    beam = np.exp(-(lat / spread) ** 2) / (1.0 + (fwd / HEADLIGHT_RANGE_M) ** 2)
    return np.where(fwd > 0.0, 1.6 * beam, 0.0).astype(np.float32)


def transmission(app: Appearance, depth_m: np.ndarray) -> np.ndarray:
    """Koschmieder transmission exp(-beta d) of surfaces at depth d [m] (any shape, float32).

    The optical depth is capped at 30 (transmission 1e-13), so nothing underflows into slow denormals."""
    beta = np.float32(app.extinction_per_m)
    return np.exp(-beta * np.minimum(np.asarray(depth_m, dtype=np.float32), np.float32(30.0) / beta))


def rain_dimming(app: Appearance) -> float:
    """Factor by which rain darkens the whole scene (sky, ground, objects)."""
    return 1.0 - 0.25 * app.rain


def apply_weather(img: np.ndarray, app: Appearance, seed: int = 0) -> None:
    """In place on a (H, W, 3) float image: rain streaks and snowflakes (haze, fog and rain dimming are
    applied per surface while shading, see ``transmission`` and ``rain_dimming``)."""
    H, W = img.shape[:2]
    if app.rain <= 0.0 and app.snow <= 0.0:
        return
    rng = np.random.default_rng(seed)
    scale = W / 1600.0
    idx_parts, alpha_parts = [], []                                          # flat pixel indices, coverage
    if app.rain > 0.0:
        n = int(app.rain * 0.0022 * W * H)
        steps = max(4, int(40 * scale))
        x = rng.uniform(0, W, n)[:, None]                                    # (n, 1) streak tops
        y = rng.uniform(-0.1 * H, H, n)[:, None]
        length = rng.uniform(18, 45, n)[:, None] * scale                     # (n, 1) [px]
        f = np.linspace(0.0, 1.0, steps)[None, :]                            # (1, steps)
        xs = (x - 0.18 * length * f).astype(np.int64).ravel()                # (n * steps,)
        ys = (y + length * f).astype(np.int64).ravel()
        ok = (xs >= 0) & (xs < W) & (ys >= 0) & (ys < H)
        idx_parts.append((ys * W + xs)[ok])
        alpha_parts.append(np.repeat(rng.uniform(0.35, 0.65, n).astype(np.float32), steps)[ok])
    if app.snow > 0.0:
        n = int(app.snow * 0.0015 * W * H)
        x = rng.integers(0, W - 1, n)
        y = rng.integers(0, H - 1, n)
        big = rng.uniform(0, 1, n) < 0.4                                     # nearer flakes: 2x2 px
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            sel = big if (dx or dy) else np.ones(n, dtype=bool)
            idx_parts.append((y[sel] + dy) * W + x[sel] + dx)
            alpha_parts.append(np.full(int(sel.sum()), 0.9, dtype=np.float32))
    idx = np.concatenate(idx_parts)
    alpha = np.concatenate(alpha_parts)[:, None]                             # (k, 1)
    bright = np.float32(0.75 if not app.dark else 0.35)
    flat = img.reshape(-1, 3)
    sel = flat[idx]
    sel += (bright - sel) * alpha
    flat[idx] = sel


def to_uint8(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) float colours (display-referred, 1.0 = white) -> uint8, clipped."""
    out = np.multiply(img, 255.0, out=img)
    np.clip(out, 0.0, 255.0, out=out)
    return out.astype(np.uint8)
