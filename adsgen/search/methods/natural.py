"""The honest "just use the data" baseline: factor states drawn from P(factors | crash), no feedback.

Each seed's factor combinations are sampled from the CBN's P(factors) restricted to the seed's contract and
normalised within it (the crash distribution; the CBN is learned from crash records only), parameters
uniformly over their ranges; seeds take turns. Nothing learned from the simulator changes what is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adsgen.search.evaluator import Candidate, Evaluator
from adsgen.search.risk import CBNRisk, CombinationTable
from adsgen.search.space import SeedSpace


@dataclass(frozen=True)
class NaturalSearch:
    risk_model: CBNRisk
    batch_size: int = 100
    """Runs per simulated batch (one iteration)."""

    def search(self, ev: Evaluator, spaces: list[SeedSpace], rng: np.random.Generator) -> None:
        tables = [self.risk_model.table(sp) for sp in spaces]
        probs = [_crash_distribution(t) for t in tables]
        i = 0
        while ev.remaining > 0:
            ev.iteration += 1
            batch = []
            for _ in range(min(self.batch_size, ev.remaining)):
                k = i % len(spaces)
                i += 1
                combo = tables[k].combos[int(rng.choice(len(probs[k]), p=probs[k]))]
                batch.append(Candidate(spaces[k], combo, rng.random(spaces[k].n_params)))
            ev.evaluate(batch)


def _crash_distribution(table: CombinationTable) -> np.ndarray:
    """P(combination | crash, contract): the CBN's P(factors), normalised within the contract."""
    w = np.exp(table.log_plausibility - np.max(table.log_plausibility))
    return w / w.sum()
