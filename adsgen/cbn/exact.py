"""Exact score-optimal structure search: dynamic programming over parent sets, then over orders.

Silander and Myllymaki (2006): (1) for every variable, score its candidate parent sets and tabulate, for
every set U of other variables, the best parent set inside U; (2) the best network is the best ordering,
found by a DP over subsets of variables (a variable's best parents among those before it). The result
maximises the decomposable score (BDeu or BIC, ``adsgen.cbn.scores``) over all DAGs that respect the
forbidden edges (the tiers) and ``max_indegree``: no search heuristic, no tie-order dependence beyond
exact ties.

Candidate parent sets are enumerated by size and pruned (de Campos and Ji 2011):

- a set is scored only if every subset one smaller was scored and not pruned;
- BIC: the log-likelihood is <= 0, so a set's score is at most minus its penalty; when that bound is
  below the best score of one of its subsets, neither it nor any superset (larger penalty) can be
  optimal, so none of them is scored.

Step (2) is vectorised with numpy over all subsets of one size at a time; step (1)'s "best inside U" is a
max-transform over the subset lattice, one vectorised pass per bit. Memory is O(n 2^n) floats, so the
search is for small networks (``EXACT_MAX_VARIABLES``); time is dominated by the number of parent sets
scored (``estimate_parent_sets``).

Determinism: the search runs on the variables in name order (ties broken by that order, parents passed
to the scorer in that order), so the graph does not depend on the table's column order.

Missing values: with "paired" (the default of ``HillClimbConfig.missing``) every family is scored on
the rows observed on all variables, so every candidate is compared on the same rows; "pgmpy" scores
each family on its own complete rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from itertools import combinations
from math import comb, log

import numpy as np

from adsgen.cbn.encoding import CodedData
from adsgen.cbn.hillclimb import StructureResult
from adsgen.cbn.scores import CountScorer
from adsgen.errors import ConfigError

EXACT_MAX_VARIABLES = 22
"""Most variables the exact search accepts (its tables hold n 2^(n-1) floats)."""
EXACT_DEFAULT_BUDGET = 20_000
"""``algorithm="auto"`` uses the exact search when at most this many parent sets need scoring
(before pruning; see ``estimate_parent_sets``), else hill climbing. The canonical network (10 variables,
tiers) needs 1,106."""


def allowed_parents(n: int, banned: np.ndarray) -> list[list[int]]:
    """For each variable, the variables that may be its parents (``banned[parent, child]``)."""
    return [[u for u in range(n) if u != v and not banned[u, v]] for v in range(n)]


def estimate_parent_sets(n: int, banned: np.ndarray, max_indegree: int | None = None) -> int:
    """Parent sets the exact search would score without pruning."""
    total = 0
    for cand in allowed_parents(n, banned):
        k = len(cand) if max_indegree is None else min(len(cand), max_indegree)
        total += sum(comb(len(cand), j) for j in range(k + 1))
    return total


def _bic_bound(scorer: CountScorer, var: int, parents: tuple[int, ...], n_rows: float) -> float:
    """Upper bound on the BIC local score of any superset of ``parents`` (inclusive): minus its penalty."""
    q = 1
    for p in parents:
        q *= scorer.cards[p]
    return -0.5 * log(max(n_rows, 1.0)) * q * (scorer.cards[var] - 1)


def exact_search(data: CodedData, forbidden: Iterable[tuple[str, str]] = (), *, score: str = "bdeu",
                 equivalent_sample_size: float = 10.0, max_indegree: int | None = None,
                 missing: str = "paired", scorer: CountScorer | None = None,
                 on_progress: Callable[[int, int], None] | None = None,
                 extra_parent_sets: Mapping[str, Iterable[Iterable[str]]] | None = None) -> StructureResult:
    """The score-optimal DAG over ``data.names`` with no edge in ``forbidden``.

    ``extra_parent_sets``: more candidate parent sets per variable, scored whatever ``max_indegree`` says
    (they must respect ``forbidden``); the result is then optimal over the graphs whose families are all
    candidates. ``on_progress(done, total)`` is called per variable while parent sets are scored."""
    names = data.names
    n = len(names)
    if n > EXACT_MAX_VARIABLES:
        raise ConfigError(f"exact search takes at most {EXACT_MAX_VARIABLES} variables, got {n} "
                          "(use --algorithm hc)")
    if scorer is None:
        scorer = CountScorer(data, score, equivalent_sample_size)
    order = sorted(range(n), key=lambda i: names[i])  # search index k -> data column order[k]
    pos = {names[c]: k for k, c in enumerate(order)}
    banned = np.zeros((n, n), dtype=bool)  # (parent, child), in search indices
    for a, b in forbidden:
        if a in pos and b in pos:
            banned[pos[a], pos[b]] = True
    every = tuple(range(n))
    require_all = missing == "paired" and scorer.has_missing
    bound_rows = float(scorer.n_rows)
    if require_all:
        observed = (data.codes >= 0).all(axis=1)
        bound_rows = float(data.weights[observed].sum())

    def local(k: int, ps: tuple[int, ...]) -> float:
        cols = tuple(order[p] for p in ps)  # parents in name order
        return scorer.local_score(order[k], cols, every if require_all else ())

    def bound(k: int, ps: tuple[int, ...]) -> float:
        if score != "bic":
            return np.inf
        return _bic_bound(scorer, order[k], tuple(order[p] for p in ps), bound_rows)

    cap = n if max_indegree is None else max_indegree
    best_in: list[np.ndarray] = []  # per variable: (2^(n-1),) best score with parents inside subset U
    arg_in: list[np.ndarray] = []  # per variable: (2^(n-1),) bitmask (over others) of that best parent set
    scored = 0
    for k in range(n):
        extra = [tuple(sorted(pos[p] for p in ps)) for ps in (extra_parent_sets or {}).get(names[order[k]], ())]
        table, arg, count = _parent_table(n, k, [u for u in range(n) if u != k and not banned[u, k]], cap,
                                          local, bound, extra)
        scored += count
        best_in.append(table)
        arg_in.append(arg)
        if on_progress is not None:
            on_progress(k + 1, n)
    total, chosen = _best_network(n, best_in, arg_in)
    edges = [(names[order[u]], names[order[v]]) for v, ps in chosen.items() for u in ps]
    edges.sort(key=lambda e: (pos[e[1]], pos[e[0]]))
    return StructureResult(tuple(edges), total, scored)


def _parent_table(n: int, k: int, cand: list[int], cap: int, local: Callable[[int, tuple[int, ...]], float],
                  bound: Callable[[int, tuple[int, ...]], float], extra: list[tuple[int, ...]]
                  ) -> tuple[np.ndarray, np.ndarray, int]:
    """Variable ``k``'s table over subsets U of the other variables: the best score of a parent set inside U
    and that set's bitmask; and how many sets were scored. ``cand``: its allowed parents."""
    m = n - 1
    bit = {u: 1 << (u if u < k else u - 1) for u in range(n) if u != k}
    table = np.full(1 << m, -np.inf)  # (2^m,)
    arg = np.zeros(1 << m, dtype=np.int64)  # (2^m,)
    best_sub: dict[tuple[int, ...], float] = {}  # best score among subsets (inclusive) of a scored set
    alive: set[tuple[int, ...]] = {()}
    s0 = local(k, ())
    scored = 1
    best_sub[()] = s0
    table[0] = s0
    for size in range(1, min(len(cand), cap) + 1):
        nxt: set[tuple[int, ...]] = set()
        for ps in combinations(cand, size):
            subs = [ps[:i] + ps[i + 1:] for i in range(size)]
            if any(s not in alive for s in subs):
                continue
            inherited = max(best_sub[s] for s in subs)
            if bound(k, ps) < inherited:
                continue  # BIC: neither this set nor any superset can beat a subset
            s = local(k, ps)
            scored += 1
            best_sub[ps] = max(s, inherited)
            nxt.add(ps)
            if s > inherited:  # only sets better than all their subsets can be optimal
                mask = sum(bit[u] for u in ps)
                table[mask] = s
                arg[mask] = mask
        alive = nxt
        if not alive:
            break
    for ps in extra:
        mask = sum(bit[u] for u in ps)
        if ps in best_sub or table[mask] > -np.inf:
            continue
        s = local(k, ps)
        scored += 1
        table[mask] = s
        arg[mask] = mask
    # best parent set inside each U: max over the subset lattice, one pass per bit
    for j in range(m):
        t3 = table.reshape(-1, 2, 1 << j)  # (high bits, bit j, low bits): views, updated in place
        a3 = arg.reshape(-1, 2, 1 << j)
        better = t3[:, 0, :] > t3[:, 1, :]
        np.copyto(t3[:, 1, :], t3[:, 0, :], where=better)
        np.copyto(a3[:, 1, :], a3[:, 0, :], where=better)
    return table, arg, scored


def _best_network(n: int, best_in: list[np.ndarray], arg_in: list[np.ndarray]
                  ) -> tuple[float, dict[int, list[int]]]:
    """The best order by DP over subsets: best[S] = max over v in S of best[S - v] + best_in[v][S - v].
    Returns the total score and each variable's parents."""
    full = (1 << n) - 1
    best = np.full(1 << n, -np.inf)  # (2^n,)
    best[0] = 0.0
    last = np.full(1 << n, -1, dtype=np.int64)  # (2^n,) the variable placed last in the best order of S
    masks = np.arange(1 << n, dtype=np.int64)
    popcount = np.zeros(1 << n, dtype=np.int64)
    for j in range(n):
        popcount += (masks >> j) & 1
    for size in range(1, n + 1):
        layer = masks[popcount == size]
        for v in range(n):
            sel = layer[(layer >> v) & 1 == 1]
            prev = sel ^ (1 << v)
            other = (prev & ((1 << v) - 1)) | ((prev >> (v + 1)) << v)  # drop bit v: index over others
            cand_score = best[prev] + best_in[v][other]
            better = cand_score > best[sel]
            best[sel[better]] = cand_score[better]
            last[sel[better]] = v
    chosen: dict[int, list[int]] = {}
    s = full
    while s:
        v = int(last[s])
        prev = s ^ (1 << v)
        other = (prev & ((1 << v) - 1)) | ((prev >> (v + 1)) << v)
        pmask = int(arg_in[v][other])
        others = [u for u in range(n) if u != v]
        chosen[v] = [u for j, u in enumerate(others) if pmask >> j & 1]
        s = prev
    return float(best[full]), chosen
