"""Z-buffered rasterisation of planar quads, in numpy.

All quads are transformed, back-face culled, near-plane tested and projected at once; each surviving quad is
then filled over its pixel bounding box with vectorised edge tests (quads crossing the near plane are clipped
first). A quad's depth at a pixel comes exactly from its plane (no interpolation error), so a pixel's depth is
the true distance along the optical axis. The rasteriser writes a face-index buffer; colours are looked up once
at the end (deferred shading), which keeps per-quad work to a few array operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adsgen.render.camera import NEAR_M, Camera


@dataclass
class Buffers:
    """Per-pixel outputs of rasterisation: depth along the optical axis [m] and the winning face index."""

    depth: np.ndarray   # (H, W) float32, inf where nothing was drawn
    face: np.ndarray    # (H, W) int32, -1 where no face won


def clip_near(poly_c: np.ndarray, near: float = NEAR_M) -> np.ndarray:
    """Sutherland-Hodgman clip of a convex polygon (k, 3) in camera coordinates to z >= near."""
    z = poly_c[:, 2]
    if (z >= near).all():
        return poly_c
    if (z < near).all():
        return poly_c[:0]
    out = []
    k = len(poly_c)
    for i in range(k):
        a, b = poly_c[i], poly_c[(i + 1) % k]
        a_in, b_in = a[2] >= near, b[2] >= near
        if a_in:
            out.append(a)
        if a_in != b_in:
            t = (near - a[2]) / (b[2] - a[2])
            out.append(a + t * (b - a))
    return np.array(out)


def cross3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of (..., 3) arrays (np.cross is slow on small inputs)."""
    return np.stack([a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
                     a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
                     a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]], axis=-1)


def rasterise(cam: Camera, quads_w: np.ndarray, cull: np.ndarray, buf: Buffers, a_cols: np.ndarray,
              b_rows: np.ndarray) -> np.ndarray:
    """Draw quads (F, 4, 3) of world vertices (convex, planar, outward counter-clockwise) into ``buf``.

    ``cull`` (F,) marks quads of closed solids, skipped when they face away from the camera. ``a_cols`` (W,)
    and ``b_rows`` (H,) are the pixel-centre rays from ``Camera.pixel_rays``. Returns (F, 4) int pixel regions
    (r0, r1, c0, c1), half-open, with r0 = r1 = 0 for quads that were not drawn.
    """
    H, W = buf.depth.shape
    F = len(quads_w)
    regions = np.zeros((F, 4), dtype=np.int64)
    if F == 0:
        return regions
    fx, fy, cx, cy = cam.K[0, 0], cam.K[1, 1], cam.K[0, 2], cam.K[1, 2]
    pc = quads_w @ cam.R_cw.T + cam.t_cw                                 # (F, 4, 3) camera coordinates
    n = cross3(pc[:, 1] - pc[:, 0], pc[:, 2] - pc[:, 0])                 # (F, 3) plane normals
    d = np.einsum("fi,fi->f", n, pc[:, 0])                               # (F,) plane offsets: n . p = d
    z = pc[:, :, 2]                                                      # (F, 4)
    keep = (np.abs(d) > 1e-9) & ~(cull & (d > 0.0)) & (z.max(axis=1) > NEAR_M)
    needs_clip = z.min(axis=1) < NEAR_M
    with np.errstate(divide="ignore", invalid="ignore"):
        u = pc[:, :, 0] / z * fx + cx                                    # (F, 4) pixel x
        v = pc[:, :, 1] / z * fy + cy                                    # (F, 4) pixel y
    # pixel bounding boxes and edge vectors of unclipped quads, all at once
    with np.errstate(invalid="ignore"):
        c0s = np.clip(np.ceil(u.min(1) - 0.5), 0, W).astype(np.int64)
        c1s = np.clip(np.floor(u.max(1) - 0.5) + 1, 0, W).astype(np.int64)
        r0s = np.clip(np.ceil(v.min(1) - 0.5), 0, H).astype(np.int64)
        r1s = np.clip(np.floor(v.max(1) - 0.5) + 1, 0, H).astype(np.int64)
    keep &= needs_clip | ((c0s < c1s) & (r0s < r1s))
    nxt = np.array([1, 2, 3, 0])
    area = np.sum(u * v[:, nxt] - u[:, nxt] * v, axis=1)                 # (F,) twice the signed area
    sgn = np.where(area > 0, 1.0, -1.0)[:, None]
    du, dv = sgn * (u[:, nxt] - u), sgn * (v[:, nxt] - v)                # (F, 4) oriented edge vectors
    for i in np.nonzero(keep)[0].tolist():
        if needs_clip[i]:
            poly = clip_near(pc[i])
            if len(poly) < 3:
                continue
            pu = poly[:, 0] / poly[:, 2] * fx + cx
            pv = poly[:, 1] / poly[:, 2] * fy + cy
            c0 = max(int(np.ceil(pu.min() - 0.5)), 0)
            c1 = min(int(np.floor(pu.max() - 0.5)) + 1, W)
            r0 = max(int(np.ceil(pv.min() - 0.5)), 0)
            r1 = min(int(np.floor(pv.max() - 0.5)) + 1, H)
            if c0 >= c1 or r0 >= r1:
                continue
            nx = np.r_[1:len(pu), 0]
            sg = 1.0 if float(np.sum(pu * pv[nx] - pu[nx] * pv)) > 0 else -1.0
            edu, edv = sg * (pu[nx] - pu), sg * (pv[nx] - pv)
        else:
            c0, c1, r0, r1 = int(c0s[i]), int(c1s[i]), int(r0s[i]), int(r1s[i])
            pu, pv, edu, edv = u[i], v[i], du[i], dv[i]
        uc = np.arange(c0, c1, dtype=np.float64) + 0.5                    # (w,) pixel-centre x
        vr = np.arange(r0, r1, dtype=np.float64) + 0.5                    # (h,) pixel-centre y
        # edge functions (b - a) x (p - a) >= 0 inside, for every edge at once: (k, h, w)
        e = edu[:, None, None] * (vr[None, :, None] - pv[:, None, None]) \
            - edv[:, None, None] * (uc[None, None, :] - pu[:, None, None])
        inside = (e >= 0.0).all(axis=0)                                   # (h, w)
        # depth on the plane through pixel ray (a, b, 1): z = d / (n . (a, b, 1))
        ni = n[i]
        denom = (ni[0] * a_cols[c0:c1])[None, :] + (ni[1] * b_rows[r0:r1] + ni[2])[:, None]  # (h, w)
        with np.errstate(divide="ignore", invalid="ignore"):
            zq = (d[i] / denom).astype(np.float32)
        zreg = buf.depth[r0:r1, c0:c1]
        win = inside & (zq > NEAR_M) & (zq < zreg)
        if not win.any():
            continue
        zreg[win] = zq[win]
        buf.face[r0:r1, c0:c1][win] = i
        regions[i] = (r0, r1, c0, c1)
    return regions
