"""Sensors on the ego: the collision sensor, and camera + depth when the agent reads images.

CARLA calls sensor callbacks on its own threads; both recorders hand data over through a lock /
a queue and every wait has a timeout (a camera frame that does not arrive is a BackendError, not a hang).
"""

from __future__ import annotations

import math
import queue
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from adsgen.errors import BackendError
from carla_bridge.session import ActorPool

SENSOR_TIMEOUT_S = 5.0  # [s] longest wait for a camera frame after a tick
DEPTH_FAR_M = 1000.0  # [m] CARLA's depth camera range: the 24-bit code spans 0..1000 m


@dataclass(frozen=True)
class CollisionHit:
    """One collision of the ego, as reported by the sensor."""

    frame: int
    other_actor_id: int
    other_type_id: str
    impulse_ns: float
    """|normal_impulse| [N s]."""


class CollisionRecorder:
    """sensor.other.collision attached to the ego; hits collected thread-safely."""

    def __init__(self, pool: ActorPool, library: Any, ego: Any, transform_zero: Any):
        self._lock = threading.Lock()
        self._hits: list[CollisionHit] = []
        blueprint = library.find("sensor.other.collision")
        self.sensor = pool.spawn(blueprint, transform_zero, attach_to=ego)
        self.sensor.listen(self._on_event)

    def _on_event(self, event: Any) -> None:
        imp = event.normal_impulse
        hit = CollisionHit(int(event.frame), int(event.other_actor.id), str(event.other_actor.type_id),
                           math.sqrt(imp.x ** 2 + imp.y ** 2 + imp.z ** 2))
        with self._lock:
            self._hits.append(hit)

    def drain(self) -> list[CollisionHit]:
        """The hits since the last drain."""
        with self._lock:
            hits, self._hits = self._hits, []
        return hits


def decode_bgra(raw: bytes, width: int, height: int) -> np.ndarray:
    """CARLA BGRA bytes -> RGB uint8 image, shape (height, width, 3)."""
    bgra = np.frombuffer(bytes(raw), dtype=np.uint8).reshape(height, width, 4)  # (H, W, 4)
    return bgra[:, :, 2::-1].copy()  # (H, W, 3) RGB


def decode_depth_m(raw: bytes, width: int, height: int) -> np.ndarray:
    """CARLA depth-camera BGRA bytes -> metric depth [m], shape (height, width), float32.

    depth = (R + 256 G + 65536 B) / (2^24 - 1) * 1000 m (CARLA's documented encoding).
    """
    bgra = np.frombuffer(bytes(raw), dtype=np.uint8).reshape(height, width, 4).astype(np.float64)  # (H, W, 4)
    code = bgra[:, :, 2] + 256.0 * bgra[:, :, 1] + 65536.0 * bgra[:, :, 0]  # (H, W)
    return (code / (256.0 ** 3 - 1.0) * DEPTH_FAR_M).astype(np.float32)


@dataclass(frozen=True)
class CameraConfig:
    """The front camera rig on the ego (nuScenes CAM_FRONT-like, scaled)."""

    width_px: int = 800
    """Image width [px]."""
    height_px: int = 450
    """Image height [px]."""
    fov_deg: float = 70.0
    """Horizontal field of view [deg] (nuScenes CAM_FRONT is about 70 deg)."""
    mount_x_m: float = 1.5
    """Mount point ahead of the vehicle's centre [m]."""
    mount_z_m: float = 1.6
    """Mount height [m]."""


class CameraRig:
    """RGB and depth cameras on the ego, read synchronously after each tick."""

    def __init__(self, pool: ActorPool, library: Any, ego: Any, mount: Any, config: CameraConfig):
        self.config = config
        self._queues: dict[str, queue.Queue] = {}
        for name in ("rgb", "depth"):
            bp = library.find(f"sensor.camera.{name}")
            bp.set_attribute("image_size_x", str(config.width_px))
            bp.set_attribute("image_size_y", str(config.height_px))
            bp.set_attribute("fov", str(config.fov_deg))
            q: queue.Queue = queue.Queue()
            sensor = pool.spawn(bp, mount, attach_to=ego)
            sensor.listen(q.put)
            self._queues[name] = q

    def read(self, frame: int, timeout_s: float = SENSOR_TIMEOUT_S) -> tuple[np.ndarray, np.ndarray]:
        """(rgb (H, W, 3) uint8, depth (H, W) float32 [m]) of the given frame; BackendError on timeout."""
        out = {}
        for name, q in self._queues.items():
            while True:
                try:
                    image = q.get(timeout=timeout_s)
                except queue.Empty as exc:
                    raise BackendError(f"CARLA {name} camera sent no image for frame {frame} "
                                       f"within {timeout_s:g} s") from exc
                if int(image.frame) >= frame:
                    break
            decode = decode_bgra if name == "rgb" else decode_depth_m
            out[name] = decode(image.raw_data, int(image.width), int(image.height))
        return out["rgb"], out["depth"]
