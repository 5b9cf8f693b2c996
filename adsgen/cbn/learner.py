"""Learning a CBN from a canonical table: split, structure, parameters, validation, card.

``learn(frame, ...)`` holds out a seeded share of the rows, learns the structure (tier-constrained: the
score-optimal graph by exact search when that is cheap, else tabu search; numpy counts) and BDeu parameters from the rest, validates on the held-out rows and
returns the model with its report. The saved model is the one validated (learned on the training rows).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from adsgen.cbn import validation as V
from adsgen.cbn.bootstrap import bootstrap_arcs
from adsgen.cbn.climb import MISSING_ROWS, HillClimbConfig, MissingRows, StructureResult
from adsgen.cbn.compiled import CompiledCBN
from adsgen.cbn.encoding import CodedData, codes_of, compress, decode
from adsgen.cbn.exact import EXACT_MAX_VARIABLES
from adsgen.cbn.graphs import ORIENTATIONS, arc_orientations, compare
from adsgen.cbn.hillclimb import hill_climb
from adsgen.cbn.model import CARD_FORMAT, CBNModel
from adsgen.cbn.parameters import fit_bdeu
from adsgen.cbn.scores import CountScorer, ScoreName, check_score
from adsgen.cbn.tiers import default_tiers, forbidden_edges, temporal_order
from adsgen.errors import InputError, one_of

Algorithm = Literal["auto", "exact", "tabu", "hc"]
ALGORITHMS: tuple[Algorithm, ...] = get_args(Algorithm)
"""Structure search algorithms ``LearnConfig.algorithm`` accepts."""
ESS_GRID = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
"""Equivalent sample sizes ``structure_ess="auto"`` tries."""


@dataclass(frozen=True)
class LearnConfig:
    """Options of ``adsgen cbn learn``."""

    score: ScoreName = "bdeu"
    """Structure score: "bdeu" or "bic" (adsgen.cbn.scores.ScoreName)."""
    algorithm: Algorithm = "auto"
    """Structure search: "exact" (score-optimal, ``adsgen.cbn.exact``), "tabu" (tabu climbs with perturbed
    restarts, ``adsgen.cbn.tabu``), "hc" (pgmpy's hill climbing) or "auto" (exact when it needs at most
    ``exact.EXACT_DEFAULT_BUDGET`` parent sets scored, else tabu)."""
    structure_ess: float | Literal["auto"] = 10.0
    """BDeu equivalent sample size of the structure score (pgmpy's default), or "auto": chosen by the data
    among ``ESS_GRID``, the one whose learned graph has the largest BDeu marginal likelihood (``choose_ess``)."""
    parameter_ess: float = 5.0
    """BDeu equivalent sample size of the parameter prior (pgmpy's default)."""
    holdout: float = 0.2
    """Share of rows held out for validation (0 < holdout < 1)."""
    bootstrap: int = 0
    """Bootstrap resamples for arc strength and direction (0: none)."""
    seed: int = 0
    """Seed of the split, the bootstrap and PC's subsample."""
    max_indegree: int | None = None
    """Most parents per variable (None: unbounded, as pgmpy)."""
    missing: MissingRows = "paired"
    """How structure scores treat missing values: "paired" or "pgmpy" (see HillClimbConfig.missing)."""
    pc: bool = True
    """Run pgmpy's PC as a cross-check."""
    pc_rows: int = 20_000
    """PC runs on at most this many complete training rows (its pandas-based tests are slow)."""
    pc_alpha: float = 0.01
    """PC's significance level."""
    pc_max_cond_vars: int = 3
    """Largest conditioning set PC tests."""
    fdr: float = 0.05
    """False discovery rate for the implied-independence tests (Benjamini-Hochberg)."""
    outcome: str = "severity"
    """Variable whose prediction is validated (skipped when the data has no such column)."""
    risky_states: tuple[str, ...] = ("injury", "fatal")
    """States of the outcome counted as risky in calibration."""

    def __post_init__(self) -> None:
        from adsgen.errors import ConfigError

        if not 0.0 < self.holdout < 1.0:
            raise ConfigError(f"holdout must be between 0 and 1, got {self.holdout}")
        if self.bootstrap < 0:
            raise ConfigError(f"bootstrap must be >= 0, got {self.bootstrap}")
        one_of(self.missing, MISSING_ROWS, "missing")
        check_score(self.score)
        if self.structure_ess != "auto" and not (isinstance(self.structure_ess, (int, float))
                                                 and 0 < self.structure_ess < float("inf")):
            raise ConfigError(f"structure_ess must be a positive number or 'auto', got {self.structure_ess!r}")
        one_of(self.algorithm, ALGORITHMS, "algorithm")


@dataclass
class LearnResult:
    """What ``learn`` returns."""

    model: CBNModel
    report: dict
    strengths: dict[tuple[str, str], float] = field(default_factory=dict)
    """Arc strengths drawn on graph.png (bootstrap share, or score loss on removal without bootstrap)."""
    directions: dict[tuple[str, str], float] = field(default_factory=dict)
    """Bootstrap share of resamples pointing each arc as the learned graph does (with bootstrap only)."""


def infer_states(frame: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """States of each column: canonical states for canonical variables, else the column's categories
    (or its sorted distinct values)."""
    from adsgen.variables import STATES

    out: dict[str, tuple[str, ...]] = {}
    for col in frame.columns:
        name = str(col)
        if name in STATES:
            out[name] = STATES[name]
            continue
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            out[name] = tuple(str(c) for c in s.cat.categories)
        elif pd.api.types.is_numeric_dtype(s.dtype) and s.notna().any():
            raise InputError(f"column '{name}' holds numbers where categories are expected")
        else:
            out[name] = tuple(sorted({str(v) for v in s.dropna().unique()}))
        if len(out[name]) < 1:
            raise InputError(f"column '{name}' has no values")
    return out


def choose_algorithm(algorithm: str, names: Sequence[str], forbidden, max_indegree: int | None) -> str:
    """"exact" or "hc" for ``LearnConfig.algorithm`` on these variables and constraints."""
    from adsgen.cbn.exact import EXACT_DEFAULT_BUDGET, estimate_parent_sets

    if algorithm != "auto":
        return algorithm
    if len(names) > EXACT_MAX_VARIABLES:
        return "tabu"
    idx = {v: i for i, v in enumerate(names)}
    banned = np.zeros((len(names), len(names)), dtype=bool)
    for a, b in forbidden:
        if a in idx and b in idx:
            banned[idx[a], idx[b]] = True
    return "exact" if estimate_parent_sets(len(names), banned, max_indegree) <= EXACT_DEFAULT_BUDGET else "tabu"


def structure_search(data: CodedData, forbidden: set[tuple[str, str]], algorithm: str, config: HillClimbConfig,
                     seed: int, scorer: CountScorer | None = None,
                     on_progress: Callable[[int, int], None] | None = None) -> StructureResult:
    """The graph ``algorithm`` ("exact", "tabu" or "hc") learns under ``config``'s score."""
    if algorithm == "exact":
        from adsgen.cbn.exact import exact_search

        return exact_search(data, forbidden, score=config.score, equivalent_sample_size=config.equivalent_sample_size,
                            max_indegree=config.max_indegree, missing=config.missing, scorer=scorer,
                            on_progress=on_progress)
    if algorithm == "tabu":
        from adsgen.cbn.tabu import tabu_search

        return tabu_search(data, forbidden, config, seed=seed)
    return hill_climb(data, forbidden, config, scorer=scorer)


def choose_ess(data: CodedData, forbidden: set[tuple[str, str]], algorithm: str, config: LearnConfig,
               say: Callable[[str], None] = lambda _msg: None) -> dict:
    """BDeu's equivalent sample size chosen by the data: for each size of ``ESS_GRID`` learn the graph and
    take the size whose graph has the largest BDeu score. The BDeu score is the log marginal likelihood
    log P(data | graph, ess), so this is the empirical-Bayes choice of the prior's strength (Silander,
    Kontkanen and Myllymaki 2007; Steck 2008). Returns the chosen size and every size's score and arcs."""
    tried = []
    for ess in ESS_GRID:
        say(f"structure: equivalent sample size {ess:g}")
        cfg = HillClimbConfig(score="bdeu", equivalent_sample_size=ess, max_indegree=config.max_indegree,
                              missing=config.missing)
        found = structure_search(data, forbidden, algorithm, cfg, config.seed)
        tried.append({"ess": ess, "score": found.score, "arcs": len(found.edges)})
    best = max(tried, key=lambda t: t["score"])  # first of equal scores: the smaller size
    return {"grid": list(ESS_GRID), "chosen": best["ess"], "tried": tried,
            "rule": "largest BDeu log marginal likelihood of the learned graph"}


def _split(codes: np.ndarray, cards: Sequence[int], holdout: float, seed: int):
    rng = np.random.default_rng(seed)
    n = codes.shape[0]
    perm = rng.permutation(n)
    n_hold = int(round(n * holdout))
    hold, train = codes[perm[:n_hold]], codes[perm[n_hold:]]
    return compress(train, cards), compress(hold, cards)


_ALGORITHM_WORDS = {
    "exact": "exact (dynamic programming over parent sets and orders): the graph is score-optimal",
    "tabu": "tabu search (tabu 10, 100 steps without improvement, 10 perturbed restarts; up to "
            f"{EXACT_MAX_VARIABLES} variables polished by exact search over parent sets of at most 2 and the tabu "
            "graph's), numpy counts",
    "hc": "hill climbing (tabu 100, epsilon 1e-4), pgmpy-equivalent, numpy counts",
}
"""How the validation report names each structure search."""


def _learn_structure(train: CodedData, forbidden: set[tuple[str, str]], algorithm: str, config: LearnConfig,
                     say: Callable[[str], None]
                     ) -> tuple[StructureResult, HillClimbConfig, CountScorer, dict[str, Any] | None]:
    """The learned graph on the training rows, the search options and scorer it used (the scorer's cache is
    shared with the report's figures), and what ``choose_ess`` tried under ``--ess auto`` (else None)."""
    ess_choice = None
    if config.structure_ess == "auto" and config.score == "bdeu":
        ess_choice = choose_ess(train, forbidden, algorithm, config, say)
        ess = float(ess_choice["chosen"])
    else:
        ess = (HillClimbConfig().equivalent_sample_size if config.structure_ess == "auto"  # BIC: unused
               else float(config.structure_ess))
    hc_cfg = HillClimbConfig(score=config.score, equivalent_sample_size=ess, max_indegree=config.max_indegree,
                             missing=config.missing)
    scorer = CountScorer(train, config.score, ess)
    say(f"structure: {algorithm} search")
    result = structure_search(train, forbidden, algorithm, hc_cfg, config.seed, scorer,
                              on_progress=lambda k, n: say(f"structure: exact search, parent sets {k}/{n}"))
    return result, hc_cfg, scorer, ess_choice


def _structure_report(train: CodedData, result: StructureResult, parents: dict[str, tuple[str, ...]],
                      orientation: dict[tuple[str, str], str], scorer: CountScorer, config: LearnConfig,
                      algorithm: str, ess_choice: dict[str, Any] | None
                      ) -> tuple[dict[str, Any], dict[tuple[str, str], float]]:
    """The report's structure section, and each arc's score loss if removed; ``ess_choice``: what
    ``choose_ess`` tried (``--ess auto``)."""
    removal = {}
    for a, b in result.edges:
        ib, ia = train.index(b), train.index(a)
        ps = tuple(train.index(p) for p in parents[b])
        req = (ia,) if config.missing == "paired" else ()  # both sides on the same rows
        removal[(a, b)] = scorer.local_score(ib, ps) - scorer.local_score(ib, tuple(p for p in ps if p != ia), req)
    section = {
        "algorithm": _ALGORITHM_WORDS[algorithm],
        "score_optimal": algorithm == "exact",
        "score": config.score, "score_value": result.score,
        **({"equivalent_sample_size": scorer.equivalent_sample_size} if config.score == "bdeu" else {}),
        **({"ess_choice": ess_choice} if ess_choice else {}),
        ("parent_sets_scored" if algorithm == "exact" else "steps"): result.steps,
        "edges": [{"from": a, "to": b, "score_loss_if_removed": removal[(a, b)],
                   "orientation": orientation[(a, b)]} for a, b in result.edges],
        "orientation_counts": {k: sum(1 for o in orientation.values() if o == k) for k in ORIENTATIONS},
    }
    return section, removal


def _pc_report(train: CodedData, tiers: Mapping[str, int], edges: Sequence[tuple[str, str]],
               config: LearnConfig) -> dict[str, Any]:
    """pgmpy's PC on a sample of complete training rows (mostly-missing columns sit out), against the graph."""
    from adsgen.cbn.pgmpy_adapter import frame_for_pgmpy, pc

    names = train.names
    observed = (train.codes >= 0) * train.weights[:, None]  # (distinct rows, vars) weights
    share = observed.sum(axis=0) / max(train.n_rows, 1)
    pc_cols = [j for j in range(len(names)) if share[j] >= 0.5]
    pc_names = tuple(names[j] for j in pc_cols)
    complete = (train.codes[:, pc_cols] >= 0).all(axis=1)
    rng = np.random.default_rng(config.seed + 1)
    cw = train.weights * complete
    n_pc = int(min(config.pc_rows, cw.sum()))
    if n_pc < 50 or len(pc_names) < 2:
        return {"rows": n_pc, "skipped": "fewer than 50 complete training rows"}
    draw = rng.multivariate_hypergeometric(cw.astype(np.int64), n_pc)  # rows drawn without replacement
    rows = np.repeat(train.codes[:, pc_cols], draw, axis=0)
    pc_states = {v: train.states[v] for v in pc_names}
    pc_frame = frame_for_pgmpy(decode(rows, pc_names, pc_states), pc_states)
    pc_tiers = {v: t for v, t in tiers.items() if v in pc_names}
    # pgmpy's temporal order must name every variable: with an untiered column PC runs unordered
    order = temporal_order(pc_tiers) if len(pc_tiers) == len(pc_names) else []
    directed, undirected = pc(pc_frame, order, config.pc_alpha, config.pc_max_cond_vars)
    return {"rows": n_pc, "alpha": config.pc_alpha, "max_cond_vars": config.pc_max_cond_vars,
            "tiers_applied": bool(order), "variables_left_out": [v for v in names if v not in pc_names],
            **V.pc_agreement([e for e in edges if e[0] in pc_names and e[1] in pc_names], directed, undirected)}


def _bootstrap_rows(train: CodedData, forbidden: Collection[tuple[str, str]], config: LearnConfig,
                    hc_cfg: HillClimbConfig, algorithm: str, edges: Sequence[tuple[str, str]],
                    say: Callable[[str], None]) -> list[dict[str, Any]]:
    """Bootstrap arc strength and direction, strongest first, each arc in the learned graph's direction."""
    search = None if algorithm == "hc" else (
        lambda sample: structure_search(sample, set(forbidden), algorithm, hc_cfg, config.seed))
    arcs = bootstrap_arcs(train, forbidden, hc_cfg, config.bootstrap, config.seed + 2,
                          on_resample=lambda k: say(f"bootstrap: resample {k}/{config.bootstrap}"),
                          search=search)
    learned = set(edges)
    arc_rows = []
    for (a, b), v in sorted(arcs.items(), key=lambda kv: -kv[1]["strength"]):
        in_graph = (a, b) in learned or (b, a) in learned
        if (b, a) in learned:  # report in the main graph's direction
            a, b, v = b, a, {"strength": v["strength"], "direction": 1.0 - v["direction"]}
        arc_rows.append({"from": a, "to": b, "strength": v["strength"], "direction": v["direction"],
                         "in_graph": in_graph})
    return arc_rows


def _validation(report: dict[str, Any], compiled: CompiledCBN, empty: CompiledCBN, train: CodedData,
                held: CodedData, edges: Sequence[tuple[str, str]], config: LearnConfig) -> None:
    """Held-out log-likelihood, outcome prediction, implied independences and lost dependences, into report."""
    names = train.names
    report["heldout_loglik"] = V.heldout_loglik(compiled, empty, held) if held.n_rows else None
    if config.outcome in names and held.n_rows:
        risky = [s for s in config.risky_states if s in train.states[config.outcome]]
        report["outcome_prediction"] = V.outcome_prediction(compiled, empty, held, config.outcome, risky)
    report["independence_tests"] = V.independence_tests(held if held.n_rows else train, names, edges, config.fdr)
    report["lost_dependences"] = {"p_max": V.LOST_DEPENDENCE_P, "pairs": V.lost_dependences(train, names, edges)}


def _known_graph(report: dict[str, Any], edges: Sequence[tuple[str, str]], known_edges: Sequence[tuple[str, str]],
                 names: Sequence[str], bootstrap: bool) -> dict[str, Any]:
    """Distances to the known graph, and (with a bootstrap) the strong arcs that are not true arcs."""
    out = compare(names, edges, known_edges)
    if bootstrap:
        truth = {frozenset(e) for e in known_edges}
        strong = [r for r in report["bootstrap"]["arcs"] if r["strength"] >= 0.9]
        out["strong_arcs_not_true"] = [
            [r["from"], r["to"]] for r in strong if frozenset((r["from"], r["to"])) not in truth]
    return out


def _card(config: LearnConfig, tiers: Mapping[str, int], source: Mapping | None, report: dict[str, Any],
          orientation: dict[tuple[str, str], str], edges: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The model card: where the model came from (data, config, seed, versions) and its headline figures."""
    from adsgen.provenance import utc_now, versions

    return {
        "format": CARD_FORMAT,
        "created": utc_now(),
        "tiers": dict(tiers),
        "source": dict(source or {}),
        "rows": report["rows"],
        "config": asdict(config),
        "seed": config.seed,
        "score": config.score,
        "versions": versions(),
        "validation": V.summary_figures(report),
        "orientation": {f"{a} -> {b}": orientation[(a, b)] for a, b in edges},
    }


def learn(frame: pd.DataFrame, config: LearnConfig = LearnConfig(), *,
          states: Mapping[str, Sequence[str]] | None = None, tiers: Mapping[str, int] | None = None,
          source: Mapping | None = None, known_edges: Sequence[tuple[str, str]] | None = None,
          progress: Callable[[str], None] | None = None) -> LearnResult:
    """Learn, fit and validate a CBN from a table of categorical columns (NaN = missing)."""
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    state_names = {k: tuple(v) for k, v in (states or infer_states(frame)).items()}
    names = tuple(state_names)
    if len(frame) < 10:
        raise InputError(f"{(source or {}).get('path', 'data')}: {len(frame)} rows, too few to learn from")
    tiers = dict(default_tiers(names) if tiers is None else tiers)
    forbidden = forbidden_edges(tiers)
    codes = codes_of(frame, names, state_names, str((source or {}).get("path", "data")))  # (rows, vars)
    cards = [len(state_names[n]) for n in names]
    (tr_codes, tr_w), (ho_codes, ho_w) = _split(codes, cards, config.holdout, config.seed)
    train = CodedData(names, state_names, tr_codes, tr_w)
    held = CodedData(names, state_names, ho_codes, ho_w)
    n_complete = int((codes >= 0).all(axis=1).sum())
    del codes
    timings["encode_split_s"] = time.perf_counter() - t0

    algorithm = choose_algorithm(config.algorithm, names, forbidden, config.max_indegree)
    t = time.perf_counter()
    result, hc_cfg, scorer, ess_choice = _learn_structure(train, forbidden, algorithm, config, say)
    timings["structure_s"] = time.perf_counter() - t
    parents = {v: tuple(a for a, b in result.edges if b == v) for v in names}

    say("parameters: BDeu")
    t = time.perf_counter()
    cpts = fit_bdeu(train, parents, config.parameter_ess)
    empty_cpts = fit_bdeu(train, {v: () for v in names}, config.parameter_ess)
    compiled = CompiledCBN.build(names, state_names, parents, cpts)
    empty = CompiledCBN.build(names, state_names, {v: () for v in names}, empty_cpts)
    timings["parameters_s"] = time.perf_counter() - t

    say("validation")
    t = time.perf_counter()
    report: dict = {"format": "adsgen-cbn-validation/1", "rows": {"total": len(frame), "train": train.n_rows,
                                                                  "holdout": held.n_rows,
                                                                  "complete": n_complete}}
    orientation = arc_orientations(names, result.edges, tiers)
    report["structure"], removal = _structure_report(train, result, parents, orientation, scorer, config,
                                                     algorithm, ess_choice)
    _validation(report, compiled, empty, train, held, result.edges, config)
    timings["validation_s"] = time.perf_counter() - t

    if config.pc:
        say("cross-check: PC")
        t = time.perf_counter()
        report["pc"] = _pc_report(train, tiers, result.edges, config)
        timings["pc_s"] = time.perf_counter() - t

    strengths = {e: removal[e] for e in result.edges}
    directions: dict[tuple[str, str], float] = {}
    if config.bootstrap:
        say(f"bootstrap: {config.bootstrap} resamples")
        t = time.perf_counter()
        arc_rows = _bootstrap_rows(train, forbidden, config, hc_cfg, algorithm, result.edges, say)
        report["bootstrap"] = {"resamples": config.bootstrap, "arcs": arc_rows}
        strengths = {(r["from"], r["to"]): r["strength"] for r in arc_rows if r["in_graph"]}
        directions = {(r["from"], r["to"]): r["direction"] for r in arc_rows if r["in_graph"]}
        timings["bootstrap_s"] = time.perf_counter() - t
    if known_edges is not None:
        report["known_graph"] = _known_graph(report, result.edges, known_edges, names, bool(config.bootstrap))
    timings["total_s"] = time.perf_counter() - t0
    report["timings"] = timings

    card = _card(config, tiers, source, report, orientation, result.edges)
    model = CBNModel(names, state_names, parents, cpts, card)
    return LearnResult(model, report, strengths, directions)
