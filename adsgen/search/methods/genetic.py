"""A genetic algorithm in the style of AV-Fuzzer (Li et al., ISSRE 2020).

One population per seed over (factor states, unit-cube parameters). Fitness is the run's risk (lower min TTC
is fitter; a collision is fittest, harder impacts fitter still). Tournament selection, uniform crossover of
factors, blend crossover of parameters, per-gene mutation, elitism, and AV-Fuzzer's restart around the best
individual when the population stagnates. An individual whose world is already in the archive is not
simulated again: it keeps the archived outcome as its fitness (so the metric of distinct finds does not
handicap the GA). Fitness ranks judged valid failures first (``CandidateOutcome.fitness``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from adsgen.search.evaluator import Candidate, CandidateOutcome, Evaluator
from adsgen.search.space import SeedSpace


@dataclass(frozen=True)
class GeneticSearch:
    population: int = 20
    """Individuals per seed."""
    elites: int = 2
    tournament: int = 3
    crossover_rate: float = 0.8
    factor_mutation_rate: float = 0.15
    """Probability that a factor gene is resampled."""
    param_mutation_sigma: float = 0.12
    """Gaussian mutation step in the unit cube."""
    param_mutation_rate: float = 0.4
    stagnation_generations: int = 4
    """Generations without improvement of the best fitness before a restart around the best."""

    def search(self, ev: Evaluator, spaces: list[SeedSpace], rng: np.random.Generator) -> None:
        pops = {sp.name: [Candidate(sp, sp.random_factors(rng), rng.random(sp.n_params))
                          for _ in range(self.population)] for sp in spaces}
        best = {sp.name: np.inf for sp in spaces}
        stale = {sp.name: 0 for sp in spaces}
        all_known = 0
        while ev.remaining > 0:
            ev.iteration += 1
            batch = [c for sp in spaces for c in pops[sp.name]]
            archived = {i: ev.archive.get(ev.key(c)) for i, c in enumerate(batch)}
            known = {i: f for i, f in archived.items() if f is not None}
            fresh = [c for i, c in enumerate(batch) if i not in known]
            if not fresh and all_known < 5:  # every individual known: restart every population
                all_known += 1
                for sp in spaces:
                    top = pops[sp.name][0]
                    pops[sp.name] = [self._mutate(sp, top, rng, scale=2.0) for _ in range(self.population)]
                continue
            all_known = 0
            outcomes = ev.evaluate(fresh if fresh else batch)
            outcomes += [replace(f.outcome, candidate=batch[i], new=False, new_valid=False) for i, f in known.items()
                         if fresh]
            by_seed: dict[str, list[CandidateOutcome]] = {}
            for o in outcomes:
                by_seed.setdefault(o.candidate.space.name, []).append(o)
            for sp in spaces:
                scored = by_seed.get(sp.name, [])
                if not scored:
                    continue
                gen_best = min(o.fitness for o in scored)
                if gen_best < best[sp.name] - 1e-9:
                    best[sp.name], stale[sp.name] = gen_best, 0
                else:
                    stale[sp.name] += 1
                pops[sp.name] = self._next_generation(sp, scored, rng, restart=stale[sp.name]
                                                      >= self.stagnation_generations)
                if stale[sp.name] >= self.stagnation_generations:
                    stale[sp.name] = 0

    def _next_generation(self, sp: SeedSpace, scored: list[CandidateOutcome], rng: np.random.Generator,
                         restart: bool) -> list[Candidate]:
        ranked = sorted(scored, key=lambda o: o.fitness)
        nxt = [o.candidate for o in ranked[: self.elites]]
        if restart:  # AV-Fuzzer: re-seed around the best individual to escape a local optimum
            top = ranked[0].candidate
            while len(nxt) < self.population:
                nxt.append(self._mutate(sp, top, rng, scale=2.0))
            return nxt
        fit = np.array([o.fitness for o in scored])
        while len(nxt) < self.population:
            a = scored[self._tournament(fit, rng)].candidate
            b = scored[self._tournament(fit, rng)].candidate
            child = self._crossover(sp, a, b, rng) if rng.random() < self.crossover_rate else a
            nxt.append(self._mutate(sp, child, rng))
        return nxt

    def _tournament(self, fit: np.ndarray, rng: np.random.Generator) -> int:
        idx = rng.integers(len(fit), size=self.tournament)
        return int(idx[np.argmin(fit[idx])])

    @staticmethod
    def _crossover(sp: SeedSpace, a: Candidate, b: Candidate, rng: np.random.Generator) -> Candidate:
        factors = {f: (a.factors[f] if rng.random() < 0.5 else b.factors[f]) for f in sp.choices}
        w = rng.random(sp.n_params)
        return Candidate(sp, factors, np.clip(w * a.unit + (1 - w) * b.unit, 0.0, 1.0))

    def _mutate(self, sp: SeedSpace, c: Candidate, rng: np.random.Generator, scale: float = 1.0) -> Candidate:
        factors = dict(c.factors)
        for f, states in sp.choices.items():
            if len(states) > 1 and rng.random() < min(1.0, self.factor_mutation_rate * scale):
                factors[f] = states[rng.integers(len(states))]
        unit = c.unit.copy()
        mask = rng.random(sp.n_params) < min(1.0, self.param_mutation_rate * scale)
        unit[mask] += rng.normal(0.0, self.param_mutation_sigma * scale, size=int(mask.sum()))
        return Candidate(sp, factors, np.clip(unit, 0.0, 1.0))
