"""What the CBN says about each factor combination a seed allows: severity risk and plausibility.

risk:  P(severity in risky states | factors)           (observational), or
       P(severity in risky states | do(factors))       (interventional, graph surgery) when do=True.
log_plausibility: log P(factors) under the CBN, the log-probability that the combination occurs at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adsgen.cbn.compiled import CompiledCBN
from adsgen.search.space import SeedSpace, factor_key
from adsgen.variables import FACTORS, OUTCOME

RISKY_STATES = ("injury", "fatal")


@dataclass(frozen=True)
class CombinationTable:
    """Every factor combination of one seed, with its CBN risk and plausibility."""

    space: SeedSpace
    combos: list[dict[str, str]]
    risk: np.ndarray              # (combos,)
    log_plausibility: np.ndarray  # (combos,) log P(factors)

    def index(self) -> dict[tuple, int]:
        return {factor_key(c): i for i, c in enumerate(self.combos)}


class CBNRisk:
    """Scores factor combinations with a compiled CBN (batched, numpy)."""

    def __init__(self, compiled: CompiledCBN, *, do: bool = False, risky_states: tuple[str, ...] = RISKY_STATES):
        self.compiled = compiled
        self.do = do
        self.risky_states = risky_states

    def table(self, space: SeedSpace) -> CombinationTable:
        combos = space.combinations()
        frame = pd.DataFrame(combos, columns=list(FACTORS))
        risk = np.asarray(self.compiled.batch_risk(frame, target=OUTCOME, risky_states=self.risky_states,
                                                   do=self.do), dtype=float)
        logp = np.asarray(self.compiled.log_prob(frame), dtype=float)
        return CombinationTable(space, combos, risk, logp)

    def with_compiled(self, compiled: CompiledCBN) -> CBNRisk:
        """The same queries (do, risky states) on another network over the same variables."""
        return CBNRisk(compiled, do=self.do, risky_states=self.risky_states)

    def score(self, factors_list: list[dict[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        """(risk, log_plausibility) of arbitrary factor combinations."""
        if not factors_list:
            return np.zeros(0), np.zeros(0)
        frame = pd.DataFrame(factors_list, columns=list(FACTORS))
        risk = np.asarray(self.compiled.batch_risk(frame, target=OUTCOME, risky_states=self.risky_states,
                                                   do=self.do), dtype=float)
        return risk, np.asarray(self.compiled.log_prob(frame), dtype=float)


def blind_cbn(compiled: CompiledCBN) -> CompiledCBN:
    """Ablation: the same graph with every CPT uniform (the tables say nothing)."""
    cpts = {v: np.full(a.shape, 1.0 / a.shape[-1]) for v, a in compiled.cpts.items()}
    return CompiledCBN.build(compiled.names, compiled.states, compiled.parents, cpts)


def shuffled_cbn(compiled: CompiledCBN, seed: int = 0) -> CompiledCBN:
    """Ablation: the same graph with each CPT's rows (parent configurations) permuted at random, and the
    single row of a parentless node permuted over its states: tables of the right shape and the right
    values that say nothing true about which condition goes with which."""
    rng = np.random.default_rng(seed)
    cpts = {}
    for v, a in compiled.cpts.items():
        rows = a.reshape(-1, a.shape[-1])  # (parent configurations, states)
        rows = rows[rng.permutation(len(rows))] if len(rows) > 1 else rows[:, rng.permutation(rows.shape[1])]
        cpts[v] = rows.reshape(a.shape)
    return CompiledCBN.build(compiled.names, compiled.states, compiled.parents, cpts)


class ShuffledRisk(CBNRisk):
    """Ablation: the CBN's risk replaced by uniform random numbers (plausibility kept), to see how much of
    the CBN-guided search's yield comes from the CBN's risk ranking."""

    def __init__(self, base: CBNRisk, seed: int = 0):
        super().__init__(base.compiled, do=base.do, risky_states=base.risky_states)
        self._rng = np.random.default_rng(seed)

    def table(self, space: SeedSpace) -> CombinationTable:
        t = super().table(space)
        return CombinationTable(t.space, t.combos, self._rng.random(len(t.combos)), t.log_plausibility)
