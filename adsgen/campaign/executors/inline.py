"""The inline executor: runs each task in the driver process, one at a time (no parallelism).

Timeouts use SIGALRM (``setitimer``) in the main thread: a run stuck in Python code is interrupted and
stored as timed out; a run stuck inside C code that never returns to the interpreter cannot be stopped this
way (use the processes executor, which kills the worker). The backend is kept after a timeout.
"""

from __future__ import annotations

import signal
import threading
import time

from adsgen.campaign.executors.base import register_executor
from adsgen.campaign.worker import RunOutcome, Task, WorkerRuntime, WorkerSpec  # noqa: F401


class _RunTimeout(BaseException):
    """Raised by the SIGALRM handler inside a run over its timeout (BaseException: not caught as an error)."""


@register_executor("inline")
class InlineExecutor:
    name = "inline"

    def __init__(self) -> None:
        self._runtime: WorkerRuntime | None = None
        self._task: Task | None = None
        self._timeout_s: float | None = None

    def start(self, workers: list[WorkerSpec], timeout_s: float | None) -> None:
        if len(workers) != 1:
            raise ValueError("the inline executor runs exactly one worker")
        self._runtime = WorkerRuntime(workers[0])
        self._timeout_s = timeout_s

    def free_workers(self) -> list[str]:
        if self._runtime is None or self._task is not None:
            return []
        return [self._runtime.spec.worker_id]

    def in_flight(self) -> dict[str, Task]:
        if self._runtime is None or self._task is None:
            return {}
        return {self._runtime.spec.worker_id: self._task}

    def submit(self, worker_id: str, task: Task) -> None:
        assert self._runtime is not None and self._task is None
        self._task = task

    def wait(self, timeout_s: float) -> list[RunOutcome]:
        if self._task is None or self._runtime is None:
            time.sleep(min(timeout_s, 0.05))
            return []
        task, self._task = self._task, None
        alarm_s = self._timeout_s if threading.current_thread() is threading.main_thread() else None
        use_alarm = alarm_s is not None
        started = time.time()
        if alarm_s is not None:
            def _on_alarm(signum, frame):
                raise _RunTimeout

            previous = signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, alarm_s * len(task))  # per run of the batch
        try:
            outcomes = self._runtime.execute(task)
        except _RunTimeout:
            outcomes = task.outcomes("timed_out", self._runtime.spec.worker_id, started,
                                     f"run exceeded its timeout of {self._timeout_s:g} s and was interrupted")
        finally:
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0.0)
                signal.signal(signal.SIGALRM, previous)
        return outcomes

    def shutdown(self, *, kill: bool = False) -> None:
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None
