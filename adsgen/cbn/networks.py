"""Known networks as pgmpy models: those no one here wrote (pgmpy bundles them offline), adsgen's made-up
crash network, and reproducible samples of them.

pgmpy's own ``simulate`` draws differently from one process to the next (its column order and draws
depend on PYTHONHASHSEED), so samples come from ``sample_network``: forward sampling in lexicographic
topological order with ``numpy.random.default_rng(seed)``, the same table for the same seed everywhere.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from adsgen.cbn.encoding import CodedData
from adsgen.groundtruth.reference import reference_cpds
from adsgen.groundtruth.sampling import Family, forward_sample
from adsgen.variables import NAMES, STATES


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


def reference_model():
    """adsgen's made-up crash network (adsgen.groundtruth.reference) as a pgmpy DiscreteBayesianNetwork."""
    from adsgen.cbn import pgmpy_adapter

    cpds = reference_cpds()
    return pgmpy_adapter.network(NAMES, STATES, {v: c.parents for v, c in cpds.items()},
                                 {v: c.table for v, c in cpds.items()}, name="adsgen_reference_synthetic")


def sample_network(model, rows: int, seed: int) -> CodedData:
    """``rows`` rows drawn from ``model`` (a pgmpy DiscreteBayesianNetwork) by adsgen.groundtruth's forward
    sampler in lexicographic topological order, as coded data, columns in name order."""
    g = nx.DiGraph(model.edges())
    g.add_nodes_from(model.nodes())
    names = tuple(sorted(str(v) for v in g.nodes))
    families: dict[str, Family] = {}
    states: dict[str, tuple[str, ...]] = {}
    for v in map(str, g.nodes):
        cpd = model.get_cpds(v)
        values = cpd.get_values()  # (card, prod of evidence cards), first evidence most significant
        shape = tuple(int(c) for c in cpd.cardinality[1:]) + (values.shape[0],)
        families[v] = (tuple(str(e) for e in cpd.variables[1:]), values.T.reshape(shape))
        states[v] = tuple(str(s) for s in cpd.state_names[v])
    codes = forward_sample(families, [str(v) for v in nx.lexicographical_topological_sort(g)], rows, seed)
    table = np.stack([codes[v] for v in names], axis=1)
    return CodedData(names, {v: states[v] for v in names}, table, np.ones(rows))


def decode_frame(data: CodedData) -> pd.DataFrame:
    """The coded rows as a DataFrame of state names (one row per weight unit; weights must be whole)."""
    from adsgen.cbn.encoding import decode

    rows = np.repeat(data.codes, data.weights.astype(np.int64), axis=0)
    return decode(rows, data.names, data.states)
