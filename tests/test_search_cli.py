"""`adsgen generate` end to end on the builtin simulator, and its bad-input errors."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import yaml

from adsgen.paths import SEEDS_DIR
from adsgen.sim.fault import NOT_AT_FAULT, RULES


@pytest.fixture(scope="session")
def cbn_dir(tmp_path_factory) -> Path:
    """A CBN learned from 20k rows sampled from the synthetic reference network (no PC, no bootstrap)."""
    from adsgen.cbn import LearnConfig, learn, save_model
    from adsgen.groundtruth.reference import sample_canonical

    out = tmp_path_factory.mktemp("cbn") / "model"
    result = learn(sample_canonical(20_000, seed=3), LearnConfig(pc=False))
    save_model(result.model, out, result.report)
    return out


@pytest.mark.slow
def test_generate_writes_distinct_high_risk_scenarios(cli, cbn_dir, tmp_path):
    from adsgen.scenario.io import load_scenario

    out = tmp_path / "found"
    code, stdout, err = cli(["generate", "--cbn", cbn_dir, "--seeds", SEEDS_DIR, "--budget", 150,
                             "--method", "cbn", "--seed", 1, "--out", out])
    assert code == 0, err
    record = json.loads((out / "run.json").read_text())
    assert record["method"] == "cbn" and record["runs"] == 150 and record["budget"] == 150
    assert record["iterations"] >= 2 and record["curve"][-1]["runs"] == 150
    rows = list(csv.DictReader(open(out / "summary.csv")))
    assert len(rows) == record["distinct_high_risk"] > 0
    for row in rows:
        assert float(row["min_ttc_s"] or 0.0) < 1.0 or row["collision"] == "1"
        assert 0.0 < float(row["cbn_risk"]) < 1.0 and float(row["log_plausibility"]) < 0.0
        assert row["fault_rule"] in RULES and row["at_fault"] == str(int(row["fault_rule"] not in NOT_AT_FAULT))
        scn = load_scenario(out / "scenarios" / f"{row['name']}.yaml")
        assert scn.factors.light == row["light"] and scn.seed == row["seed"]
        assert (out / "xosc" / f"{row['name']}.xosc").is_file()
    keys = {tuple(r[c] for c in ("seed", "light", "weather", "surface", "road_layout", "traffic_control",
                                 "speed_limit", "other_movement", "driver_impaired", "collision_type"))
            for r in rows}
    assert len(keys) > 1  # more than one factor combination
    # the headline figures: coverage is the crash mass of the cells holding a valid failure, in [0, 1]
    assert 0.0 <= record["crash_weighted_coverage"] <= 1.0
    assert (record["crash_weighted_coverage"] > 0) == (record["valid_failures"] > 0)
    assert record["crash_weighted_coverage"] == pytest.approx(
        sum(record["coverage_per_seed"].values()) / len(record["seeds"]), abs=1e-4)
    curve = [p["crash_weighted_coverage"] for p in record["curve"]]
    assert curve == sorted(curve) and curve[-1] == pytest.approx(record["crash_weighted_coverage"], abs=1e-4)
    assert "crash-weighted coverage" in stdout and "mean log plausibility" in stdout


@pytest.mark.slow
def test_generate_keeps_every_run_and_refuses_to_overwrite(cli, tmp_path):
    import sqlite3

    out = tmp_path / "found"
    argv = ["generate", "--seeds", SEEDS_DIR, "--budget", 60, "--method", "random", "--no-xosc", "--out", out]
    assert cli(argv)[0] == 0
    conn = sqlite3.connect(out / "runs.sqlite")
    (runs,) = conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'done'").fetchone()
    (high,) = conn.execute("SELECT COUNT(*) FROM runs WHERE high_risk = 1").fetchone()
    conn.close()
    record = json.loads((out / "run.json").read_text())
    assert runs == 60 and high == record["high_risk_runs"]
    report = tmp_path / "report"
    code, _, err = cli(["report", out / "runs.sqlite", "--out", report, "--worst", "1"])
    assert code == 0, err
    assert "Search curve" in (report / "index.html").read_text()
    before = (out / "runs.sqlite").stat().st_mtime_ns
    code, _, err = cli(argv)
    assert code == 2 and "runs.sqlite" in err
    assert (out / "runs.sqlite").stat().st_mtime_ns == before


def test_generate_rejects_zero_budget(cli, tmp_path):
    code, _, err = cli(["generate", "--seeds", SEEDS_DIR, "--budget", 0, "--method", "random",
                        "--out", tmp_path / "o"])
    assert code == 2 and "--budget" in err and "Traceback" not in err


def test_generate_rejects_unsatisfiable_seed_contract(cli, tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    data = yaml.safe_load((SEEDS_DIR / "lead_vehicle_braking.yaml").read_text())
    data["contract"]["light"] = []
    (seeds / "bad.yaml").write_text(yaml.safe_dump(data))
    code, _, err = cli(["generate", "--seeds", seeds, "--budget", 10, "--method", "random",
                        "--out", tmp_path / "o"])
    assert code == 2 and "bad.yaml" in err and "light" in err


def test_generate_rejects_model_from_another_variable_set(cli, cbn_dir, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(cbn_dir, other)
    card = json.loads((other / "card.json").read_text())
    bif = (other / "model.bif").read_text().replace("driver_impaired", "driver_age")
    (other / "model.bif").write_text(bif)
    card["variables"] = [("driver_age" if v == "driver_impaired" else v) for v in card["variables"]]
    (other / "card.json").write_text(json.dumps(card))
    code, _, err = cli(["generate", "--cbn", other, "--seeds", SEEDS_DIR, "--budget", 10, "--out",
                        tmp_path / "o"])
    assert code == 2 and "driver_impaired" in err and "Traceback" not in err


@pytest.mark.parametrize("method", ["cbn", "natural", "cbn_blind", "cbn_shuffled"])
def test_generate_cbn_method_needs_a_model(cli, tmp_path, method):
    code, _, err = cli(["generate", "--seeds", SEEDS_DIR, "--budget", 10, "--method", method,
                        "--out", tmp_path / "o"])
    assert code == 2 and "--cbn" in err and method in err
