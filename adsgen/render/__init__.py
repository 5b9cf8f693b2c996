"""adsgen.render: camera images, depth maps, instance masks and bird's-eye views of simulated scenes.

numpy + Pillow only (no GPU). The nuScenes-like rig and every frame convention live in
``adsgen.render.camera``; docs/render_export.md describes the rig, the frames and what light and weather do.
"""

from __future__ import annotations

from adsgen.render.appearance import Appearance, appearance_for
from adsgen.render.bev import BevImage, bev
from adsgen.render.camera import CAMERA_NAMES, RIG, Camera, CameraSpec, make_camera
from adsgen.render.frame import Frame, VisibleObject
from adsgen.render.ground import GroundLayers, Marking
from adsgen.render.io import depth_preview, frame_record, save_frame, save_png
from adsgen.render.palette import Paint, paint_of
from adsgen.render.renderer import render

__all__ = [
    "Appearance", "BevImage", "CAMERA_NAMES", "Camera", "CameraSpec", "Frame", "GroundLayers", "Marking", "Paint",
    "RIG", "VisibleObject", "appearance_for", "bev", "depth_preview", "frame_record", "keyframes", "make_camera",
    "paint_of", "render", "save_frame", "save_png",
]


def __getattr__(name: str):
    if name == "keyframes":  # needs the engine; imported on first use
        from adsgen.render.keyframing import keyframes

        return keyframes
    raise AttributeError(f"module 'adsgen.render' has no attribute {name!r}")
