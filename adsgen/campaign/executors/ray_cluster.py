"""The Ray executor: one long-lived Ray actor per worker, each owning one backend (one CARLA server each
when the campaign is given --carla-hosts). Results come back to the driver, which alone writes the store.

``ray_address`` joins an existing cluster (``ray start --head`` on one node, ``ray start --address ...`` on
the others; every node needs adsgen installed); without it a new local cluster is started (even when
another one runs on this machine) with one CPU per worker and no dashboard, and shut down at the end. A task over its timeout gets its actor killed
(``ray.kill``) and replaced.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from adsgen.campaign.executors.base import overdue, register_executor, timed_out
from adsgen.campaign.worker import RunOutcome, Task, WorkerRuntime, WorkerSpec
from adsgen.errors import BackendError, ConfigError, MissingExtraError

_STARTUP_TIMEOUT_S = 180.0  # [s] an actor not ready by then fails the campaign start
_OBJECT_STORE_BYTES = 100 * 1024 * 1024  # local clusters only: results are small


class CampaignActor:
    """The body of a Ray actor: a WorkerRuntime behind two remote methods."""

    def __init__(self, spec: WorkerSpec):
        self.runtime = WorkerRuntime(spec)

    def ready(self) -> bool:
        return True

    def execute(self, task: Task) -> list[RunOutcome]:
        return self.runtime.execute(task)

    def close(self) -> None:
        self.runtime.close()


class _Slot:
    def __init__(self, actor_cls: Any, spec: WorkerSpec):
        self.spec = spec
        self.actor = actor_cls.remote(spec)
        self.ready_ref: Any = self.actor.ready.remote()
        self.started = time.monotonic()
        self.task: Task | None = None
        self.ref: Any = None
        self.submitted = 0.0
        self.submitted_unix = 0.0


@register_executor("ray")
class RayExecutor:
    name = "ray"

    def __init__(self, ray_address: str | None = None, num_cpus: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise MissingExtraError("ray", "ray", "--executor ray") from None
        self._ray = ray
        self._address = ray_address
        self._num_cpus = num_cpus
        self._started_cluster = False
        self._slots: dict[str, _Slot] = {}
        self._timeout_s: float | None = None
        self._actor_cls: Any = None

    def start(self, workers: list[WorkerSpec], timeout_s: float | None) -> None:
        ray = self._ray
        self._timeout_s = timeout_s
        if not ray.is_initialized():
            try:
                if self._address:
                    ray.init(address=self._address, include_dashboard=False, log_to_driver=False,
                             logging_level="ERROR")
                else:  # a local cluster imports what this process imports (sys.path as PYTHONPATH)
                    path = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
                    ray.init(address="local", num_cpus=self._num_cpus or len(workers), include_dashboard=False,
                             log_to_driver=False, logging_level="ERROR", object_store_memory=_OBJECT_STORE_BYTES,
                             runtime_env={"env_vars": {"PYTHONPATH": path}})
                    self._started_cluster = True
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"at {self._address}" if self._address else "locally"
                hint = ("; a cluster with token authentication (Ray's default) needs RAY_AUTH_MODE=token and its "
                        "token (~/.ray/auth_token or RAY_AUTH_TOKEN) here" if self._address else "")
                raise BackendError(f"--executor ray: could not start or join a Ray cluster {where} "
                                   f"({str(exc).splitlines()[0]}){hint}") from None
        self._actor_cls = ray.remote(num_cpus=1, max_restarts=0)(CampaignActor)
        for spec in workers:
            self._slots[spec.worker_id] = _Slot(self._actor_cls, spec)

    def _is_ready(self, slot: _Slot) -> bool:
        if slot.ready_ref is None:
            return True
        done, _ = self._ray.wait([slot.ready_ref], timeout=0)
        if not done:
            return False
        try:
            self._ray.get(slot.ready_ref)  # raises if the actor failed to start
        except self._ray.exceptions.RayError as exc:
            lines = [ln for ln in str(exc).splitlines() if ln.strip()]
            self.shutdown(kill=True)
            raise ConfigError(f"campaign worker {slot.spec.worker_id} could not start on Ray: "
                              f"{lines[-1] if lines else exc}") from None
        slot.ready_ref = None
        return True

    def free_workers(self) -> list[str]:
        return [w for w, s in self._slots.items() if s.task is None and self._is_ready(s)]

    def in_flight(self) -> dict[str, Task]:
        return {w: s.task for w, s in self._slots.items() if s.task is not None}

    def submit(self, worker_id: str, task: Task) -> None:
        s = self._slots[worker_id]
        s.task, s.submitted, s.submitted_unix = task, time.monotonic(), time.time()
        s.ref = s.actor.execute.remote(task)

    def _replace(self, s: _Slot) -> None:
        try:
            self._ray.kill(s.actor, no_restart=True)
        except Exception:  # already dead
            pass
        self._slots[s.spec.worker_id] = _Slot(self._actor_cls, s.spec)

    def wait(self, timeout_s: float) -> list[RunOutcome]:
        ray = self._ray
        busy = {s.ref: s for s in self._slots.values() if s.task is not None}
        now = time.monotonic()
        deadline = now + timeout_s
        if self._timeout_s is not None:
            for s in busy.values():
                deadline = min(deadline, s.submitted + self._timeout_s * len(s.task or ()))
        out: list[RunOutcome] = []
        if busy:
            done, _ = ray.wait(list(busy), num_returns=len(busy), timeout=max(0.0, deadline - now))
            for ref in done:
                s = busy[ref]
                task, s.task, s.ref = s.task, None, None
                assert task is not None  # busy slots hold a task
                try:
                    out += ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    out += task.outcomes("worker_lost", s.spec.worker_id, s.submitted_unix,
                                         f"Ray actor {s.spec.worker_id} died: {str(exc).splitlines()[0]}")
                    self._replace(s)
                except ray.exceptions.RayError as exc:
                    out += task.outcomes("error", s.spec.worker_id, s.submitted_unix,
                                         f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
        else:
            time.sleep(min(timeout_s, 0.05))
        now = time.monotonic()
        for s in list(self._slots.values()):
            if s.task is not None and self._timeout_s is not None and overdue(s.task, s.submitted, now, self._timeout_s):
                out += timed_out(s.task, s.spec, s.submitted_unix, self._timeout_s, "Ray actor")
                self._replace(s)
            elif s.ready_ref is not None and now - s.started > _STARTUP_TIMEOUT_S:
                raise BackendError(f"Ray actor {s.spec.worker_id} did not start within {_STARTUP_TIMEOUT_S:g} s")
        return out

    def shutdown(self, *, kill: bool = False) -> None:
        ray = self._ray
        if not ray.is_initialized():
            return
        closes = []
        for s in self._slots.values():
            if not kill and s.task is None:
                closes.append(s.actor.close.remote())
        if closes:
            try:
                ray.wait(closes, num_returns=len(closes), timeout=30.0)
            except Exception:
                pass
        for s in self._slots.values():
            try:
                ray.kill(s.actor, no_restart=True)
            except Exception:
                pass
        self._slots.clear()
        if self._started_cluster:
            ray.shutdown()
            self._started_cluster = False
