"""Cleanup machinery: synchronous mode in, the previous settings back out; every spawned actor destroyed.

Two context managers, both exiting on success, on any exception and on KeyboardInterrupt (they catch
BaseException only to clean up and always re-raise):

- :class:`SyncMode` saves the world's settings, switches to synchronous mode at the engine's step
  (``fixed_delta_seconds = DT_S``) with the traffic manager synchronous and seeded, and restores the saved
  settings (and an asynchronous traffic manager) on exit. A world (re)load resets settings, so the backend
  calls :meth:`SyncMode.apply` again after loading a map.
- :class:`ActorPool` records every actor the bridge spawns and destroys them on exit, sensors first
  (stopped before destroyed), then controllers, then walkers and vehicles.

When the server is gone, cleanup must not hang: after the first call that fails, the remaining destroy
calls are skipped (the server took its actors with it) and the failure is recorded in ``errors``.
Nothing here runs in ``__del__``.
"""

from __future__ import annotations

import logging
from typing import Any

from adsgen.sim.types import DT_S

log = logging.getLogger(__name__)

CLEANUP_TIMEOUT_S = 2.0  # [s] client timeout during cleanup, so a lost server cannot stall the exit
SETTING_FIELDS = ("synchronous_mode", "no_rendering_mode", "fixed_delta_seconds", "substepping",
                  "max_substep_delta_time", "max_substeps")


def _destroy_rank(actor: Any) -> int:
    type_id = str(getattr(actor, "type_id", ""))
    if type_id.startswith("sensor."):
        return 0
    if type_id.startswith("controller."):
        return 1
    return 2


class ActorPool:
    """Every actor spawned for one scenario run; destroyed on exit, whatever the exit."""

    def __init__(self, world: Any, client: Any | None = None):
        self.world = world
        self.client = client
        self.actors: list[Any] = []
        self.errors: list[str] = []
        self.destroyed = 0

    def spawn(self, blueprint: Any, transform: Any, attach_to: Any | None = None) -> Any:
        """world.spawn_actor, recorded for cleanup."""
        if attach_to is None:
            actor = self.world.spawn_actor(blueprint, transform)
        else:
            actor = self.world.spawn_actor(blueprint, transform, attach_to=attach_to)
        self.actors.append(actor)
        return actor

    def destroy_all(self) -> None:
        """Stop sensors and destroy every actor (sensors, controllers, then bodies); never raises."""
        if self.client is not None and self.errors:
            self._short_timeout()
        order = sorted(reversed(self.actors), key=_destroy_rank)
        self.actors = []
        for i, actor in enumerate(order):
            try:
                if _destroy_rank(actor) == 0 and getattr(actor, "is_listening", False):
                    actor.stop()
                if _destroy_rank(actor) == 1 and hasattr(actor, "stop"):
                    actor.stop()
                actor.destroy()
                self.destroyed += 1
            except Exception as exc:  # a lost server: skip the rest, it took its actors with it
                self.errors.append(f"destroying {getattr(actor, 'type_id', '?')} "
                                   f"{getattr(actor, 'id', '?')}: {exc}")
                log.warning("CARLA cleanup stopped after %d of %d actors: %s", i, len(order), exc)
                break

    def _short_timeout(self) -> None:
        assert self.client is not None  # called only with a client
        try:
            self.client.set_timeout(CLEANUP_TIMEOUT_S)
        except Exception:  # pragma: no cover - set_timeout is local to the client
            pass

    def __enter__(self) -> ActorPool:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None and not issubclass(exc_type, (KeyboardInterrupt, GeneratorExit)):
            self.errors.append(f"run failed: {exc}")
        self.destroy_all()


class SyncMode:
    """Synchronous mode at DT_S for the duration of a ``with`` block; the previous settings restored after."""

    def __init__(self, client: Any, world: Any, *, tm_port: int, seed: int, step_s: float = DT_S):
        self.client = client
        self.world = world
        self.tm_port = tm_port
        self.seed = seed
        self.step_s = step_s
        self.saved: dict[str, Any] | None = None
        self.errors: list[str] = []

    def apply(self, world: Any | None = None) -> None:
        """Switch `world` (default: the current one) to synchronous mode; save the original settings once."""
        if world is not None:
            self.world = world
        settings = self.world.get_settings()
        if self.saved is None:
            self.saved = {name: getattr(settings, name) for name in SETTING_FIELDS}
        settings.synchronous_mode = True
        settings.fixed_delta_seconds = self.step_s
        self.world.apply_settings(settings)
        tm = self.client.get_trafficmanager(self.tm_port)
        tm.set_synchronous_mode(True)
        tm.set_random_device_seed(int(self.seed))
        self.world.set_pedestrians_seed(int(self.seed))

    def restore(self) -> None:
        """Put the saved settings back and the traffic manager in asynchronous mode; never raises."""
        if self.saved is None:
            return
        try:
            tm = self.client.get_trafficmanager(self.tm_port)
            tm.set_synchronous_mode(False)
            settings = self.world.get_settings()
            for name, value in self.saved.items():
                setattr(settings, name, value)
            self.world.apply_settings(settings)
            self.saved = None
        except Exception as exc:
            self.errors.append(f"restoring world settings: {exc}")
            log.warning("could not restore CARLA world settings (server lost?): %s", exc)

    def __enter__(self) -> SyncMode:
        try:
            self.apply()
        except BaseException:  # half-applied settings are still restored
            self.restore()
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None and self.client is not None:
            try:
                self.client.set_timeout(CLEANUP_TIMEOUT_S)
            except Exception:  # pragma: no cover
                pass
        self.restore()
