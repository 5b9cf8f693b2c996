"""Saving frames: PNG images, a colourised depth map, the instance mask and a JSON sidecar of objects."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from adsgen.render.bev import BevImage
from adsgen.render.frame import Frame

DEPTH_PNG_MAX_M = 100.0   # [m] depth mapped to white in the depth preview


def save_png(image: np.ndarray | Frame | BevImage, path: str | Path) -> Path:
    """Write an (H, W, 3) uint8 image (or a Frame's / BevImage's image) as PNG; creates parent folders."""
    arr = image.image if isinstance(image, (Frame, BevImage)) else image
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(arr, dtype=np.uint8)).save(path)
    return path


def depth_preview(frame: Frame, max_m: float = DEPTH_PNG_MAX_M) -> np.ndarray:
    """(H, W) uint8: near = bright, far or sky = black (a picture, not data; use ``frame.depth``)."""
    d = np.where(np.isfinite(frame.depth), frame.depth, max_m)
    return (255 * (1.0 - np.clip(d / max_m, 0.0, 1.0))).astype(np.uint8)


def frame_record(frame: Frame) -> dict:
    """JSON-able description of a frame: camera, time, intrinsics, pose and visible objects."""
    return {
        "camera": frame.camera, "time_s": frame.time_s, "width": frame.width, "height": frame.height,
        "scale": frame.scale, "K": frame.K.tolist(), "R_cw": frame.R_cw.tolist(), "t_cw": frame.t_cw.tolist(),
        "depth_convention": "z along the optical axis [m]; inf = sky",
        "objects": [{"id": o.id, "kind": o.kind, "box_px": list(o.box_px), "center_px": list(o.center_px),
                     "pixels": o.pixels, "depth_m": round(o.depth_m, 3), "distance_m": round(o.distance_m, 3)}
                    for o in frame.objects],
    }


def save_frame(frame: Frame, directory: str | Path, stem: str | None = None, *, depth: bool = True) -> dict[str, Path]:
    """Write ``<stem>.png``, ``<stem>_depth.png`` + ``<stem>_depth.npy`` (metres) and ``<stem>.json``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    stem = stem or f"{frame.camera}_{frame.time_s:07.2f}s"
    out = {"image": save_png(frame.image, d / f"{stem}.png")}
    if depth:
        Image.fromarray(depth_preview(frame)).save(d / f"{stem}_depth.png")
        np.save(d / f"{stem}_depth.npy", frame.depth)
        out["depth_png"], out["depth_npy"] = d / f"{stem}_depth.png", d / f"{stem}_depth.npy"
    (d / f"{stem}.json").write_text(json.dumps(frame_record(frame), indent=1))
    out["json"] = d / f"{stem}.json"
    return out
