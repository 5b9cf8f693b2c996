"""Keyframes chosen by what matters: when the hazard first shows on the ego's camera, when the agent
reacts, and the impact (or the closest approach), each with a bird's-eye view.

The camera is CAM_FRONT, unless the hazard never shows there (a car coming from the side can stay outside
its field of view up to the impact): then the front-left or front-right camera of the rig in which the
hazard looks largest.

One naming scheme for every frame file (``frame_stem``): ``<label>_t<time>s_<view>``, where view is a camera
name (CAM_FRONT, CAM_FRONT_LEFT, ...) or BEV; `simulate --render`, `replay --render`, `adsgen report` and the demo all use it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from adsgen.render.bev import bev
from adsgen.render.renderer import render

SCAN_STEP_S = 0.25          # [s] the run is scanned at this step for the moments
MIN_HAZARD_HEIGHT_PX = 20   # [px] at the keyframe scale: the hazard counts as visible from this height
MIN_HAZARD_PIXELS = 60      # [px] and this many unoccluded pixels (a 2-px sliver beside a truck is not "seen")
REACTION_DECEL_MPS2 = 1.5   # [m/s2] the ego slowing harder than this (or its brake lights) is its reaction
CAMERAS = ("CAM_FRONT", "CAM_FRONT_LEFT", "CAM_FRONT_RIGHT")  # tried in this order for the hazard


@dataclass(frozen=True)
class Moment:
    label: str        # 'hazard visible' | 'reaction' | 'impact' | 'closest approach'
    time_s: float
    hazard_height_px: float = 0.0  # the hazard's visible height on the keyframe camera at this moment [px]


def camera_words(camera: str) -> str:
    """'CAM_FRONT_LEFT' -> 'front-left camera'."""
    return camera.removeprefix("CAM_").lower().replace("_", "-") + " camera"


def frame_stem(label: str, time_s: float, view: str) -> str:
    """The one file stem of a frame: ``<label>_t<time, 2 decimals>s_<view>``; label slugged."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-") or "run"
    return f"{slug}_t{time_s:05.2f}s_{view}"


def _hazard_id(snaps: list[Any], partner: str | None) -> str | None:
    """The collision partner, else the moving road user that came closest to the ego (parked ones are
    scenery: a parked truck hiding a pedestrian is not the hazard), else the closest of all."""
    if partner:
        return partner
    moving = {o.id for s in snaps for o in s.actors if o.speed_mps > 0.1}
    best, best_d = None, math.inf
    for s in snaps:
        for o in s.actors:
            if o.id != "ego" and (o.id in moving or not moving):
                d = math.hypot(o.x_m - s.ego.x_m, o.y_m - s.ego.y_m)
                if d < best_d:
                    best, best_d = o.id, d
    return best


def _height(frame: Any, object_id: str | None) -> float:
    """The object's visible height [px], 0 when it shows fewer than MIN_HAZARD_PIXELS pixels."""
    obj = frame.object(object_id) if object_id else None
    if obj is None or obj.pixels < MIN_HAZARD_PIXELS:
        return 0.0
    return float(obj.box_px[3] - obj.box_px[1])


def key_moments(snaps: list[Any], frames: list[Any], result: dict[str, Any] | None, *,
                min_height_px: float = MIN_HAZARD_HEIGHT_PX) -> list[Moment]:
    """The moments of a run from its snapshots and one camera's frames on a regular time grid.

    hazard visible: the first frame where the hazard is at least ``min_height_px`` tall (else the frame where
    it looks largest); reaction: the first step after that where the ego brakes or slows harder than
    REACTION_DECEL_MPS2 (omitted when it never does); impact at the collision time, else the closest approach.
    """
    result = result or {}
    hazard = _hazard_id(snaps, result.get("collision_partner"))
    heights = [_height(f, hazard) for f in frames]
    seen = next((i for i, h in enumerate(heights) if h >= min_height_px), None)
    if seen is None:
        seen = int(np.argmax(heights))
    moments = [Moment("hazard visible", snaps[seen].time_s, heights[seen])]
    for i in range(max(seen, 1), len(snaps)):
        ego, prev = snaps[i].ego, snaps[i - 1].ego
        dt = snaps[i].time_s - snaps[i - 1].time_s
        if ego.braking or (dt > 0 and (prev.speed_mps - ego.speed_mps) / dt > REACTION_DECEL_MPS2):
            if snaps[i].time_s > moments[0].time_s:
                moments.append(Moment("reaction", snaps[i].time_s, heights[i]))
            break
    if result.get("collision_time_s") is not None:
        end = Moment("impact", float(result["collision_time_s"]))
    else:
        dist = []
        for s in snaps:
            h = next((o for o in s.actors if o.id == hazard), None)
            dist.append(math.inf if h is None else math.hypot(h.x_m - s.ego.x_m, h.y_m - s.ego.y_m))
        k = int(np.argmin(dist))
        end = Moment("closest approach", snaps[k].time_s, heights[k])
    if end.time_s > moments[-1].time_s + 1e-6:
        moments.append(end)
    return moments


def scan_times(result: dict[str, Any] | None) -> list[float]:
    """The time grid [s] the moments are looked for on: up to the impact, else the whole run."""
    result = result or {}
    end = result.get("collision_time_s")
    end = float(end) if end is not None else float(result.get("duration_s") or 10.0)
    return [round(t, 2) for t in np.arange(0.0, end + 1e-9, SCAN_STEP_S)] + ([end] if end % SCAN_STEP_S else [])


def moment_frames(backend: Any, scenario: Any, agent: Any, seed: int, result: dict[str, Any] | None,
                  scale: float) -> list[tuple[Moment, Any, Any]]:
    """(moment, its camera Frame, its WorldSnapshot) for each key moment of a run re-simulated on
    ``backend`` (one with ``snapshots``); the camera is the first of CAMERAS that shows the hazard at least
    MIN_HAZARD_HEIGHT_PX tall, else the one where it looks largest."""
    times = scan_times(result)
    snaps = backend.snapshots(scenario, agent, seed, times)
    frames = hazard_camera_frames(snaps, _hazard_id(snaps, (result or {}).get("collision_partner")), scale)
    out = []
    for m in key_moments(snaps, frames, result, min_height_px=MIN_HAZARD_HEIGHT_PX):
        k = int(np.argmin([abs(s.time_s - m.time_s) for s in snaps]))
        out.append((m, frames[k], snaps[k]))
    return out


def hazard_camera_frames(snaps: list[Any], hazard: str | None, scale: float) -> list[Any]:
    """Frames of the snapshots from the first camera of CAMERAS in which the hazard reaches
    MIN_HAZARD_HEIGHT_PX, else from the camera where it looks largest (CAM_FRONT on a tie)."""

    best: list[Any] = []
    best_height = -1.0
    for camera in CAMERAS:
        frames = [render(s, camera, scale) for s in snaps]
        height = max((_height(f, hazard) for f in frames), default=0.0)
        if height >= MIN_HAZARD_HEIGHT_PX:
            return frames
        if height > best_height:
            best, best_height = frames, height
    return best


BEV_EXTENT_M = 80.0  # [m] width of the bird's-eye views beside the keyframes


def moment_images(moments: list[tuple[Moment, Any, Any]], label: str, note: str = ""
                  ) -> list[tuple[str, str, np.ndarray]]:
    """(file stem, caption, RGB image) for each moment: its camera frame, then its bird's-eye view."""

    out = []
    for m, frame, snap in moments:
        what = f"{m.label} at t = {m.time_s:.2f} s"
        out.append((frame_stem(label, m.time_s, frame.camera), f"{label}: {what}, {camera_words(frame.camera)}{note}",
                    frame.image))
        out.append((frame_stem(label, m.time_s, "BEV"), f"{label}: {what}, bird's-eye view{note}",
                    bev(snap, extent_m=BEV_EXTENT_M).image))
    return out
