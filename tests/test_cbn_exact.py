"""Exact structure search: the brute-force optimum on small networks, better than hill climbing, tiers,
column order, and ``cbn learn --algorithm``."""

from __future__ import annotations

import itertools
import json

import networkx as nx
import pytest
from typer.testing import CliRunner

from adsgen.cbn.encoding import encode
from adsgen.cbn.exact import exact_search
from adsgen.cbn.graphs import cpdag_marks, skeleton_shd
from adsgen.cbn.hillclimb import HillClimbConfig, hill_climb
from adsgen.cbn.scores import CountScorer
from adsgen.cbn.tiers import default_tiers, forbidden_edges
from adsgen.crashdata import reference_edges, sample_canonical
from adsgen.variables import NAMES, STATES, TIERS


def _brute_force_best(data, score: str) -> float:
    scorer = CountScorer(data, score)
    n = len(data.names)
    pairs = list(itertools.combinations(range(n), 2))
    best = float("-inf")
    for marks in itertools.product((0, 1, 2), repeat=len(pairs)):  # absent, a -> b, b -> a
        g = nx.DiGraph()
        g.add_nodes_from(range(n))
        g.add_edges_from((a, b) if m == 1 else (b, a) for (a, b), m in zip(pairs, marks, strict=True) if m)
        if nx.is_directed_acyclic_graph(g):
            best = max(best, sum(scorer.local_score(v, tuple(sorted(g.predecessors(v)))) for v in range(n)))
    return best


@pytest.mark.parametrize("score", ["bic", "bdeu"])
def test_exact_matches_the_brute_force_optimum_on_four_variables(score):
    sub = list(NAMES[:4])
    data = encode(sample_canonical(2500, 1)[sub], {v: STATES[v] for v in sub}, sub)
    result = exact_search(data, score=score)
    assert result.score == pytest.approx(_brute_force_best(data, score), abs=1e-6)


@pytest.mark.parametrize("score", ["bic", "bdeu"])
def test_exact_beats_hill_climbing_on_score_and_on_distance_to_the_true_graph(score):
    data = encode(sample_canonical(3000, 0), STATES)
    forbidden = forbidden_edges(default_tiers(NAMES))
    exact = exact_search(data, forbidden, score)
    climbed = hill_climb(data, forbidden, HillClimbConfig(score=score))
    assert exact.score > climbed.score + 10.0  # this sample strands hill climbing in a local optimum
    assert skeleton_shd(exact.edges, reference_edges()) < skeleton_shd(climbed.edges, reference_edges())
    assert all(TIERS[a] <= TIERS[b] for a, b in exact.edges)


def test_exact_graph_does_not_depend_on_column_order():
    frame = sample_canonical(3000, 2)
    a = exact_search(encode(frame, STATES), score="bdeu")
    shuffled = list(reversed(NAMES))
    b = exact_search(encode(frame[shuffled], STATES, shuffled), score="bdeu")
    assert sorted(a.edges) == sorted(b.edges)
    assert a.score == b.score


def test_cbn_learn_algorithm_option_reports_score_optimal(tmp_path):
    from adsgen.cli import app

    csv = tmp_path / "crashes.csv"
    sample_canonical(3000, 3).to_csv(csv, index=False)
    runner = CliRunner()
    scores = {}
    for algorithm in ("exact", "hc"):
        out = tmp_path / algorithm
        res = runner.invoke(app, ["cbn", "learn", str(csv), "--out", str(out), "--no-pc", "--algorithm", algorithm])
        assert res.exit_code == 0, res.output
        structure = json.loads((out / "validation.json").read_text())["structure"]
        assert structure["search"] == algorithm
        assert structure["score_optimal"] is (algorithm == "exact")
        scores[algorithm] = structure["score_value"]
    assert scores["exact"] >= scores["hc"]

def test_unknown_algorithm_is_one_line_and_exit_2(tmp_path, capsys):
    from adsgen.cli import main

    csv = tmp_path / "crashes.csv"
    sample_canonical(200, 3).to_csv(csv, index=False)
    assert main(["cbn", "learn", str(csv), "--out", str(tmp_path / "x"), "--algorithm", "ges"]) == 2
    assert "algorithm must be one of auto, exact, hc" in capsys.readouterr().err


def test_cpdag_marks_a_v_structure_compelled_and_a_chain_reversible():
    collider = cpdag_marks("abcd", [("a", "c"), ("b", "c"), ("c", "d")])
    assert collider == {("a", "c"): "compelled", ("b", "c"): "compelled", ("c", "d"): "compelled"}  # Meek 1
    chain = cpdag_marks("abc", [("a", "b"), ("b", "c")])
    assert set(chain.values()) == {"reversible"}
    assert set(cpdag_marks("abc", [("a", "b"), ("b", "c")], [("a", "b")]).values()) == {"tiers"}


@pytest.mark.parametrize("seed", range(6))
def test_cpdag_marks_agree_with_pgmpy_on_random_dags(seed):
    import numpy as np

    from adsgen.cbn.pgmpy_adapter import cpdag

    rng = np.random.default_rng(seed)
    nodes = [f"v{i}" for i in range(7)]
    edges = [(nodes[i], nodes[j]) for i in range(7) for j in range(i + 1, 7) if rng.random() < 0.35]
    directed, _undirected = cpdag(nodes, edges)
    marks = cpdag_marks(nodes, edges)
    assert {e for e, m in marks.items() if m == "compelled"} == set(directed)


def test_networks_bench_exact_scores_at_least_the_true_graph_on_sachs():
    from adsgen.cbn.bench import run_networks_bench

    figures = run_networks_bench(["sachs"], [2000], 1, "bic", ["exact", "hc"], pgmpy_hc=False)
    runs = {r["learner"]: r for r in figures["runs"]}
    assert set(runs) == {"exact", "hc"}
    assert runs["exact"]["score_minus_true"] >= -1e-6  # the true graph is one of the graphs exact compares
    assert runs["exact"]["score_minus_true"] >= runs["hc"]["score_minus_true"] - 1e-6
    assert runs["exact"]["variables"] == 11


def test_bif_keeps_real_network_state_names_and_maps_the_rest_reversibly(tmp_path):
    import numpy as np
    import pandas as pd

    from adsgen.cbn import load_model
    from adsgen.cbn.pipeline import learn_to_dir

    rng = np.random.default_rng(0)
    odd = ["Asy/Patch", "a,b", 'say "hi"', "x}", "50%"]
    a = rng.choice(odd, 2000)
    b = np.where(rng.random(2000) < 0.8, a == "Asy/Patch", rng.random(2000) < 0.5)
    pd.DataFrame({"chest": a, "cough": np.where(b, "yes (dry)", "no")}).to_csv(tmp_path / "t.csv", index=False)
    learn_to_dir(tmp_path / "t.csv", tmp_path / "m", pc=False, tiers=None)
    model = load_model(tmp_path / "m")
    assert sorted(model.states["chest"]) == sorted(odd)
    assert set(model.states["cough"]) == {"yes (dry)", "no"}
    bif = (tmp_path / "m" / "model.bif").read_text()
    assert "Asy/Patch" in bif and "yes (dry)" in bif  # written as is: pgmpy reads them back unchanged
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert set(card["bif_state_names"]["chest"].values()) == {"a,b", 'say "hi"', "x}"}
    assert ("chest", "cough") in model.edges or ("cough", "chest") in model.edges


def test_query_do_reports_the_range_over_a_reversible_arc(tmp_path, capsys):
    import numpy as np
    import pandas as pd

    from adsgen.cbn import load_model
    from adsgen.cli import main

    rng = np.random.default_rng(1)
    a = rng.choice(["x", "y"], 4000)
    b = np.where(rng.random(4000) < 0.85, np.where(a == "x", "p", "q"), rng.choice(["p", "q"], 4000))
    pd.DataFrame({"alpha": a, "beta": b}).to_csv(tmp_path / "t.csv", index=False)
    assert main(["cbn", "learn", str(tmp_path / "t.csv"), "--out", str(tmp_path / "m"), "--no-pc"]) == 0
    model = load_model(tmp_path / "m")
    assert len(model.edges) == 1 and set(model.card["arc_orientation"].values()) == {"reversible"}
    cbn = model.compiled()
    capsys.readouterr()
    assert main(["cbn", "query", str(tmp_path / "m"), "--target", "beta", "--do", "alpha=x"]) == 0
    out = capsys.readouterr().out
    # alpha -> beta: P(beta | alpha = x); beta -> alpha: intervening on alpha leaves beta at its marginal
    conditional, marginal = cbn.query("beta", {"alpha": "x"})[0], cbn.query("beta")[0]
    assert "2 possible parent sets" in out
    assert f"p {min(conditional, marginal):.4f}-{max(conditional, marginal):.4f}" in out
