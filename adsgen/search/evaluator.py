"""Runs candidate scenarios in the simulator for a search method, on a fixed budget, and keeps score.

Every method (CBN-guided, random, genetic) proposes Candidates and hands them to the same Evaluator:
same backend, same agent, same budget accounting, same definition of high-risk and of distinct.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from adsgen.scenario.model import Scenario
from adsgen.search.space import SeedSpace, factor_key
from adsgen.sim.types import HIGH_RISK_TTC_S, Agent, Backend, RunResult


@dataclass(frozen=True)
class Candidate:
    """A point of the search space: one seed, one factor combination, one parameter vector."""

    space: SeedSpace
    factors: dict[str, str]
    unit: np.ndarray  # (params,) in [0, 1]


@dataclass
class Outcome:
    """A simulated candidate."""

    candidate: Candidate
    scenario: Scenario
    result: RunResult
    key: tuple
    high_risk: bool
    new: bool
    """True when this run added a distinct high-risk scenario to the archive."""
    run_index: int
    """1-based index of this run in the search's budget."""

    @property
    def fitness(self) -> float:
        """Lower is riskier: min TTC in s (capped at 10), -1 - impact speed for a collision."""
        if self.result.collided:
            return -1.0 - float(self.result.impact_speed_mps or 0.0)
        return float(min(self.result.min_ttc_s, 10.0))


@dataclass
class Found:
    """A distinct high-risk scenario, as first found."""

    outcome: Outcome
    risk: float | None = None
    log_plausibility: float | None = None


@dataclass
class CurvePoint:
    runs: int
    distinct_high_risk: int
    wall_s: float
    iteration: int


class BudgetExhausted(Exception):
    """Raised by Evaluator.evaluate when no budget is left."""


@dataclass
class Evaluator:
    """Simulates candidates against the agent under test, within a budget of simulated runs."""

    backend: Backend
    agent: Agent
    budget: int
    instantiate: Callable[[SeedSpace, dict[str, str], dict[str, float], str], Scenario]
    sim_seed: int = 0
    ttc_threshold_s: float = HIGH_RISK_TTC_S
    progress: Callable[[int], None] | None = None
    archive: dict[tuple, Found] = field(default_factory=dict)
    curve: list[CurvePoint] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    runs: int = 0
    iteration: int = 0
    _t0: float = field(default_factory=time.perf_counter)

    @property
    def remaining(self) -> int:
        return self.budget - self.runs

    def key(self, cand: Candidate, scenario: Scenario) -> tuple:
        manoeuvres = tuple(sorted((a.id, a.manoeuvre.type) for a in scenario.actors))
        return (cand.space.name, factor_key(cand.factors), manoeuvres, cand.space.bin_index(cand.unit))

    def evaluate(self, candidates: Sequence[Candidate]) -> list[Outcome]:
        """Simulate up to the remaining budget (in one batch); returns the outcomes in order."""
        if self.remaining <= 0:
            raise BudgetExhausted
        candidates = list(candidates)[: self.remaining]
        if not candidates:
            return []
        scenarios = []
        for i, c in enumerate(candidates):
            name = f"{c.space.name}-{self.runs + i + 1:06d}"
            scenarios.append(self.instantiate(c.space, c.factors, c.space.to_params(c.unit), name))
        results = self.backend.run(scenarios, self.agent, self.sim_seed)
        out = []
        for c, s, r in zip(candidates, scenarios, results, strict=True):
            self.runs += 1
            k = self.key(c, s)
            hr = r.high_risk(self.ttc_threshold_s)
            new = hr and k not in self.archive
            o = Outcome(c, s, r, k, hr, new, self.runs)
            if new:
                self.archive[k] = Found(o)
            out.append(o)
        self.outcomes.extend(out)
        self.curve.append(CurvePoint(self.runs, len(self.archive), time.perf_counter() - self._t0,
                                     self.iteration))
        if self.progress is not None:
            self.progress(len(candidates))
        return out

    def runs_to(self, n_distinct: int) -> int | None:
        """Simulated runs until n_distinct distinct high-risk scenarios were found (None if never)."""
        count = 0
        for o in self.outcomes:
            count += o.new
            if count >= n_distinct:
                return o.run_index
        return None

    @property
    def wall_s(self) -> float:
        return time.perf_counter() - self._t0
