"""Exact score-optimal structure search: dynamic programming over parent sets, then over orders.

Silander & Myllymaki (2006): (1) for every variable v and every candidate parent set S, the local score
s(v, S); (2) for every v and every set C of other variables, the best parent set of v inside C,
bps(v, C) = max over S within C of s(v, S), by a max-transform over subsets (one vectorised numpy pass per
bit); (3) for every set W of variables, the best score of a DAG on W, F(W) = max over sinks v in W of
F(W - v) + bps(v, W - v), level by level (numpy over all sets of one size); (4) the optimal DAG is read
back from the sinks. The result is a global optimum of the score (BIC or BDeu) under the tiers and the
in-degree bound, not a local one.

Step (1) is the cost: 2^(n-1) local scores per variable at most, each one weighted ``np.bincount`` over
the distinct coded rows (``scores.CountScorer``). Pruning (de Campos & Ji 2011, Teyssier & Koller): a
parent set never scored is one whose every superset is provably worse than a subset already scored. For
BIC the bound is LL(v | S') <= LL(v | all candidate parents) and a penalty that grows with every parent
added; for BDeu no bound is used (all sets up to ``max_indegree``). Steps (2)-(4) need
O(n 2^n) memory and time (n = 20: 160 MB of float64), so ``MAX_VARIABLES`` caps the variable count.

Determinism: variables are processed in name order (the data's columns are permuted to it), so the graph
does not depend on column order or PYTHONHASHSEED; ties go to the first candidate in that order.

Missing values: scores of different parent sets must be counted on the same rows to be comparable, so
with missing values each variable's families are counted on the rows where the variable and all its
candidate parents are observed (``CountScorer.local_score``'s ``require``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from math import log

import numpy as np

from adsgen.cbn.encoding import CodedData
from adsgen.cbn.hillclimb import SearchResult
from adsgen.cbn.scores import CountScorer
from adsgen.errors import ConfigError

MAX_VARIABLES = 20
"""Most variables exact search accepts (its tables have n * 2^n entries)."""


def _popcount(masks: np.ndarray) -> np.ndarray:
    out = np.zeros(masks.shape, dtype=np.int64)
    m = masks.copy()
    while m.any():
        out += m & 1
        m >>= 1
    return out


def _ll_upper(data: CodedData, var: int, cands: list[int], require: tuple[int, ...]) -> float:
    """Log-likelihood of ``var`` given all of ``cands`` jointly (the most any parent set can reach)."""
    mask = np.ones(len(data.weights), dtype=bool)
    for j in (var, *cands, *require):
        mask &= data.codes[:, j] >= 0
    codes, w = data.codes[mask], data.weights[mask]
    if not len(w):
        return 0.0
    _, fam = np.unique(codes[:, [*cands, var]], axis=0, return_inverse=True)
    fam_w = np.bincount(fam.ravel(), weights=w)
    if cands:
        _, cfg = np.unique(codes[:, cands], axis=0, return_inverse=True)
        cfg_w = np.bincount(cfg.ravel(), weights=w)
        # parent configuration of each family cell
        cell_cfg = np.zeros(len(fam_w), dtype=np.int64)
        cell_cfg[fam.ravel()] = cfg.ravel()
        return float(np.sum(fam_w * (np.log(fam_w) - np.log(cfg_w[cell_cfg]))))
    total = fam_w.sum()
    return float(np.sum(fam_w * (np.log(fam_w) - log(total))))


def parent_set_scores(scorer: CountScorer, var: int, cands: list[int], max_indegree: int | None,
                      require: tuple[int, ...] = ()) -> dict[int, float]:
    """Local scores of ``var`` for the candidate parent sets that pruning keeps, by bitmask of variable
    indices. Every set whose score is not strictly above all of its subsets' is dropped."""
    data = scorer.data
    limit = len(cands) if max_indegree is None else min(max_indegree, len(cands))
    bic = scorer.score == "bic"
    r = scorer.cards[var]
    if bic:
        ll_max = _ll_upper(data, var, cands, require)
        n_pen = scorer.n_rows if not require else None
        if n_pen is None:  # rows counted on the required rows: the penalty's N is theirs
            n_pen = max(float(scorer.dense_counts(var, (), require).sum()), 1.0)
        half_log_n = 0.5 * log(n_pen)
    kept: dict[int, float] = {}
    best_below: dict[int, float] = {}  # mask -> best score of the set and all its subsets
    level: list[tuple[int, tuple[int, ...]]] = [(0, ())]
    for size in range(limit + 1):
        nxt: list[tuple[int, tuple[int, ...]]] = []
        for mask, ps in level:
            s = scorer.local_score(var, ps, require)
            below = max([best_below[mask & ~(1 << p)] for p in ps], default=-np.inf)
            if s > below:
                kept[mask] = s
            best = max(s, below)
            best_below[mask] = best
            if size == limit:
                continue
            if bic:
                # any strict superset S' scores at most ll_max - penalty(S'), and penalty(S') >=
                # penalty(S + the cheapest remaining parent): prune when that cannot beat `best`
                q = int(np.prod([scorer.cards[p] for p in ps])) if ps else 1
                rest = [c for c in cands if c > (ps[-1] if ps else -1)]
                if not rest:
                    continue
                cheapest = min(scorer.cards[c] for c in rest)
                if ll_max - half_log_n * q * cheapest * (r - 1) <= best:
                    continue
            start = ps[-1] if ps else -1
            for c in cands:
                if c > start:
                    nxt.append((mask | (1 << c), ps + (c,)))
        # a set is only reachable through its sorted prefix, so a pruned prefix hides the set: correct,
        # because the bound of the prefix covers all its supersets
        for mask, ps in nxt:
            for p in ps[:-1]:
                sub = mask & ~(1 << p)
                if sub not in best_below:  # a subset pruned (not scored): bound it by its own prefix
                    best_below[sub] = -np.inf
        level = nxt
    return kept


def exact_search(data: CodedData, forbidden: Iterable[tuple[str, str]] = (), score: str = "bdeu",
                 equivalent_sample_size: float = 10.0, max_indegree: int | None = None,
                 on_variable: Callable[[int, int], None] | None = None) -> SearchResult:
    """The score-optimal DAG over ``data.names`` with no edge in ``forbidden``."""
    n = len(data.names)
    if n > MAX_VARIABLES:
        raise ConfigError(f"exact search handles at most {MAX_VARIABLES} variables, the data has {n} "
                          f"(use --algorithm tabu or hc)")
    order = sorted(range(n), key=lambda j: data.names[j])  # name order: independent of column order
    names = tuple(data.names[j] for j in order)
    sorted_data = CodedData(names, data.states, np.ascontiguousarray(data.codes[:, order]), data.weights)
    scorer = CountScorer(sorted_data, score, equivalent_sample_size)
    idx = {v: i for i, v in enumerate(names)}
    banned = {(idx[a], idx[b]) for a, b in forbidden if a in idx and b in idx}
    full = (1 << n) - 1
    masks = np.arange(1 << n, dtype=np.int64)

    bps = np.full((n, 1 << n), -np.inf)  # best local score of v with parents inside the set
    arg = np.zeros((n, 1 << n), dtype=np.int64)  # ... and that parent set
    for v in range(n):
        cands = [u for u in range(n) if u != v and (u, v) not in banned]
        require = tuple(cands) if scorer.has_missing else ()
        kept = parent_set_scores(scorer, v, cands, max_indegree, require)
        keys = np.fromiter(kept.keys(), dtype=np.int64, count=len(kept))
        vals = np.fromiter(kept.values(), dtype=float, count=len(kept))
        bps[v, keys] = vals
        arg[v, keys] = keys
        for b in range(n):  # max over subsets, one bit at a time
            with_b = masks[(masks >> b) & 1 == 1]
            better = bps[v, with_b ^ (1 << b)] >= bps[v, with_b]  # ties: the smaller set
            bps[v, with_b[better]] = bps[v, with_b[better] ^ (1 << b)]
            arg[v, with_b[better]] = arg[v, with_b[better] ^ (1 << b)]
        if on_variable:
            on_variable(v + 1, n)

    best = np.full(1 << n, -np.inf)
    sink = np.full(1 << n, -1, dtype=np.int64)
    best[0] = 0.0
    pop = _popcount(masks)
    for k in range(1, n + 1):
        level = masks[pop == k]
        for v in range(n):
            w = level[(level >> v) & 1 == 1]
            rest = w ^ (1 << v)
            cand = best[rest] + bps[v, rest]
            better = cand > best[w]
            best[w[better]] = cand[better]
            sink[w[better]] = v

    parents: dict[int, int] = {}
    w = full
    while w:
        v = int(sink[w])
        parents[v] = int(arg[v, w ^ (1 << v)])
        w ^= 1 << v
    edges = tuple((names[u], names[v]) for v in range(n) for u in range(n) if parents[v] >> u & 1)
    total = float(sum(scorer.local_score(v, tuple(u for u in range(n) if parents[v] >> u & 1))
                      for v in range(n)))
    return SearchResult(edges, total, len(edges))
