"""Safety metrics as pure vectorised functions of poses, sizes and velocities.

Independent of the engine's internals: the CARLA bridge calls the same functions on its own states.
Frame: x east, y north [m], yaw counter-clockwise from +x [rad], velocities [m/s]. Every function
broadcasts over leading dimensions (e.g. (batch, actors)).

* time-to-collision (constant velocity): the time until the boxes first touch if both keep their
  current velocity vectors; the other road user is covered by three discs of radius width/2 along its
  length (one for pedestrians), the ego is its box. ``inf`` when they never touch; 0 when touching.
* time-to-collision along a path: gap / closing speed for a follower and a leader on the same path.
* box distance: the exact gap between two oriented rectangles (0 when they overlap).
* post-encroachment time (PET): at a conflict point where two paths cross, the time between the first
  road user leaving the conflict zone and the second entering it (0 when they occupy it together).
"""

from __future__ import annotations

import numpy as np


def box_corners(x, y, yaw, length, width) -> np.ndarray:
    """Corners (..., 4, 2) of oriented rectangles, counter-clockwise from the front-left."""
    return box_corners_cs(x, y, np.cos(yaw), np.sin(yaw), length, width)


def box_corners_cs(x, y, c, s, length, width) -> np.ndarray:
    """box_corners with the heading given as its cosine and sine."""
    hl, hw = np.asarray(length) / 2, np.asarray(width) / 2
    lx = np.stack([hl, -hl, -hl, hl], axis=-1)  # (..., 4)
    ly = np.stack([hw, hw, -hw, -hw], axis=-1)  # (..., 4)
    c, s = np.asarray(c)[..., None], np.asarray(s)[..., None]
    cx = np.asarray(x)[..., None] + c * lx - s * ly
    cy = np.asarray(y)[..., None] + s * lx + c * ly
    return np.stack([cx, cy], axis=-1)  # (..., 4, 2)


def boxes_overlap(x1, y1, yaw1, l1, w1, x2, y2, yaw2, l2, w2) -> np.ndarray:
    """Separating-axis test of two oriented rectangles -> (...,) bool (touching counts as overlap)."""
    return boxes_overlap_cs(x1, y1, np.cos(yaw1), np.sin(yaw1), l1, w1, x2, y2, np.cos(yaw2), np.sin(yaw2), l2, w2)


def boxes_overlap_cs(x1, y1, c1, s1, l1, w1, x2, y2, c2, s2, l2, w2) -> np.ndarray:  # noqa: PLR0913 -- two oriented boxes, six array columns each
    """boxes_overlap with headings given as cosines and sines."""
    dx, dy = np.asarray(x2) - x1, np.asarray(y2) - y1
    hl1, hw1, hl2, hw2 = np.asarray(l1) / 2, np.asarray(w1) / 2, np.asarray(l2) / 2, np.asarray(w2) / 2
    cc = np.abs(c1 * c2 + s1 * s2)  # |u1.u2| = |v1.v2|
    cs = np.abs(c1 * s2 - s1 * c2)  # |u1.v2| = |v1.u2|
    sep = (np.abs(dx * c1 + dy * s1) > hl1 + hl2 * cc + hw2 * cs)
    sep |= (np.abs(-dx * s1 + dy * c1) > hw1 + hl2 * cs + hw2 * cc)
    sep |= (np.abs(dx * c2 + dy * s2) > hl2 + hl1 * cc + hw1 * cs)
    sep |= (np.abs(-dx * s2 + dy * c2) > hw2 + hl1 * cs + hw1 * cc)
    return ~sep


def box_distance(x1, y1, yaw1, l1, w1, x2, y2, yaw2, l2, w2) -> np.ndarray:
    """Exact gap [m] between oriented rectangles (0 when they overlap) -> (...,).

    For disjoint convex polygons the closest pair always includes a vertex of one of them, so the gap
    is the smaller of the corner-to-rectangle distances both ways.
    """
    return box_distance_cs(x1, y1, np.cos(yaw1), np.sin(yaw1), l1, w1, x2, y2, np.cos(yaw2), np.sin(yaw2), l2, w2)


_SIGNS_X = np.array([1.0, -1.0, -1.0, 1.0])  # corner signs along the length
_SIGNS_Y = np.array([1.0, 1.0, -1.0, -1.0])  # and across


def separating_gap_cs(x1, y1, c1, s1, l1, w1, x2, y2, c2, s2, l2, w2) -> np.ndarray:  # noqa: PLR0913 -- two oriented boxes, six array columns each
    """Largest gap [m] between the rectangles' projections on their four edge axes -> (...,).

    <= 0 exactly when the rectangles overlap; otherwise a lower bound of their distance, equal to it
    when the closest features are an edge and a parallel edge or a corner facing an edge's interior
    (e.g. two cars in line on one lane)."""
    dx, dy = np.asarray(x2) - x1, np.asarray(y2) - y1
    hl1, hw1, hl2, hw2 = np.asarray(l1) / 2, np.asarray(w1) / 2, np.asarray(l2) / 2, np.asarray(w2) / 2
    cc = np.abs(c1 * c2 + s1 * s2)
    cs = np.abs(c1 * s2 - s1 * c2)
    g = np.abs(dx * c1 + dy * s1) - (hl1 + hl2 * cc + hw2 * cs)
    g = np.maximum(g, np.abs(-dx * s1 + dy * c1) - (hw1 + hl2 * cs + hw2 * cc))
    g = np.maximum(g, np.abs(dx * c2 + dy * s2) - (hl2 + hl1 * cc + hw1 * cs))
    return np.maximum(g, np.abs(-dx * s2 + dy * c2) - (hw2 + hl1 * cs + hw1 * cc))


def _corner_gap(dx, dy, c1, s1, hl1, hw1, cr, sr, hl2, hw2) -> np.ndarray:
    """Smallest distance from box 2's corners to box 1 -> (...,); (dx, dy): centre 2 - centre 1 in the
    world, (cr, sr): cos/sin of yaw2 - yaw1."""
    px, py = dx * c1 + dy * s1, -dx * s1 + dy * c1  # centre 2 in box 1's frame (...,)
    ox = (hl2 * cr)[..., None] * _SIGNS_X - (hw2 * sr)[..., None] * _SIGNS_Y  # (..., 4)
    oy = (hl2 * sr)[..., None] * _SIGNS_X + (hw2 * cr)[..., None] * _SIGNS_Y
    qx = np.maximum(np.abs(px[..., None] + ox) - hl1[..., None], 0.0)
    qy = np.maximum(np.abs(py[..., None] + oy) - hw1[..., None], 0.0)
    d2 = qx * qx + qy * qy
    return np.sqrt(np.minimum(np.minimum(d2[..., 0], d2[..., 1]), np.minimum(d2[..., 2], d2[..., 3])))


def box_distance_cs(x1, y1, c1, s1, l1, w1, x2, y2, c2, s2, l2, w2) -> np.ndarray:  # noqa: PLR0913 -- two oriented boxes, six array columns each
    """box_distance with headings given as cosines and sines."""
    dx, dy = np.asarray(x2) - x1, np.asarray(y2) - y1
    hl1, hw1 = np.broadcast_to(np.asarray(l1) / 2, dx.shape), np.broadcast_to(np.asarray(w1) / 2, dx.shape)
    hl2, hw2 = np.broadcast_to(np.asarray(l2) / 2, dx.shape), np.broadcast_to(np.asarray(w2) / 2, dx.shape)
    cr, sr = c2 * c1 + s2 * s1, s2 * c1 - c2 * s1  # relative heading of box 2 in box 1's frame
    d1 = _corner_gap(dx, dy, c1, s1, hl1, hw1, cr, sr, hl2, hw2)
    d2 = _corner_gap(-dx, -dy, c2, s2, hl2, hw2, cr, -sr, hl1, hw1)
    d = np.minimum(d1, d2)
    return np.where(boxes_overlap_cs(x1, y1, c1, s1, l1, w1, x2, y2, c2, s2, l2, w2), 0.0, d)


def disc_box_distance(px, py, radius, x, y, yaw, length, width) -> np.ndarray:
    """Signed gap [m] between discs and oriented rectangles (negative when they overlap) -> (...,)."""
    return disc_box_distance_cs(px, py, radius, x, y, np.cos(yaw), np.sin(yaw), length, width)


def disc_box_distance_cs(px, py, radius, x, y, c, s, length, width) -> np.ndarray:
    dx, dy = np.asarray(px) - x, np.asarray(py) - y
    qx = np.abs(dx * c + dy * s) - np.asarray(length) / 2
    qy = np.abs(-dx * s + dy * c) - np.asarray(width) / 2
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    inside = np.minimum(np.maximum(qx, qy), 0.0)
    return outside + inside - radius


_DISCS = np.array([-1.0, 0.0, 1.0])  # disc positions along the other road user's length


def ttc_constant_velocity(ego_x, ego_y, ego_yaw, ego_vx, ego_vy, ego_length, ego_width,  # noqa: PLR0913 -- the ego's and the others' poses, velocities and sizes as array columns
                          x, y, yaw, vx, vy, length, width) -> np.ndarray:
    """Constant-velocity time-to-collision [s] of the ego box with other road users.

    Ego arguments are shaped (...,), the others' (..., A); the result is (..., A).
    The other road user is three discs of radius width/2 spaced along its length (coinciding for a
    pedestrian, whose length equals its width); each disc's centre path relative to the ego is a ray in
    the ego frame tested against the ego box grown by the radius (slab method). inf: never touching.
    """
    ego_yaw, yaw = np.asarray(ego_yaw, float), np.asarray(yaw, float)
    return ttc_constant_velocity_cs(ego_x, ego_y, np.cos(ego_yaw), np.sin(ego_yaw), ego_vx, ego_vy, ego_length,
                                    ego_width, x, y, np.cos(yaw), np.sin(yaw), vx, vy, length, width)


def ttc_constant_velocity_cs(ego_x, ego_y, ego_c, ego_s, ego_vx, ego_vy, ego_length, ego_width,  # noqa: PLR0913 -- the ego's and the others' poses, velocities and sizes as array columns
                             x, y, c, s, vx, vy, length, width) -> np.ndarray:
    """ttc_constant_velocity with headings given as cosines and sines."""
    e = [np.asarray(v)[..., None] for v in (ego_x, ego_y, ego_c, ego_s, ego_vx, ego_vy, ego_length, ego_width)]
    ex, ey, ec, es, evx, evy, el, ew = e  # (..., 1)
    length, width = np.asarray(length), np.asarray(width)
    half_span = np.maximum(length - width, 0.0) / 2  # (..., A)
    dx, dy = np.asarray(x) - ex, np.asarray(y) - ey  # (..., A)
    rvx, rvy = np.asarray(vx) - evx, np.asarray(vy) - evy
    px0, py0 = ec * dx + es * dy, -es * dx + ec * dy  # centre in the ego frame
    ox, oy = ec * c + es * s, -es * c + ec * s        # other's heading in the ego frame
    ux, uy = ec * rvx + es * rvy, -es * rvx + ec * rvy  # relative velocity in the ego frame
    r = width / 2
    hx, hy = (el / 2 + r)[..., None], (ew / 2 + r)[..., None]  # (..., A, 1)
    k = half_span[..., None] * _DISCS  # (..., A, 3)
    px, py = px0[..., None] + ox[..., None] * k, py0[..., None] + oy[..., None] * k
    with np.errstate(divide="ignore", invalid="ignore"):
        iux, iuy = (1.0 / ux)[..., None], (1.0 / uy)[..., None]  # 1/0 = inf: no motion along that axis
        ax1, ax2 = (-hx - px) * iux, (hx - px) * iux
        ay1, ay2 = (-hy - py) * iuy, (hy - py) * iuy
    t_enter = np.maximum(np.minimum(ax1, ax2), np.minimum(ay1, ay2))
    t_exit = np.minimum(np.maximum(ax1, ax2), np.maximum(ay1, ay2))
    hit = (t_enter <= t_exit) & (t_exit >= 0.0)  # nan (0 * inf on an edge) counts as no hit
    t = np.where(hit, np.maximum(t_enter, 0.0), np.inf)  # (..., A, 3)
    return np.minimum(np.minimum(t[..., 0], t[..., 1]), t[..., 2])  # explicit: reductions over short axes are slow


def _slab(p, u, h):
    """Entry/exit parameters of p + u t in [-h, h]; u = 0 gives (-inf, inf) inside and an empty interval
    outside through IEEE infinities."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (-h - p) / u, (h - p) / u
    return np.minimum(t1, t2), np.maximum(t1, t2)


def ttc_along_path(gap_m, follower_speed_mps, leader_speed_mps) -> np.ndarray:
    """Gap / closing speed [s] for a follower behind a leader on the same path; inf when not closing."""
    closing = np.asarray(follower_speed_mps) - leader_speed_mps
    with np.errstate(divide="ignore", invalid="ignore"):
        ttc = np.where(closing > 1e-9, np.maximum(gap_m, 0.0) / closing, np.inf)
    return ttc


def pet(t_enter_a, t_exit_a, t_enter_b, t_exit_b) -> np.ndarray:
    """Post-encroachment time [s] from each road user's conflict-zone entry/exit times (nan = never).

    PET = entry of the second minus exit of the first; 0 when their occupancies overlap; nan when
    either never entered the zone.
    """
    t_enter_a, t_exit_a = np.asarray(t_enter_a, float), np.asarray(t_exit_a, float)
    t_enter_b, t_exit_b = np.asarray(t_enter_b, float), np.asarray(t_exit_b, float)
    a_first = t_enter_b - np.where(np.isnan(t_exit_a), np.inf, t_exit_a)
    b_first = t_enter_a - np.where(np.isnan(t_exit_b), np.inf, t_exit_b)
    out = np.maximum(np.maximum(a_first, b_first), 0.0)
    return np.where(np.isnan(t_enter_a) | np.isnan(t_enter_b), np.nan, out)


__all__ = ["box_corners", "boxes_overlap", "box_distance", "disc_box_distance", "ttc_constant_velocity",
           "box_corners_cs", "boxes_overlap_cs", "separating_gap_cs", "box_distance_cs", "disc_box_distance_cs", "ttc_constant_velocity_cs",
           "ttc_along_path", "pet"]
