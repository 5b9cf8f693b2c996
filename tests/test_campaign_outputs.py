"""What a campaign gives back: status, exports (CSV, Parquet, JUnit XML), replay, and the HTML report."""

from __future__ import annotations

import csv
import json
import re
import shutil
import sqlite3
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from adsgen.paths import SEEDS_DIR

FIXTURES = Path(__file__).parent / "fixtures" / "campaign"
sys.path.insert(0, str(FIXTURES))

from fakesim import write_scenarios  # noqa: E402
from page_check import CHROMIUM, browser_check, screenshot  # noqa: E402


@pytest.fixture(scope="module")
def builtin_db(tmp_path_factory):
    """The five shipped seeds x 2 simulation seeds on the builtin engine against the IDM agent."""
    from adsgen.cli import main

    db = tmp_path_factory.mktemp("campaign") / "seeds.db"
    assert main(["campaign", "run", str(SEEDS_DIR), "--db", str(db), "--seeds", "2", "--executor", "inline",
                 "--no-progress"]) == 0
    return db


@pytest.fixture(scope="module")
def faulty_db(tmp_path_factory):
    from adsgen.cli import main

    tmp = tmp_path_factory.mktemp("faulty")
    scen = write_scenarios(tmp / "scen", 6)
    db = tmp / "faulty.db"
    assert main(["campaign", "run", str(scen), "--db", str(db), "--agent", "fakesim:FakeAgent", "--backend",
                 "adsgen.campaign.faults:FaultInjectingBackend", "--backend-opt", "inner=fakesim:FakeBackend",
                 "--backend-opt", "raise_matching=^s00[02]$", "--executor", "inline", "--no-progress"]) == 0
    return db


def test_status_counts_and_factors(cli, builtin_db):
    code, out, err = cli(["campaign", "status", builtin_db, "--json", "-"])
    assert code == 0, err
    st = json.loads(out)
    assert st["total"] == 10 and st["counts"]["done"] == 10 and st["agents"] == ["idm"]
    conn = sqlite3.connect(builtin_db)
    collisions = conn.execute("SELECT SUM(collided) FROM runs").fetchone()[0]
    conn.close()
    assert st["collisions"] == collisions
    light = {r["state"]: r for r in st["by_factor"] if r["factor"] == "light"}
    assert sum(r["done"] for r in light.values()) == 10
    for r in st["by_factor"]:
        if r["done"]:
            lo, hi = r["collision_ci"]
            assert lo <= r["collision_rate"] <= hi
    code, out, _ = cli(["campaign", "status", builtin_db])
    assert code == 0 and "timed out" in out and "errored" in out and "failed" not in out and "collision_type" in out


def test_exports(cli, builtin_db, faulty_db, tmp_path):
    assert cli(["campaign", "export", builtin_db, "--out", tmp_path / "runs.csv"])[0] == 0
    df = pd.read_csv(tmp_path / "runs.csv")
    assert len(df) == 10 and {"status", "seed", "min_ttc_s", "termination", "light", "scenario_name"} <= set(df)
    raw = list(csv.DictReader(open(tmp_path / "runs.csv")))  # tidy types: a spreadsheet reads them as meant
    assert {r["collided"] for r in raw} <= {"true", "false"} and {r["at_fault"] for r in raw} <= {"true", "false", ""}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["finished_at"]) for r in raw)
    assert all(re.fullmatch(r"\d+", r["attempts"]) and re.fullmatch(r"\d*", r["session_id"]) for r in raw)
    assert cli(["campaign", "export", builtin_db, "--out", tmp_path / "runs.parquet"])[0] == 0
    pq = pd.read_parquet(tmp_path / "runs.parquet")
    assert pq["id"].tolist() == df["id"].tolist()
    assert cli(["campaign", "export", faulty_db, "--out", tmp_path / "results.xml"])[0] == 0
    root = ET.parse(tmp_path / "results.xml").getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == 6 and root.get("tests") == "6"
    errors = [c for c in cases if c.find("error") is not None]
    assert len(errors) == 2 and all("InjectedFault" in c.find("error").get("message") for c in errors)
    conn = sqlite3.connect(faulty_db)
    collided = conn.execute("SELECT COUNT(*) FROM runs WHERE collided = 1").fetchone()[0]
    conn.close()
    assert len([c for c in cases if c.find("failure") is not None]) == collided == int(root.get("failures"))
    conn = sqlite3.connect(builtin_db)
    valid = conn.execute("SELECT COUNT(*) FROM runs WHERE verdict = 'valid_failure'").fetchone()[0]
    conn.close()
    assert cli(["campaign", "export", builtin_db, "--out", tmp_path / "v.xml", "--fail-on", "valid-failure"])[0] == 0
    failures = list(ET.parse(tmp_path / "v.xml").getroot().iter("failure"))
    assert valid > 0 and len(failures) == valid and all(f.get("type") == "valid_failure" for f in failures)
    code, _, err = cli(["campaign", "export", builtin_db, "--out", tmp_path / "runs.txt"])
    assert code == 2 and "unknown format" in err


def test_junit_can_fail_near_misses_too(cli, tmp_path):
    builtin_db = tmp_path / "near.db"  # a strict near-miss threshold, so that some runs are near misses
    assert cli(["campaign", "run", SEEDS_DIR, "--db", builtin_db, "--executor", "inline", "--no-progress",
                "--near-miss-ttc-s", "4"])[0] == 0
    assert cli(["campaign", "export", builtin_db, "--out", tmp_path / "all.csv"])[0] == 0
    df = pd.read_csv(tmp_path / "all.csv")
    done = df[df["status"] == "done"]
    collisions = int(done["collided"].astype(bool).sum())
    near = int((done["high_risk"].astype(bool) & ~done["collided"].astype(bool)).sum())
    assert cli(["campaign", "export", builtin_db, "--out", tmp_path / "strict.xml", "--fail-on", "near-miss"])[0] == 0
    root = ET.parse(tmp_path / "strict.xml").getroot()
    kinds = [f.get("type") for f in root.iter("failure")]
    assert near > 0 and kinds.count("collision") == collisions and kinds.count("near_miss") == near
    assert int(root.get("failures")) == collisions + near
    assert all("min time-to-collision" in f.get("message") for f in root.iter("failure") if f.get("type") == "near_miss")
    for f in root.iter("failure"):  # each failure body says how to reproduce it
        run_id = int(f.text.rsplit(" ", 1)[1])
        assert f"reproduce: adsgen replay {builtin_db} {run_id}" in f.text and "factors: light=" in f.text
        assert "verdict: " in f.text and "impact speed: " in f.text
    valid = int((done["verdict"] == "valid_failure").sum())
    assert cli(["campaign", "export", builtin_db, "--out", tmp_path / "valid.xml", "--fail-on", "valid-failure"])[0] == 0
    root = ET.parse(tmp_path / "valid.xml").getroot()
    assert [f.get("type") for f in root.iter("failure")] == ["valid_failure"] * valid
    assert all("valid failure" in f.get("message") for f in root.iter("failure"))
    code, _, err = cli(["campaign", "export", builtin_db, "--out", tmp_path / "r.csv", "--fail-on", "near-miss"])
    assert code == 2 and "only JUnit XML" in err
    code, _, err = cli(["campaign", "export", builtin_db, "--out", tmp_path / "r.xml", "--fail-on", "ttc"])
    assert code == 2 and "--fail-on 'ttc'" in err


def test_replay_same_and_different(cli, builtin_db, tmp_path):
    code, out, err = cli(["replay", builtin_db, "3", "--render", tmp_path / "frames"])
    assert code == 0, err
    assert "same outcome" in out
    frames = sorted(p.name for p in (tmp_path / "frames").glob("*.png"))
    fronts = [p for p in frames if re.search(r"_CAM_FRONT(_LEFT|_RIGHT)?\.png$", p)]
    bevs = [p for p in frames if p.endswith("_BEV.png")]
    assert len(fronts) == len(bevs) >= 2 and len(frames) == len(fronts) + len(bevs)  # each moment with a BEV
    # the report's scheme: run-<id>-<scenario>_t<s>s_<view>.png (adsgen.render.moments.frame_stem)
    assert all(re.fullmatch(r"run-3-[A-Za-z0-9-]+_t\d\d\.\d\ds_(CAM_FRONT(_LEFT|_RIGHT)?|BEV)\.png", p) for p in frames), frames
    tampered = tmp_path / "tampered.db"
    shutil.copy(builtin_db, tampered)
    conn = sqlite3.connect(tampered)
    result = json.loads(conn.execute("SELECT result_json FROM runs WHERE id = 3").fetchone()[0])
    result["min_distance_m"] = (result["min_distance_m"] or 0.0) + 1.0
    conn.execute("UPDATE runs SET result_json = ? WHERE id = 3", (json.dumps(result),))
    conn.commit()
    conn.close()
    code, out, err = cli(["replay", tampered, "3"])
    assert code == 1 and "min_distance_m" in out and "DIFFERENT" in out
    conn = sqlite3.connect(tampered)  # recorded with another numpy: the replay warns
    versions = json.loads(conn.execute("SELECT versions_json FROM sessions WHERE id = 1").fetchone()[0])
    versions["numpy"] = "0.0.1"
    conn.execute("UPDATE sessions SET versions_json = ? WHERE id = 1", (json.dumps(versions),))
    conn.commit()
    conn.close()
    code, out, err = cli(["replay", tampered, "4"])
    assert code == 0 and "same outcome" in out and "numpy was 0.0.1" in err
    code, _, err = cli(["replay", builtin_db, "999"])
    assert code == 2 and "no run with id 999" in err


def test_every_worst_run_in_the_report_carries_its_reproduction(cli, builtin_db, tmp_path):
    import html as html_lib
    import re
    import shlex

    from adsgen.variables import FACTORS

    out = tmp_path / "report"
    code, _, err = cli(["report", builtin_db, "--out", out, "--worst", "3", "--no-keyframes"])
    assert code == 0, err
    page = (out / "index.html").read_text()
    commands = [shlex.split(html_lib.unescape(c)) for c in re.findall(r"<code>(adsgen replay [^<]+)</code>", page)]
    assert len(commands) == 3
    conn = sqlite3.connect(builtin_db)
    for argv in commands:
        assert argv[:2] == ["adsgen", "replay"] and Path(argv[2]) == builtin_db
        run_id = int(argv[3])
        stored_verdict, seed, hash_ = conn.execute("SELECT verdict, seed, scenario_hash FROM runs WHERE id = ?",
                                                   (run_id,)).fetchone()
        code, stdout, err = cli(argv[1:])  # the command as printed reproduces the run and its verdict
        assert code == 0 and "same outcome" in stdout, err
        assert ("verdict stored" in stdout) == (stored_verdict is not None)
        for ext in ("yaml", "xosc"):
            assert f'href="runs/run-{run_id}.{ext}"' in page and (out / "runs" / f"run-{run_id}.{ext}").exists()
        from adsgen.scenario.io import load_scenario

        assert load_scenario(out / "runs" / f"run-{run_id}.yaml").content_hash() == hash_
    conn.close()
    worst = page.split('id="worst-scenarios"')[1].split('id="provenance"')[0]
    assert all(f"{f}=" in worst for f in FACTORS if f != "collision_type") and "nan" not in worst
    assert str(tmp_path) not in page.split('id="provenance"')[0]  # links are relative to the page
    assert "Guided-search rates" not in page  # a plain campaign's rates are not labelled as a search's


@pytest.mark.slow
def test_report_page_loads_offline_in_chromium(cli, builtin_db, tmp_path):
    curve = tmp_path / "run.json"  # the run record `adsgen generate` writes
    curve.write_text(json.dumps([{"method": m, "curve": [{"runs": 50 * i, "distinct_high_risk": k * i,
                                                          "wall_s": 0.1 * i, "iteration": i} for i in range(1, 6)]}
                                 for m, k in (("cbn", 4), ("random", 1))]))
    out = tmp_path / "report"
    code, _, err = cli(["report", builtin_db, "--out", out, "--curve", curve, "--worst", "2"])
    assert code == 0, err
    html = (out / "index.html").read_text()
    for title in ("Collision and near-miss rate by factor", "Minimum time-to-collision", "Runs over time",
                  "Worst scenarios", "Search curve", "Provenance"):
        assert title in html
    assert "http://" not in html and "https://" not in html  # nothing fetched from the network
    assert len(list(out.glob("*.png"))) >= 4 + 2 * 4  # 4 plots + 2 worst runs x (>= 2 moments x (camera + BEV))
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (apt-get install -y chromium); page checked without a browser")
    found = browser_check(out / "index.html", tmp_path)
    assert found["images"] == len(list(out.glob("*.png")))
    assert found["broken"] == [] and found["errors"] == []
    assert found["viewport"] == 1280 and found["page_width"] <= 1280 and found["overflowing"] == []  # fits
    broken_copy = tmp_path / "report-broken"  # the check itself notices a missing image
    shutil.copytree(out, broken_copy)
    (broken_copy / "min-ttc.png").unlink()
    assert browser_check(broken_copy / "index.html", tmp_path)["broken"] == ["min-ttc.png"]
    wide = broken_copy / "index.html"  # and a page wider than 1,280 px
    wide.write_text(wide.read_text().replace("</body>", '<div style="width:3000px">wide</div></body>'))
    assert browser_check(wide, tmp_path)["overflowing"] == ["div"]
    shot = screenshot(out / "index.html", tmp_path / "report-screenshot.png", tmp_path)
    assert shot.exists() and shot.stat().st_size > 10_000


def test_batched_runs_get_their_own_results(cli, builtin_db, tmp_path):
    db = tmp_path / "batched.db"
    assert cli(["campaign", "run", SEEDS_DIR, "--db", db, "--seeds", "2", "--batch-size", "4",
                "--executor", "inline", "--no-progress"])[0] == 0
    q = ("SELECT r.scenario_hash, r.seed, r.result_json FROM runs r ORDER BY r.scenario_hash, r.seed")
    rows = {}
    for path in (builtin_db, db):
        conn = sqlite3.connect(path)
        rows[path] = [(h, s, json.loads(j)) for h, s, j in conn.execute(q)]
        conn.close()
    assert len(rows[db]) == 10
    assert rows[db] == rows[builtin_db]


def test_outputs_of_a_campaign_with_nothing_finished(cli, tmp_path):
    from adsgen.campaign.store import CampaignStore
    from adsgen.scenario.io import load_scenario

    db = tmp_path / "new.db"
    with CampaignStore.create(db, config={}) as store:
        store.add_runs([(load_scenario(SEEDS_DIR / "cut_in.yaml"), None)], "idm", "builtin", [0, 1])
    code, out, _ = cli(["campaign", "status", db, "--json", "-"])
    assert code == 0 and json.loads(out)["counts"]["pending"] == 2
    assert cli(["campaign", "export", db, "--out", tmp_path / "r.xml"])[0] == 0
    assert ET.parse(tmp_path / "r.xml").getroot().get("skipped") == "2"
    code, _, err = cli(["report", db, "--out", tmp_path / "report"])
    assert code == 0, err
    assert "No finished runs yet." in (tmp_path / "report" / "index.html").read_text()


def test_report_plots_say_what_they_show(builtin_db):
    """Every factor panel has its own legend and units; runs a search stored at once are counted in stored
    order (wall time would be one vertical line), a campaign's against wall time."""
    import numpy as np

    from adsgen.campaign.plots import rates_by_factor, runs_over_time
    from adsgen.campaign.stats import campaign_status, runs_frame
    from adsgen.campaign.store import CampaignStore

    with CampaignStore.open(builtin_db, readonly=True) as store:
        st, df = campaign_status(store), runs_frame(store)
    panels = [ax for ax in rates_by_factor(st["by_factor"], guided=True).axes if ax.get_title()]
    assert len(panels) == 9 and all(ax.get_legend() is not None for ax in panels if ax.patches)
    assert all("share of runs" in ax.get_ylabel() for ax in panels if ax.patches)
    assert "not population rates" in rates_by_factor(st["by_factor"], guided=True).get_suptitle()
    assert "not population rates" not in rates_by_factor(st["by_factor"]).get_suptitle()

    campaign_ax = runs_over_time(df).axes[0]
    assert "wall time" in campaign_ax.get_xlabel() and campaign_ax.get_legend() is not None
    batch = df.assign(session_id=None, started_at=1.0e9, finished_at=1.0e9)  # as `adsgen generate` stores them
    ax = runs_over_time(batch).axes[0]
    lines = {line.get_label().split(" (")[0]: line for line in ax.get_lines()}
    done = batch[batch["status"] == "done"]
    assert lines["collision"].get_ydata()[-1] == int(done["collided"].sum())
    assert np.ptp(lines["collision"].get_xdata()) == len(done) - 1  # spread over the runs, not a vertical line
    assert "stored" in ax.get_xlabel() and "[s]" not in ax.get_xlabel()
