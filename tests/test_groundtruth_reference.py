"""The synthetic reference network: structure respects the tiers, marginals match published shares,
risk rises with the documented factors, and sampling is fast, categorical and deterministic."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd

from adsgen.groundtruth import reference as ref
from adsgen.variables import NAMES, STATES, TIERS


def test_structure_is_a_tiered_dag_with_v_structures():
    edges = ref.reference_edges()
    assert len(edges) >= 14
    g = nx.DiGraph(edges)
    assert nx.is_directed_acyclic_graph(g)
    assert set(g.nodes) == set(NAMES)
    assert all(TIERS[a] <= TIERS[b] for a, b in edges)
    v_structures = [(a, c, b) for c in g for a in g.predecessors(c) for b in g.predecessors(c)
                    if a < b and not g.has_edge(a, b) and not g.has_edge(b, a)]
    assert len(v_structures) >= 3


def test_cpds_are_normalised_and_shaped_by_parents():
    cpds = ref.reference_cpds()
    assert set(cpds) == set(NAMES)
    for v, c in cpds.items():
        assert c.table.shape == tuple(len(STATES[p]) for p in c.parents) + (len(STATES[v]),)
        np.testing.assert_allclose(c.table.sum(axis=-1), 1.0)
        assert (c.table > 0).all()


def test_marginals_are_close_to_published_shares():
    m = ref.exact_marginals()
    sev = dict(zip(STATES["severity"], m["severity"], strict=True))
    assert 0.66 <= sev["property_damage"] <= 0.74
    assert 0.26 <= sev["injury"] <= 0.32
    assert sev["fatal"] < 0.01
    rear = m["collision_type"][STATES["collision_type"].index("rear_end")]
    assert 0.28 <= rear <= 0.40


def test_risk_rises_with_darkness_weather_surface_and_speed():
    light = ref.risk_given("light")
    assert light[STATES["light"].index("dark_unlighted")] > light[0] + 0.05
    weather = ref.risk_given("weather")
    assert weather[STATES["weather"].index("snow")] > weather[0]
    assert weather[STATES["weather"].index("rain")] > weather[0]
    surface = ref.risk_given("surface")
    assert surface[0] < surface[1] < surface[2]
    speed = ref.risk_given("speed_limit")
    assert speed[0] < speed[1] < speed[2]


def test_sample_is_categorical_deterministic_and_matches_marginals():
    df = ref.sample_canonical(200_000, seed=7)
    assert list(df.columns) == list(NAMES)
    for v in NAMES:
        assert isinstance(df[v].dtype, pd.CategoricalDtype)
        assert list(df[v].cat.categories) == list(STATES[v])
        assert not df[v].isna().any()
    m = ref.exact_marginals()
    for v in NAMES:
        shares = df[v].value_counts(normalize=True, sort=False).to_numpy()
        np.testing.assert_allclose(shares, m[v], atol=0.005)
    again = ref.sample_canonical(1000, seed=7)
    pd.testing.assert_frame_equal(again, ref.sample_canonical(1000, seed=7))
    assert not ref.sample_canonical(1000, seed=8).equals(again)


def test_pgmpy_model_agrees_with_tables():
    from adsgen.cbn.networks import reference_model

    model = reference_model()
    cpd = model.get_cpds("severity")
    table = ref.reference_cpds()["severity"].table
    # pgmpy: (card, prod parent cards) with the first parent slowest
    np.testing.assert_allclose(cpd.get_values(), table.reshape(-1, 3).T)
    assert cpd.variables[1:] == list(ref.reference_cpds()["severity"].parents)
