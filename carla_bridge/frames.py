"""The one place that owns CARLA's frame and unit conventions.

Engine frame (adsgen): x east, y north, z up, metres, right-handed; yaw in radians, counter-clockwise
from +x. OpenDRIVE uses the same right-handed frame. CARLA (Unreal) is left-handed: its y axis is the
engine's y negated, and its yaw is in degrees, clockwise seen from above. So

    x_carla = x,  y_carla = -y,  z_carla = z,  yaw_carla_deg = -degrees(yaw_rad)

and velocities flip the same way. Every other module of the bridge converts through these functions;
no other file writes a ``-y`` or a ``math.degrees``.
"""

from __future__ import annotations

import math
from typing import Any

from carla_bridge._carla import import_carla


def wrap_angle_rad(a: float) -> float:
    """An angle wrapped to [-pi, pi) [rad]."""
    return (a + math.pi) % (2.0 * math.pi) - math.pi


def xy_to_carla(x_m: float, y_m: float) -> tuple[float, float]:
    """Engine (x, y) [m] -> CARLA (x, y) [m]."""
    return float(x_m), -float(y_m)


def xy_from_carla(x_m: float, y_m: float) -> tuple[float, float]:
    """CARLA (x, y) [m] -> engine (x, y) [m] (the flip is its own inverse)."""
    return float(x_m), -float(y_m)


def yaw_to_carla_deg(yaw_rad: float) -> float:
    """Engine yaw [rad, CCW] -> CARLA yaw [deg, CW], wrapped to [-180, 180)."""
    return math.degrees(wrap_angle_rad(-float(yaw_rad)))


def yaw_from_carla_rad(yaw_deg: float) -> float:
    """CARLA yaw [deg, CW] -> engine yaw [rad, CCW], wrapped to [-pi, pi)."""
    return wrap_angle_rad(-math.radians(float(yaw_deg)))


def location(x_m: float, y_m: float, z_m: float = 0.0) -> Any:
    """carla.Location of an engine-frame point."""
    carla = import_carla()
    cx, cy = xy_to_carla(x_m, y_m)
    return carla.Location(x=cx, y=cy, z=float(z_m))


def transform(x_m: float, y_m: float, yaw_rad: float, z_m: float = 0.0) -> Any:
    """carla.Transform of an engine-frame pose (no pitch or roll)."""
    carla = import_carla()
    return carla.Transform(location(x_m, y_m, z_m), carla.Rotation(yaw=yaw_to_carla_deg(yaw_rad)))


def velocity(vx_mps: float, vy_mps: float, vz_mps: float = 0.0) -> Any:
    """carla.Vector3D of an engine-frame velocity [m/s]."""
    carla = import_carla()
    cx, cy = xy_to_carla(vx_mps, vy_mps)
    return carla.Vector3D(x=cx, y=cy, z=float(vz_mps))


def pose_from_carla(tf: Any) -> tuple[float, float, float]:
    """carla.Transform -> engine (x [m], y [m], yaw [rad])."""
    x, y = xy_from_carla(tf.location.x, tf.location.y)
    return x, y, yaw_from_carla_rad(tf.rotation.yaw)


def velocity_from_carla(v: Any) -> tuple[float, float]:
    """carla.Vector3D velocity -> engine (vx, vy) [m/s]."""
    return xy_from_carla(v.x, v.y)


class Placement:
    """Where a road template sits in the CARLA world: a rotation by yaw_rad about the template origin,
    then a shift by (dx_m, dy_m), all in the engine's right-handed frame. Identity for generated worlds;
    a Town site (carla_bridge.towns) gives the template's junction / stretch its place in the Town."""

    def __init__(self, dx_m: float = 0.0, dy_m: float = 0.0, yaw_rad: float = 0.0, z_m: float = 0.0):
        self.dx_m, self.dy_m, self.yaw_rad, self.z_m = float(dx_m), float(dy_m), float(yaw_rad), float(z_m)
        self._c, self._s = math.cos(self.yaw_rad), math.sin(self.yaw_rad)

    def __repr__(self) -> str:
        return f"Placement(dx_m={self.dx_m:.3f}, dy_m={self.dy_m:.3f}, yaw_rad={self.yaw_rad:.4f})"

    def to_world(self, x_m: float, y_m: float, yaw_rad: float) -> tuple[float, float, float]:
        """Template-frame pose -> world engine-frame pose."""
        return (self.dx_m + self._c * x_m - self._s * y_m, self.dy_m + self._s * x_m + self._c * y_m,
                wrap_angle_rad(yaw_rad + self.yaw_rad))

    def from_world(self, x_m: float, y_m: float, yaw_rad: float) -> tuple[float, float, float]:
        """World engine-frame pose -> template-frame pose."""
        rx, ry = x_m - self.dx_m, y_m - self.dy_m
        return (self._c * rx + self._s * ry, -self._s * rx + self._c * ry, wrap_angle_rad(yaw_rad - self.yaw_rad))

    def vector_to_world(self, vx: float, vy: float) -> tuple[float, float]:
        return self._c * vx - self._s * vy, self._s * vx + self._c * vy

    def vector_from_world(self, vx: float, vy: float) -> tuple[float, float]:
        return self._c * vx + self._s * vy, -self._s * vx + self._c * vy

    def carla_transform(self, x_m: float, y_m: float, yaw_rad: float, lift_m: float = 0.0) -> Any:
        """carla.Transform of a template-frame pose."""
        wx, wy, wyaw = self.to_world(x_m, y_m, yaw_rad)
        return transform(wx, wy, wyaw, self.z_m + lift_m)

    def carla_velocity(self, vx: float, vy: float) -> Any:
        return velocity(*self.vector_to_world(vx, vy))

    def pose_from_carla(self, tf: Any) -> tuple[float, float, float]:
        """carla.Transform -> template-frame (x, y, yaw)."""
        return self.from_world(*pose_from_carla(tf))

    def velocity_from_carla(self, v: Any) -> tuple[float, float]:
        return self.vector_from_world(*velocity_from_carla(v))


def steer_to_carla(left_angle_rad: float, max_steer_deg: float) -> float:
    """Front-wheel angle [rad, left positive] -> VehicleControl.steer in [-1, 1] (CARLA: right positive)."""
    return max(-1.0, min(1.0, -math.degrees(left_angle_rad) / max(max_steer_deg, 1e-3)))
