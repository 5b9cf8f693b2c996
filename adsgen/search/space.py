"""The search space of one seed: the factor combinations its contract allows and its dynamic parameters.

Dynamic parameters are handled in a normalised unit cube (each ParamRange mapped to [0, 1]), so that every
method (CBN-guided, random, genetic) samples and mutates the same space with the same ranges.
A scenario's *distinct key* is (seed, static factors, manoeuvres, binned dynamic parameters): two scenarios
are distinct when any of those differ (DESIGN.md, "Scenarios").
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from adsgen.errors import InputError
from adsgen.scenario.model import Seed
from adsgen.variables import FACTORS, STATES


@dataclass(frozen=True)
class SeedSpace:
    """Factor choices and parameter ranges of one seed."""

    seed: Seed
    choices: dict[str, tuple[str, ...]]
    """Allowed states per factor (the contract, or every state), in FACTORS order."""
    low: np.ndarray = field(repr=False)    # (params,)
    high: np.ndarray = field(repr=False)   # (params,)
    bins: np.ndarray = field(repr=False)   # (params,) int

    @classmethod
    def of(cls, seed: Seed) -> SeedSpace:
        choices = {f: tuple(seed.contract.get(f, STATES[f])) for f in FACTORS}
        empty = [f for f, c in choices.items() if not c]
        if empty:
            raise InputError(f"seed {seed.name!r}: its contract allows no state of {', '.join(empty)}")
        low = np.array([p.low for p in seed.parameters], dtype=float)
        high = np.array([p.high for p in seed.parameters], dtype=float)
        bins = np.array([p.bins for p in seed.parameters], dtype=int)
        return cls(seed, choices, low, high, bins)

    @property
    def name(self) -> str:
        return self.seed.name

    @property
    def param_paths(self) -> list[str]:
        return [p.path for p in self.seed.parameters]

    @property
    def n_params(self) -> int:
        return len(self.seed.parameters)

    @property
    def n_combinations(self) -> int:
        return int(np.prod([len(c) for c in self.choices.values()]))

    def combinations(self) -> list[dict[str, str]]:
        """Every factor combination the contract allows (FACTORS order)."""
        names = list(self.choices)
        return [dict(zip(names, combo, strict=True))
                for combo in itertools.product(*(self.choices[n] for n in names))]

    def random_factors(self, rng: np.random.Generator) -> dict[str, str]:
        return {f: c[rng.integers(len(c))] for f, c in self.choices.items()}

    def to_params(self, unit: np.ndarray) -> dict[str, float]:
        """Unit-cube point (params,) -> {path: value} in the parameters' own units."""
        unit = np.clip(np.asarray(unit, dtype=float), 0.0, 1.0)
        values = self.low + unit * (self.high - self.low)
        return {p: float(v) for p, v in zip(self.param_paths, values, strict=True)}

    def to_unit(self, params: dict[str, float]) -> np.ndarray:
        span = np.where(self.high > self.low, self.high - self.low, 1.0)
        values = np.array([params[p] for p in self.param_paths], dtype=float)
        return np.clip((values - self.low) / span, 0.0, 1.0)

    def nominal_unit(self) -> np.ndarray:
        """The nominal scenario's parameters in the unit cube (0.5 where it has no value)."""
        from adsgen.search.paths import get_path

        out = np.full(self.n_params, 0.5)
        for i, p in enumerate(self.seed.parameters):
            try:
                v = float(get_path(self.seed.scenario, p.path))
            except (KeyError, TypeError, ValueError):
                continue
            if p.high > p.low:
                out[i] = np.clip((v - p.low) / (p.high - p.low), 0.0, 1.0)
        return out

    def bin_index(self, unit: np.ndarray) -> tuple[int, ...]:
        """Bin of each parameter, used for the distinct key."""
        idx = np.minimum((np.clip(unit, 0.0, 1.0) * self.bins).astype(int), self.bins - 1)
        return tuple(int(i) for i in idx)


def factor_key(factors: dict[str, str]) -> tuple[str, ...]:
    """Factors as a tuple in FACTORS order."""
    return tuple(factors[f] for f in FACTORS)
