"""The configuration of one `adsgen campaign run` (stored with each session for provenance and replay)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from adsgen.sim.types import HIGH_RISK_TTC_S


class CampaignConfig(BaseModel):
    """Options of a campaign run. Unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scenarios: list[str] = Field(description="Scenario YAML files or folders (seed files count as their nominal scenario).")
    db: str = Field(description="The campaign database file (created when missing, resumed otherwise).")
    agent: str = Field("idm", description="Agent under test (adsgen.sim.agents registry name).")
    backend: str = Field("builtin", description="Backend registry name or import path 'module:Factory'.")
    backend_options: dict[str, Any] = Field(default_factory=dict, description="Keyword options for every backend.")
    executor: str = Field("processes", description="inline, processes or ray (executor registry name).")
    workers: int = Field(2, ge=1, le=4096, description="Workers (processes or Ray actors); one per CARLA host when hosts are given.")
    carla_hosts: list[tuple[str, int]] = Field(default_factory=list, description="CARLA servers, one per worker: (host, port).")
    ray_address: str | None = Field(None, description="Existing Ray cluster to join; None starts a local one.")
    timeout_s: float | None = Field(120.0, gt=0.0, description="Wall-time limit of one run attempt [s]; None for none.")
    retries: int = Field(3, ge=0, le=100, description="Retries of a run after a backend fault (lost server).")
    batch_size: int = Field(1, ge=1, le=4096, description=(
        "Runs (of one simulation seed) per backend call; a batched backend (builtin) runs them at once. "
        "A batch that raises is rerun run by run; one over batch_size x timeout_s is retried run by run."))
    seeds: int = Field(1, ge=1, le=100000, description="Runs per scenario, with simulation seeds 0..seeds-1.")
    rerun_failed: bool = Field(False, description="Also rerun runs stored as failed or timed_out.")
    extend: bool = Field(False, description="Resume with other scenarios or seeds: add their runs to the stored "
                                            "campaign (without it such a resume is refused, naming what differs).")
    backoff_s: float = Field(1.0, ge=0.0, description="First reconnect delay after a backend fault [s]; doubles per consecutive fault.")
    backoff_max_s: float = Field(60.0, ge=0.0, description="Cap of the reconnect delay [s].")
    high_risk_ttc_s: float = Field(HIGH_RISK_TTC_S, gt=0.0, description="min-TTC threshold of a near miss [s].")
    preflight: bool = Field(True, description="Check every CARLA host (and the Ray head) answers on TCP before touching the database.")

    @model_validator(mode="after")
    def _check(self) -> CampaignConfig:
        if self.carla_hosts and self.executor == "inline" and len(self.carla_hosts) != 1:
            raise ValueError("the inline executor drives one CARLA server: give one --carla-hosts entry")
        return self

    def n_workers(self) -> int:
        if self.executor == "inline":
            return 1
        return len(self.carla_hosts) if self.carla_hosts else self.workers
