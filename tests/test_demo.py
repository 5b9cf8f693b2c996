"""`adsgen demo`: the main job on the embedded defaults writes a report whose every image loads."""

from __future__ import annotations

import csv
import json
import re

import pytest
from page_check import CHROMIUM, browser_check, screenshot

from adsgen.search.compare import METHODS, crash_data_sentence


@pytest.mark.slow
def test_demo_writes_a_complete_report(cli, tmp_path):
    out = tmp_path / "demo"
    code, stdout, err = cli(["demo", "--out", out, "--budget", 200])
    assert code == 0, err
    page = out / "index.html"
    html = page.read_text()
    for title in ("Causal Bayesian network", "Search: does the crash data help?", "Five worst scenarios",
                  "Distinct high-risk scenarios found"):
        assert title in html
    assert "crash-weighted coverage" in html and "in this run" in html  # the figure and the sentence
    assert "Severity like for like" in html
    assert "http://" not in html and "https://" not in html
    images = re.findall(r'<img src="([^"]+)"', html)
    assert len(images) >= 4 + 5 * 4  # graph, bars, 2 curves, 5 worst x (>= 2 moments x (camera + view))
    assert all((out / src).is_file() for src in images)
    pngs = [p.relative_to(out).as_posix() for p in out.rglob("*.png")]
    assert sorted(pngs) == sorted(set(images))  # each picture written once, where the page links it
    found_table = html.split('id="distinct-high-risk-scenarios-found')[1]
    from adsgen.variables import FACTORS

    assert all(f"<th>{f}</th>" in found_table for f in FACTORS)  # every factor, not five of nine
    assert not re.search(r"\bnan\b", html.split('id="provenance"')[0], re.IGNORECASE)  # no value shows "nan"
    assert "p = 0.0 " not in html and "p = 0.0)" not in html
    records = {r["method"]: r for r in json.loads((out / "search_runs.json").read_text())}
    assert set(records) == set(METHODS) and all(r["runs"] == 200 for r in records.values())
    coverage = {m: r["crash_weighted_coverage"] for m, r in records.items()}
    valid = {m: r["valid_failures"] for m, r in records.items()}
    assert crash_data_sentence(coverage, valid) in html.replace("\n", " ")  # the sentence from its own figures
    rows = list(csv.DictReader(open(out / "scenarios_cbn" / "summary.csv")))
    assert len(rows) == records["cbn"]["distinct_high_risk"] > 0
    assert len(list((out / "scenarios_cbn" / "xosc").glob("*.xosc"))) == len(rows)
    assert (out / "cbn" / "model.bif").is_file() and (out / "cbn" / "validation.md").is_file()
    assert str(page) in stdout.replace("\n", "")  # it says where everything is
    assert "runs to 89 distinct" in html and "seed paper" in html  # the number is explained
    assert "{'" not in html.split('id="provenance"')[0]  # no raw Python dicts on the page
    commands = re.findall(r"<code>adsgen replay ([^<]+) (\d+)</code>", html)
    assert len(commands) == html.count('<div class="keyframes">') > 0
    for db, run_id in commands:  # each worst scenario's command reproduces its verdict
        code, out_replay, err = cli(["replay", db, run_id])
        assert code == 0 and "same outcome" in out_replay and "verdict stored" in out_replay, err
    for href in re.findall(r'<a href="([^"#][^"]*)"', html):
        assert (out / href).is_file()
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (apt-get install -y chromium); page checked without a browser")
    found = browser_check(page, tmp_path)
    assert found["images"] == len(images) and found["broken"] == [] and found["errors"] == []
    assert found["viewport"] == 1280 and found["page_width"] <= 1280 and found["overflowing"] == []  # fits
    assert screenshot(page, tmp_path / "demo.png", tmp_path).stat().st_size > 10_000


def test_demo_replaces_its_own_folder_but_never_a_users(tmp_path):
    from adsgen.errors import InputError
    from adsgen.search.demo import MARKER, prepare_output

    out = tmp_path / "demo"
    prepare_output(out)
    (out / "index.html").write_text("old report")
    prepare_output(out)  # a rerun of the demo
    assert (out / MARKER).is_file() and not (out / "index.html").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "results.csv").write_text("precious")
    with pytest.raises(InputError, match="not written by `adsgen demo`"):
        prepare_output(mine)
    assert (mine / "results.csv").read_text() == "precious"


def test_the_crash_data_sentence_says_what_the_figures_say():
    helped = crash_data_sentence({"cbn": 0.3, "random": 0.1, "cbn_blind": 0.2}, {"cbn": 9, "random": 5, "cbn_blind": 9})
    assert helped.startswith("The crash data helped in this run") and "1.5x the best other method (cbn_blind" in helped
    coverage_only = crash_data_sentence({"cbn": 0.3, "ga": 0.1}, {"cbn": 4, "ga": 9})
    assert coverage_only.startswith("The crash data helped coverage but not") and "fewer than ga (9)" in coverage_only
    assert crash_data_sentence({"cbn": 0.1, "natural": 0.2}, {"cbn": 9, "natural": 1}).startswith(
        "The crash data did not help")
