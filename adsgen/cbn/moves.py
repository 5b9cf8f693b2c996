"""Hill climbing with cached move scores: what ``hill_climb`` runs with ``ties="sorted"``.

``hillclimb.scan_climb`` rescores every legal move each step: n^2 additions through the per-family score
cache (a dict lookup, a tuple, a sort each), and recomputes the reachability matrix by repeated boolean
matrix products. At 223 variables (andes) that is most of the search time. Here:

- the gain of adding x -> y depends only on y's parents, so the gains of all additions are kept in an
  (n, n) array and only the columns of the variables whose parents changed are rescored (one or two per
  step); the best addition is one masked ``argmax`` (row-major, so the first of equal gains in variable
  order wins, as the scan's);
- removals and reversals (one per arc) are scored as in the scan, through the family cache;
- reachability is updated in place when an arc is added (ancestors of x times descendants of y) and
  recomputed in one pass over a topological order when one is removed or reversed.

The moves, gains and tie order are the scan's, so the graph is the same (tested against ``scan_climb``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

import numpy as np

from adsgen.cbn.climb import ClimbScore, HillClimbConfig, Patience, StructureResult, climb_setup
from adsgen.cbn.encoding import CodedData
from adsgen.cbn.scores import CountScorer

Move = tuple[str, tuple[int, int]]
"""("+" | "-" | "flip", (x, y)): add, remove or reverse the arc x -> y."""


class _Graph:
    """A DAG under climbing: parents and children in insertion order, adjacency, reachability, gains."""

    def __init__(self, n: int, start: Iterable[tuple[int, int]],
                 add_gain: Callable[[tuple[int, ...], int, int], float], banned: np.ndarray) -> None:
        """``add_gain(parents of y, x, y)``: the score gain of adding x -> y."""
        self.n = n
        self.parents: list[list[int]] = [[] for _ in range(n)]
        self.succ: list[list[int]] = [[] for _ in range(n)]
        self.adj = np.zeros((n, n), dtype=bool)  # (parent, child)
        for a, b in start:
            self.parents[b].append(a)
            self.succ[a].append(b)
            self.adj[a, b] = True
        self.banned = banned
        self._add_gain = add_gain
        self.gains = np.full((n, n), -np.inf)  # (parent, child): score gain of adding the arc
        for y in range(n):
            self.rescore(y)
        self.reach = np.zeros((n, n), dtype=bool)  # reach[a, b]: a directed path a -> ... -> b
        self.recompute_reach()

    def rescore(self, y: int) -> None:
        """Gains of every addition into ``y`` (after its parents changed)."""
        col = np.full(self.n, -np.inf)
        old = tuple(self.parents[y])
        for x in range(self.n):
            if x != y and not self.banned[x, y] and not self.adj[x, y]:
                col[x] = self._add_gain(old, x, y)
        self.gains[:, y] = col

    def recompute_reach(self) -> None:
        indeg = self.adj.sum(axis=0)
        order, ready = [], [v for v in range(self.n) if indeg[v] == 0]
        while ready:
            v = ready.pop()
            order.append(v)
            for c in self.succ[v]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    ready.append(c)
        self.reach[:] = False
        for v in reversed(order):  # children before parents
            if self.succ[v]:
                self.reach[v] = self.adj[v] | self.reach[self.succ[v]].any(axis=0)

    def apply(self, kind: str, x: int, y: int) -> None:
        if kind == "+":
            self.parents[y].append(x)
            self.succ[x].append(y)
            self.adj[x, y] = True
            above = self.reach[:, x].copy()
            above[x] = True
            below = self.reach[y].copy()
            below[y] = True
            self.reach |= above[:, None] & below[None, :]
        else:
            self.parents[y].remove(x)
            self.succ[x].remove(y)
            self.adj[x, y] = False
            if kind == "flip":
                self.parents[x].append(y)
                self.succ[y].append(x)
                self.adj[y, x] = True
                self.rescore(x)
            self.recompute_reach()
        self.rescore(y)


def cached_climb(data: CodedData, forbidden: Iterable[tuple[str, str]] = (),
                 config: HillClimbConfig = HillClimbConfig(), scorer: CountScorer | None = None,
                 on_step: Callable[[int, float], None] | None = None,
                 start: Iterable[tuple[str, str]] = ()) -> StructureResult:
    """``hill_climb`` with ``ties="sorted"``, move gains cached between steps."""
    names, n, idx, scorer, banned, max_indegree, local = climb_setup(data, forbidden, config, scorer)

    def add_gain(old: tuple[int, ...], x: int, y: int) -> float:
        return local(y, old + (x,)) - local(y, old, (x,))

    g = _Graph(n, [(idx[a], idx[b]) for a, b in start], add_gain, banned)
    tabu: deque[Move] = deque(maxlen=config.tabu_length)
    steps = 0
    watch = Patience(config, g.parents, g.succ)
    for _ in range(int(config.max_iter)):
        best_op, best_delta = _best_move(g, tabu, local, max_indegree)
        if best_op is None or (best_delta < config.epsilon and watch.stale >= config.patience):
            break
        kind, (x, y) = best_op
        g.apply(kind, x, y)
        tabu.append(("-", (x, y)) if kind == "+" else ("+", (x, y)) if kind == "-" else best_op)
        steps += 1
        if on_step is not None:
            on_step(steps, float(best_delta))
        if watch.step(best_delta, g.parents, g.succ):
            break
    parents, succ = watch.result(g.parents, g.succ)
    total = scorer.total({v: tuple(parents[v]) for v in range(n)})
    edges = [(u, v) for u in range(n) for v in succ[u]]
    return StructureResult(tuple((names[a], names[b]) for a, b in edges), total, steps)


def _best_move(g: _Graph, tabu: deque[Move], local: ClimbScore, max_indegree: float
               ) -> tuple[Move | None, float]:
    """The best legal non-tabu move and its gain, the scan's order deciding ties: additions (row-major),
    then removals, then reversals (arcs in networkx edge order)."""
    n = g.n
    legal = ~(g.adj | g.adj.T | g.reach.T | g.banned)  # (parent, child)
    np.fill_diagonal(legal, False)
    legal[:, np.array([len(p) + 1 > max_indegree for p in g.parents], dtype=bool)] = False
    for kind, (x, y) in tabu:
        if kind == "+":
            legal[x, y] = False
    masked = np.where(legal, g.gains, -np.inf)
    flat = int(np.argmax(masked))
    best_op: Move | None = None
    best_delta = float("-inf")
    if legal.flat[flat]:
        best_op, best_delta = ("+", divmod(flat, n)), float(masked.flat[flat])
    edges = [(u, v) for u in range(n) for v in g.succ[u]]  # networkx edge order
    tabu_set = set(tabu)
    for x, y in edges:
        if ("-", (x, y)) in tabu_set:
            continue
        old = tuple(g.parents[y])
        delta = local(y, tuple(p for p in old if p != x), (x,)) - local(y, old)
        if best_op is None or delta > best_delta:
            best_op, best_delta = ("-", (x, y)), delta
    if edges:
        xs, ys = np.array(edges).T
        blocked = (g.adj[xs] & g.reach[:, ys].T).any(axis=1)  # another path x -> c -> ... -> y
        for (x, y), stop in zip(edges, blocked, strict=True):
            if stop or ("flip", (x, y)) in tabu_set or ("flip", (y, x)) in tabu_set or g.banned[y, x]:
                continue
            old_x, old_y = tuple(g.parents[x]), tuple(g.parents[y])
            if len(old_x) + 1 > max_indegree:
                continue
            delta = (local(x, old_x + (y,)) + local(y, tuple(p for p in old_y if p != x), (x,))
                     - local(x, old_x, (y,)) - local(y, old_y))
            if best_op is None or delta > best_delta:
                best_op, best_delta = ("flip", (x, y)), delta
    return best_op, best_delta
