"""Bayesian parameter estimation with a BDeu prior, on numpy counts.

Every state of every variable is named (the CPTs span all declared states, seen or not), and the
BDeu prior adds ``ess / (r * q)`` imaginary rows to each cell, so no held-out row ever gets
probability 0. Counts use each family's complete cases, like pgmpy's estimator; the result equals
pgmpy's ``DiscreteBayesianEstimator(prior_type="BDeu")`` (tested).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from adsgen.cbn.encoding import CodedData
from adsgen.cbn.scores import CountScorer


def fit_bdeu(data: CodedData, parents: Mapping[str, Sequence[str]], equivalent_sample_size: float = 5.0
             ) -> dict[str, np.ndarray]:
    """CPTs ``cpt[parent_1, ..., parent_k, state]`` for every variable of ``data``."""
    scorer = CountScorer(data, "bdeu", equivalent_sample_size)
    cards = data.cards
    out: dict[str, np.ndarray] = {}
    for v in data.names:
        j = data.index(v)
        ps = tuple(data.index(p) for p in parents.get(v, ()))
        counts = scorer.dense_counts(j, ps)  # (r, q)
        r, q = counts.shape
        pseudo = counts + float(equivalent_sample_size) / (r * q)
        probs = pseudo / pseudo.sum(axis=0, keepdims=True)  # (r, q)
        out[v] = np.ascontiguousarray(probs.T).reshape(*[cards[p] for p in ps], r)  # (parents..., r)
    return out
