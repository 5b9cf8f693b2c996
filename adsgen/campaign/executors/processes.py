"""The processes executor: N long-lived local worker processes, each with its own backend.

Workers are started with the 'spawn' method (no inherited threads or locks), ignore SIGINT (the driver
decides when to stop) and exit when the driver's end of their pipe closes, so a killed driver leaves no
workers behind. A task over its timeout gets its worker killed (SIGKILL) and replaced by a fresh one.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait
from typing import cast

from adsgen.campaign.executors.base import overdue, register_executor, timed_out
from adsgen.campaign.worker import RunOutcome, Task, WorkerRuntime, WorkerSpec  # noqa: F401

_STARTUP_TIMEOUT_S = 120.0  # [s] a worker that is not ready by then is reported as lost


def _set_parent_death_signal() -> None:
    """Linux: have the kernel SIGKILL this process when its parent dies (best effort)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def worker_main(conn: Connection, spec: WorkerSpec) -> None:
    """Entry point of a worker process: build the runtime, then answer tasks until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _set_parent_death_signal()

    try:
        runtime = WorkerRuntime(spec)
    except Exception as exc:  # e.g. an unknown agent: reported to the driver, which stops the campaign
        conn.send(("init_error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    try:
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                break
            if task is None:
                break
            conn.send(("outcome", runtime.execute(task)))
    finally:
        runtime.close()


_ONE_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
"""Each worker is one core's worth of work: its numpy runs single-threaded (no BLAS oversubscription)."""


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Environment for a child started inside the block: one BLAS / OpenMP thread unless the user set it."""
    saved = {k: os.environ.get(k) for k in _ONE_THREAD_ENV}
    for k in _ONE_THREAD_ENV:
        os.environ.setdefault(k, "1")
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _Worker:
    def __init__(self, spec: WorkerSpec, ctx: mp.context.BaseContext):
        self.spec = spec
        self.conn, child = ctx.Pipe(duplex=True)
        # get_context(name) is typed BaseContext, which typeshed gives no Process; every real context has one
        self.proc = ctx.Process(target=worker_main, args=(child, spec),  # type: ignore[attr-defined]
                                name=f"adsgen-{spec.worker_id}", daemon=True)
        with _single_threaded_children():
            self.proc.start()
        child.close()
        self.ready = False
        self.started = time.monotonic()
        self.task: Task | None = None
        self.submitted = 0.0  # monotonic time the task was handed over
        self.submitted_unix = 0.0

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=10.0)
        self.conn.close()


@register_executor("processes")
class ProcessExecutor:
    name = "processes"

    def __init__(self, start_method: str = "spawn") -> None:
        self._ctx = mp.get_context(start_method)
        self._workers: dict[str, _Worker] = {}
        self._timeout_s: float | None = None

    def start(self, workers: list[WorkerSpec], timeout_s: float | None) -> None:
        self._timeout_s = timeout_s
        for spec in workers:
            self._workers[spec.worker_id] = _Worker(spec, self._ctx)

    def free_workers(self) -> list[str]:
        return [w for w, x in self._workers.items() if x.ready and x.task is None]

    def in_flight(self) -> dict[str, Task]:
        return {w: x.task for w, x in self._workers.items() if x.task is not None}

    def submit(self, worker_id: str, task: Task) -> None:
        w = self._workers[worker_id]
        assert w.ready and w.task is None
        w.task, w.submitted, w.submitted_unix = task, time.monotonic(), time.time()
        w.conn.send(task)

    def _replace(self, w: _Worker) -> None:
        w.kill()
        self._workers[w.spec.worker_id] = _Worker(w.spec, self._ctx)

    def _lost(self, w: _Worker, why: str) -> list[RunOutcome]:
        out = []
        if w.task is not None:
            out += w.task.outcomes("worker_lost", w.spec.worker_id, w.submitted_unix, why)
        self._replace(w)
        return out

    def wait(self, timeout_s: float) -> list[RunOutcome]:
        now = time.monotonic()
        deadline = now + timeout_s
        if self._timeout_s is not None:
            for w in self._workers.values():
                if w.task is not None:
                    deadline = min(deadline, w.submitted + self._timeout_s * len(w.task))
        conns = {w.conn: w for w in self._workers.values()}
        ready = wait(list(conns), timeout=max(0.0, deadline - now)) if conns else []
        out: list[RunOutcome] = []
        for ready_conn in ready:
            conn = cast(Connection, ready_conn)  # wait() was given only Connections
            w = conns[conn]
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):
                w.proc.join(timeout=5.0)
                why = f"worker process {w.spec.worker_id} died (exit code {w.proc.exitcode})"
                if not w.ready:
                    self.shutdown(kill=True)
                    from adsgen.errors import BackendError

                    raise BackendError(f"{why} while starting; is adsgen importable there?") from None
                out += self._lost(w, why)
                continue
            if kind == "ready":
                w.ready = True
            elif kind == "outcome":
                w.task = None
                out += payload
            elif kind == "init_error":
                self.shutdown(kill=True)
                from adsgen.errors import ConfigError

                raise ConfigError(f"campaign worker could not start: {payload}")
        now = time.monotonic()
        for w in list(self._workers.values()):
            if w.task is not None and self._timeout_s is not None and overdue(w.task, w.submitted, now, self._timeout_s):
                out += timed_out(w.task, w.spec, w.submitted_unix, self._timeout_s, "worker process")
                self._replace(w)
            elif not w.ready and now - w.started > _STARTUP_TIMEOUT_S:
                self.shutdown(kill=True)
                from adsgen.errors import BackendError

                raise BackendError(f"campaign worker {w.spec.worker_id} did not start within "
                                   f"{_STARTUP_TIMEOUT_S:g} s")
        return out

    def shutdown(self, *, kill: bool = False) -> None:
        for w in self._workers.values():
            if not kill and w.proc.is_alive():
                try:
                    w.conn.send(None)
                except (OSError, BrokenPipeError):
                    pass
        for w in self._workers.values():
            if not kill:
                w.proc.join(timeout=10.0)
            w.kill()
        self._workers.clear()
