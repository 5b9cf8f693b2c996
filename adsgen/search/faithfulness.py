"""Do the simulator and the crash data agree? Rank correlation of CBN risk and simulated failure rate.

For each seed, factor combinations are picked across the range of the CBN's risk (stratified by risk
quantile, among the plausible ones); each is simulated with the same random parameter draws; its failure
rate is the share of high-risk runs. Spearman's rho between CBN risk and failure rate is reported per seed
and pooled. A rho near 0 says the simulator does not reproduce what the crash data calls risky.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from adsgen.search.evaluator import Candidate, Evaluator
from adsgen.search.risk import CBNRisk
from adsgen.search.space import SeedSpace


@dataclass(frozen=True)
class FaithfulnessReport:
    rho: float
    """Spearman's rho over all (seed, combination) points."""
    p_value: float
    per_seed: dict[str, float]
    points: list[dict]
    """One per combination: seed, factors, cbn_risk, failure_rate, runs."""

    def to_dict(self) -> dict:
        return {"spearman_rho": _f(self.rho), "p_value": _f(self.p_value),
                "per_seed": {k: _f(v) for k, v in self.per_seed.items()}, "points": self.points}


def _f(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), 4)


def faithfulness(risk: CBNRisk, spaces: list[SeedSpace], backend, agent, *, combos_per_seed: int = 12,
                 runs_per_combo: int = 16, seed: int = 0, progress=None) -> FaithfulnessReport:
    from adsgen.search.run import instantiate_candidate

    rng = np.random.default_rng(seed)
    points, batch, owner = [], [], []
    for sp in spaces:
        t = risk.table(sp)
        norm = t.log_plausibility - np.logaddexp.reduce(t.log_plausibility)
        order = np.argsort(-norm)
        keep = order[: int(np.searchsorted(np.cumsum(np.exp(norm[order])), 0.9) + 1)]
        by_risk = keep[np.argsort(t.risk[keep])]
        picks = np.unique(np.linspace(0, len(by_risk) - 1, min(combos_per_seed, len(by_risk))).astype(int))
        units = rng.random((runs_per_combo, sp.n_params))  # the same draws for every combination
        for i in by_risk[picks]:
            points.append({"seed": sp.name, "factors": t.combos[i], "cbn_risk": float(t.risk[i])})
            for u in units:
                batch.append(Candidate(sp, t.combos[i], u))
                owner.append(len(points) - 1)
    ev = Evaluator(backend, agent, len(batch), instantiate_candidate, sim_seed=seed, progress=progress,
                   judge_runs=False)  # failure rates of the agent itself: no references
    hits = np.zeros(len(points))
    for start in range(0, len(batch), 500):
        for o, k in zip(ev.evaluate(batch[start:start + 500]), owner[start:start + 500], strict=True):
            hits[k] += o.high_risk
    for p, h in zip(points, hits, strict=True):
        p["failure_rate"] = round(float(h) / runs_per_combo, 4)
        p["runs"] = runs_per_combo
    risk_v = np.array([p["cbn_risk"] for p in points])
    rate_v = np.array([p["failure_rate"] for p in points])
    rho, pv = _spearman(risk_v, rate_v)
    per_seed = {}
    for sp in spaces:
        m = np.array([p["seed"] == sp.name for p in points])
        per_seed[sp.name] = _spearman(risk_v[m], rate_v[m])[0]
    return FaithfulnessReport(rho, pv, per_seed, points)


def _spearman(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan"), float("nan")
    r = spearmanr(a, b)
    return float(r.statistic), float(r.pvalue)
