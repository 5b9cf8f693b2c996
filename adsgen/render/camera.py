"""The camera rig: the one place that owns camera frames, units and the projection.

Frames (all right-handed, metres, radians):

- engine/world: x east, y north, z up (``adsgen.sim.snapshot``); the ground is the plane z = 0.
- ego: origin at the ego box centre on the ground, x forward, y left, z up (ISO 8855); the world pose of the
  ego is ``(ObjectState.x_m, ObjectState.y_m, ObjectState.yaw_rad)``.
- camera: OpenCV convention, x right, y down, z forward (optical axis). "Depth" everywhere in the renderer
  is this z (distance along the optical axis, as in nuScenes depth maps), not the Euclidean range.
- image: pixel (col j, row i) covers [j, j+1) x [i, i+1); its centre is (j + 0.5, i + 0.5). A projected
  point (u, v) falls in pixel (floor(u), floor(v)). Scaling an image by s scales K by s exactly.

The rig imitates nuScenes (Renault Zoe, six cameras on the roof, 1600x900 images). Intrinsics are those
of the nuScenes calibration rounded (fx = fy ~ 1266 px for the five 70-degree cameras, ~809 px for the wider
CAM_BACK), with the principal point idealised to the image centre (800, 450): nuScenes' own is a few
tens of pixels off-centre, e.g. (816.3, 491.5) for one CAM_FRONT; centring it puts the horizon of a level
camera on the middle row. Mounting positions are nuScenes' (given there from the rear axle) shifted to the
box centre (rear axle ~1.3 m behind the centre); heights ~1.5 m; cameras are level (pitch 0, roll 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FULL_WIDTH_PX = 1600   # [px] nuScenes image width
FULL_HEIGHT_PX = 900   # [px] nuScenes image height
NEAR_M = 0.1           # [m] near clipping plane (camera z)


@dataclass(frozen=True)
class CameraSpec:
    """One camera of the rig at full (1600x900) resolution."""

    name: str
    fx_px: float       # focal length along image x [px]
    fy_px: float       # focal length along image y [px]
    cx_px: float       # principal point x [px]
    cy_px: float       # principal point y [px]
    x_m: float         # mount position in the ego frame, forward of the box centre [m]
    y_m: float         # mount position in the ego frame, to the left [m]
    z_m: float         # mount height above the ground [m]
    yaw_rad: float     # optical axis heading in the ego frame, counter-clockwise from forward [rad]
    pitch_rad: float = 0.0  # optical axis pitch, positive looks up [rad]

    @property
    def hfov_deg(self) -> float:
        """Horizontal field of view [deg]."""
        return math.degrees(2.0 * math.atan(FULL_WIDTH_PX / 2.0 / self.fx_px))


_D = math.radians
RIG: dict[str, CameraSpec] = {
    c.name: c
    for c in (
        CameraSpec("CAM_FRONT", 1266.4, 1266.4, 800.0, 450.0, 0.40, 0.0, 1.51, _D(0.0)),
        CameraSpec("CAM_FRONT_LEFT", 1272.6, 1272.6, 800.0, 450.0, 0.22, 0.49, 1.51, _D(55.0)),
        CameraSpec("CAM_FRONT_RIGHT", 1260.8, 1260.8, 800.0, 450.0, 0.25, -0.49, 1.51, _D(-55.0)),
        CameraSpec("CAM_BACK", 809.2, 809.2, 800.0, 450.0, -1.27, 0.0, 1.58, _D(180.0)),
        CameraSpec("CAM_BACK_LEFT", 1256.7, 1256.7, 800.0, 450.0, -0.26, 0.48, 1.56, _D(110.0)),
        CameraSpec("CAM_BACK_RIGHT", 1259.5, 1259.5, 800.0, 450.0, -0.25, -0.48, 1.56, _D(-110.0)),
    )
}
CAMERA_NAMES: tuple[str, ...] = tuple(RIG)


@dataclass(frozen=True)
class Camera:
    """A posed camera: intrinsics at a given scale and the world -> camera transform.

    ``K`` (3, 3) maps camera coordinates to homogeneous pixels; ``R_cw`` (3, 3) and ``t_cw`` (3,) map world
    points p to camera points ``R_cw @ p + t_cw``; ``position_w`` (3,) is the optical centre in the world.
    """

    spec: CameraSpec
    scale: float
    width_px: int
    height_px: int
    K: np.ndarray
    R_cw: np.ndarray
    t_cw: np.ndarray
    position_w: np.ndarray

    @property
    def name(self) -> str:
        return self.spec.name

    def world_to_camera(self, points_w: np.ndarray) -> np.ndarray:
        """(n, 3) world points -> (n, 3) camera points (x right, y down, z forward) [m]."""
        return points_w @ self.R_cw.T + self.t_cw

    def camera_to_pixels(self, points_c: np.ndarray) -> np.ndarray:
        """(n, 3) camera points with z > 0 -> (n, 2) continuous pixel coordinates (u, v)."""
        z = points_c[:, 2:3]
        return (points_c[:, :2] / z) * np.array([self.K[0, 0], self.K[1, 1]]) + np.array([self.K[0, 2], self.K[1, 2]])

    def project(self, points_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, 3) world points -> ((n, 2) pixels (u, v), (n,) depth along the optical axis [m]).

        Points behind the near plane get NaN pixels; check ``depth > NEAR_M`` before using them.
        """
        pc = self.world_to_camera(np.asarray(points_w, dtype=np.float64).reshape(-1, 3))
        uv = np.full((len(pc), 2), np.nan)
        ok = pc[:, 2] > NEAR_M
        uv[ok] = self.camera_to_pixels(pc[ok])
        return uv, pc[:, 2]

    def pixel_rays(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-column and per-row normalised image coordinates of pixel centres.

        Returns ((W,) a = (u - cx) / fx, (H,) b = (v - cy) / fy); the camera-frame ray through pixel (i, j) is
        (a[j], b[i], 1), whose z is 1, so a ray parameter equals depth along the optical axis.
        """
        a = ((np.arange(self.width_px) + 0.5) - self.K[0, 2]) / self.K[0, 0]   # (W,)
        b = ((np.arange(self.height_px) + 0.5) - self.K[1, 2]) / self.K[1, 1]  # (H,)
        return a, b


def _camera_rotation_in_ego(spec: CameraSpec) -> np.ndarray:
    """(3, 3) matrix whose columns are the camera's x, y, z axes expressed in the ego frame."""
    cy, sy = math.cos(spec.yaw_rad), math.sin(spec.yaw_rad)
    cp, sp = math.cos(spec.pitch_rad), math.sin(spec.pitch_rad)
    z_axis = np.array([cy * cp, sy * cp, sp])     # optical axis (forward)
    x_axis = np.array([sy, -cy, 0.0])             # image right
    y_axis = np.cross(z_axis, x_axis)             # image down
    return np.stack([x_axis, y_axis, z_axis], axis=1)


def ego_to_world(x_m: float, y_m: float, yaw_rad: float) -> tuple[np.ndarray, np.ndarray]:
    """Ego pose -> ((3, 3) rotation R_we, (3,) translation t_we) mapping ego points to world points."""
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return R, np.array([x_m, y_m, 0.0])


def scaled_size(scale: float) -> tuple[int, int]:
    """Image (width, height) [px] at a scale of the 1600x900 rig."""
    if not 0.05 <= scale <= 2.0:
        raise ValueError(f"scale must be within [0.05, 2.0], got {scale}")
    return round(FULL_WIDTH_PX * scale), round(FULL_HEIGHT_PX * scale)


def make_camera(name: str, ego_x_m: float, ego_y_m: float, ego_yaw_rad: float, scale: float = 0.5) -> Camera:
    """The rig camera ``name`` on an ego at the given world pose, rendering at ``scale`` x 1600x900."""
    if name not in RIG:
        raise KeyError(f"unknown camera {name!r}; expected one of {', '.join(CAMERA_NAMES)}")
    spec = RIG[name]
    width, height = scaled_size(scale)
    sx, sy = width / FULL_WIDTH_PX, height / FULL_HEIGHT_PX
    K = np.array([[spec.fx_px * sx, 0.0, spec.cx_px * sx],
                  [0.0, spec.fy_px * sy, spec.cy_px * sy],
                  [0.0, 0.0, 1.0]])
    R_we, t_we = ego_to_world(ego_x_m, ego_y_m, ego_yaw_rad)
    R_ec = _camera_rotation_in_ego(spec)               # camera axes in the ego frame
    R_wc = R_we @ R_ec                                 # camera axes in the world frame
    position_w = R_we @ np.array([spec.x_m, spec.y_m, spec.z_m]) + t_we
    R_cw = R_wc.T
    return Camera(spec=spec, scale=scale, width_px=width, height_px=height, K=K, R_cw=R_cw,
                  t_cw=-R_cw @ position_w, position_w=position_w)
