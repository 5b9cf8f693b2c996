"""The campaign driver: plans the runs, hands them to an executor's workers, writes every outcome.

Order of work (so bad input never touches the database): read and validate every scenario, check the
database file is ours (header bytes only), check the agent and executor exist and every CARLA host answers;
only then open (or create) the store, recover runs left 'running' by a dead process, add the missing runs,
and execute the pending ones.

Faults: a run that raises is stored failed with its error; a run over its timeout is stopped by the executor
and stored timed_out; a backend fault (BackendError, or a RunResult with termination BACKEND_FAULT) puts the
run back in the queue (up to ``retries`` times) and keeps that worker idle for an exponentially growing
delay before it reconnects. SIGINT: stop handing out runs, let the runs in flight finish and commit them,
exit with code 130; a second SIGINT abandons the runs in flight (they stay pending for the next resume).
"""

from __future__ import annotations

import collections
import heapq
import itertools
import json
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

import adsgen.campaign.executors  # noqa: F401
from adsgen.campaign.backends import BackendSpec, check_reachable
from adsgen.campaign.config import CampaignConfig
from adsgen.campaign.executors import get_executor
from adsgen.campaign.executors.base import EXECUTORS, Executor
from adsgen.campaign.inputs import load_campaign_scenarios
from adsgen.campaign.store import CampaignStore, check_database, session_lock
from adsgen.campaign.worker import RunOutcome, Task, WorkerSpec, make_agent
from adsgen.errors import BackendError, ConfigError
from adsgen.sim.judge import REFERENCE_AGENTS, check_can_judge

_POLL_S = 0.2  # [s] longest wait for outcomes before the driver looks at retries / signals again


@dataclass
class CampaignSummary:
    """What one `campaign run` did."""

    db: str
    session_id: int
    new_runs: int
    """Runs added to the store by this command."""
    attempted: int = 0
    """Runs this command finished (done, failed or timed_out)."""
    counts: dict[str, int] = field(default_factory=dict)
    """Runs by status in the whole store, at the end."""
    retried: int = 0
    """Backend faults that sent a run back to the queue."""
    interrupted: bool = False
    wall_s: float = 0.0
    run_phase_s: float = 0.0
    """Wall time from the first run handed out to the last outcome [s]."""
    store_s: float = 0.0
    """Wall time spent in run-state writes to the store [s]."""

    @property
    def runs_per_s(self) -> float:
        return self.attempted / self.run_phase_s if self.run_phase_s > 0 else 0.0

    @property
    def store_ms_per_run(self) -> float:
        return 1000.0 * self.store_s / self.attempted if self.attempted else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"db": self.db, "session_id": self.session_id, "new_runs": self.new_runs,
                "attempted": self.attempted, "counts": self.counts, "retried": self.retried,
                "interrupted": self.interrupted, "wall_s": round(self.wall_s, 3),
                "run_phase_s": round(self.run_phase_s, 3), "runs_per_s": round(self.runs_per_s, 2),
                "store_ms_per_run": round(self.store_ms_per_run, 3)}


def backend_key(config: CampaignConfig) -> str:
    """The backend column of the runs' unique key: what simulates, not where (hosts are not part of it)."""
    return config.backend


def worker_specs(config: CampaignConfig, tasks: int | None = None) -> list[WorkerSpec]:
    """One WorkerSpec per worker (no more than `tasks` when given); with CARLA hosts, worker i drives host i."""
    specs = []
    hosts = [h for h, _ in config.carla_hosts]
    n = config.n_workers() if tasks is None else max(1, min(config.n_workers(), tasks))
    for i in range(n):
        options = dict(config.backend_options)
        if config.carla_hosts:
            host, port = config.carla_hosts[i]
            options.update(host=host, port=port)
            if config.backend == "carla" and hosts.count(host) > 1 and "tm_port" not in options:
                options["tm_port"] = 8000 + i  # servers sharing a machine need their own traffic manager port
        specs.append(WorkerSpec(f"w{i}", BackendSpec(config.backend, options), config.agent,
                                judge_ttc_s=config.high_risk_ttc_s))
    return specs


def _check_can_judge(config: CampaignConfig) -> None:
    """Before any worker starts: the judge re-runs high-risk runs, so the backend must be able to re-run a
    scenario (a factory class with ``can_rerun = False`` cannot); ConfigError otherwise."""

    factory = BackendSpec(config.backend, dict(config.backend_options)).factory()
    if factory is not None and config.agent not in REFERENCE_AGENTS:
        check_can_judge(factory)


def _check_agent(name: str) -> None:
    try:
        make_agent(name)
    except KeyError as exc:
        raise ConfigError(f"--agent {name!r}: unknown agent ({exc})") from None


class _Stop:
    """SIGINT bookkeeping: the first request stops dispatching, the second abandons runs in flight."""

    def __init__(self) -> None:
        self.requests = 0

    def __call__(self, signum: int, frame: Any) -> None:
        self.requests += 1


class _Progress:
    """A rich progress bar with done / failed / timed-out counts (silent when disabled)."""

    def __init__(self, total: int, enabled: bool, console: Any = None):
        self.enabled = enabled and total > 0
        self.counts: collections.Counter[str] = collections.Counter()
        if not self.enabled:
            return

        self.progress = Progress(SpinnerColumn(), TextColumn("[bold]campaign"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                 console=console, transient=False)
        self.task = self.progress.add_task("runs", total=total, detail="")
        self.progress.start()

    def advance(self, status: str) -> None:
        self.counts[status] += 1
        if self.enabled:
            c = self.counts
            detail = f"done {c['done']}  failed {c['failed']}  timed out {c['timed_out']}"
            if c["retry"]:
                detail += f"  retries {c['retry']}"
            self.progress.update(self.task, advance=0 if status == "retry" else 1, detail=detail)

    def note(self, text: str) -> None:
        if self.enabled:
            self.progress.console.print(text)

    def close(self) -> None:
        if self.enabled:
            self.progress.stop()


def prepare(config: CampaignConfig) -> list[tuple[Any, str]]:
    """Every check that must pass before the database is touched; returns the scenarios."""
    scenarios = load_campaign_scenarios(config.scenarios)
    check_database(config.db)
    if not Path(config.db).resolve().parent.exists():
        raise ConfigError(f"--db {config.db}: folder {Path(config.db).parent} does not exist")
    _check_agent(config.agent)
    _check_can_judge(config)
    BackendSpec(config.backend, dict(config.backend_options)).factory()  # the backend exists / imports
    if config.executor not in EXECUTORS:
        raise ConfigError(f"--executor {config.executor!r}: unknown; expected one of {', '.join(sorted(EXECUTORS))}")
    if config.carla_hosts and config.preflight:
        check_reachable(config.carla_hosts)
    if config.executor == "ray" and config.ray_address and config.preflight:
        _check_ray_address(config.ray_address)
    return scenarios


def _check_ray_address(address: str) -> None:
    """A TCP check of 'host:port' / 'ray://host:port' (Ray itself retries an absent head for minutes)."""

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # 'auto' and other forms Ray resolves itself
    try:
        with socket.create_connection((host, int(port)), timeout=3.0):
            pass
    except OSError as exc:
        raise BackendError(f"--ray-address {address}: no Ray head answers there ({exc.strerror or exc}); "
                           f"start one with `ray start --head` or leave --ray-address out for a local cluster") from None


def run_campaign(config: CampaignConfig, *, progress: bool = True, console: Any = None) -> CampaignSummary:
    """Run (or resume) a campaign; returns its summary. Raises AdsgenError subclasses for bad input."""
    t_start = time.perf_counter()
    scenarios = prepare(config)
    config_dict = json.loads(config.model_dump_json())
    with session_lock(config.db):
        return _run_locked(config, config_dict, scenarios, t_start, progress=progress, console=console)


def _run_locked(config: CampaignConfig, config_dict: dict[str, Any], scenarios: list[tuple[Any, str]],
                t_start: float, *, progress: bool, console: Any) -> CampaignSummary:
    """run_campaign's work, while this process holds the campaign's session lock."""
    store = CampaignStore.open_or_create(config.db, config=config_dict)
    try:
        store.recover_dead_sessions(locked=True, max_attempts=config.retries + 1)
        if not config.extend:
            _check_same_plan(store, scenarios, config)
        new = store.add_runs(scenarios, config.agent, backend_key(config), range(config.seeds))
        todo = store.runs_to_do(config.agent, backend_key(config), include_failed=config.rerun_failed)
        session_id = store.begin_session(config_dict)
        summary = CampaignSummary(db=str(config.db), session_id=session_id, new_runs=new)
        state = "finished"
        try:
            _execute(config, store, session_id, todo, summary, progress=progress, console=console)
            if summary.interrupted:
                state = "interrupted"
        except BaseException:
            state = "interrupted"
            raise
        finally:
            store.end_session(session_id, state)
            summary.counts = store.counts()
            summary.store_s = store.store_s
            summary.wall_s = time.perf_counter() - t_start
        return summary
    finally:
        store.close()


def _check_same_plan(store: CampaignStore, scenarios: list[tuple[Any, str]], config: CampaignConfig) -> None:
    """ConfigError saying what differs when a resume names other runs than the stored ones (without --extend)."""
    stored = store.planned_runs(config.agent, backend_key(config))
    if not stored:
        return
    names = {s.content_hash(): s.name for s, _ in scenarios}
    planned = {(h, seed) for h in names for seed in range(config.seeds)}
    if planned == stored:
        return
    added, dropped = planned - stored, stored - planned
    parts = []
    if added:
        new_scen = sorted({names[h] for h, _ in added if h not in {sh for sh, _ in stored}})
        new_seeds = sorted({s for _, s in added} - {s for _, s in stored})
        parts.append(f"{len(added)} run(s) not in the database"
                     + (f" (new scenarios: {', '.join(new_scen[:3])}{', ...' if len(new_scen) > 3 else ''})"
                        if new_scen else "")
                     + (f" (new seeds: {', '.join(map(str, new_seeds[:5]))})" if new_seeds else ""))
    if dropped:
        parts.append(f"{len(dropped)} stored run(s) this command does not name (they stay in the campaign)")
    raise ConfigError(f"{config.db}: this command plans another campaign than the one stored for agent "
                      f"{config.agent!r} on {backend_key(config)!r}: {'; '.join(parts)}; rerun with the same "
                      "scenarios and --seeds to resume, or add --extend to add the new runs")


@dataclass
class _Run:
    """A run waiting in the driver's queue."""

    run_id: int
    spec: dict[str, Any]
    seed: int
    single: bool = False
    """Run it alone (its batch timed out or lost its worker)."""


def _take_batch(queue: collections.deque[_Run], size: int) -> list[_Run]:
    """The next runs to hand out together: the head of the queue plus following runs of the same seed."""
    batch = [queue.popleft()]
    if batch[0].single:
        return batch
    while queue and len(batch) < size and queue[0].seed == batch[0].seed and not queue[0].single:
        batch.append(queue.popleft())
    return batch


def _hand_out(executor: Executor, queue: collections.deque[_Run], batch_size: int, store: CampaignStore,
              session_id: int, attempts: dict[int, int], not_before: dict[str, float], now: float) -> bool:
    """Give each free worker that may run now (not backing off) its next batch; True if any was given."""
    given = False
    for w in executor.free_workers():
        if not queue:
            break
        if not_before[w] > now:
            continue
        batch = _take_batch(queue, batch_size)
        ids = tuple(r.run_id for r in batch)
        attempts.update(store.mark_running(ids, session_id, w))
        executor.submit(w, Task(ids, tuple(r.spec for r in batch), batch[0].seed))
        given = True
    return given


def _wait_s(now: float, retry_heap: list[tuple[float, int, _Run]], not_before: dict[str, float],
            queued: bool) -> float:
    """[s] how long to wait for outcomes: the poll interval, or less when a retry or a worker's backoff
    ends sooner."""
    wait_s = _POLL_S
    if retry_heap:
        wait_s = min(wait_s, max(0.0, retry_heap[0][0] - now))
    waiting = [t - now for t in not_before.values() if t > now]
    if waiting and queued:
        wait_s = min(wait_s, min(waiting))
    return wait_s


def _execute(config: CampaignConfig, store: CampaignStore, session_id: int,
             todo: tuple[list[tuple[int, int, str]], dict[str, dict[str, Any]]], summary: CampaignSummary, *,
             progress: bool, console: Any) -> None:
    rows, specs = todo
    runs = [_Run(run_id, specs[h], seed) for run_id, seed, h in rows]  # runs of one scenario share its spec
    if not runs:
        return
    if config.batch_size > 1:  # neighbours in the queue share a seed, so batches fill up
        runs.sort(key=lambda r: (r.seed, r.run_id))
    queue: collections.deque[_Run] = collections.deque(runs)
    by_id = {r.run_id: r for r in runs}
    attempts: dict[int, int] = {}
    retry_heap: list[tuple[float, int, _Run]] = []  # (monotonic time it may run again, tiebreak, run)
    tiebreak = itertools.count()
    faults: dict[str, int] = collections.defaultdict(int)  # worker -> consecutive backend faults
    not_before: dict[str, float] = collections.defaultdict(float)  # worker -> monotonic time it may reconnect

    options: dict[str, Any] = {}
    if config.executor == "ray":
        options["ray_address"] = config.ray_address
    executor = get_executor(config.executor, **options)
    stop = _Stop()
    in_main = threading.current_thread() is threading.main_thread()
    previous_handler = signal.signal(signal.SIGINT, stop) if in_main else None
    bar = _Progress(len(queue), progress, console)
    t_first: float | None = None
    t_last = time.perf_counter()
    try:
        executor.start(worker_specs(config, tasks=-(-len(runs) // config.batch_size)), config.timeout_s)
        while queue or retry_heap or executor.in_flight():
            if stop.requests >= 2:
                summary.interrupted = True
                break
            if stop.requests == 1 and not summary.interrupted:
                summary.interrupted = True
                bar.note(f"[yellow]interrupted: finishing {len(executor.in_flight())} task(s) in flight "
                         f"(Ctrl-C again to abandon them)")
            now = time.monotonic()
            while retry_heap and retry_heap[0][0] <= now:
                queue.appendleft(heapq.heappop(retry_heap)[2])
            if not summary.interrupted:
                if _hand_out(executor, queue, config.batch_size, store, session_id, attempts, not_before, now):
                    t_first = time.perf_counter() if t_first is None else t_first
            elif not executor.in_flight():
                break
            outcomes = executor.wait(_wait_s(now, retry_heap, not_before, bool(queue)))
            if outcomes:
                t_last = time.perf_counter()
                with store.transaction():  # the outcomes that arrived together commit together
                    for o in outcomes:
                        again = _record(config, store, o, attempts, faults, not_before, summary, bar)
                        if again is not None:
                            run = by_id[o.run_id]
                            run.single = run.single or again == "single"
                            heapq.heappush(retry_heap, (time.monotonic(), next(tiebreak), run))
    finally:
        executor.shutdown(kill=stop.requests >= 2)
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)
        bar.close()
        summary.run_phase_s = (t_last - t_first) if t_first is not None else 0.0


def _record(config: CampaignConfig, store: CampaignStore, o: RunOutcome, attempts: dict[int, int],
            faults: dict[str, int], not_before: dict[str, float], summary: CampaignSummary,
            bar: _Progress) -> str | None:
    """Write one outcome to the store. Returns 'retry' (backend fault) or 'single' (its batch timed out or
    lost its worker: rerun it alone) when the run goes back to the queue, else None."""
    common: dict[str, Any] = {"worker": o.worker, "started_at": o.started_at, "finished_at": o.finished_at, "wall_s": o.wall_s}
    if o.kind in ("timed_out", "worker_lost") and o.batch > 1:
        store.mark_pending(o.run_id, o.error)
        return "single"
    if o.kind == "backend_fault":
        faults[o.worker] += 1
        delay = min(config.backoff_max_s, config.backoff_s * 2 ** (faults[o.worker] - 1))
        not_before[o.worker] = time.monotonic() + delay
        if attempts[o.run_id] <= config.retries:
            store.mark_pending(o.run_id, o.error)
            summary.retried += 1
            bar.advance("retry")
            return "retry"
        store.finish_error(o.run_id, "failed", f"backend fault, gave up after {attempts[o.run_id]} attempts: "
                           f"{o.error}", **common)
        status = "failed"
    elif o.kind == "ok":
        faults[o.worker] = 0
        assert o.result is not None
        store.finish_done(o.run_id, o.result, high_risk_ttc_s=config.high_risk_ttc_s, **common)
        status = "done"
    elif o.kind == "timed_out":
        store.finish_error(o.run_id, "timed_out", o.error or "timed out", **common)
        status = "timed_out"
    else:  # error, worker_lost
        faults[o.worker] = 0 if o.kind == "error" else faults[o.worker]
        store.finish_error(o.run_id, "failed", o.error or o.kind, **common)
        status = "failed"
    summary.attempted += 1
    bar.advance(status)
    return None
