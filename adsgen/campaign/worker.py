"""What runs inside a campaign worker (the driver process, a worker process, or a Ray actor).

A worker owns one long-lived backend and one agent, builds the backend lazily (and again after a
backend fault: the driver spaces those reconnects with exponential backoff) and turns each Task into an
RunOutcome. It never touches the store: the driver writes every result.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any, Literal

from adsgen.campaign.backends import BackendSpec
from adsgen.errors import BackendError, ConfigError
from adsgen.registry import resolve_import
from adsgen.scenario.model import Scenario
from adsgen.sim.agents import get_agent
from adsgen.sim.judge import REFERENCE_AGENTS, judge
from adsgen.sim.types import HIGH_RISK_TTC_S, TerminationReason

OutcomeKind = Literal["ok", "error", "backend_fault", "timed_out", "worker_lost"]


@dataclass(frozen=True)
class WorkerSpec:
    """What one worker needs: its id, its backend and the agent under test."""

    worker_id: str
    backend: BackendSpec
    agent: str
    record_trajectories: bool = False
    judge_ttc_s: float | None = HIGH_RISK_TTC_S
    """Judge high-risk runs (adsgen.sim.judge) at this near-miss threshold [s]; None: do not judge."""


@dataclass(frozen=True)
class Task:
    """One attempt of one or more runs that share a simulation seed (one backend call: a batch)."""

    run_ids: tuple[int, ...]
    scenario_specs: tuple[dict[str, Any], ...]
    seed: int

    def __len__(self) -> int:
        return len(self.run_ids)

    def singles(self) -> list[Task]:
        """One task per run."""
        return [Task((r,), (s,), self.seed) for r, s in zip(self.run_ids, self.scenario_specs, strict=True)]

    def outcomes(self, kind: OutcomeKind, worker: str, started_at: float, error: str) -> list[RunOutcome]:
        """The same non-result outcome for every run of the task."""
        now = time.time()
        return [RunOutcome(r, kind, worker, started_at, now, error=error, batch=len(self)) for r in self.run_ids]


@dataclass(frozen=True)
class RunOutcome:
    """What became of one run of a Task. Times are unix seconds."""

    run_id: int
    kind: OutcomeKind
    worker: str
    started_at: float
    finished_at: float
    result: dict[str, Any] | None = None
    """RunResult.to_dict() when kind == 'ok'."""
    error: str | None = None
    batch: int = 1
    """Runs in the task it came from (a batch that timed out or lost its worker is retried run by run)."""

    @property
    def wall_s(self) -> float:
        return self.finished_at - self.started_at


def _error_text(exc: BaseException, limit: int = 4000) -> str:
    """'Type: message' plus the innermost frames, bounded in size."""
    tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
    head = f"{type(exc).__name__}: {exc}"
    tail = "".join(tb[-3:])
    text = head + "\n" + tail
    return text if len(text) <= limit else text[: limit - 3] + "..."


def make_agent(name: str) -> Any:
    """An agent by registry spec (adsgen.sim.agents: 'idm', 'vlm:DIR') or, when no registered agent has that
    prefix, by import path 'package.module:Factory' (a callable taking no arguments)."""
    try:
        return get_agent(name)
    except ConfigError as registry_error:
        module_name, sep, attr = name.partition(":")
        if not sep:
            raise
        try:
            factory = resolve_import(name, "--agent")
        except ConfigError:
            raise registry_error from None
        try:
            agent = factory()
        except Exception as exc:  # a callable that is not an agent factory (e.g. os:system)
            raise ConfigError(f"--agent {name}: calling {attr}() from {module_name} failed "
                              f"({type(exc).__name__}: {str(exc)[:160]}); expected an agent factory") from None
        if not callable(getattr(agent, "act", None)):
            raise ConfigError(f"--agent {name}: {attr}() returned {type(agent).__name__}, not an agent "
                              "(an object with act())") from None
        return agent


class WorkerRuntime:
    """One worker's backend and agent; ``execute`` runs a Task and never raises for a run's own failure."""

    def __init__(self, spec: WorkerSpec):
        self.spec = spec
        self.agent = make_agent(spec.agent)
        self.backend: Any = None

    def _drop_backend(self) -> None:
        if self.backend is not None:
            try:
                self.backend.close()
            except Exception:  # a dead server's backend may fail to close; it is dropped either way
                pass
            self.backend = None

    def execute(self, task: Task) -> list[RunOutcome]:
        """Run a task in one backend call; a batch that raises is rerun run by run to find the culprit."""

        started = time.time()
        w = self.spec.worker_id
        n = len(task)
        try:
            scenarios = [Scenario.model_validate(spec) for spec in task.scenario_specs]
            if self.backend is None:
                self.backend = self.spec.backend.build()
            results = self.backend.run(scenarios, self.agent, task.seed,
                                       record_trajectories=self.spec.record_trajectories)
            if len(results) != n:
                raise RuntimeError(f"backend returned {len(results)} results for {n} scenario(s)")
            if self.spec.judge_ttc_s is not None and self.spec.agent not in REFERENCE_AGENTS:
                ok = [i for i, r in enumerate(results) if r.termination is not TerminationReason.BACKEND_FAULT]
                judge([results[i] for i in ok], [scenarios[i] for i in ok], self.backend, task.seed,
                      self.spec.judge_ttc_s, evasive_runs=None)  # no budget: the evasive check wherever needed
        except ConfigError:
            raise  # e.g. a backend that cannot re-run scenarios for the judge: the whole campaign is wrong
        except BackendError as exc:
            self._drop_backend()
            return task.outcomes("backend_fault", w, started, _error_text(exc))
        except Exception as exc:
            if n > 1:
                return [o for single in task.singles() for o in self.execute(single)]
            return task.outcomes("error", w, started, _error_text(exc))
        finished = time.time()
        out = []
        for run_id, result in zip(task.run_ids, results, strict=True):
            if result.termination is TerminationReason.BACKEND_FAULT:
                out.append(RunOutcome(run_id, "backend_fault", w, started, finished, batch=n,
                                   error=f"BackendError: {result.extra.get('error', 'the backend reported a fault')}"))
            else:
                out.append(RunOutcome(run_id, "ok", w, started, finished, result=result.to_dict(), batch=n))
        if any(o.kind == "backend_fault" for o in out):
            self._drop_backend()
        return out

    def close(self) -> None:
        self._drop_backend()
