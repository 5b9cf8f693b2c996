"""What a render returns: the image, the metric depth map, the instance mask and the visible objects."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class VisibleObject:
    """One object seen by a camera. Pixel coordinates follow ``adsgen.render.camera`` (centres at +0.5)."""

    id: str                                     # ScenarioActor id, or 'traffic_signal'
    kind: str                                   # 'car' | 'truck' | 'pedestrian' | 'traffic_signal'
    box_px: tuple[float, float, float, float]   # (x1, y1, x2, y2): edges of its visible pixels, clipped to the image
    center_px: tuple[float, float]              # (x, y): on one of its own pixels, nearest the box centre
    pixels: int                                 # visible (unoccluded) pixel count
    depth_m: float                              # 75th percentile of its pixels' depth along the optical axis [m]
    distance_m: float                           # Euclidean distance camera -> object centre [m]
    instance: int                               # its value in Frame.instance_mask


@dataclass(frozen=True)
class Frame:
    """One camera image of a snapshot."""

    camera: str
    time_s: float
    scale: float                  # image size = scale x 1600x900
    image: np.ndarray             # (H, W, 3) uint8 RGB
    depth: np.ndarray             # (H, W) float32 depth along the optical axis [m], inf for sky
    instance_mask: np.ndarray     # (H, W) int16: 0 = no object, k = instance_ids[k]
    instance_ids: tuple[str, ...]  # instance index -> object id ('' at 0)
    objects: tuple[VisibleObject, ...]
    K: np.ndarray                 # (3, 3) intrinsics at this scale [px]
    R_cw: np.ndarray              # (3, 3) world -> camera rotation
    t_cw: np.ndarray              # (3,) world -> camera translation [m]

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    def mask_of(self, object_id: str) -> np.ndarray:
        """(H, W) bool: the pixels where ``object_id`` is visible (all False when it is not)."""
        if object_id not in self.instance_ids[1:]:
            return np.zeros(self.instance_mask.shape, dtype=bool)
        return self.instance_mask == self.instance_ids.index(object_id)

    def object(self, object_id: str) -> VisibleObject | None:
        """The visible object with this id, or None."""
        return next((o for o in self.objects if o.id == object_id), None)

    def to_full_resolution(self, x_px: float, y_px: float) -> tuple[float, float]:
        """A pixel coordinate of this frame in the rig's 1600x900 image (e.g. for DriveLM tags)."""
        return x_px / self.scale, y_px / self.scale


def object_stats(mask: np.ndarray, depth: np.ndarray, instance: int, region: tuple[int, int, int, int]
                 ) -> tuple[tuple[float, float, float, float], tuple[float, float], int, float] | None:
    """(box, centre, pixel count, p75 depth) of one instance inside its rasterised region, None if unseen."""
    r0, r1, c0, c1 = region
    sub = mask[r0:r1, c0:c1] == instance                 # (h, w)
    rows, cols = np.nonzero(sub)
    if len(rows) == 0:
        return None
    rows = rows + r0
    cols = cols + c0
    box = (float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1))
    bx, by = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
    ci, cj = int(by), int(bx)
    if mask[min(ci, mask.shape[0] - 1), min(cj, mask.shape[1] - 1)] == instance:
        centre = (bx, by)
    else:  # box centre falls on another surface (e.g. an L-shaped visible part): nearest own pixel
        k = int(np.argmin((cols + 0.5 - bx) ** 2 + (rows + 0.5 - by) ** 2))
        centre = (float(cols[k]) + 0.5, float(rows[k]) + 0.5)
    d75 = float(np.percentile(depth[rows, cols], 75))
    return box, centre, int(len(rows)), d75
