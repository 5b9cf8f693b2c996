"""Crash-weighted coverage: in how much of the world where real crashes of a seed's type happen has the
agent under test been shown to fail?

For a seed s, a *cell* is a combination of the states of the factors that act in s (every factor but the
seed's ``descriptive`` ones, which do not change the simulated world). Its crash mass is

    m_s(cell) = P(cell | crash, contract_s) = sum_{c in cell} P(c) / sum_{c in contract_s} P(c)

with P(c) the learned CBN's marginal probability of the factor combination c. The CBN is learned from
crash records only, so P(c) is P(c | crash). The seed's coverage is the mass of the cells in which the
search found at least one distinct valid failure, and the crash-weighted coverage of a search is the mean
over its seeds:

    coverage = (1 / |S|) * sum_s  sum_{cell covered in s} m_s(cell)        (in [0, 1])

It is always measured with the CBN learned from the data, whatever model a method searched with (the
ablations search with blind or shuffled tables, their coverage is weighed by the real one). docs/search.md
explains why this is the headline figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from adsgen.search.risk import CBNRisk
from adsgen.search.space import SeedSpace
from adsgen.variables import FACTORS

Cell = tuple[str, ...]


def acting_factors(space: SeedSpace) -> tuple[str, ...]:
    """The factors whose state changes the seed's simulated world (all but its declared descriptive ones)."""
    return tuple(f for f in FACTORS if f not in space.seed.descriptive)


def cell_of(factors: dict[str, str], acting: tuple[str, ...]) -> Cell:
    return tuple(factors[f] for f in acting)


@dataclass(frozen=True)
class SeedCells:
    """One seed's coverage cells and their crash mass (summing to 1)."""

    seed: str
    acting: tuple[str, ...]
    mass: dict[Cell, float]

    def cell(self, factors: dict[str, str]) -> Cell:
        return cell_of(factors, self.acting)


def seed_cells(risk: CBNRisk, space: SeedSpace) -> SeedCells:
    """The crash mass of each cell of one seed, from the CBN's P(factors) over its contract."""
    table = risk.table(space)
    acting = acting_factors(space)
    frame = pd.DataFrame(table.combos, columns=list(FACTORS))
    w = np.exp(table.log_plausibility - np.max(table.log_plausibility))  # (combos,) relative P(c)
    grouped = pd.Series(w).groupby([frame[f] for f in acting], sort=False).sum()
    total = float(grouped.sum())
    mass = {(k if isinstance(k, tuple) else (k,)): float(v) / total for k, v in grouped.items()}
    return SeedCells(space.name, acting, mass)


@dataclass(frozen=True)
class Coverage:
    """Crash-weighted coverage of a set of valid failures."""

    mean: float
    per_seed: dict[str, float]
    cells_covered: dict[str, int]

    def to_dict(self) -> dict:
        return {"crash_weighted_coverage": round(self.mean, 5),
                "per_seed": {k: round(v, 5) for k, v in self.per_seed.items()},
                "cells_covered": self.cells_covered}


class CrashCoverage:
    """Measures crash-weighted coverage for a fixed set of seeds under one CBN (module docstring)."""

    def __init__(self, risk: CBNRisk, spaces: list[SeedSpace]):
        self.cells = {sp.name: seed_cells(risk, sp) for sp in spaces}

    def of(self, failures: Iterable[tuple[str, dict[str, str]]]) -> Coverage:
        """Coverage of (seed name, factors) pairs, each one distinct valid failure."""
        covered: dict[str, set[Cell]] = {s: set() for s in self.cells}
        for seed, factors in failures:
            covered[seed].add(self.cells[seed].cell(factors))
        per_seed = {s: sum(self.cells[s].mass[c] for c in cov) for s, cov in covered.items()}
        mean = float(np.mean(list(per_seed.values()))) if per_seed else 0.0
        return Coverage(mean, per_seed, {s: len(c) for s, c in covered.items()})

    def of_found(self, found: Iterable) -> Coverage:
        """Coverage of an Evaluator's ``valid`` archive values (adsgen.search.evaluator.Found)."""
        return self.of((f.outcome.candidate.space.name, f.outcome.candidate.factors) for f in found)

    def curve(self, found: Iterable, at_runs: list[int]) -> list[float]:
        """Coverage after each number of simulated runs in at_runs (from when each failure was found)."""
        ordered = sorted(found, key=lambda f: f.outcome.run_index)
        out = []
        for runs in at_runs:
            out.append(self.of_found([f for f in ordered if f.outcome.run_index <= runs]).mean)
        return out
