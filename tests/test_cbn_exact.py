"""Exact and tabu structure search: score-optimal / better than greedy climbing, independent of column order."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from adsgen.cbn.encoding import CodedData, encode
from adsgen.cbn.exact import exact_search
from adsgen.cbn.graphs import cpdag_shd
from adsgen.cbn.hillclimb import HillClimbConfig, hill_climb
from adsgen.cbn.learner import LearnConfig, learn
from adsgen.cbn.networks import load_network, network_edges, sample_network
from adsgen.cbn.rbnlearn import bnlearn_version
from adsgen.cbn.scores import CountScorer
from adsgen.cbn.tabu import tabu_search
from adsgen.cbn.tiers import default_tiers, forbidden_edges
from adsgen.groundtruth import sample_canonical
from adsgen.variables import NAMES, STATES


def _brute_force_best(data, score, forbidden=()):
    """Best total score over every DAG on the (<= 4) variables, by enumeration."""
    scorer = CountScorer(data, score)
    n = len(data.names)
    pairs = list(itertools.combinations(range(n), 2))
    best = -np.inf
    for choice in itertools.product((0, 1, 2), repeat=len(pairs)):  # none, a->b, b->a
        edges = [(a, b) if c == 1 else (b, a) for (a, b), c in zip(pairs, choice, strict=True) if c]
        if any((data.names[a], data.names[b]) in forbidden for a, b in edges):
            continue
        if not nx.is_directed_acyclic_graph(nx.DiGraph(edges)):
            continue
        best = max(best, scorer.total({v: tuple(a for a, b in edges if b == v) for v in range(n)}))
    return best


@pytest.mark.parametrize("score", ["bdeu", "bic"])
def test_exact_matches_brute_force_optimum(score):
    cols = ["light", "surface", "speed_limit", "severity"]
    frame = sample_canonical(3000, 4)[cols]
    data = encode(frame, {c: STATES[c] for c in cols}, cols)
    forbidden = {("severity", "light")}
    result = exact_search(data, forbidden, score=score)
    assert result.score == pytest.approx(_brute_force_best(data, score, forbidden), abs=1e-6)
    assert ("severity", "light") not in result.edges
    assert nx.is_directed_acyclic_graph(nx.DiGraph(result.edges))


def test_exact_finds_asia_where_hill_climbing_does_not():
    model = load_network("asia")
    data = sample_network(model, 5000, 0)
    truth = network_edges(model)
    greedy = hill_climb(data, (), HillClimbConfig(score="bic"))
    exact = exact_search(data, (), score="bic")
    assert exact.score > greedy.score + 1.0  # greedy climbing stops in a local optimum here
    assert cpdag_shd(data.names, exact.edges, truth) == 0 < cpdag_shd(data.names, greedy.edges, truth)
    tabu = tabu_search(data, (), HillClimbConfig(score="bic"), seed=0)
    assert tabu.score > greedy.score + 1.0


def test_network_samples_and_tabu_are_reproducible_and_ignore_column_order():
    model = load_network("sachs")
    a, b = sample_network(model, 3000, 4), sample_network(model, 3000, 4)
    assert np.array_equal(a.codes, b.codes)
    order = list(reversed(range(len(a.names))))
    shuffled = CodedData(tuple(a.names[i] for i in order), a.states, a.codes[:, order], a.weights)
    config = HillClimbConfig(score="bic")
    one, two = tabu_search(a, (), config, seed=3), tabu_search(shuffled, (), config, seed=3)
    assert set(one.edges) == set(two.edges)
    assert cpdag_shd(a.names, one.edges, network_edges(model)) <= 1


def test_exact_respects_tiers_and_ignores_column_order():
    frame = sample_canonical(6000, 2)
    forbidden = forbidden_edges(default_tiers(NAMES))
    data = encode(frame, STATES, NAMES)
    shuffled = list(reversed(NAMES))
    other = encode(frame[shuffled], STATES, tuple(shuffled))
    a = exact_search(data, forbidden, score="bdeu")
    b = exact_search(other, forbidden, score="bdeu")
    assert set(a.edges) == set(b.edges)
    assert a.score == pytest.approx(b.score, abs=1e-6)
    assert not set(a.edges) & forbidden
    greedy = hill_climb(data, forbidden, HillClimbConfig(score="bdeu"))
    assert a.score >= greedy.score - 1e-6


def test_learn_defaults_to_exact_on_the_canonical_network():
    frame = sample_canonical(3000, 5)
    result = learn(frame, LearnConfig(pc=False))
    assert result.report["structure"]["score_optimal"] is True
    hc = learn(frame, LearnConfig(pc=False, algorithm="hc"))
    assert hc.report["structure"]["score_optimal"] is False
    assert result.report["structure"]["score_value"] >= hc.report["structure"]["score_value"] - 1e-6


def test_network_bench_reports_shd_and_score_against_the_truth():
    from adsgen.cbn.bench import run_network_bench

    figures = run_network_bench(("asia",), (3000,), (0,), "bic", pgmpy=False, bnlearn=False)
    (case,) = figures["cases"]
    assert set(case["learners"]) == {"adsgen_exact", "adsgen_hc"}
    best = case["learners"]["adsgen_exact"]
    assert best["score_minus_true"] >= case["learners"]["adsgen_hc"]["score_minus_true"] - 1e-6
    assert best["score_minus_true"] > -1.0  # the optimum scores at least as well as the true graph, up to rounding
    assert best["skeleton_shd"] <= best["cpdag_shd"]


def test_network_bench_says_when_r_is_missing(monkeypatch):
    import shutil

    from adsgen.cbn import rbnlearn
    from adsgen.cbn.bench import run_network_bench

    monkeypatch.setattr(shutil, "which", lambda _name: None)
    figures = run_network_bench(("asia",), (1000,), (0,), "bic", pgmpy=False)
    assert figures["r_bnlearn"].startswith("R is not installed")
    assert not any(k.startswith("bnlearn") for k in figures["cases"][0]["learners"])
    assert rbnlearn.bnlearn_version() is None


@pytest.mark.skipif(bnlearn_version() is None, reason="R with bnlearn is not installed")
def test_bnlearn_runs_on_the_same_csv_and_its_graph_is_scored():
    from adsgen.cbn.bench import run_network_bench

    figures = run_network_bench(("asia",), (3000,), (0,), "bic", pgmpy=False)
    learners = figures["cases"][0]["learners"]
    assert {"bnlearn_hc", "bnlearn_tabu"} <= set(learners)
    for name in ("bnlearn_tabu", "adsgen_exact"):
        assert learners[name]["read_encode_search_s"] >= learners[name]["wall_s"] > 0
    # nothing beats the exact optimum: bnlearn's tabu at best equals it
    assert learners["bnlearn_tabu"]["score_minus_true"] <= learners["adsgen_exact"]["score_minus_true"] + 1e-6


def test_orientation_labels_v_structure_chain_and_tiers():
    from adsgen.cbn.graphs import arc_orientations

    nodes = ["a", "b", "c", "d", "e"]
    edges = [("a", "c"), ("b", "c"), ("c", "d"), ("e", "a")]
    marks = arc_orientations(nodes, edges, {"e": 0, "a": 1})
    assert marks[("a", "c")] == marks[("b", "c")] == "compelled"  # the v-structure a -> c <- b
    assert marks[("c", "d")] == "compelled"  # c - d would make a new v-structure if reversed
    assert marks[("e", "a")] == "tiers"  # reversible in the class, fixed by the tiers
    assert arc_orientations(nodes, [("a", "b")])[("a", "b")] == "reversible"


def test_lost_dependence_is_reported_only_when_the_graph_separates_a_strong_pair():
    from adsgen.cbn.validation import lost_dependences

    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, 3000)
    y = np.where(rng.random(3000) < 0.7, x, 1 - x)  # strongly tied to x
    z = rng.integers(0, 2, 3000)  # independent of both
    data = CodedData(("x", "y", "z"), {v: ("0", "1") for v in "xyz"},
                     np.stack([x, y, z], axis=1).astype(np.int16), np.ones(3000))
    lost = lost_dependences(data, data.names, [])
    assert [(t["x"], t["y"]) for t in lost] == [("x", "y")]
    assert lost_dependences(data, data.names, [("x", "y")]) == []


def test_cpdag_equals_pgmpys_on_random_dags_and_known_networks():
    from adsgen.cbn import pgmpy_adapter as A
    from adsgen.cbn.graphs import cpdag

    rng = np.random.default_rng(1)
    cases = [network_edges(load_network(n)) for n in ("asia", "child", "alarm")]
    for _ in range(40):
        nodes = [f"v{i}" for i in range(8)]
        order = rng.permutation(8)
        cases.append([(nodes[order[i]], nodes[order[j]]) for i in range(8) for j in range(i + 1, 8)
                      if rng.random() < 0.3])
    for edges in cases:
        nodes = sorted({v for e in edges for v in e})
        assert cpdag(nodes, edges) == A.cpdag(nodes, edges), edges


def test_bif_keeps_real_state_names_and_maps_the_rest_reversibly(tmp_path):
    import json

    from adsgen.cbn.model import CBNModel, load_model, save_model

    states = {"Disease": ("Asy/Patch", "<5 yrs", "a,b", "a_b", 'q"t'), "Sick": ("yes", "no")}
    cpts = {"Disease": np.full(5, 0.2), "Sick": np.array([[0.1, 0.9]] * 5)}
    model = CBNModel(("Disease", "Sick"), states, {"Disease": (), "Sick": ("Disease",)}, cpts, {})
    save_model(model, tmp_path / "m")
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    mapped = card["bif_state_names"]["Disease"]
    assert set(mapped.values()) == {"<5 yrs", "a,b", 'q"t'}  # 'Asy/Patch' is written as it is
    assert "a_b" not in mapped  # the mapped 'a,b' does not collide with the real 'a_b'
    back = load_model(tmp_path / "m")
    assert back.states == states
    assert np.allclose(back.cpts["Sick"], cpts["Sick"])


def test_do_answer_range_over_equivalent_orientations():
    from adsgen.cbn.equivalence import do_range, equivalent_dags
    from adsgen.cbn.model import CBNModel

    states = {"a": ("0", "1"), "b": ("0", "1")}
    cpts = {"a": np.array([0.3, 0.7]), "b": np.array([[0.9, 0.1], [0.2, 0.8]])}
    model = CBNModel(("a", "b"), states, {"a": (), "b": ("a",)}, cpts, {})
    assert len(equivalent_dags(["a", "b"], [("a", "b")])) == 2
    assert len(equivalent_dags(["a", "b"], [("a", "b")], {"a": 0, "b": 1})) == 1  # tiers fix it
    rng = do_range(model, "b", {}, {"a": "1"})
    assert rng["graphs"] == 2
    marginal_b1 = 0.3 * 0.1 + 0.7 * 0.8  # b -> a: doing a leaves b at its marginal
    assert rng["low"][1] == pytest.approx(marginal_b1) and rng["high"][1] == pytest.approx(0.8)
    assert len(equivalent_dags(["a", "b", "c"], [("a", "c"), ("b", "c")])) == 1  # v-structure: one graph


@pytest.mark.parametrize("net, kwargs", [
    ("child", {}),
    ("child", {"patience": 60, "tabu_length": 10, "score": "bic"}),
    ("insurance", {"max_indegree": 2}),
])
def test_cached_climb_takes_the_moves_of_the_full_rescan(net, kwargs):
    from adsgen.cbn.hillclimb import scan_climb

    data = sample_network(load_network(net), 2000, 1)
    config = HillClimbConfig(**kwargs)
    cached, scan = hill_climb(data, (), config), scan_climb(data, (), config)
    assert cached.edges == scan.edges and cached.score == scan.score and cached.steps == scan.steps > 10


def test_cached_climb_with_missing_values_and_tiers_matches_the_rescan():
    from adsgen.cbn.hillclimb import scan_climb

    frame = sample_canonical(4000, 2).astype(object)
    frame = frame.mask(np.random.default_rng(1).random(frame.shape) < 0.05)
    data = encode(frame, STATES, NAMES)
    forbidden = forbidden_edges(default_tiers(NAMES))
    config = HillClimbConfig(score="bic", patience=20, tabu_length=10)
    assert hill_climb(data, forbidden, config).edges == scan_climb(data, forbidden, config).edges


@pytest.mark.slow
def test_tabu_finds_child_at_5000_rows_where_hill_climbing_and_plain_tabu_stop():
    model = load_network("child")
    data = sample_network(model, 5000, 0)
    truth = network_edges(model)
    scorer = CountScorer(data, "bic")
    true_score = scorer.total({data.index(v): tuple(data.index(str(p)) for p in model.get_parents(v))
                               for v in data.names})
    plain = tabu_search(data, (), HillClimbConfig(score="bic"), seed=0, polish=False)
    found = tabu_search(data, (), HillClimbConfig(score="bic"), seed=0)
    assert cpdag_shd(data.names, plain.edges, truth) > 0 and plain.score < true_score - 100  # a local optimum
    assert cpdag_shd(data.names, found.edges, truth) == 0
    assert found.score >= true_score - 0.5


def test_tabu_graph_does_not_depend_on_pythonhashseed():
    import os
    import subprocess
    import sys

    code = ("from adsgen.cbn.networks import load_network, sample_network; "
            "from adsgen.cbn.tabu import tabu_search; from adsgen.cbn.hillclimb import HillClimbConfig; "
            "d = sample_network(load_network('sachs'), 2000, 5); "
            "print(sorted(tabu_search(d, (), HillClimbConfig(score='bic'), seed=1, restarts=3).edges))")
    outs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
        assert run.returncode == 0, run.stderr
        outs.append(run.stdout)
    assert outs[0] == outs[1] and outs[0].count("(") > 5


def test_bench_cbn_end_to_end_against_bnlearn_or_says_why_not(monkeypatch):
    from adsgen.cbn.bench import bnlearn_vs_adsgen

    frame = sample_canonical(3000, 6)
    forbidden = forbidden_edges(default_tiers(NAMES))
    if bnlearn_version() is not None:
        out = bnlearn_vs_adsgen(frame, NAMES, STATES, forbidden, "bdeu")
        for name in ("adsgen_exact", "adsgen_hc", "bnlearn_hc"):
            assert out[name]["total_s"] > out[name]["search_s"] > 0
        assert out["adsgen_hc"]["speedup_vs_bnlearn_hc"] == pytest.approx(
            out["bnlearn_hc"]["total_s"] / out["adsgen_hc"]["total_s"])
    import shutil

    monkeypatch.setattr(shutil, "which", lambda _name: None)
    missing = bnlearn_vs_adsgen(frame, NAMES, STATES, forbidden, "bdeu")
    assert list(missing) == ["note"] and missing["note"].startswith("R is not installed")


def test_network_bench_goes_on_when_r_fails_on_a_sample(monkeypatch):
    from adsgen.cbn import rbnlearn
    from adsgen.cbn.bench import run_network_bench
    from adsgen.errors import ConfigError

    def broken(*_args, **_kwargs):
        raise ConfigError("Rscript on x.csv failed (exit 1): Error: some variables have only one level")

    monkeypatch.setattr(rbnlearn, "bnlearn_version", lambda: "4.9")
    monkeypatch.setattr(rbnlearn, "run_bnlearn", broken)
    figures = run_network_bench(("asia",), (1000,), (0, 1), "bic", pgmpy=False)
    assert len(figures["cases"]) == 2
    for case in figures["cases"]:
        assert "one level" in case["bnlearn_error"] and "adsgen_exact" in case["learners"]
