"""A small in-process fake of the CARLA client API, for testing the bridge without a server.

It covers exactly the calls carla_bridge makes (client, world, settings, traffic manager, blueprints,
spawn / destroy, tick, weather, street lights, sensors, controls, physics control) and uses the real
``carla`` value types (Transform, Location, Vector3D, WorldSettings, WeatherParameters, controls, physics
controls) and a real ``carla.Map`` built from the OpenDRIVE text it is given, so the bridge's geometry is
exercised for real. Its physics is deliberately simple (a kinematic bicycle driven by throttle / brake /
steer, walkers moving along their control direction, teleports for actors without physics) and lives in
CARLA's own left-handed frame, so any mistake in ``carla_bridge.frames`` shows up in tests.

Fault injection, set on :class:`FakeServer`:
- ``vanish_at_tick=N``: from the N-th tick on, every call raises RuntimeError like a lost server does, and
  the TCP port closes;
- ``fail_tick_once_at=N``: the N-th tick times out once (RuntimeError), then the server works again;
- ``interrupt_at_tick=N``: the N-th tick raises KeyboardInterrupt (a user's Ctrl-C);
- ``fail_spawn_types``: spawning a blueprint whose id starts with one of these raises RuntimeError.

``FakeServer.listen()`` opens a real TCP socket on 127.0.0.1, so the bridge's TCP probe runs for real.
"""

from __future__ import annotations

import fnmatch
import itertools
import math
import socket
from dataclasses import dataclass, field
from typing import Any

from carla_bridge._carla import import_carla

carla = import_carla("carla_bridge.testing")

G_MPS2 = 9.81  # [m/s2]
MAX_ACCEL_MPS2 = 4.0  # [m/s2] full throttle
MAX_BRAKE_DRY_MPS2 = 9.0  # [m/s2] full brake at the nominal tyre friction
NOMINAL_TIRE_FRICTION = 3.5  # the fake vehicles' dry tyre friction (CARLA's 4-wheel default)
WHEELBASE_M = 2.9  # [m]
MAX_STEER_DEG = 70.0  # [deg] front-wheel lock, as CARLA's WheelPhysicsControl default

# id -> (half length, half width, half height) [m], as bounding_box.extent
BLUEPRINTS: dict[str, tuple[float, float, float]] = {
    "vehicle.lincoln.mkz_2020": (2.45, 1.05, 0.75),
    "vehicle.tesla.model3": (2.40, 1.08, 0.75),
    "vehicle.carlamotors.european_hgv": (4.50, 1.40, 1.90),
    "vehicle.carlamotors.carlacola": (2.60, 1.25, 1.20),
    "walker.pedestrian.0001": (0.19, 0.19, 0.93),
    "walker.pedestrian.0002": (0.19, 0.19, 0.93),
    "sensor.other.collision": (0.0, 0.0, 0.0),
    "sensor.camera.rgb": (0.0, 0.0, 0.0),
    "sensor.camera.depth": (0.0, 0.0, 0.0),
    "controller.ai.walker": (0.0, 0.0, 0.0),
}


class ServerLost(RuntimeError):
    """What a call raises after the fake server vanished (carla raises RuntimeError too)."""


def copy_settings(s: Any) -> Any:
    """A copy of a carla.WorldSettings (the real type has no copy constructor)."""
    out = carla.WorldSettings()
    for name in ("synchronous_mode", "no_rendering_mode", "fixed_delta_seconds", "substepping",
                 "max_substep_delta_time", "max_substeps", "max_culling_distance", "deterministic_ragdolls"):
        setattr(out, name, getattr(s, name))
    return out


@dataclass
class FakeServer:
    """The state of one fake CARLA server; shared by every FakeClient connected to it."""

    version: str = "0.9.16"
    towns: dict[str, str] = field(default_factory=dict)
    """Town name -> OpenDRIVE text, served by load_world / get_available_maps."""
    vanish_at_tick: int | None = None
    fail_tick_once_at: int | None = None
    interrupt_at_tick: int | None = None
    fail_spawn_types: tuple[str, ...] = ()
    street_lights: int = 0
    # observable state
    ticks: int = 0
    world: FakeWorld = field(init=False)  # made in __post_init__
    settings_log: list[Any] = field(default_factory=list)
    spawned: list[FakeActor] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    tm_sync: bool = False
    tm_seed: int | None = None
    lost: bool = False
    _sock: socket.socket | None = None

    def __post_init__(self) -> None:
        self.world = FakeWorld(self, carla.Map("Town00", _EMPTY_XODR))

    # --- a real TCP listener for the probe ---
    def listen(self) -> tuple[str, int]:
        """Open 127.0.0.1:<free port> for the bridge's TCP probe; returns (host, port)."""
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        return "127.0.0.1", self._sock.getsockname()[1]

    def shutdown(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def client_factory(self, host: str, port: int) -> FakeClient:
        return FakeClient(self, host, port)

    # --- observations for tests ---
    @property
    def alive(self) -> list[FakeActor]:
        """Actors spawned and not destroyed."""
        return [a for a in self.spawned if a.is_alive]

    def check(self, what: str) -> None:
        self.calls.append(what)
        if self.lost:
            raise ServerLost("time-out of 2000ms while waiting for the simulator, make sure the simulator "
                             "is ready and connected to 127.0.0.1:2000")


class FakeTrafficManager:
    def __init__(self, server: FakeServer, port: int):
        self.server, self.port = server, port

    def get_port(self) -> int:
        return self.port

    def set_synchronous_mode(self, on: bool) -> None:
        self.server.check("tm.set_synchronous_mode")
        self.server.tm_sync = bool(on)

    def set_random_device_seed(self, seed: int) -> None:
        self.server.check("tm.set_random_device_seed")
        self.server.tm_seed = int(seed)


class FakeClient:
    """carla.Client stand-in."""

    def __init__(self, server: FakeServer, host: str, port: int):
        self.server, self.host, self.port = server, host, port
        self.timeout_s: float | None = None

    def set_timeout(self, seconds: float) -> None:
        self.timeout_s = float(seconds)

    def get_client_version(self) -> str:
        return "0.9.16"

    def get_server_version(self) -> str:
        self.server.check("get_server_version")
        return self.server.version

    def get_world(self) -> FakeWorld:
        self.server.check("get_world")
        return self.server.world

    def get_available_maps(self) -> list[str]:
        self.server.check("get_available_maps")
        return [f"/Game/Carla/Maps/{name}" for name in self.server.towns]

    def load_world(self, name: str, reset_settings: bool = True) -> FakeWorld:
        self.server.check("load_world")
        short = name.rsplit("/", 1)[-1]
        if short not in self.server.towns:
            raise RuntimeError(f"map '{name}' not found")
        return self._new_world(carla.Map(short, self.server.towns[short]), reset_settings)

    def generate_opendrive_world(self, opendrive: str, parameters: Any = None,
                                 reset_settings: bool = True) -> FakeWorld:
        self.server.check("generate_opendrive_world")
        return self._new_world(carla.Map("OpenDriveMap", opendrive), reset_settings)

    def _new_world(self, map_: Any, reset_settings: bool) -> FakeWorld:
        old = self.server.world
        for actor in old.actors.values():  # a new map removes every actor
            actor.is_alive = False
        world = FakeWorld(self.server, map_)
        if not reset_settings:
            world.settings = copy_settings(old.settings)
        self.server.world = world
        return world

    def apply_batch(self, commands: list) -> None:
        """Dispatch carla.command objects to the fake actors (as the server does, without responses)."""
        self.server.check("apply_batch")
        world = self.server.world
        for cmd in commands:
            actor = world.actors.get(cmd.actor_id)
            if actor is None or not actor.is_alive:
                continue  # the server ignores commands for unknown actors
            kind = type(cmd).__name__
            if kind == "ApplyTransform":
                actor.set_transform(cmd.transform)
            elif kind == "ApplyTargetVelocity":
                actor.set_target_velocity(cmd.velocity)
            elif kind in ("ApplyVehicleControl", "ApplyWalkerControl"):
                actor.apply_control(cmd.control)
            else:
                raise NotImplementedError(f"FakeClient.apply_batch: {kind}")

    def get_trafficmanager(self, port: int = 8000) -> FakeTrafficManager:
        self.server.check("get_trafficmanager")
        return FakeTrafficManager(self.server, port)


class FakeBlueprint:
    def __init__(self, bp_id: str):
        self.id = bp_id
        self.tags = bp_id.split(".")
        self.attributes: dict[str, str] = {"role_name": "autopilot"}

    def has_attribute(self, name: str) -> bool:
        return True

    def set_attribute(self, name: str, value: str) -> None:
        self.attributes[name] = str(value)


class FakeBlueprintLibrary:
    def __init__(self, ids: list[str]):
        self.ids = ids

    def find(self, bp_id: str) -> FakeBlueprint:
        if bp_id not in self.ids:
            raise IndexError(f"blueprint '{bp_id}' not found")
        return FakeBlueprint(bp_id)

    def filter(self, pattern: str) -> list[FakeBlueprint]:
        return [FakeBlueprint(i) for i in self.ids if fnmatch.fnmatch(i, pattern)]


class FakeLightManager:
    def __init__(self, n: int):
        self.lights = [f"light{i}" for i in range(n)]
        self.on: bool | None = None

    def get_all_lights(self, group: Any = None) -> list[str]:
        return list(self.lights)

    def turn_on(self, lights: list[str]) -> None:
        self.on = True

    def turn_off(self, lights: list[str]) -> None:
        self.on = False


class FakeSnapshot:
    def __init__(self, frame: int, elapsed_s: float):
        self.frame = frame
        self.timestamp = type("Timestamp", (), {"frame": frame, "elapsed_seconds": elapsed_s})()


_IDS = itertools.count(100)


class FakeWorld:
    """carla.World stand-in: settings, spawning, ticking with a toy physics, collision events."""

    def __init__(self, server: FakeServer, map_: Any):
        self.server = server
        self.map = map_
        self.settings = carla.WorldSettings()
        self.weather = carla.WeatherParameters()
        self.actors: dict[int, FakeActor] = {}
        self.frame = 0
        self.elapsed_s = 0.0
        self.light_manager = FakeLightManager(server.street_lights)
        self.pedestrians_seed: int | None = None

    def get_map(self) -> Any:
        self.server.check("get_map")
        return self.map

    def get_settings(self) -> Any:
        self.server.check("get_settings")
        return copy_settings(self.settings)

    def apply_settings(self, settings: Any) -> int:
        self.server.check("apply_settings")
        self.settings = copy_settings(settings)
        self.server.settings_log.append(copy_settings(settings))
        return self.frame

    def get_weather(self) -> Any:
        self.server.check("get_weather")
        return self.weather

    def set_weather(self, weather: Any) -> None:
        self.server.check("set_weather")
        self.weather = weather

    def get_lightmanager(self) -> FakeLightManager:
        self.server.check("get_lightmanager")
        return self.light_manager

    def set_pedestrians_seed(self, seed: int) -> None:
        self.server.check("set_pedestrians_seed")
        self.pedestrians_seed = int(seed)

    def get_blueprint_library(self) -> FakeBlueprintLibrary:
        self.server.check("get_blueprint_library")
        return FakeBlueprintLibrary(list(BLUEPRINTS))

    def get_snapshot(self) -> FakeSnapshot:
        self.server.check("get_snapshot")
        return FakeSnapshot(self.frame, self.elapsed_s)

    def spawn_actor(self, blueprint: FakeBlueprint, transform: Any, attach_to: FakeActor | None = None) -> FakeActor:
        self.server.check("spawn_actor")
        if any(blueprint.id.startswith(p) for p in self.server.fail_spawn_types):
            raise RuntimeError("Spawn failed because of collision at spawn position")
        cls = FakeSensor if blueprint.id.startswith("sensor.") else FakeActor
        actor = cls(self, next(_IDS), blueprint, transform, attach_to)
        self.actors[actor.id] = actor
        self.server.spawned.append(actor)
        return actor

    def tick(self, seconds: float = 10.0) -> int:
        self.server.check("tick")
        self.server.ticks += 1
        if self.server.interrupt_at_tick is not None and self.server.ticks >= self.server.interrupt_at_tick:
            self.server.interrupt_at_tick = None
            raise KeyboardInterrupt
        if self.server.vanish_at_tick is not None and self.server.ticks >= self.server.vanish_at_tick:
            self.server.lost = True
            self.server.shutdown()
            self.server.check("tick")
        if self.server.fail_tick_once_at is not None and self.server.ticks >= self.server.fail_tick_once_at:
            self.server.fail_tick_once_at = None
            raise RuntimeError("time-out of 2000ms while waiting for the simulator (tick)")
        dt = self.settings.fixed_delta_seconds if self.settings.synchronous_mode else 0.05
        dt = dt or 0.05
        alive = [a for a in self.actors.values() if a.is_alive]
        for actor in alive:
            actor.step(dt)
        self.frame += 1
        self.elapsed_s += dt
        self._collisions([a for a in alive if not isinstance(a, FakeSensor)])
        for actor in alive:
            if isinstance(actor, FakeSensor):
                actor.emit_frame(self.frame, self.elapsed_s)
        return self.frame

    def _collisions(self, bodies: list[FakeActor]) -> None:
        sensors = [a for a in self.actors.values()
                   if isinstance(a, FakeSensor) and a.is_alive and a.type_id == "sensor.other.collision"]
        for sensor in sensors:
            parent = sensor.parent
            if parent is None or not parent.is_alive:
                continue
            for other in bodies:
                if other is parent or not other.type_id.startswith(("vehicle.", "walker.")):
                    continue
                touching = _boxes_overlap(parent, other)
                key = other.id
                if touching and key not in sensor.in_contact:
                    rel = parent.velocity_vec() - other.velocity_vec()
                    event = type("CollisionEvent", (), {
                        "frame": self.frame, "timestamp": self.elapsed_s, "actor": parent, "other_actor": other,
                        "normal_impulse": carla.Vector3D(rel.x * 1500.0, rel.y * 1500.0, 0.0)})()
                    sensor.deliver(event)
                if touching:
                    sensor.in_contact.add(key)
                else:
                    sensor.in_contact.discard(key)


def _corners(actor: FakeActor) -> list[tuple[float, float]]:
    tf = actor.transform
    ex, ey = actor.bounding_box.extent.x, actor.bounding_box.extent.y
    yaw = math.radians(tf.rotation.yaw)
    c, s = math.cos(yaw), math.sin(yaw)
    return [(tf.location.x + c * dx - s * dy, tf.location.y + s * dx + c * dy)
            for dx, dy in ((ex, ey), (ex, -ey), (-ex, -ey), (-ex, ey))]


def _boxes_overlap(a: FakeActor, b: FakeActor) -> bool:
    """Separating-axis test of two oriented boxes in the ground plane."""
    pa, pb = _corners(a), _corners(b)
    for poly in (pa, pb):
        for i in range(4):
            x1, y1 = poly[i]
            x2, y2 = poly[(i + 1) % 4]
            nx, ny = y1 - y2, x2 - x1
            proj_a = [nx * x + ny * y for x, y in pa]
            proj_b = [nx * x + ny * y for x, y in pb]
            if max(proj_a) < min(proj_b) or max(proj_b) < min(proj_a):
                return False
    return True


class FakeActor:
    """carla.Actor / Vehicle / Walker stand-in, in CARLA's frame."""

    def __init__(self, world: FakeWorld, actor_id: int, blueprint: FakeBlueprint, transform: Any,
                 parent: FakeActor | None):
        self.world, self.id, self.type_id = world, actor_id, blueprint.id
        self.attributes = dict(blueprint.attributes)
        self.parent = parent
        ex, ey, ez = BLUEPRINTS[blueprint.id]
        self.bounding_box = carla.BoundingBox(carla.Location(0.0, 0.0, ez), carla.Vector3D(ex, ey, ez))
        self.transform = carla.Transform(carla.Location(transform.location.x, transform.location.y,
                                                        transform.location.z),
                                         carla.Rotation(yaw=transform.rotation.yaw))
        self.speed_mps = 0.0
        self.target_velocity: Any = None
        self.simulate_physics = True
        self.is_alive = True
        self.control: Any = None
        wheels = [carla.WheelPhysicsControl(tire_friction=NOMINAL_TIRE_FRICTION, max_steer_angle=MAX_STEER_DEG)
                  for _ in range(4)]
        self.physics = carla.VehiclePhysicsControl()
        self.physics.wheels = wheels

    def _check(self, what: str) -> None:
        self.world.server.check(what)
        if not self.is_alive:
            raise RuntimeError(f"trying to operate on a destroyed actor; an actor's function was called, "
                               f"but the actor is already destroyed ({what})")

    # --- reading ---
    def get_transform(self) -> Any:
        self._check("actor.get_transform")
        if self.parent is not None:
            return self.parent.get_transform()
        return carla.Transform(carla.Location(self.transform.location.x, self.transform.location.y,
                                              self.transform.location.z),
                               carla.Rotation(yaw=self.transform.rotation.yaw))

    def velocity_vec(self) -> Any:
        if self.target_velocity is not None and (not self.simulate_physics or self.control is None):
            return self.target_velocity
        yaw = math.radians(self.transform.rotation.yaw)
        return carla.Vector3D(self.speed_mps * math.cos(yaw), self.speed_mps * math.sin(yaw), 0.0)

    def get_velocity(self) -> Any:
        self._check("actor.get_velocity")
        return self.velocity_vec()

    def get_physics_control(self) -> Any:
        self._check("actor.get_physics_control")
        return self.physics

    # --- writing ---
    def apply_physics_control(self, physics: Any) -> None:
        self._check("actor.apply_physics_control")
        self.physics = physics

    def set_simulate_physics(self, enabled: bool = True) -> None:
        self._check("actor.set_simulate_physics")
        self.simulate_physics = bool(enabled)

    def set_transform(self, transform: Any) -> None:
        self._check("actor.set_transform")
        self.transform = carla.Transform(carla.Location(transform.location.x, transform.location.y,
                                                        transform.location.z),
                                         carla.Rotation(yaw=transform.rotation.yaw))

    def set_target_velocity(self, velocity: Any) -> None:
        self._check("actor.set_target_velocity")
        self.target_velocity = carla.Vector3D(velocity.x, velocity.y, velocity.z)
        self.speed_mps = math.hypot(velocity.x, velocity.y)

    def apply_control(self, control: Any) -> None:
        self._check("actor.apply_control")
        self.control = control
        self.target_velocity = None

    def destroy(self) -> bool:
        self.world.server.check("actor.destroy")
        if not self.is_alive:
            return False
        self.is_alive = False
        return True

    # --- the toy physics (CARLA frame: x forward, y right, yaw clockwise in degrees) ---
    def step(self, dt: float) -> None:
        if self.parent is not None or not self.simulate_physics or self.control is None:
            return
        ctl = self.control
        if self.type_id.startswith("walker."):
            d = ctl.direction
            n = math.hypot(d.x, d.y) or 1.0
            self.transform.location.x += ctl.speed * dt * d.x / n
            self.transform.location.y += ctl.speed * dt * d.y / n
            self.transform.rotation.yaw = math.degrees(math.atan2(d.y, d.x))
            self.speed_mps = ctl.speed
            return
        friction_ratio = self.physics.wheels[0].tire_friction / NOMINAL_TIRE_FRICTION
        decel = min(ctl.brake * MAX_BRAKE_DRY_MPS2, 1.0 * G_MPS2 * friction_ratio)
        accel = ctl.throttle * MAX_ACCEL_MPS2 - decel
        self.speed_mps = max(0.0, self.speed_mps + accel * dt)
        steer_rad = math.radians(ctl.steer * self.physics.wheels[0].max_steer_angle)
        yaw_rate_deg = math.degrees(self.speed_mps / WHEELBASE_M * math.tan(steer_rad))
        yaw = math.radians(self.transform.rotation.yaw + 0.5 * yaw_rate_deg * dt)
        self.transform.location.x += self.speed_mps * dt * math.cos(yaw)
        self.transform.location.y += self.speed_mps * dt * math.sin(yaw)
        self.transform.rotation.yaw += yaw_rate_deg * dt


class FakeImage:
    """carla.Image stand-in: BGRA bytes."""

    def __init__(self, frame: int, width: int, height: int, depth: bool):
        self.frame, self.width, self.height = frame, width, height
        if depth:  # every pixel at 20 m: R + 256 G + 65536 B = 20 / 1000 * (2^24 - 1)
            code = round(20.0 / 1000.0 * (256 ** 3 - 1))
            px = bytes((code >> 16 & 255, code >> 8 & 255, code & 255, 255))  # B, G, R, A
        else:
            px = bytes((90, 120, 150, 255))
        self.raw_data = px * (width * height)


class FakeSensor(FakeActor):
    """carla.Sensor stand-in: collision events and camera frames to a listening callback."""

    def __init__(self, *args: Any):
        super().__init__(*args)
        self.callback: Any = None
        self.in_contact: set[int] = set()

    @property
    def is_listening(self) -> bool:
        return self.callback is not None

    def listen(self, callback: Any) -> None:
        self._check("sensor.listen")
        self.callback = callback

    def stop(self) -> None:
        self._check("sensor.stop")
        self.callback = None

    def deliver(self, event: Any) -> None:
        if self.callback is not None:
            self.callback(event)

    def emit_frame(self, frame: int, elapsed_s: float) -> None:
        if self.type_id.startswith("sensor.camera.") and self.callback is not None:
            w = int(self.attributes.get("image_size_x", 64))
            h = int(self.attributes.get("image_size_y", 36))
            self.callback(FakeImage(frame, w, h, self.type_id.endswith("depth")))


_EMPTY_XODR = """<?xml version="1.0" standalone="yes"?>
<OpenDRIVE><header revMajor="1" revMinor="4" name="empty"/>
<road name="r" length="20" id="0" junction="-1"><link/>
<planView><geometry s="0" x="0" y="0" hdg="0" length="20"><line/></geometry></planView>
<lanes><laneSection s="0"><center><lane id="0" type="none" level="false"><link/></lane></center>
<right><lane id="-1" type="driving" level="false"><link/><width sOffset="0" a="3.5" b="0" c="0" d="0"/></lane></right>
</laneSection></lanes></road></OpenDRIVE>
"""
