"""Plan-view geometry shared by the road templates: OpenDRIVE-style primitives and sampled routes.

Engine frame: x east, y north, metres, headings in radians counter-clockwise from +x. A lateral
offset ``t`` is positive to the left of the reference line's direction (OpenDRIVE convention).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

ROUTE_DS_M = 0.5  # [m] spacing of the uniformly resampled route polylines


@dataclass(frozen=True)
class Prim:
    """One plan-view geometry element: a line (curvature 0) or an arc of constant curvature."""

    x: float           # [m] start x
    y: float           # [m] start y
    hdg: float         # [rad] start heading
    length: float      # [m] arc length
    curvature: float = 0.0  # [1/m], positive = turning left

    def at(self, s: np.ndarray, t: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Points at arc lengths s (n,) offset laterally by t [m] -> (xy (n, 2), heading (n,))."""
        s = np.asarray(s, dtype=float)
        k = self.curvature
        hd = self.hdg + k * s  # (n,)
        if abs(k) < 1e-12:
            x = self.x + s * np.cos(self.hdg)
            y = self.y + s * np.sin(self.hdg)
        else:
            x = self.x + (np.sin(hd) - np.sin(self.hdg)) / k
            y = self.y + (np.cos(self.hdg) - np.cos(hd)) / k
        x = x - np.sin(hd) * t
        y = y + np.cos(hd) * t
        return np.stack([x, y], axis=1), hd  # (n, 2), (n,)

    def end(self) -> tuple[float, float, float]:
        xy, hd = self.at(np.array([self.length]))
        return float(xy[0, 0]), float(xy[0, 1]), float(hd[0])

    def rotated(self, phi: float) -> Prim:
        """The primitive rotated by phi [rad] about the origin."""
        c, s = np.cos(phi), np.sin(phi)
        return Prim(c * self.x - s * self.y, s * self.x + c * self.y, self.hdg + phi, self.length, self.curvature)


def chain(x: float, y: float, hdg: float, parts: list[tuple[float, float]]) -> list[Prim]:
    """Consecutive primitives from a start pose and (length [m], curvature [1/m]) pairs."""
    prims = []
    for length, k in parts:
        p = Prim(x, y, hdg, length, k)
        prims.append(p)
        x, y, hdg = p.end()
    return prims


def sample_prims(prims: list[Prim], t: float | Callable[[np.ndarray], np.ndarray] = 0.0,
                 s0: float = 0.0, s1: float | None = None, reverse: bool = False,
                 step_m: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Sample a chain of primitives between road s0..s1 at lateral offset t (a constant or a function of
    road s) -> (xy (n, 2), heading (n,)) in the direction of travel (reversed when ``reverse``)."""
    total = sum(p.length for p in prims)
    s1 = total if s1 is None else s1
    n = max(2, int(np.ceil((s1 - s0) / step_m)) + 1)
    s = np.linspace(s0, s1, n)  # (n,) road s
    tt = t(s) if callable(t) else np.full(n, float(t))  # (n,)
    xy = np.empty((n, 2))
    hd = np.empty(n)
    start = 0.0
    for i, p in enumerate(prims):
        last = i == len(prims) - 1
        m = (s >= start - 1e-9) & ((s < start + p.length) | last)
        if m.any():
            xy[m], hd[m] = p.at(s[m] - start, tt[m])
        start += p.length
    if callable(t):  # heading of the offset curve: add the slope of t
        dt = np.gradient(tt, s)
        hd = hd + np.arctan(dt)
    if reverse:
        xy, hd = xy[::-1], hd[::-1] + np.pi
    return xy, hd


@dataclass(frozen=True)
class Route:
    """A path a road user follows: a lane centre-line (vehicles) or a crosswalk path (pedestrians).

    Resampled uniformly every ROUTE_DS_M metres, so the engine can index it in O(1).
    """

    name: str
    kind: str                  # 'lane' | 'shoulder' | 'crosswalk'
    xy: np.ndarray             # (n, 2) [m] points in the engine frame
    s: np.ndarray              # (n,) [m] arc length, s[i] = i * ROUTE_DS_M
    heading: np.ndarray        # (n,) [rad] direction of travel
    curvature: np.ndarray      # (n,) [1/m]
    approach: str | None = None       # arm it enters from ('S', 'N', 'E', 'W', 'R' ramp)
    lane: int | None = None           # lane index on entry (0 = next to the centre line)
    stop_s_m: float | None = None     # [m] stop line position along this route
    signal_group: str | None = None   # 'NS' | 'EW' for signalised approaches
    d_left_m: float = 10.0            # [m] drivable width to the left of the centre-line
    d_right_m: float = 4.0            # [m] drivable width to the right of the centre-line
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def length_m(self) -> float:
        return float(self.s[-1])

    def at(self, s_m: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Interpolated (xy (..., 2), heading (...)) at arc length(s) s_m, clamped to the route."""
        s = np.clip(np.asarray(s_m, dtype=float), 0.0, self.length_m)
        f = s / ROUTE_DS_M
        i = np.minimum(f.astype(int), len(self.s) - 2)
        w = (f - i)[..., None]
        xy = self.xy[i] * (1 - w) + self.xy[i + 1] * w
        hd = self.heading[i] + (self.heading[i + 1] - self.heading[i]) * w[..., 0]
        return xy, hd


def make_route(name: str, kind: str, pieces: list[tuple[np.ndarray, np.ndarray]], **kw) -> Route:
    """Concatenate sampled pieces (xy (n, 2), heading (n,)) and resample every ROUTE_DS_M metres."""
    xy = np.concatenate([p[0] for p in pieces])  # (n, 2)
    hd = np.concatenate([p[1] for p in pieces])  # (n,)
    seg = np.hypot(*np.diff(xy, axis=0).T)  # (n-1,)
    keep = np.concatenate([[True], seg > 1e-6])
    xy, hd = xy[keep], np.unwrap(hd[keep])
    s_raw = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])  # (n,)
    n = int(np.floor(s_raw[-1] / ROUTE_DS_M)) + 1
    s = np.arange(n) * ROUTE_DS_M  # (m,)
    out_xy = np.stack([np.interp(s, s_raw, xy[:, 0]), np.interp(s, s_raw, xy[:, 1])], axis=1)  # (m, 2)
    out_hd = np.interp(s, s_raw, hd)  # (m,)
    curv = np.gradient(out_hd, ROUTE_DS_M) if n > 2 else np.zeros(n)
    return Route(name=name, kind=kind, xy=out_xy, s=s, heading=out_hd, curvature=curv, **kw)


def path_crossing(path_a: np.ndarray, path_b: np.ndarray) -> tuple[float, float] | None:
    """First crossing of two polylines (n, 2), (m, 2) -> (s along a, s along b) [m], or None."""
    a0, a1 = path_a[:-1], path_a[1:]  # (n-1, 2)
    b0, b1 = path_b[:-1], path_b[1:]  # (m-1, 2)
    da, db = a1 - a0, b1 - b0
    den = da[:, None, 0] * db[None, :, 1] - da[:, None, 1] * db[None, :, 0]  # (n-1, m-1)
    w = b0[None, :, :] - a0[:, None, :]  # (n-1, m-1, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ta = (w[..., 0] * db[None, :, 1] - w[..., 1] * db[None, :, 0]) / den
        tb = (w[..., 0] * da[:, None, 1] - w[..., 1] * da[:, None, 0]) / den
    hit = (np.abs(den) > 1e-9) & (ta >= 0) & (ta <= 1) & (tb >= 0) & (tb <= 1)
    if not hit.any():
        return None
    i, j = np.argwhere(hit)[0]
    sa = np.concatenate([[0.0], np.cumsum(np.linalg.norm(da, axis=1))])
    sb = np.concatenate([[0.0], np.cumsum(np.linalg.norm(db, axis=1))])
    return float(sa[i] + ta[i, j] * np.linalg.norm(da[i])), float(sb[j] + tb[i, j] * np.linalg.norm(db[j]))


def polyline_band(xy: np.ndarray, hd: np.ndarray, t_left: float, t_right: float) -> np.ndarray:
    """Polygon (m, 2) of the band between lateral offsets t_right < t_left along a sampled curve."""
    nrm = np.stack([-np.sin(hd), np.cos(hd)], axis=1)  # (n, 2) left normal
    left = xy + nrm * t_left
    right = xy + nrm * t_right
    return np.concatenate([right, left[::-1]])
