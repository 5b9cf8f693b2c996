"""One search run end to end: load seeds and CBN, build the method, search, return what was found."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path

import numpy as np

from adsgen.errors import ConfigError, InputError
from adsgen.scenario.model import Seed
from adsgen.search.coverage import Coverage, CrashCoverage
from adsgen.search.evaluator import Evaluator
from adsgen.search.methods import MethodContext, build_method, get_spec, method_names
from adsgen.search.risk import CBNRisk
from adsgen.search.space import SeedSpace
from adsgen.sim.types import HIGH_RISK_TTC_S
from adsgen.variables import STATES


@dataclass(frozen=True)
class SearchConfig:
    """Options of one search run."""

    method: str = "cbn"
    """A registered search method (adsgen.search.methods: cbn, random, ga, natural, cbn_blind, ...)."""
    budget: int = 2000
    """Simulated runs, all seeds together."""
    seed: int = 0
    """Random seed of the method and of the simulator."""
    agent: str = "idm"
    """Agent under test (agent registry spec)."""
    backend: str = "builtin"
    """Simulator backend (backend registry name)."""
    do: bool = False
    """Rank factor combinations by the interventional risk P(severity | do(factors))."""
    ttc_threshold_s: float = HIGH_RISK_TTC_S
    """A run is high-risk when the ego collides or its min TTC falls below this [s]."""
    ego_over_limit: float = 1.0
    """Optional speeding setting, off by default: the ego's set speed as a multiple of the posted limit."""

    def __post_init__(self) -> None:
        if self.method not in method_names():
            raise ConfigError(f"--method {self.method!r}: expected one of {', '.join(method_names())}")
        if self.budget <= 0:
            raise ConfigError(f"--budget must be a positive number of simulated runs, got {self.budget}")
        if self.ttc_threshold_s <= 0:
            raise ConfigError(f"--ttc-threshold must be > 0 s, got {self.ttc_threshold_s}")
        from adsgen.scenario.mapping import EGO_OVER_LIMIT_MAX

        if not 1.0 <= self.ego_over_limit <= EGO_OVER_LIMIT_MAX:
            raise ConfigError(f"--ego-over-limit must be 1.0 (off: the posted limit) to {EGO_OVER_LIMIT_MAX}, "
                              f"got {self.ego_over_limit}")


@dataclass
class SearchResult:
    config: SearchConfig
    seeds: list[str]
    evaluator: Evaluator
    risk: CBNRisk | None
    wall_s: float
    extra: dict = field(default_factory=dict)
    coverage: Coverage | None = None
    """Crash-weighted coverage of the distinct valid failures (adsgen.search.coverage); None without a CBN."""
    coverage_curve: list[float] = field(default_factory=list)
    """Coverage after each point of the evaluator's search curve."""

    @property
    def found(self):
        return list(self.evaluator.archive.values())


def load_risk_model(model_dir: str | Path, *, do: bool = False) -> CBNRisk:
    """The compiled CBN of a model folder; it must be over adsgen's canonical variables and states."""
    from adsgen.cbn import load_model

    if model_dir is None or not Path(model_dir).exists():
        raise InputError(f"{model_dir}: no such model folder (make one with `adsgen cbn learn`)")
    model = load_model(model_dir, expected_variables=STATES)
    return CBNRisk(model.compiled(), do=do)


def seed_spaces(seeds: list[Seed]) -> list[SeedSpace]:
    if not seeds:
        raise InputError("no seeds given: expected a folder of seed YAML files (e.g. data/seeds)")
    spaces = [SeedSpace.of(s) for s in seeds]
    for sp in spaces:
        if sp.n_combinations == 0:
            raise InputError(f"seed {sp.name!r}: no factor combination satisfies its contract")
    return spaces


def instantiate_candidate(space: SeedSpace, factors: dict[str, str], params: dict[str, float], name: str,
                          ego_over_limit: float = 1.0):
    from adsgen.scenario.mapping import instantiate

    return instantiate(space.seed, factors, params, name=name, ego_over_limit=ego_over_limit)


def run_search(config: SearchConfig, seeds: list[Seed], risk: CBNRisk | None, *,
               backend=None, agent=None, progress: Callable[[int], None] | None = None) -> SearchResult:
    """Search the seeds with config.method; methods that need the CBN refuse to run without one."""
    from adsgen.sim.agents import get_agent
    from adsgen.sim.backends import get_backend

    spaces = seed_spaces(seeds)
    if get_spec(config.method).needs_cbn and risk is None:
        raise ConfigError(f"the {config.method} method needs a learned CBN (--cbn MODEL_DIR)")
    own_backend = backend is None
    backend = backend or get_backend(config.backend)
    agent = agent or get_agent(config.agent)
    try:
        from adsgen.sim.judge import check_can_judge

        check_can_judge(backend)  # every high-risk run is judged by re-running it: refuse before searching
        make = functools.partial(instantiate_candidate, ego_over_limit=config.ego_over_limit)
        ev = Evaluator(backend, agent, config.budget, make, sim_seed=config.seed,
                       ttc_threshold_s=config.ttc_threshold_s, progress=progress)
        method = build_method(config.method, MethodContext(risk, config.seed))
        rng = np.random.default_rng(config.seed)
        t0 = time.perf_counter()
        method.search(ev, spaces, rng)
        wall = time.perf_counter() - t0
    finally:
        if own_backend:
            backend.close()
    options: dict[str, object] = ({f.name: getattr(method, f.name) for f in fields(method) if f.name != "risk_model"}
               if is_dataclass(method) else {})
    result = SearchResult(config, [sp.name for sp in spaces], ev, risk, wall,
                          extra={"method_options": options})
    if risk is not None:
        cov = CrashCoverage(risk, spaces)
        result.coverage = cov.of_found(ev.valid.values())
        result.coverage_curve = cov.curve(ev.valid.values(), [p.runs for p in ev.curve])
    if risk is not None and result.found:
        r, lp = risk.score([f.outcome.candidate.factors for f in result.found])
        for f, ri, li in zip(result.found, r, lp, strict=True):
            f.risk, f.log_plausibility = float(ri), float(li)
    return result


def mean_log_plausibility(result: SearchResult) -> float | None:
    """Mean log P(factors) under the CBN of the distinct valid failures (None without a CBN or failures)."""
    if result.risk is None or not result.evaluator.valid:
        return None
    _, lp = result.risk.score([f.outcome.candidate.factors for f in result.evaluator.valid.values()])
    return float(np.mean(lp))
