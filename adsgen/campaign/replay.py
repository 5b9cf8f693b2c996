"""Replay one stored run: rebuild its scenario, seed, agent and backend from the store, run it again in this
process, and compare the outcome field by field with what was stored (warning when versions differ)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from adsgen.campaign.backends import BackendSpec, ImportTrust
from adsgen.campaign.store import CampaignStore
from adsgen.campaign.worker import RunOutcome, Task, WorkerRuntime, WorkerSpec
from adsgen.errors import InputError
from adsgen.provenance import versions

COMPARED = ("termination", "collision_partner", "impact_speed_mps", "collision_time_s", "min_ttc_s",
            "min_distance_m", "pet_s", "duration_s", "at_fault", "verdict")
"""RunResult fields a replay must reproduce."""
_TOLERANCE = 1e-6  # relative and absolute tolerance on floats


@dataclass
class ReplayReport:
    run_id: int
    scenario: str
    seed: int
    agent: str
    backend: str
    stored_status: str
    replay_status: str
    same: bool
    differences: list[dict[str, Any]] = field(default_factory=list)
    version_changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """package -> (recorded, now) for packages whose version differs."""
    stored: dict[str, Any] | None = None
    replayed: dict[str, Any] | None = None
    error: str | None = None
    outcome: RunOutcome | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "scenario": self.scenario, "seed": self.seed, "agent": self.agent,
                "backend": self.backend, "stored_status": self.stored_status, "replay_status": self.replay_status,
                "same": self.same, "differences": self.differences,
                "version_changes": {k: list(v) for k, v in self.version_changes.items()},
                "stored": self.stored, "replayed": self.replayed, "error": self.error}


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if math.isinf(a) or math.isinf(b):
            return a == b
        return math.isclose(a, b, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE)
    return a == b


def run_spec(store: CampaignStore, run: dict[str, Any], backend_options: dict[str, Any] | None = None,
             trust: ImportTrust = ImportTrust()) -> tuple[WorkerSpec, dict[str, Any]]:
    """The WorkerSpec that reproduces a stored run (from the config of the session that ran it); InputError
    when its backend or agent is an import path that TRUST does not allow (nothing is imported)."""
    source = f"{store.path}: run {run['id']}"
    trust.check("backend", str(run["backend"]), source)
    trust.check("agent", str(run["agent"]), source)
    session = store.session(run["session_id"]) if run.get("session_id") else None
    cfg = session["config"] if session else store.campaign()["config"]
    options = dict(cfg.get("backend_options", {}))
    hosts = cfg.get("carla_hosts") or []
    if hosts:
        options.update(host=hosts[0][0], port=hosts[0][1])
    options.update(backend_options or {})
    recorded_versions = session["versions"] if session else store.campaign()["versions"]
    return WorkerSpec("replay", BackendSpec(run["backend"], options), run["agent"]), recorded_versions


def replay_run(store: CampaignStore, run_id: int, *, backend_options: dict[str, Any] | None = None,
               record_trajectories: bool = False, trust: ImportTrust = ImportTrust()) -> ReplayReport:
    """Rerun stored run RUN_ID and compare (InputError when there is no such run)."""
    run = store.run(run_id)
    if run is None:
        raise InputError(f"{store.path}: no run with id {run_id}")
    spec, recorded = run_spec(store, run, backend_options, trust)
    if record_trajectories:
        spec = WorkerSpec(spec.worker_id, spec.backend, spec.agent, record_trajectories=True)
    now = versions()
    changes = {k: (recorded.get(k), now.get(k)) for k in sorted(set(recorded) | set(now))
               if recorded.get(k) != now.get(k)}
    task = Task((run_id,), (json.loads(run["spec_json"]),), int(run["seed"]))
    runtime = WorkerRuntime(spec)
    try:
        (outcome,) = runtime.execute(task)
    finally:
        runtime.close()
    replay_status = {"ok": "done", "timed_out": "timed_out"}.get(outcome.kind, "failed")
    stored = json.loads(run["result_json"]) if run["result_json"] else None
    report = ReplayReport(run_id=run_id, scenario=run["scenario_name"], seed=int(run["seed"]), agent=run["agent"],
                          backend=run["backend"], stored_status=run["status"], replay_status=replay_status,
                          same=False, version_changes=changes, stored=stored, replayed=outcome.result,
                          error=outcome.error, outcome=outcome)
    if run["status"] == "done" and outcome.kind == "ok":
        assert stored is not None and outcome.result is not None
        for k in COMPARED:
            a, b = stored.get(k), outcome.result.get(k)
            if k == "verdict" and a is None:
                continue  # stored without judging (e.g. a search's last runs): nothing to compare the verdict with
            if not _same_value(a, b):
                report.differences.append({"field": k, "stored": a, "replay": b})
        report.same = not report.differences
    elif run["status"] in ("failed", "timed_out") and replay_status == "failed":
        first = lambda e: (e or "").splitlines()[0]  # noqa: E731
        report.same = first(run["error"]) == first(outcome.error)
        if not report.same:
            report.differences.append({"field": "error", "stored": first(run["error"]),
                                       "replay": first(outcome.error)})
    else:
        report.differences.append({"field": "status", "stored": run["status"], "replay": replay_status})
    return report
