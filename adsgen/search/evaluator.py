"""Runs candidate scenarios in the simulator for a search method, on a fixed budget, and keeps score.

Every method (CBN-guided, random, genetic) proposes Candidates and hands them to the same Evaluator:
same backend, same agent, same budget accounting, same definition of high-risk and of distinct.

* Distinct means distinct worlds: two scenarios are the same when their compiled scenarios are equal with
  every searched parameter at its bin centre and the factors reduced to what they do to the simulation
  (friction, the sensing model, the road, traffic control, speeds, the adversary's manoeuvre and
  impairment as compiled into the scenario). The old label key (factor states + bins) is kept as a
  secondary count (``label_keys``).
* Every high-risk run is judged (``adsgen.sim.judge``): the careful driver's re-run, and the omniscient check's where the
  careful driver is not safe too (it cannot change the verdict elsewhere), counted against the budget
  (a budget of N is N simulated runs, references included). The archive keeps every distinct high-risk
  world with its verdict; ``valid`` holds the distinct valid failures, the figure methods are ranked by.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from adsgen.scenario.model import Scenario
from adsgen.search.space import SeedSpace, factor_key
from adsgen.sim.judge import REFERENCE_AGENTS, Verdict, judge, verdict
from adsgen.sim.types import HIGH_RISK_TTC_S, Agent, Backend, RunResult

VALID = Verdict.VALID_FAILURE.value

SEED_PAPER_DISTINCT = 89
"""[distinct high-risk scenarios] what the seed paper (Zhao et al. 2024, arXiv 2405.16063) found from 5 seeds
in 22 iterations; "runs to 89" (Evaluator.runs_to) is how many simulated runs a method needs for as many."""
RUNS_TO_SEED_PAPER = f"runs_to_{SEED_PAPER_DISTINCT}"
"""The key of that figure in search records and benchmark JSON."""


@dataclass(frozen=True)
class Candidate:
    """A point of the search space: one seed, one factor combination, one parameter vector."""

    space: SeedSpace
    factors: dict[str, str]
    unit: np.ndarray  # (params,) in [0, 1]


@dataclass
class CandidateOutcome:
    """A simulated candidate."""

    candidate: Candidate
    scenario: Scenario
    result: RunResult
    key: tuple
    high_risk: bool
    new: bool
    """True when this run added a distinct high-risk world to the archive."""
    run_index: int
    """1-based index of this run in the search's budget."""
    new_valid: bool = False
    """True when this run added a distinct valid failure."""

    @property
    def verdict(self) -> str | None:
        return self.result.verdict

    @property
    def fitness(self) -> float:
        """Lower is better for the search: a valid failure first (-100 - impact speed), then collisions
        (-1 - impact speed) and low min TTC [s, capped at 10]; a run judged unavoidable or not the ego's
        fault ranks with a safe run (10)."""
        v = self.result.verdict
        if v in (Verdict.UNAVOIDABLE.value, Verdict.NOT_AT_FAULT.value):
            return 10.0
        impact = float(self.result.impact_speed_mps or 0.0)
        if v == VALID:
            return -100.0 - impact
        if self.result.collided:
            return -1.0 - impact
        return float(min(self.result.min_ttc_s, 10.0))


@dataclass
class Found:
    """A distinct high-risk world: its first high-risk run, replaced by its first valid failure once one is
    found (so the archive's verdicts agree with the count of distinct valid failures)."""

    outcome: CandidateOutcome
    risk: float | None = None
    log_plausibility: float | None = None


@dataclass
class ProgressPoint:
    runs: int
    distinct_high_risk: int
    wall_s: float
    iteration: int
    valid_failures: int = 0


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
    judge_runs: bool = True
    """Judge high-risk runs with the reference drivers (two runs each, from the budget)."""
    judge_filter: Callable[[list[Candidate]], list[bool]] | None = None
    """Set by a method that spends reference runs only on likely candidates: given the high-risk candidates
    of a batch, which to judge (the others stay unjudged: no verdict, never a valid failure)."""
    archive: dict[tuple, Found] = field(default_factory=dict)
    """Distinct high-risk worlds (key -> first found), each with its verdict."""
    valid: dict[tuple, Found] = field(default_factory=dict)
    """Distinct valid failures (key -> first found as a valid failure)."""
    label_keys: set = field(default_factory=set)
    """Distinct high-risk label keys (factor states + manoeuvres + bins): the old, secondary count."""
    reference_runs: int = 0
    """Runs of the reference drivers (part of ``runs``)."""
    agent_runs: int = 0
    curve: list[ProgressPoint] = field(default_factory=list)
    outcomes: list[CandidateOutcome] = field(default_factory=list)
    runs: int = 0
    iteration: int = 0
    _t0: float = field(default_factory=time.perf_counter)

    @property
    def remaining(self) -> int:
        return self.budget - self.runs

    def label_key(self, cand: Candidate, scenario: Scenario) -> tuple:
        """The old distinct key: seed, factor states, manoeuvres, parameter bins."""
        manoeuvres = tuple(sorted((a.id, a.manoeuvre.type) for a in scenario.actors))
        return (cand.space.name, factor_key(cand.factors), manoeuvres, cand.space.bin_index(cand.unit))

    def key(self, cand: Candidate, scenario: Scenario | None = None) -> tuple:
        """The distinct-world key (see the module docstring)."""
        from adsgen.scenario.mapping import world_effects

        sp = cand.space
        centre = (np.array(sp.bin_index(cand.unit)) + 0.5) / np.maximum(sp.bins, 1)
        binned = self.instantiate(sp, cand.factors, sp.to_params(centre), "key")
        return (sp.name, world_effects(binned.factors), binned.model_copy(
            update={"factors": sp.seed.scenario.factors}).content_hash())

    def evaluate(self, candidates: Sequence[Candidate]) -> list[CandidateOutcome]:
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
        first = self.runs
        self.runs += len(candidates)
        self.agent_runs += len(candidates)
        if self.judge_runs and getattr(self.agent, "name", None) not in REFERENCE_AGENTS:
            risky = [i for i, r in enumerate(results) if r.high_risk(self.ttc_threshold_s)]
            for i in risky:  # the at-fault rules already clear these: no reference run can change the verdict
                if results[i].at_fault is False:
                    results[i].verdict = verdict(results[i]).value
            risky = [i for i in risky if results[i].at_fault is not False]
            if self.judge_filter is not None and risky:
                keep = self.judge_filter([candidates[i] for i in risky])
                risky = [i for i, k in zip(risky, keep, strict=True) if k]
            risky = risky[: max(self.remaining, 0) // 2]  # references count against the budget (at most two each)
            if risky:
                n = judge([results[i] for i in risky], [scenarios[i] for i in risky], self.backend, self.sim_seed,
                          self.ttc_threshold_s, solvability="when_needed")
                self.runs += n
                self.reference_runs += n
        out = []
        for j, (c, s, r) in enumerate(zip(candidates, scenarios, results, strict=True)):
            k = self.key(c, s)
            hr = r.high_risk(self.ttc_threshold_s)
            new = hr and k not in self.archive
            o = CandidateOutcome(c, s, r, k, hr, new, first + j + 1)
            if new:
                self.archive[k] = Found(o)
            if hr:
                self.label_keys.add(self.label_key(c, s))
            if r.verdict == VALID and k not in self.valid:
                o.new_valid = True
                self.valid[k] = Found(o)
                self.archive[k] = self.valid[k]  # the world is kept as the run that shows its valid failure
            out.append(o)
        self.outcomes.extend(out)
        self.curve.append(ProgressPoint(self.runs, len(self.archive), time.perf_counter() - self._t0,
                                     self.iteration, len(self.valid)))
        if self.progress is not None:
            self.progress(self.runs - first)
        return out

    def known(self, cand: Candidate) -> bool:
        """Whether the candidate's world is already in the archive (a method may skip re-simulating it)."""
        return self.key(cand) in self.archive

    def verdicts(self) -> dict[str, int]:
        """Distinct high-risk worlds per verdict ('unjudged' when the budget left no reference runs)."""
        out: dict[str, int] = {}
        for f in self.archive.values():
            v = f.outcome.result.verdict or "unjudged"
            out[v] = out.get(v, 0) + 1
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
