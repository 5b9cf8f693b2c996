"""Model folder, validation report and the cbn CLI (learn, query, bad input)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from adsgen.cbn import load_model
from adsgen.errors import InputError
from adsgen.groundtruth import reference_edges, sample_canonical
from adsgen.variables import NAMES, STATES


@pytest.fixture(scope="module")
def canonical_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("cbn") / "crashes.csv"
    df = sample_canonical(6000, 21).astype(object)
    rng = np.random.default_rng(0)
    df = df.mask(rng.random(df.shape) < 0.04)  # unknowns
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def known_graph(tmp_path_factory):
    path = tmp_path_factory.mktemp("cbn") / "graph.json"
    path.write_text(json.dumps({"edges": [{"from": a, "to": b} for a, b in reference_edges()]}))
    return path


@pytest.fixture(scope="module")
def model_dir(canonical_csv, known_graph, tmp_path_factory):
    from adsgen.cli import main

    out = tmp_path_factory.mktemp("cbn") / "model"
    code = main(["cbn", "learn", str(canonical_csv), "--out", str(out), "--bootstrap", "4", "--seed", "3",
                 "--known-graph", str(known_graph), "--pc-rows", "3000"])
    assert code == 0
    return out


def test_model_folder_has_every_artifact(model_dir):
    for name in ("model.bif", "card.json", "validation.md", "validation.json", "graph.png"):
        assert (model_dir / name).stat().st_size > 0, name
    assert not list(model_dir.glob("*.pkl")) and not list(model_dir.glob("*.pickle"))
    card = json.loads((model_dir / "card.json").read_text())
    assert card["variables"] == list(NAMES)
    assert card["states"]["weather"] == list(STATES["weather"])
    assert card["tiers"]["severity"] == 4
    assert card["source"]["fingerprint"].startswith("sha256:")
    assert card["rows"]["train"] + card["rows"]["holdout"] == 6000
    assert card["seed"] == 3 and card["score"] == "bdeu"
    assert card["versions"]["pgmpy"] and card["versions"]["numpy"]
    assert "heldout_gain_vs_empty_nats_per_row" in card["validation"]


def test_bif_is_read_back_by_pgmpy(model_dir):
    from pgmpy.readwrite import BIFReader

    model = BIFReader(path=str(model_dir / "model.bif")).get_model()
    assert set(model.nodes()) == set(NAMES)
    assert model.check_model()
    cpd = model.get_cpds("weather")
    assert list(cpd.state_names["weather"]) == list(STATES["weather"])


def test_load_model_round_trip_and_variable_check(model_dir):
    model = load_model(model_dir, expected_variables=STATES)
    cbn = model.compiled()
    p = cbn.query("severity", {"light": "dark_unlighted"})
    assert p.shape == (3,) and abs(p.sum() - 1) < 1e-12 and (p > 0).all()
    card = json.loads((model_dir / "card.json").read_text())
    assert sorted(map(tuple, card["edges"])) == sorted(model.edges)
    with pytest.raises(InputError, match="another variable set.*lacks wind"):
        load_model(model_dir, expected_variables=[*NAMES, "wind"])
    with pytest.raises(InputError, match="another variable set.*unexpected severity"):
        load_model(model_dir, expected_variables=[v for v in NAMES if v != "severity"])
    with pytest.raises(InputError, match="states of 'weather'"):
        load_model(model_dir, expected_variables={**STATES, "weather": ("clear", "rain")})


def test_validation_report_contents(model_dir):
    rep = json.loads((model_dir / "validation.json").read_text())
    ll = rep["heldout_loglik"]
    assert ll["model_nats_per_row"] > ll["empty_graph_nats_per_row"]
    pred = rep["outcome_prediction"]
    assert pred["log_loss"] < pred["baseline_log_loss"]
    assert len(pred["calibration"]) == 10
    assert sum(b["rows"] for b in pred["calibration"]) == pred["rows"]
    ci = rep["independence_tests"]
    assert ci["tested"] > 0 and all(0 <= t["p_bh"] <= 1 for t in ci["tests"])
    assert "Benjamini-Hochberg" in ci["method"]
    assert rep["bootstrap"]["resamples"] == 4
    assert all(0 < a["strength"] <= 1 and 0 <= a["direction"] <= 1 for a in rep["bootstrap"]["arcs"])
    assert {(a["from"], a["to"]) for a in rep["bootstrap"]["arcs"] if a["in_graph"]} == \
        {tuple(e) for e in json.loads((model_dir / "card.json").read_text())["edges"]}
    assert rep["pc"]["rows"] == 3000 and "skeleton_shd" in rep["pc"]
    assert rep["known_graph"]["skeleton_shd"] <= 6
    md = (model_dir / "validation.md").read_text()
    for heading in ("Held-out log-likelihood", "Predicting severity", "Implied conditional independences",
                    "Bootstrap arc strength", "Agreement with PC", "Against the known graph"):
        assert heading in md


def test_query_cli_prints_the_distribution(cli, model_dir):
    code, out, err = cli(["cbn", "query", model_dir, "--target", "severity", "--given", "light=dark_unlighted",
                          "--do", "weather=snow", "--do", "surface=snow_ice"])
    assert code == 0, err
    for s in STATES["severity"]:
        assert s in out
    cbn = load_model(model_dir).compiled()
    p = cbn.query("severity", {"light": "dark_unlighted"}, {"weather": "snow", "surface": "snow_ice"})
    assert f"{p[0]:.4f}" in out


@pytest.mark.parametrize("args,needle", [
    (["--given", "wether=rain"], "unknown variable 'wether'"),
    (["--given", "weather=drizzle"], "unknown state 'drizzle' of 'weather'"),
    (["--do", "weather"], "expected var=state"),
    (["--target", "sevrity"], "unknown variable 'sevrity'"),
])
def test_query_cli_bad_names_are_one_line_errors(cli, model_dir, args, needle):
    code, out, err = cli(["cbn", "query", model_dir, *args])
    assert code == 2
    assert needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_learn_cli_bad_input(cli, canonical_csv, tmp_path):
    tiers = tmp_path / "tiers.yaml"
    tiers.write_text("light: 0\nwind_speed: 1\n")
    code, _, err = cli(["cbn", "learn", canonical_csv, "--out", tmp_path / "m", "--tiers", tiers])
    assert code == 2 and "wind_speed" in err and str(tiers) in err and "Traceback" not in err
    code, _, err = cli(["cbn", "query", tmp_path / "nowhere"])
    assert code == 2 and "not a model folder" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("light: [0\n")
    code, _, err = cli(["cbn", "learn", canonical_csv, "--out", tmp_path / "m", "--tiers", bad])
    assert code == 2 and "not valid YAML" in err and len(err.strip().splitlines()) == 1


def test_learn_cli_rejects_empty_and_binary_files(cli, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    binary = tmp_path / "crashes.csv"
    binary.write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)
    for path in (empty, binary):
        code, _, err = cli(["cbn", "learn", path, "--out", tmp_path / "m"])
        assert code == 2 and str(path) in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1


def test_learn_a_canonical_table_of_other_variables(cli, tmp_path):
    rng = np.random.default_rng(0)
    a = rng.choice(["x", "y"], 3000)
    b = np.where(rng.random(3000) < 0.8, a, rng.choice(["x", "y"], 3000))
    import pandas as pd

    pd.DataFrame({"alpha": a, "beta": b, "gamma": rng.choice(["p", "q", "r"], 3000)}).to_csv(
        tmp_path / "other.csv", index=False)
    (tmp_path / "tiers.yaml").write_text("- [alpha]\n- [beta, gamma]\n")
    code, _, err = cli(["cbn", "learn", tmp_path / "other.csv", "--out", tmp_path / "m", "--tiers",
                        tmp_path / "tiers.yaml", "--no-pc"])
    assert code == 0, err
    model = load_model(tmp_path / "m", expected_variables=["alpha", "beta", "gamma"])
    assert model.edges == [("alpha", "beta")]  # tier order fixes the direction
    with pytest.raises(InputError, match="another variable set"):
        load_model(tmp_path / "m", expected_variables=STATES)


def test_learning_is_deterministic_for_a_seed():
    from adsgen.cbn import LearnConfig, learn

    frame = sample_canonical(4000, 5)
    runs = [learn(frame, LearnConfig(seed=9, bootstrap=3, pc=False)) for _ in range(2)]
    assert runs[0].model.edges == runs[1].model.edges
    for v in NAMES:
        np.testing.assert_array_equal(runs[0].model.cpts[v], runs[1].model.cpts[v])
    strip = [{k: v for k, v in r.report.items() if k != "timings"} for r in runs]
    assert strip[0] == strip[1]
    other = learn(frame, LearnConfig(seed=10, pc=False))
    assert other.report["rows"] == runs[0].report["rows"]
    assert other.report["heldout_loglik"] != runs[0].report["heldout_loglik"]  # another split


def test_public_api_imports(cli):
    import adsgen.cbn as cbn

    for name in cbn.__all__:
        assert getattr(cbn, name) is not None
    code, out, _ = cli(["cbn", "--help"])
    assert code == 0 and "learn" in out and "query" in out


def test_learn_to_dir_is_the_python_form_of_the_command(canonical_csv, known_graph, tmp_path):
    from adsgen.cbn import learn_to_dir

    result = learn_to_dir(canonical_csv, tmp_path / "m", known_graph=known_graph, pc=False, seed=3)
    model = load_model(tmp_path / "m", expected_variables=STATES)
    assert sorted(model.edges) == sorted(result.model.edges)
    assert result.report["known_graph"]["skeleton_shd"] >= 0
    assert "pc" not in result.report


def test_bif_written_without_pgmpy_reads_back_identically_with_pgmpy(tmp_path):
    from adsgen.cbn import learn, save_model
    from adsgen.cbn.learner import LearnConfig
    from adsgen.cbn.pgmpy_adapter import read_bif

    result = learn(sample_canonical(3000, 5), LearnConfig(pc=False))
    m = result.model
    save_model(m, tmp_path / "m")
    names, states, parents, cpts = read_bif(tmp_path / "m" / "model.bif")
    assert sorted(names) == sorted(m.names)
    for v in m.names:
        assert states[v] == m.states[v]
        assert parents[v] == m.parents[v]
        assert np.array_equal(cpts[v], m.cpts[v])  # full precision: bit for bit


def _same_bif(ours, theirs) -> bool:
    return (sorted(ours[0]) == sorted(theirs[0]) and ours[1] == theirs[1] and ours[2] == theirs[2]
            and all(np.array_equal(ours[3][v], theirs[3][v]) for v in ours[0]))


def test_own_bif_reader_agrees_with_pgmpys_and_declines_other_layouts(model_dir, tmp_path):
    from pgmpy.readwrite import BIFWriter

    from adsgen.cbn import bif
    from adsgen.cbn.networks import load_network
    from adsgen.cbn.pgmpy_adapter import read_bif

    path = model_dir / "model.bif"
    assert _same_bif(bif.read_bif(path.read_text()), read_bif(path))
    child = tmp_path / "child.bif"  # pgmpy's writer, states such as 'Asy/Patch' and '<5'
    BIFWriter(load_network("child")).write(str(child))
    assert _same_bif(bif.read_bif(child.read_text()), read_bif(child))
    text = path.read_text()
    assert bif.read_bif(text.replace("variable light {", "variable light {\n    property weight = 1;", 1)) is None
    assert bif.read_bif(text.replace("0.", "0.5", 1)) is None  # a row that no longer sums to 1


def test_learn_without_pc_and_loading_import_neither_pgmpy_nor_torch(canonical_csv, tmp_path):
    import subprocess
    import sys

    code = ("import sys; from adsgen.cbn import learn_to_dir, load_model; "
            f"learn_to_dir({str(canonical_csv)!r}, {str(tmp_path / 'm')!r}, pc=False); "
            f"load_model({str(tmp_path / 'm')!r}).compiled().query('severity'); "
            "print(sorted(m for m in ('pgmpy', 'torch', 'scipy.stats') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert (tmp_path / "m" / "model.bif").is_file() and (tmp_path / "m" / "graph.png").is_file()


def test_ess_auto_keeps_the_size_with_the_best_marginal_likelihood(cli, canonical_csv, tmp_path):
    from adsgen.cbn import learn
    from adsgen.cbn.learner import ESS_GRID, LearnConfig

    frame = sample_canonical(2500, 8)
    result = learn(frame, LearnConfig(pc=False, structure_ess="auto"))
    structure = result.report["structure"]
    tried = structure["ess_choice"]["tried"]
    assert [t["ess"] for t in tried] == list(ESS_GRID)
    best = max(tried, key=lambda t: t["score"])
    assert structure["equivalent_sample_size"] == best["ess"]
    assert structure["score_value"] == pytest.approx(best["score"])  # the saved graph is the chosen one
    assert len({t["score"] for t in tried}) > 1  # the size matters on 2,500 rows
    code, _, err = cli(["cbn", "learn", canonical_csv, "--out", tmp_path / "m", "--ess", "-1"])
    assert code == 2 and "--ess" in err and len(err.strip().splitlines()) == 1
