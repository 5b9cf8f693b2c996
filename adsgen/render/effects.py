"""Light and weather acting on a rendered image: headlight cone, haze and fog by depth, rain, snow."""

from __future__ import annotations

import functools
import math
from typing import Any

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


VEIL_RANGE_M = 60.0       # [m] how far along each pixel's ray light scattered by the air is gathered
VEIL_SAMPLES = 8          # samples along each ray (midpoint rule)
VEIL_STRIDE_PX = 8        # [px] spacing of the rays the veil is gathered on (interpolated in between)
VEIL_GAIN = 0.7           # share of the gathered light (extinction x illuminance x metre) scattered back to the camera
BEAM_HEIGHT_M = 0.7       # [m] headlights' mounting height; the beam thins above and below it
BEAM_THICKNESS_M = 1.6    # [m] vertical half-width of the beam (Gaussian)
VEIL_MIN_EXTINCTION_PER_M = 3.0e-3  # [1/m] clearer air than this (clear night: 0.0026) draws no veil


def night_veil(a: np.ndarray, b: np.ndarray, R_wc: np.ndarray, position_w: np.ndarray, depth_m: np.ndarray,
               ego: ObjectState, app: Appearance, lamp_light: Any = None) -> np.ndarray | None:
    """(H, W) light that fog, rain or snow scatter toward the camera from the ego's low beams (and lit
    street lamps) at night, or None when there is none to see (daylight, or clear air).

    Single scattering along each pixel's ray up to the surface it meets (or VEIL_RANGE_M):
    sum over samples of beta exp(-beta s) E(p(s)) ds, with E the beams' illuminance at the sample (the
    ground-plane cone of ``ego_headlight``, thinned with height) plus the lamps' (``lamp_light(x, y)``).
    This is what makes fog at night look like fog, a milky wall in the beams, not a clear night."""
    if not app.dark or app.extinction_per_m <= VEIL_MIN_EXTINCTION_PER_M:
        return None
    # the veil is smooth: gather it on a coarse grid of pixel centres and interpolate bilinearly
    H_full, W_full = depth_m.shape
    rows, to_rows = _coarse_grid(H_full)
    cols, to_cols = _coarse_grid(W_full)
    coarse = _gather_veil(a[cols], b[rows], R_wc, position_w, depth_m[np.ix_(rows, cols)], ego, app, lamp_light)
    return to_rows @ coarse @ to_cols.T


@functools.lru_cache(maxsize=16)
def _coarse_grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel indices of the coarse grid along an axis of n pixels, and the (n, knots) weights of linear
    interpolation from them back to every pixel."""
    knots = np.linspace(0, n - 1, max(2, n // VEIL_STRIDE_PX)).round().astype(int)
    eye = np.eye(len(knots))
    weights = np.stack([np.interp(np.arange(n), knots, eye[k]) for k in range(len(knots))], axis=1)
    return knots, weights.astype(np.float32)


def _gather_veil(a: np.ndarray, b: np.ndarray, R_wc: np.ndarray, position_w: np.ndarray, depth_m: np.ndarray,
                 ego: ObjectState, app: Appearance, lamp_light: Any) -> np.ndarray:
    beta = np.float32(app.extinction_per_m)
    H, W = depth_m.shape
    rays = np.stack(np.broadcast_arrays(a[None, :], b[:, None], np.ones((H, 1))), axis=-1)  # (H, W, 3) camera
    dirs = (rays @ R_wc.T).astype(np.float32)                                        # (H, W, 3) world, z-depth 1
    reach = np.minimum(depth_m, np.float32(VEIL_RANGE_M))                             # (H, W) [m]
    step = reach / VEIL_SAMPLES                                                       # (H, W) [m]
    veil = np.zeros((H, W), dtype=np.float32)
    for k in range(VEIL_SAMPLES):
        s = (k + 0.5) * step                                                          # (H, W) [m]
        x = position_w[0] + dirs[..., 0] * s
        y = position_w[1] + dirs[..., 1] * s
        z = position_w[2] + dirs[..., 2] * s
        lit = np.zeros((H, W), dtype=np.float32)
        if app.headlights:
            lit += ego_headlight(ego, x, y) * np.exp(-((z - BEAM_HEIGHT_M) / BEAM_THICKNESS_M) ** 2)
        if lamp_light is not None:
            lit += 0.6 * lamp_light(x.astype(np.float32), y.astype(np.float32))
        veil += beta * np.exp(-beta * s) * lit * step
    return VEIL_GAIN * veil


def rain_dimming(app: Appearance) -> float:
    """Factor by which rain darkens the whole scene (sky, ground, objects)."""
    return 1.0 - 0.25 * app.rain


def apply_weather(img: np.ndarray, app: Appearance, seed: int = 0, veil: np.ndarray | None = None) -> None:
    """In place on a (H, W, 3) float image: rain streaks and snowflakes (haze, fog and rain dimming are
    applied per surface while shading, see ``transmission`` and ``rain_dimming``). At night ``veil``
    ((H, W), from ``night_veil``) lights the streaks and flakes that are inside the beams."""
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
        fx = rng.integers(0, W - 1, n)                                       # (n,) [px]
        fy = rng.integers(0, H - 1, n)
        big = rng.uniform(0, 1, n) < 0.4                                     # nearer flakes: 2x2 px
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            sel = big if (dx or dy) else np.ones(n, dtype=bool)
            idx_parts.append((fy[sel] + dy) * W + fx[sel] + dx)
            alpha_parts.append(np.full(int(sel.sum()), 0.9, dtype=np.float32))
    idx = np.concatenate(idx_parts)
    alpha = np.concatenate(alpha_parts)[:, None]                             # (k, 1)
    flat = img.reshape(-1, 3)
    sel = flat[idx]
    if app.dark:  # dim drops in the dark, bright ones where the beams or lamps light them
        bright = np.float32(0.35)
        if veil is not None:
            bright = bright + np.minimum(np.float32(12.0) * veil.ravel()[idx], np.float32(0.6))[:, None]
    else:
        bright = np.float32(0.75)
    sel += (bright - sel) * alpha
    flat[idx] = sel


def to_uint8(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) float colours (display-referred, 1.0 = white) -> uint8, clipped."""
    out = np.multiply(img, 255.0, out=img)
    np.clip(out, 0.0, 255.0, out=out)
    return out.astype(np.uint8)
