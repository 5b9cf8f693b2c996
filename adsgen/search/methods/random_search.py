"""Uniform random search: factors uniform over each seed's contract, parameters uniform over their ranges."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adsgen.search.evaluator import Candidate, Evaluator
from adsgen.search.space import SeedSpace


@dataclass(frozen=True)
class RandomSearch:
    """The uniform baseline. Seeds take turns so each gets an equal share of the budget."""

    batch_size: int = 100
    """Runs per simulated batch (one iteration)."""

    def search(self, ev: Evaluator, spaces: list[SeedSpace], rng: np.random.Generator) -> None:
        i = 0
        while ev.remaining > 0:
            ev.iteration += 1
            n = min(self.batch_size, ev.remaining)
            batch = []
            for _ in range(n):
                sp = spaces[i % len(spaces)]
                i += 1
                batch.append(Candidate(sp, sp.random_factors(rng), rng.random(sp.n_params)))
            ev.evaluate(batch)
