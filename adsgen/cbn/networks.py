"""Reference networks that no one here wrote (pgmpy bundles them offline) and reproducible samples of them.

pgmpy's own ``simulate`` draws differently from one process to the next (its column order and draws
depend on PYTHONHASHSEED), so samples come from ``sample_network``: forward sampling in lexicographic
topological order with ``numpy.random.default_rng(seed)``, the same table for the same seed everywhere.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from adsgen.cbn.encoding import CodedData


def load_network(name: str):
    """pgmpy's bundled example network ``name`` (asia, sachs, child, insurance, alarm, ...)."""
    import logging
    import warnings

    from pgmpy.utils import get_example_model

    logging.getLogger("pgmpy").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_example_model(name)


def network_edges(model) -> list[tuple[str, str]]:
    return sorted((str(a), str(b)) for a, b in model.edges())


def sample_network(model, rows: int, seed: int) -> CodedData:
    """``rows`` rows drawn from ``model`` (a pgmpy DiscreteBayesianNetwork), as coded data, columns in name
    order."""
    rng = np.random.default_rng(seed)
    g = nx.DiGraph(model.edges())
    g.add_nodes_from(model.nodes())
    names = tuple(sorted(str(v) for v in g.nodes))
    codes: dict[str, np.ndarray] = {}
    states: dict[str, tuple[str, ...]] = {}
    for v in nx.lexicographical_topological_sort(g):
        cpd = model.get_cpds(v)
        evidence = [str(e) for e in cpd.variables[1:]]
        values = cpd.get_values()  # (card, prod of evidence cards), first evidence most significant
        if evidence:
            config = np.ravel_multi_index([codes[e] for e in evidence], [int(c) for c in cpd.cardinality[1:]])
        else:
            config = np.zeros(rows, dtype=np.int64)
        cum = np.cumsum(values, axis=0)[:, config]  # (card, rows)
        u = rng.random(rows)
        codes[str(v)] = np.minimum((u[None, :] > cum).sum(axis=0), values.shape[0] - 1).astype(np.int16)
        states[str(v)] = tuple(str(s) for s in cpd.state_names[v])
    table = np.stack([codes[v] for v in names], axis=1)
    return CodedData(names, {v: states[v] for v in names}, table, np.ones(rows))


def decode_frame(data: CodedData) -> pd.DataFrame:
    """The coded rows as a DataFrame of state names (one row per weight unit; weights must be whole)."""
    from adsgen.cbn.encoding import decode

    rows = np.repeat(data.codes, data.weights.astype(np.int64), axis=0)
    return decode(rows, data.names, data.states)
