"""What every structure climb shares: its options (``HillClimbConfig``), its result (``StructureResult``),
its set-up (scorer, forbidden matrix, local score) and tabu search's patience bookkeeping. Both the rescanning
climb (``adsgen.cbn.hillclimb``) and the cached one (``adsgen.cbn.moves``) build on it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from adsgen.cbn.encoding import CodedData
from adsgen.cbn.scores import CountScorer, ScoreName, check_score
from adsgen.errors import one_of

MissingRows = Literal["paired", "pgmpy"]
"""How structure scores treat missing values (HillClimbConfig.missing)."""
MISSING_ROWS: tuple[MissingRows, ...] = get_args(MissingRows)
TieOrder = Literal["sorted", "pgmpy"]
"""Order in which moves with bit-identical gains are tried (HillClimbConfig.ties)."""


@dataclass(frozen=True)
class HillClimbConfig:
    """Options of the hill-climbing structure search (defaults are pgmpy's)."""

    score: ScoreName = "bdeu"
    """Structure score: one of ``adsgen.cbn.scores.ScoreName`` ("bdeu", "bic")."""
    equivalent_sample_size: float = 10.0
    """BDeu equivalent sample size (imaginary rows of the Dirichlet prior)."""
    tabu_length: int = 100
    """How many recent operations may not be undone."""
    max_indegree: int | None = None
    """Most parents a variable may have (None: unbounded)."""
    epsilon: float = 1e-4
    """Stop when the best score gain is below this."""
    max_iter: int = 1_000_000
    """Stop after this many operations."""
    patience: int = 0
    """Tabu search: keep taking the best non-tabu move even when it does not improve the score, for up to
    this many steps without a new best graph, and return the best graph seen (bnlearn's ``max.tabu``).
    0 stops at the first local optimum, as pgmpy."""
    missing: MissingRows = "paired"
    """Missing values: "paired" scores both sides of every move on the same rows (those observed on
    every variable of the families involved); "pgmpy" scores each family on its own complete rows, as
    pgmpy does, which favours parents with missing values. Identical on complete data."""

    ties: TieOrder = "sorted"
    """Order in which moves with bit-identical gains are tried (the first wins): "sorted" (additions in
    variable order; reproducible across processes) or "pgmpy" (pgmpy's order: additions in the iteration
    order of its Python set of name pairs, which depends on PYTHONHASHSEED, so it reproduces pgmpy's graph
    in the same process only). Removals and reversals go in networkx edge order in both."""

    def __post_init__(self) -> None:
        one_of(self.ties, get_args(TieOrder), "ties")
        check_score(self.score)
        one_of(self.missing, MISSING_ROWS, "missing")


@dataclass(frozen=True)
class StructureResult:
    """A learned DAG."""

    edges: tuple[tuple[str, str], ...]
    """Directed edges (parent, child), in the order the search added them."""
    score: float
    """Total score of the graph."""
    steps: int
    """Operations applied."""


ClimbScore = Callable[..., float]
"""local(variable, parents, require=()) -> the family's score; ``require`` only under paired missing values."""
ClimbSetup = tuple[tuple[str, ...], int, dict[str, int], CountScorer, np.ndarray, float, ClimbScore]
"""(names, n, index of each name, scorer, banned (parent, child) matrix, indegree cap, local score)."""


def climb_setup(data: CodedData, forbidden: Iterable[tuple[str, str]], config: HillClimbConfig,
                scorer: CountScorer | None) -> ClimbSetup:
    """What every climb needs: the variable names, their count and indices, the scorer, the (parent, child)
    forbidden matrix, the indegree cap and the local score (both sides of a move on the same rows under
    ``missing="paired"``)."""
    n = len(data.names)
    idx = {v: i for i, v in enumerate(data.names)}
    if scorer is None:
        scorer = CountScorer(data, config.score, config.equivalent_sample_size)
    banned = np.zeros((n, n), dtype=bool)  # (parent, child)
    for a, b in forbidden:
        if a in idx and b in idx:
            banned[idx[a], idx[b]] = True
    max_indegree = float("inf") if config.max_indegree is None else config.max_indegree
    paired = config.missing == "paired" and scorer.has_missing
    score_of = scorer.local_score

    def local(var: int, parents: tuple[int, ...], require: tuple[int, ...] = ()) -> float:
        return score_of(var, parents, require if paired else ())

    return data.names, n, idx, scorer, banned, max_indegree, local


class Patience:
    """Tabu search's bookkeeping (``HillClimbConfig.patience`` > 0): the best graph seen, and the steps taken
    since it; with patience 0 the climb's last graph is its result."""

    def __init__(self, config: HillClimbConfig, parents: list[list[int]], succ: list[list[int]]) -> None:
        self.patience, self.epsilon = config.patience, config.epsilon
        self.current = self.best = 0.0  # score relative to the start graph
        self.stale = 0
        self.graph = ([list(p) for p in parents], [list(c) for c in succ])

    def step(self, delta: float, parents: list[list[int]], succ: list[list[int]]) -> bool:
        """Record a move of gain ``delta`` that led to ``parents``/``succ``; True: stop climbing."""
        if not self.patience:
            return False
        self.current += delta
        if self.current > self.best + self.epsilon:
            self.best, self.stale = self.current, 0
            self.graph = ([list(p) for p in parents], [list(c) for c in succ])
            return False
        self.stale += 1
        return self.stale > self.patience

    def result(self, parents: list[list[int]], succ: list[list[int]]) -> tuple[list[list[int]], list[list[int]]]:
        return self.graph if self.patience else (parents, succ)
