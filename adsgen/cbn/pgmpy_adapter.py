"""The one place adsgen talks to pgmpy (>=1.1,<1.3).

pgmpy's names move between releases (``estimators.HillClimbSearch`` became
``causal_discovery.HillClimbSearch``, ``StructureScore`` became ``structure_score``, ``BayesianEstimator``
became ``parameter_estimator.DiscreteBayesianEstimator``); every import of pgmpy in adsgen lives here, so
a release change is one file's edit. Functions take and return plain Python / numpy / pandas objects,
except ``network`` which hands back a pgmpy model for callers that want pgmpy's own tools.

CPT layout used across adsgen: ``cpt[parent_1, ..., parent_k, state]`` (parents in the order given),
each slice over the last axis sums to 1. pgmpy's TabularCPD layout is ``values[state, configuration]``
with the first evidence variable most significant.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd


def _quiet() -> None:
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"pgmpy\..*")
    warnings.filterwarnings("ignore", category=UserWarning, module=r"pgmpy\..*")
    logging.getLogger("pgmpy").setLevel(logging.ERROR)


def version() -> str:
    import importlib.metadata

    return importlib.metadata.version("pgmpy")


def frame_for_pgmpy(frame: pd.DataFrame, states: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Columns of ``states`` as pandas Categoricals with categories in state order (NaN stays NaN)."""
    return pd.DataFrame({
        n: pd.Categorical(frame[n].astype("object"), categories=list(states[n])) for n in states
    })


def structure_score(frame: pd.DataFrame, states: Mapping[str, Sequence[str]], score: str,
                    equivalent_sample_size: float = 10.0):
    """pgmpy's stock structure score object over a pgmpy-ready frame."""
    _quiet()
    from pgmpy.structure_score import BIC, BDeu

    sn = {k: list(v) for k, v in states.items()}
    if score == "bdeu":
        return BDeu(frame, equivalent_sample_size=equivalent_sample_size, state_names=sn)
    if score == "bic":
        return BIC(frame, state_names=sn)
    raise ValueError(f"no pgmpy counterpart for score '{score}'")


def local_score(scorer, variable: str, parents: Sequence[str]) -> float:
    return float(scorer.local_score(variable, tuple(parents)))


def pgmpy_hill_climb(frame: pd.DataFrame, states: Mapping[str, Sequence[str]], temporal_order: list[list[str]],
               score: str = "bdeu", equivalent_sample_size: float = 10.0, tabu_length: int = 100,
               max_indegree: int | None = None, epsilon: float = 1e-4) -> list[tuple[str, str]]:
    """Stock pgmpy HillClimbSearch with the tiers as temporal order; the learned DAG's edges.

    Complete data goes to ``causal_discovery.HillClimbSearch``. That class refuses NaN, so data with
    missing values goes to the older ``estimators.HillClimbSearch`` (same search, same scores, counts on
    per-family complete cases; present in pgmpy < 1.3).
    """
    _quiet()
    from pgmpy.causal_discovery import ExpertKnowledge

    expert = ExpertKnowledge(temporal_order=temporal_order) if temporal_order else None
    if not frame.isna().to_numpy().any():
        from pgmpy.causal_discovery import HillClimbSearch

        est = HillClimbSearch(
            scoring_method=structure_score(frame, states, score, equivalent_sample_size),
            tabu_length=tabu_length, max_indegree=max_indegree, expert_knowledge=expert,
            return_type="dag", epsilon=epsilon, show_progress=False,
        )
        est.fit(frame)
        dag = est.causal_graph_
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            from pgmpy.estimators import BIC, BDeu, HillClimbSearch

        sn = {k: list(v) for k, v in states.items()}
        scorer = (BDeu(frame, equivalent_sample_size=equivalent_sample_size, state_names=sn)
                  if score == "bdeu" else BIC(frame, state_names=sn))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # the deprecation of this very class
            dag = HillClimbSearch(frame, state_names=sn).estimate(
                scoring_method=scorer, tabu_length=tabu_length, max_indegree=max_indegree,
                expert_knowledge=expert, epsilon=epsilon, show_progress=False)
    return [(str(a), str(b)) for a, b in dag.edges()]


def pc(frame: pd.DataFrame, temporal_order: list[list[str]], significance_level: float = 0.01,
       max_cond_vars: int = 3, ci_test: str = "chi_square"
       ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """pgmpy's PC (stable variant) on complete rows; returns (directed edges, undirected edges)."""
    _quiet()
    from pgmpy.causal_discovery import PC, ExpertKnowledge

    expert = ExpertKnowledge(temporal_order=temporal_order) if temporal_order else None
    est = PC(variant="stable", ci_test=ci_test, return_type="pdag", significance_level=significance_level,
             max_cond_vars=max_cond_vars, expert_knowledge=expert, n_jobs=1, show_progress=False)
    est.fit(frame)
    g = est.causal_graph_
    und = sorted({(min(str(a), str(b)), max(str(a), str(b))) for a, b in g.undirected_edges})
    return sorted((str(a), str(b)) for a, b in g.directed_edges), und


def to_tabular_values(cpt: np.ndarray) -> np.ndarray:
    """adsgen CPT (parents..., state) -> pgmpy TabularCPD values (state, configurations)."""
    r = cpt.shape[-1]
    return cpt.reshape(-1, r).T


def from_tabular_values(values: np.ndarray, parent_cards: Sequence[int]) -> np.ndarray:
    """pgmpy TabularCPD values (state, configurations) -> adsgen CPT (parents..., state)."""
    r = values.shape[0]
    return np.ascontiguousarray(np.asarray(values, dtype=np.float64).reshape(r, -1).T).reshape(
        *parent_cards, r)


def network(names: Sequence[str], states: Mapping[str, Sequence[str]],
            parents: Mapping[str, Sequence[str]], cpts: Mapping[str, np.ndarray], name: str = "adsgen_cbn"):
    """A pgmpy DiscreteBayesianNetwork from adsgen CPTs."""
    _quiet()
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    model = DiscreteBayesianNetwork()
    model.add_nodes_from(names)
    model.add_edges_from([(p, v) for v in names for p in parents[v]])
    model.name = name
    for v in names:
        ps = list(parents[v])
        model.add_cpds(TabularCPD(
            v, len(states[v]), to_tabular_values(cpts[v]), evidence=ps or None,
            evidence_card=[len(states[p]) for p in ps] or None,
            state_names={k: list(states[k]) for k in [v, *ps]},
        ))
    model.check_model()
    return model


def write_bif(model, path: str | Path) -> None:
    """Write a pgmpy model with pgmpy's BIF writer (full float precision)."""
    _quiet()
    from pgmpy.readwrite import BIFWriter

    BIFWriter(model).write(str(path))


def read_bif(path: str | Path) -> tuple[list[str], dict[str, tuple[str, ...]], dict[str, tuple[str, ...]],
                                        dict[str, np.ndarray]]:
    """Read a BIF file with pgmpy's reader: (variables, states, parents, CPTs in adsgen layout)."""
    _quiet()
    from pgmpy.readwrite import BIFReader

    model = BIFReader(path=str(path)).get_model()
    names = [str(n) for n in model.nodes()]
    states: dict[str, tuple[str, ...]] = {}
    parents: dict[str, tuple[str, ...]] = {}
    cpts: dict[str, np.ndarray] = {}
    for cpd in model.get_cpds():
        v = str(cpd.variable)
        states[v] = tuple(str(s) for s in cpd.state_names[cpd.variable])
    for cpd in model.get_cpds():
        v = str(cpd.variable)
        ps = tuple(str(p) for p in cpd.variables[1:])
        parents[v] = ps
        values = cpd.get_values()  # (state, configurations)
        cpts[v] = from_tabular_values(values, [len(states[p]) for p in ps])
    return names, states, parents, cpts


def bayesian_cpts(frame: pd.DataFrame, states: Mapping[str, Sequence[str]],
                  edges: Sequence[tuple[str, str]], equivalent_sample_size: float
                  ) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """pgmpy's DiscreteBayesianEstimator (BDeu prior): {variable: (parents, CPT in adsgen layout)}."""
    _quiet()
    from pgmpy.models import DiscreteBayesianNetwork
    from pgmpy.parameter_estimator import DiscreteBayesianEstimator

    model = DiscreteBayesianNetwork()
    model.add_nodes_from(list(states))
    model.add_edges_from(edges)
    est = DiscreteBayesianEstimator(state_names={k: list(v) for k, v in states.items()}, prior_type="BDeu",
                                    equivalent_sample_size=equivalent_sample_size)
    model.fit(frame, estimator=est)
    out = {}
    for cpd in model.get_cpds():
        ps = tuple(str(p) for p in cpd.variables[1:])
        out[str(cpd.variable)] = (ps, from_tabular_values(cpd.get_values(), [len(states[p]) for p in ps]))
    return out


class VariableElimination:
    """pgmpy's exact inference on a model, answering with plain arrays in state order."""

    def __init__(self, model):
        _quiet()
        from pgmpy.inference import VariableElimination as _VE

        self._ve = _VE(model)
        self._model = model

    def query(self, target: str, evidence: Mapping[str, str] | None = None) -> np.ndarray:
        factor = self._ve.query([target], evidence=dict(evidence or {}), show_progress=False)
        order = self._model.get_cpds(target).state_names[target]
        names = factor.state_names[target]
        return np.array([factor.values[names.index(s)] for s in order], dtype=np.float64)


def mutilated(model, do: Mapping[str, str]):
    """Graph surgery in pgmpy: cut the edges into each do-variable and fix it to its state."""
    _quiet()
    from pgmpy.factors.discrete import TabularCPD

    m = model.copy()
    for var, state in do.items():
        for p in list(m.get_parents(var)):
            m.remove_edge(p, var)
        sn = list(model.get_cpds(var).state_names[var])
        values = np.zeros((len(sn), 1))
        values[sn.index(state), 0] = 1.0
        m.remove_cpds(var)
        m.add_cpds(TabularCPD(var, len(sn), values, state_names={var: sn}))
    m.check_model()
    return m


def cpdag(nodes: Sequence[str], edges: Sequence[tuple[str, str]]
          ) -> tuple[set[tuple[str, str]], set[frozenset[str]]]:
    """The CPDAG (Markov equivalence class) of a DAG: (directed edges, undirected edges)."""
    _quiet()
    from pgmpy.base import DAG

    dag = DAG()
    dag.add_nodes_from(nodes)
    dag.add_edges_from(edges)
    pdag = dag.to_pdag()
    return ({(str(a), str(b)) for a, b in pdag.directed_edges},
            {frozenset((str(a), str(b))) for a, b in pdag.undirected_edges})
