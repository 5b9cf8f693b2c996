"""CarlaBackend: adsgen's Backend protocol on a real CARLA server (0.9.15 / 0.9.16).

One ``run(scenarios, agent, seed)`` call: connect if needed (TCP probe first), switch to synchronous mode
at DT_S, and for each scenario load its road, set weather and friction, spawn the ego (``role_name=hero``)
and the actors, then tick: measure -> agent -> script -> controls, until the engine's termination rules
end the run. Every actor is destroyed after each scenario and the previous world settings are restored at
the end of the call, on success, on errors and on Ctrl-C.

Faults: a server that cannot be reached when ``run`` starts raises ``BackendError`` (host:port named). A
server lost *during* a scenario makes that scenario's RunResult ``TerminationReason.BACKEND_FAULT`` (the
error in ``extra['error']``); later scenarios of the call are tried after a quick probe, and reported as
BACKEND_FAULT at once when the probe fails. Campaigns retry BACKEND_FAULT results.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from adsgen.errors import BackendError, ConfigError
from adsgen.export.environment import friction_scale
from adsgen.scenario.mapping import render_settings
from adsgen.scenario.model import Scenario
from adsgen.sim.episode import Poses, run_episode
from adsgen.sim.types import RunResult, TerminationReason, agent_extra
from carla_bridge import actors as bp
from carla_bridge import connection, weather
from carla_bridge._carla import import_carla
from carla_bridge.core import EgoController, Measured, RunCore
from carla_bridge.frames import Placement
from carla_bridge.sensors import CameraConfig, CameraRig, CollisionRecorder
from carla_bridge.session import ActorPool, SyncMode
from carla_bridge.world import OpenDriveParams, WorldManager

log = logging.getLogger(__name__)

HOST_ENV = "CARLA_HOST"  # host[:port] used when no host is given (e.g. `adsgen generate --backend carla`)
GONE_DEPTH_M = 100.0  # [m] actors that left their route are parked this far below the road
KINEMATIC_LIFT_M = 0.02  # [m] kinematic vehicles ride this far above the site's road level (wheels on the road)


@dataclass(frozen=True)
class CarlaOptions:
    """Everything a CarlaBackend is configured with (one doc per field; no free-form options)."""

    host: str = "localhost"
    """Server host name or address."""
    port: int = connection.DEFAULT_PORT
    """Server RPC port."""
    timeout_s: float = 10.0
    """Client timeout for every RPC call, world loads and ticks included [s]."""
    town: str | None = None
    """Run in this Town (e.g. 'Town03') at a site matching the template; None: the template's own road."""
    tm_port: int = 8000
    """Traffic manager port (synchronous, seeded with the run's seed)."""
    probe_timeout_s: float = connection.PROBE_TIMEOUT_S
    """TCP probe timeout before the client is built [s]."""
    strict_version: bool = False
    """Refuse a server whose version differs from the client's even when the pair is supported."""
    camera: CameraConfig = field(default_factory=CameraConfig)
    """Front camera + depth rig attached when the agent reads images."""
    opendrive: OpenDriveParams = field(default_factory=OpenDriveParams)
    """Mesh parameters for generated roads."""


def options_from(host: str | None = None, port: int | None = None, **kw: Any) -> CarlaOptions:
    """CarlaOptions from a 'host' / 'host:port' string (or $CARLA_HOST, or localhost:2000)."""
    text = host or os.environ.get(HOST_ENV) or "localhost"
    h, p = connection.parse_host_port(text)
    if port is not None:
        p = int(port)
    unknown = set(kw) - set(CarlaOptions.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"unknown CARLA backend option(s): {', '.join(sorted(unknown))}; expected "
                          f"{', '.join(CarlaOptions.__dataclass_fields__)}")
    return CarlaOptions(host=h, port=p, **kw)


class CarlaBackend:
    """adsgen's Backend on a CARLA server. Long-lived; use as a context manager or call close()."""

    name = "carla"

    def __init__(self, host: str | None = None, port: int | None = None, timeout_s: float = 10.0,
                 town: str | None = None, *, client_factory: connection.ClientFactory | None = None, **options: Any):
        self.carla = import_carla()  # MissingExtraError (one line, names the extra) without the wheel
        self.options = options_from(host, port, timeout_s=timeout_s, town=town, **options)
        self._client_factory = client_factory
        self.client: Any = None
        self.versions: connection.VersionCheck | None = None
        self.worlds: WorldManager | None = None
        self._closed = False

    # ------------------------------------------------------------------------------- lifecycle
    def __enter__(self) -> CarlaBackend:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Drop the client (the server keeps running); safe to call twice."""
        self.client = None
        self.worlds = None
        self._closed = True

    def connect(self) -> None:
        """Probe, build the client and check versions (BackendError when unreachable or unsupported)."""
        o = self.options
        self.client, self.versions = connection.connect(
            o.host, o.port, o.timeout_s, client_factory=self._client_factory, probe_timeout_s=o.probe_timeout_s,
            strict_version=o.strict_version)

    @property
    def address(self) -> str:
        return f"{self.options.host}:{self.options.port}"

    # ------------------------------------------------------------------------------------- run
    def run(self, scenarios: Sequence[Scenario], agent: Any, seed: int = 0, *,
            record_trajectories: bool = False) -> list[RunResult]:
        """Run each scenario against the agent; one RunResult per scenario, in order."""
        if self._closed:
            raise BackendError(f"CARLA backend for {self.address} is closed")
        if not scenarios:
            return []
        if self.client is None:
            self.connect()
        results: list[RunResult] = []
        try:
            sync = SyncMode(self.client, self.client.get_world(), tm_port=self.options.tm_port, seed=seed)
        except RuntimeError as exc:
            self.client = None
            raise BackendError(f"CARLA server at {self.address} failed: {exc}") from exc
        try:
            with sync:
                self.worlds = WorldManager(self.client, sync, town=self.options.town,
                                           opendrive=self.options.opendrive)
                self._run_all(scenarios, agent, seed, record_trajectories, results)
        except RuntimeError as exc:  # the server failed while switching modes (not inside a scenario)
            self.client = None
            raise BackendError(f"CARLA server at {self.address} failed: {exc}") from exc
        if sync.errors:
            log.warning("CARLA settings not restored: %s", "; ".join(sync.errors))
        return results

    def _run_all(self, scenarios: Sequence[Scenario], agent: Any, seed: int, record: bool,
                 results: list[RunResult]) -> None:
        lost: str | None = None
        for sc in scenarios:
            if lost is not None and not self._reachable():
                results.append(self._fault(sc, seed, f"server unreachable after an earlier fault: {lost}"))
                continue
            try:
                results.append(self._run_one(sc, agent, seed, record))
                lost = None
            except (RuntimeError, BackendError) as exc:  # carla raises RuntimeError for RPC failures
                lost = str(exc)
                log.warning("CARLA run of %s failed: %s", sc.name, exc)
                results.append(self._fault(sc, seed, lost))
                assert self.worlds is not None  # made by run() before _run_all
                self.worlds.invalidate()

    def _reachable(self) -> bool:
        try:
            connection.probe_tcp(self.options.host, self.options.port, self.options.probe_timeout_s)
            return True
        except BackendError:
            return False

    def _fault(self, sc: Scenario, seed: int, error: str) -> RunResult:
        return RunResult(scenario=sc.name, termination=TerminationReason.BACKEND_FAULT, duration_s=0.0,
                         backend=self.name, seed=seed,
                         extra={"error": error, "server": self.address, "content_hash": sc.content_hash()})

    def _run_one(self, sc: Scenario, agent: Any, seed: int, record: bool) -> RunResult:
        carla, o = self.carla, self.options
        assert self.worlds is not None  # made by run() before _run_all
        world, place, info = self.worlds.world_for(sc)
        core = RunCore(sc, record=record, backend=self.name)
        world.set_weather(weather.weather_parameters(sc.factors))
        lights = render_settings(sc.factors)
        if o.town is not None:
            weather.apply_street_lights(world, sc.factors)
        library = world.get_blueprint_library()
        starts = core.start_poses()
        with ActorPool(world, self.client) as pool:
            ex, ey, eyaw, ev = starts[0]
            ego = pool.spawn(bp.pick_blueprint(library, "ego", bp.EGO_ROLE_NAME),
                             place.carla_transform(ex, ey, eyaw, bp.SPAWN_LIFT_M["ego"]))
            tire = bp.apply_surface_friction(ego, friction_scale(sc.factors))
            physics = ego.get_physics_control()
            max_steer_deg = float(physics.wheels[0].max_steer_angle)
            if lights.headlights and hasattr(ego, "set_light_state"):
                ego.set_light_state(carla.VehicleLightState.LowBeam)
            bodies = []
            for spec, (x, y, yaw, v) in zip(sc.actors, starts[1:], strict=True):
                actor = pool.spawn(bp.pick_blueprint(library, spec.kind, bp.ADVERSARY_ROLE_NAME),
                                   place.carla_transform(x, y, yaw, bp.SPAWN_LIFT_M[spec.kind]))
                if spec.kind != "pedestrian":
                    actor.set_simulate_physics(False)  # kinematic: placed by the script every tick
                    actor.set_target_velocity(place.carla_velocity(v * math.cos(yaw), v * math.sin(yaw)))
                bodies.append(actor)
            index_of = {a.id: j for j, a in enumerate(bodies)}
            collisions = CollisionRecorder(pool, library, ego, carla.Transform())
            camera = None
            if getattr(agent, "needs_images", False):
                mount = carla.Transform(carla.Location(x=o.camera.mount_x_m, z=o.camera.mount_z_m))
                camera = CameraRig(pool, library, ego, mount, o.camera)
            run = _CarlaWorld(self, world, core, place, ego, bodies, collisions, index_of, camera, max_steer_deg,
                              ev, eyaw, agent)
            run_episode(run, agent, seed, core.referee)
            extra = {"carla": {**info, "server": self.address, "server_version": self.versions.server
                               if self.versions else None, "frames": run.frames, "tire_friction": tire[0],
                               "ego_blueprint": ego.type_id, "other_collisions": run.other_hits,
                               "placement": repr(place)}, **agent_extra(agent, 0)}
        return core.result(seed, extra)

class _CarlaWorld:
    """One scenario on the CARLA server as an ``adsgen.sim.episode.World`` (a batch of one): measures the
    actors, hands the agent's action to the ego controller and the script's targets to the actors, ticks."""

    # noqa below: the parts of one run that _run_one has just spawned and set up, handed over once
    def __init__(self, backend: CarlaBackend, carla_world: Any, core: RunCore, place: Placement,  # noqa: PLR0913
                 ego: Any, bodies: list,
                 collisions: CollisionRecorder, index_of: dict[int, int], camera: CameraRig | None,
                 max_steer_deg: float, start_speed_mps: float, start_yaw_rad: float, agent: Any):
        self.backend, self.carla_world, self.core, self.place = backend, carla_world, core, place
        self.ego, self.bodies = ego, bodies
        self.bt = core.bt
        self.collisions, self.index_of, self.camera = collisions, index_of, camera
        self.controller = EgoController(core.ego_route, 0.6 * float(core.bt.length[0, 0]), max_steer_deg)
        self.start_speed_mps, self.start_yaw_rad = start_speed_mps, start_yaw_rad
        self.renderer = getattr(agent, "renderer", None)
        self.gone: set[int] = set()
        self.other_hits = 0
        self.frames = 0
        self.frame = 0
        self._m: Measured | None = None

    def reset(self, agent: Any, seed: int) -> None:
        place = self.place
        agent.reset([self.core.scenario], seed)
        self.frame = self._tick_world()  # the spawns settle
        # the start speed is given after the spawn tick (a velocity set on an actor that has not been
        # simulated yet is dropped); CARLA reports it from the next tick, so t = 0 uses the set value
        v, yaw = self.start_speed_mps, self.start_yaw_rad
        self.ego.set_target_velocity(place.carla_velocity(v * math.cos(yaw), v * math.sin(yaw)))

    def _tick_world(self) -> int:
        return self.carla_world.tick(self.backend.options.timeout_s)

    def measure(self, k: int) -> Poses:
        self.frames = k + 1
        self._m, unknown = self._measure(ego_speed_mps=self.start_speed_mps if k == 0 else None)
        self.other_hits += unknown
        return self.core.poses(k, self._m)

    def observe(self, k: int, poses: Poses, referee: Any) -> Any:
        return self.core.observation(k, self.renderer)

    def apply(self, action: Any, running: Any) -> None:
        carla, place, core, m = self.backend.carla, self.place, self.core, self._m
        assert m is not None  # measured by poses(), which the referee calls before apply()
        cmd = core.advance(action)
        throttle, steer, brake = self.controller.control(m.ego_x_m, m.ego_y_m, m.ego_yaw_rad, core.ego_pose.s_m,
                                                         m.ego_speed_mps, cmd)
        cmds = [carla.command.ApplyVehicleControl(
            self.ego.id, carla.VehicleControl(throttle=throttle, steer=steer, brake=brake))]
        for j, (spec, actor, (x, y, yaw, v, present)) in enumerate(
                zip(core.scenario.actors, self.bodies, core.actor_targets(), strict=True)):
            if not present:
                if j not in self.gone:  # left its route: out of the way, below the road
                    self.gone.add(j)
                    cmds.append(carla.command.ApplyTransform(
                        actor.id, place.carla_transform(x, y, yaw, -GONE_DEPTH_M)))
                continue
            if spec.kind == "pedestrian":
                cmds.append(carla.command.ApplyWalkerControl(actor.id, carla.WalkerControl(
                    direction=place.carla_velocity(math.cos(yaw), math.sin(yaw)), speed=float(v))))
            else:
                cmds.append(carla.command.ApplyTransform(
                    actor.id, place.carla_transform(x, y, yaw, KINEMATIC_LIFT_M)))
                cmds.append(carla.command.ApplyTargetVelocity(
                    actor.id, place.carla_velocity(v * math.cos(yaw), v * math.sin(yaw))))
        self.backend.client.apply_batch(cmds)  # one RPC for every control of the tick

    def tick(self, running: Any) -> None:
        self.frame = self._tick_world()

    def _measure(self, ego_speed_mps: float | None = None) -> tuple[Measured, int]:
        """Read the world (template engine frame) -> (Measured, collisions with non-scenario objects)."""

        core, place, ego, bodies = self.core, self.place, self.ego, self.bodies
        collisions, index_of, camera, frame = self.collisions, self.index_of, self.camera, self.frame

        ex, ey, eyaw = place.pose_from_carla(ego.get_transform())
        evx, evy = place.velocity_from_carla(ego.get_velocity())
        n = len(bodies)
        ax, ay, ayaw, av = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
        script_v = core.script.st.v[0, 1:]
        for j, actor in enumerate(bodies):
            ax[j], ay[j], ayaw[j] = place.pose_from_carla(actor.get_transform())
            if core.script.kinds[j + 1] == "pedestrian":
                vx, vy = place.velocity_from_carla(actor.get_velocity())
                av[j] = math.hypot(vx, vy)
            else:  # kinematic: CARLA reports no physics velocity; its speed is where the script put it
                av[j] = float(script_v[j])
        partner, unknown = None, 0
        for hit in collisions.drain():
            if hit.other_actor_id in index_of:
                partner = index_of[hit.other_actor_id] if partner is None else partner
            else:
                unknown += 1
        images = {}
        if camera is not None:
            rgb, depth = camera.read(frame)
            images = {"image_rgb": rgb, "depth_m": depth, "camera": camera.config}
        speed = math.hypot(evx, evy) if ego_speed_mps is None else ego_speed_mps
        return Measured(ex, ey, eyaw, speed, ax, ay, ayaw, av, partner, images), unknown


__all__ = ["CarlaBackend", "CarlaOptions", "options_from"]
