"""A real local Ray cluster: one long-lived backend per actor, results written by the driver, a hung run's
actor killed and replaced."""

from __future__ import annotations

import json
import sqlite3

import pytest

from adsgen.paths import SEEDS_DIR

pytest.importorskip("ray")


@pytest.mark.slow
def test_campaign_on_a_local_ray_cluster(cli, tmp_path):
    db = tmp_path / "ray.db"
    code, out, err = cli(["campaign", "run", SEEDS_DIR, "--db", db, "--executor", "ray", "--workers", "2",
                          "--seeds", "2", "--backend", "adsgen.campaign.faults:FaultInjectingBackend",
                          "--backend-opt", "hang_matching=^cut_in", "--timeout-s", "8", "--no-progress",
                          "--json", tmp_path / "summary.json"])
    assert code == 0, err
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT s.name, r.status, r.worker, r.result_json, r.error FROM runs r "
                        "JOIN scenarios s ON s.hash = r.scenario_hash ORDER BY r.id").fetchall()
    conn.close()
    assert len(rows) == 10
    for name, status, _worker, result, error in rows:
        if name.startswith("cut_in"):
            assert status == "timed_out" and "Ray actor was killed" in error
        else:
            assert status == "done" and json.loads(result)["backend"] == "builtin"
    assert {w for _, _, w, _, _ in rows} == {"w0", "w1"}  # both actors ran runs
    assert json.loads((tmp_path / "summary.json").read_text())["attempted"] == 10
