"""CompiledCBN: exact batched queries equal pgmpy's VariableElimination; do() is graph surgery."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adsgen.cbn import pgmpy_adapter as A
from adsgen.cbn.compiled import CompiledCBN
from adsgen.errors import InputError
from adsgen.variables import NAMES, STATES

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "cbn"))
import smallnet  # noqa: E402


@pytest.fixture(scope="module")
def net():
    parents = smallnet.parents_of()
    cpts = smallnet.cpts(seed=7)
    return CompiledCBN.build(NAMES, STATES, parents, cpts), A.network(NAMES, STATES, parents, cpts)


def test_single_queries_match_variable_elimination(net):
    cbn, model = net
    ve = A.VariableElimination(model)
    rng = np.random.default_rng(0)
    for _ in range(30):
        target = NAMES[int(rng.integers(len(NAMES)))]
        others = [v for v in NAMES if v != target]
        given = rng.choice(others, int(rng.integers(0, 6)), replace=False)
        ev = {v: STATES[v][int(rng.integers(len(STATES[v])))] for v in given}
        np.testing.assert_allclose(cbn.query(target, ev), ve.query(target, ev), rtol=0, atol=1e-9)


def test_batch_risk_with_mixed_missing_matches_variable_elimination(net):
    cbn, model = net
    ve = A.VariableElimination(model)
    combos = cbn.sample(300, seed=1).drop(columns=["severity"]).astype(object)
    rng = np.random.default_rng(2)
    combos = combos.mask(rng.random(combos.shape) < 0.3)  # NaN = not given
    risk = cbn.batch_risk(combos)
    assert risk.shape == (300,)
    for i in range(0, 300, 23):
        ev = {k: v for k, v in combos.iloc[i].items() if isinstance(v, str)}
        p = ve.query("severity", ev)
        assert abs(risk[i] - (p[1] + p[2])) < 1e-9
    # a dict of arrays answers the same
    as_dict = {k: combos[k].to_numpy() for k in combos.columns}
    np.testing.assert_array_equal(cbn.batch_risk(as_dict), risk)


def test_do_on_linked_variables_matches_brute_force_graph_surgery():
    # weather -> surface are linked do-variables; a small network keeps enumeration exact and quick
    edges = (("weather", "surface"), ("light", "surface"), ("surface", "collision_type"),
             ("weather", "collision_type"), ("light", "collision_type"), ("collision_type", "severity"),
             ("surface", "severity"), ("weather", "severity"))
    names = ("light", "weather", "surface", "collision_type", "severity")
    parents = {v: tuple(a for a, b in edges if b == v) for v in NAMES}
    cpts = smallnet.cpts(seed=3, edges=edges)
    keep = {v: cpts[v] for v in names}
    cbn = CompiledCBN.build(names, {v: STATES[v] for v in names}, {v: parents[v] for v in names}, keep)
    for do, given in [({"weather": "rain", "surface": "wet"}, {}),
                      ({"weather": "snow", "surface": "dry"}, {"light": "dark_unlighted"}),
                      ({"surface": "snow_ice"}, {"weather": "clear"})]:
        got = cbn.query("severity", given, do)
        want = _brute_force_do_small(keep, parents, names, "severity", do, given)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    # surgery differs from conditioning when the do-variables are linked
    cond = cbn.query("severity", {"weather": "snow", "surface": "dry"})
    inter = cbn.query("severity", {}, {"weather": "snow", "surface": "dry"})
    assert np.abs(cond - inter).max() > 1e-4


def _brute_force_do_small(cpts, parents, names, target, do, given):
    """Enumerate every full assignment of the mutilated network: do-variables fixed, their CPTs dropped."""
    dist = np.zeros(len(STATES[target]))
    for assignment in itertools.product(*[range(len(STATES[v])) for v in names]):
        a = dict(zip(names, assignment, strict=True))
        if any(a[v] != STATES[v].index(s) for v, s in {**do, **given}.items()):
            continue
        p = 1.0
        for v in names:
            if v not in do:
                p *= cpts[v][tuple(a[q] for q in parents[v]) + (a[v],)]
        dist[a[target]] += p
    return dist / dist.sum()


def test_do_matches_pgmpy_surgery_on_full_network(net):
    cbn, model = net
    for do in [{"weather": "rain", "surface": "wet"}, {"light": "dark_unlighted", "surface": "snow_ice"}]:
        want = A.VariableElimination(A.mutilated(model, do)).query("severity", {"road_layout": "curve"})
        np.testing.assert_allclose(cbn.query("severity", {"road_layout": "curve"}, do), want, atol=1e-12)
    combos = pd.DataFrame({"weather": ["rain", "snow"], "surface": ["wet", "dry"]})
    risk = cbn.batch_risk(combos, do=True)
    for i, row in combos.iterrows():
        p = cbn.query("severity", {}, dict(row))
        assert abs(risk[i] - p[1] - p[2]) < 1e-12


def test_log_prob_is_a_marginal_probability(net):
    cbn, _ = net
    grid = pd.DataFrame(list(itertools.product(STATES["light"], STATES["surface"])), columns=["light", "surface"])
    p = np.exp(cbn.log_prob(grid))
    assert abs(p.sum() - 1.0) < 1e-12
    one = np.exp(cbn.log_prob({"light": ["daylight"]}))[0]
    assert abs(one - cbn.query("light")[0]) < 1e-12


def test_sampling_reproduces_marginals(net):
    cbn, _ = net
    df = cbn.sample(40_000, seed=3)
    assert list(df.columns) == list(cbn.names)
    assert df.equals(cbn.sample(40_000, seed=3))
    freq = df["collision_type"].value_counts(normalize=True).reindex(STATES["collision_type"]).to_numpy()
    np.testing.assert_allclose(freq, cbn.query("collision_type"), atol=0.01)


def test_bad_names_raise_input_errors_listing_valid_ones(net):
    cbn, _ = net
    with pytest.raises(InputError, match="unknown variable 'wether'.*weather"):
        cbn.query("severity", {"wether": "rain"})
    with pytest.raises(InputError, match="unknown state 'drizzle' of 'weather'.*clear, cloudy"):
        cbn.query("severity", {"weather": "drizzle"})
    with pytest.raises(InputError, match="unknown state.*'hail'"):
        cbn.batch_risk({"weather": ["rain", "hail"]})
    with pytest.raises(InputError, match="target"):
        cbn.query("severity", {"severity": "fatal"})


def test_row_by_row_fallback_equals_table_path(net, monkeypatch):
    import adsgen.cbn.compiled as compiled_mod

    cbn, _ = net
    combos = cbn.sample(40, seed=4).drop(columns=["severity"]).astype(object)
    combos = combos.mask(np.random.default_rng(1).random(combos.shape) < 0.3)
    want = cbn.batch_risk(combos), cbn.batch_risk(combos, do=True), cbn.log_prob(combos)
    monkeypatch.setattr(compiled_mod, "MAX_TABLE_CELLS", 1)
    fresh = CompiledCBN.build(cbn.names, cbn.states, cbn.parents, cbn.cpts)
    got = fresh.batch_risk(combos), fresh.batch_risk(combos, do=True), fresh.log_prob(combos)
    for a, b in zip(want, got, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
