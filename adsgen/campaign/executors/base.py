"""The executor seam: where a campaign's runs execute (in the driver, local processes, a Ray cluster).

An executor owns a fixed set of workers, each with its own long-lived backend. The driver hands a Task to a
free worker (``submit``) and collects Outcomes (``wait``). The executor enforces each task's timeout: a
task still running ``timeout_s`` after it was submitted is stopped (its worker killed and replaced) and
comes back as a ``timed_out`` RunOutcome; a worker that dies mid-task comes back as ``worker_lost``.
Executors never write to the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from adsgen.campaign.worker import RunOutcome, Task, WorkerSpec
from adsgen.errors import ConfigError


class Executor(Protocol):
    """A pool of campaign workers."""

    name: str

    def start(self, workers: list[WorkerSpec], timeout_s: float | None) -> None:
        """Start one worker per spec (each builds its backend lazily on its first task)."""

    def free_workers(self) -> list[str]:
        """Ids of started workers with no task in flight."""

    def in_flight(self) -> dict[str, Task]:
        """Worker id -> the task it is running."""

    def submit(self, worker_id: str, task: Task) -> None:
        """Give a free worker a task (returns at once, except for the inline executor's bookkeeping)."""

    def wait(self, timeout_s: float) -> list[RunOutcome]:
        """Outcomes that arrived (or timed out) within about timeout_s seconds; may be empty."""

    def shutdown(self, *, kill: bool = False) -> None:
        """Stop every worker (kill=True: at once, abandoning tasks in flight); safe to call twice."""


def overdue(task: Task, submitted: float, now: float, timeout_s: float) -> bool:
    """A task still running ``timeout_s`` per run after it was submitted (monotonic seconds)."""
    return now - submitted > timeout_s * len(task)


def timed_out(task: Task, spec: WorkerSpec, submitted_unix: float, timeout_s: float, killed: str) -> list[RunOutcome]:
    """The ``timed_out`` outcomes of a task whose worker (``killed``: what was stopped) was replaced."""
    return task.outcomes("timed_out", spec.worker_id, submitted_unix,
                         f"run exceeded its timeout of {timeout_s:g} s; its {killed} was killed")


EXECUTORS: dict[str, Callable[..., Executor]] = {}
"""Executor registry: name -> factory taking keyword options (e.g. ray_address)."""


def register_executor(name: str) -> Callable[[Callable[..., Executor]], Callable[..., Executor]]:
    def deco(factory: Callable[..., Executor]) -> Callable[..., Executor]:
        EXECUTORS[name] = factory
        return factory

    return deco


def get_executor(name: str, **options: object) -> Executor:
    """Build a registered executor (ConfigError for an unknown name)."""
    import adsgen.campaign.executors  # noqa: F401  (registers the built-in executors; the package imports this module)

    if name not in EXECUTORS:
        raise ConfigError(f"--executor {name!r}: unknown executor; expected one of {', '.join(sorted(EXECUTORS))}")
    return EXECUTORS[name](**options)
