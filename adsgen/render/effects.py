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


def apply_weather(img: np.ndarray, depth: np.ndarray, app: Appearance, seed: int = 0) -> None:
    """In place on a (H, W, 3) float image with its (H, W) depth [m]: haze/fog, rain, snow."""
    H, W = depth.shape
    finite_rows = np.nonzero(np.isfinite(depth).any(axis=1))[0]            # rows holding any surface
    if len(finite_rows):
        r0 = int(finite_rows[0])
        sub = img[r0:]                                                       # (h, W, 3) view
        trans = np.exp(np.float32(-app.extinction_per_m) * depth[r0:])      # (h, W); 0 for sky (inf)
        trans[~np.isfinite(depth[r0:])] = 1.0                               # the sky keeps its own colour
        haze = np.asarray(app.haze, dtype=np.float32)
        sub -= haze
        sub *= trans[..., None]
        sub += haze
    if app.rain <= 0.0 and app.snow <= 0.0:
        return
    rng = np.random.default_rng(seed)
    alpha = np.zeros((H, W), dtype=np.float32)                              # (H, W) streak / flake coverage
    scale = W / 1600.0
    if app.rain > 0.0:
        img *= np.float32(1.0 - 0.25 * app.rain)
        n = int(app.rain * 0.0022 * W * H)
        steps = max(4, int(40 * scale))
        x = rng.uniform(0, W, n)[:, None]                                    # (n, 1) streak tops
        y = rng.uniform(-0.1 * H, H, n)[:, None]
        length = rng.uniform(18, 45, n)[:, None] * scale                     # (n, 1) [px]
        f = np.linspace(0.0, 1.0, steps)[None, :]                            # (1, steps)
        xs = (x - 0.18 * length * f).astype(np.int32).ravel()                # (n * steps,)
        ys = (y + length * f).astype(np.int32).ravel()
        ok = (xs >= 0) & (xs < W) & (ys >= 0) & (ys < H)
        alpha[ys[ok], xs[ok]] = np.repeat(rng.uniform(0.35, 0.65, n), steps)[ok]
    if app.snow > 0.0:
        n = int(app.snow * 0.0015 * W * H)
        x = rng.uniform(0, W, n).astype(np.int32)
        y = rng.uniform(0, H, n).astype(np.int32)
        big = rng.uniform(0, 1, n) < 0.4                                     # larger (nearer) flakes: 2x2 px
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            sel = big if (dx or dy) else np.ones(n, dtype=bool)
            xx, yy = np.minimum(x[sel] + dx, W - 1), np.minimum(y[sel] + dy, H - 1)
            alpha[yy, xx] = 0.9
    bright = np.float32(0.75 if not app.dark else 0.35)
    ys, xs = np.nonzero(alpha)                                               # only streak / flake pixels
    a = alpha[ys, xs][:, None]
    img[ys, xs] += (bright - img[ys, xs]) * a


def to_uint8(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) float colours (display-referred, 1.0 = white) -> uint8, clipped."""
    out = np.multiply(img, 255.0, out=img)
    np.clip(out, 0.0, 255.0, out=out)
    return out.astype(np.uint8)
