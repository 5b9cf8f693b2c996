"""Decomposable structure scores (BDeu, BIC) on numpy counts.

Each local score is computed from a family's contingency table, obtained with one weighted
``np.bincount`` over the distinct coded rows (see ``encoding``) on a mixed-radix key
``state + r * (parent configuration)``. The table is laid out exactly as pgmpy lays out its pandas
counts (rows: states of the variable seen in the family's complete cases; columns: parent
configurations seen, in order of first appearance, as pandas' unstack leaves them; row-major memory) and the formulas are applied
in pgmpy's order, so the floating-point result is the same to the last bit. That matters: BDeu and BIC
are score-equivalent, so "X -> Y" and "Y -> X" differ only by rounding, and hill climbing picks the
direction by that rounding.

Scores are cached per (variable, parent tuple, rows required); a hill-climbing step only asks for the
families it changes (delta scoring). ``require`` restricts a family's rows to those where other variables
are observed too, so the two sides of a move can be compared on the same rows (missing values).
"""

from __future__ import annotations

from collections.abc import Callable
from math import lgamma, log
from typing import Literal, get_args

import numpy as np
from scipy.special import gammaln

from adsgen.cbn.encoding import CodedData
from adsgen.errors import one_of
from adsgen.registry import Registry

ScoreName = Literal["bdeu", "bic"]
"""The structure scores: the one list of their names (SCORES holds their functions, checked below)."""
SCORE_NAMES: tuple[ScoreName, ...] = get_args(ScoreName)

LocalScore = Callable[["CountScorer", int, tuple[int, ...], tuple[int, ...]], float]
"""f(scorer, variable, parents, required) -> the family's local score."""
SCORES: Registry[LocalScore] = Registry("structure score")
"""Registry of local score functions by name: f(scorer, variable, parents, required) -> float."""


def check_score(name: str, what: str = "score") -> ScoreName:
    """``name`` as a structure score; ConfigError naming ``what`` (e.g. '--score') and the scores otherwise."""
    return one_of(name, SCORE_NAMES, what)


def register_score(name: str) -> Callable[[LocalScore], LocalScore]:
    return SCORES.register(name)


class CountScorer:
    """Local scores of families of a coded table, cached."""

    def __init__(self, data: CodedData, score: str = "bdeu", equivalent_sample_size: float = 10.0):
        check_score(score)
        self.data = data
        self.score = score
        self.equivalent_sample_size = equivalent_sample_size
        self.cards = data.cards
        self.n_rows = data.n_rows
        self._fn = SCORES[score]
        self._cache: dict[tuple[int, tuple[int, ...], tuple[int, ...]], float] = {}
        self._codes = [data.codes[:, j].astype(np.int64) for j in range(len(data.names))]
        self._present = [c >= 0 for c in self._codes]
        self._complete = all(bool(p.all()) for p in self._present)
        self._prefix: tuple[tuple[int, ...], np.ndarray | None, int] = ((), None, 1)
        """The last parent-configuration key built for a prefix of a parent tuple (prefix, key, configs)."""

    def dense_counts(self, var: int, parents: tuple[int, ...], require: tuple[int, ...] = ()) -> np.ndarray:
        """(r, q) counts over all states and parent configurations (first parent most significant), on the
        rows where the family and every variable in ``require`` are observed."""
        r = self.cards[var]
        key: np.ndarray | None = None  # (rows,) parent configuration, first parent most significant
        q = 1
        start = 0
        if len(parents) > 1 and self._prefix[0] == parents[:-1]:  # a climb scores old parents + one, often
            key, q, start = self._prefix[1], self._prefix[2], len(parents) - 1
        for p in parents[start:]:
            if len(parents) > 1 and p == parents[-1] and key is not None:
                self._prefix = (parents[:-1], key, q)
            key = self._codes[p] if key is None else key * self.cards[p] + self._codes[p]
            q *= self.cards[p]
        key = self._codes[var] if key is None else key * r + self._codes[var]
        if self._complete:  # no missing value anywhere: every row counts, no mask to build
            counts = np.bincount(key, weights=self.data.weights, minlength=r * q)  # (q * r,)
        else:
            mask = self._present[var].copy()
            for j in (*require, *parents):
                mask &= self._present[j]
            counts = np.bincount(key[mask], weights=self.data.weights[mask], minlength=r * q)  # (q * r,)
        return counts.reshape(q, r).T  # (r, q)

    def family_counts(self, var: int, parents: tuple[int, ...], require: tuple[int, ...] = ()) -> np.ndarray:
        """Counts laid out as pgmpy's ``get_state_counts(..., reindex=False)``: (r_seen, q_seen)."""
        dense = self.dense_counts(var, parents, require)  # (r, q)
        if not parents:
            return np.ascontiguousarray(dense)
        # pandas' unstack orders parent configurations by first appearance when the (state, config)
        # pairs are scanned in sorted order; rows are the states seen, in state order.
        present = dense > 0
        seen = np.flatnonzero(present.any(axis=0))
        first_state = np.argmax(present[:, seen], axis=0)
        order = seen[np.lexsort((seen, first_state))]
        rows = present.any(axis=1)
        return np.ascontiguousarray(dense[rows][:, order])  # (r_seen, q_seen)

    @property
    def has_missing(self) -> bool:
        return not self._complete

    def local_score(self, var: int, parents: tuple[int, ...], require: tuple[int, ...] = ()) -> float:
        """Local score of ``var`` given ``parents`` (in that order), counted on the rows where the family
        and the variables in ``require`` are observed. With ``require`` empty these are the family's own
        complete cases and the result equals pgmpy's; BIC then uses all rows for its penalty as pgmpy
        does, and the rows counted otherwise."""
        require = tuple(sorted(set(require) - {var, *parents}))
        key = (var, parents, require)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._fn(self, var, parents, require)
            self._cache[key] = hit
        return hit

    def total(self, parents_of: dict[int, tuple[int, ...]]) -> float:
        """Score of a whole graph given each variable's parents."""
        return float(sum(self.local_score(v, tuple(p)) for v, p in parents_of.items()))


@register_score("bdeu")
def _bdeu(scorer: CountScorer, var: int, parents: tuple[int, ...], require: tuple[int, ...] = ()) -> float:
    counts = scorer.family_counts(var, parents, require)
    r = scorer.cards[var]
    num_parents_states = np.prod([scorer.cards[p] for p in parents])
    counts_size = num_parents_states * r
    ess = scorer.equivalent_sample_size
    alpha = ess / num_parents_states
    beta = ess / counts_size
    log_gamma_counts = np.zeros_like(counts, dtype=float)
    gammaln(counts + beta, out=log_gamma_counts)
    log_gamma_conds = np.sum(counts, axis=0, dtype=float)
    gammaln(log_gamma_conds + alpha, out=log_gamma_conds)
    gamma_counts_adj = (num_parents_states - counts.shape[1]) * r * gammaln(beta)
    gamma_conds_adj = (num_parents_states - counts.shape[1]) * gammaln(alpha)
    score = (
        (np.sum(log_gamma_counts) + gamma_counts_adj)
        - (np.sum(log_gamma_conds) + gamma_conds_adj)
        + num_parents_states * lgamma(alpha)
        - counts_size * lgamma(beta)
    )
    return float(score)


def _log_likelihood(scorer: CountScorer, var: int, parents: tuple[int, ...], require: tuple[int, ...] = ()
                    ) -> tuple[float, float, int, float]:
    counts = scorer.family_counts(var, parents, require)
    num_parents_states = np.prod([scorer.cards[p] for p in parents])
    log_likelihoods = np.zeros_like(counts, dtype=float)
    np.log(counts, out=log_likelihoods, where=counts > 0)
    log_conditionals = np.sum(counts, axis=0, dtype=float)
    np.log(log_conditionals, out=log_conditionals, where=log_conditionals > 0)
    log_likelihoods -= log_conditionals
    log_likelihoods *= counts
    return float(np.sum(log_likelihoods)), float(num_parents_states), int(scorer.cards[var]), float(counts.sum())


@register_score("bic")
def _bic(scorer: CountScorer, var: int, parents: tuple[int, ...], require: tuple[int, ...] = ()) -> float:
    ll, num_parents_states, var_cardinality, counted = _log_likelihood(scorer, var, parents, require)
    n = scorer.n_rows if not require else max(counted, 1.0)
    return float(ll - 0.5 * log(n) * num_parents_states * (var_cardinality - 1))


assert tuple(SCORES) == SCORE_NAMES, "every ScoreName has its registered local score, and no other"
