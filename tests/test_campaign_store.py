"""The campaign store: identity checks that leave foreign files untouched, the unique run key, resume state."""

from __future__ import annotations

import sqlite3

import pytest

from adsgen.campaign.store import APPLICATION_ID, SCHEMA_VERSION, CampaignStore, CurvePoint, check_database
from adsgen.errors import InputError
from adsgen.paths import SEEDS_DIR
from adsgen.scenario.io import load_scenario


@pytest.fixture
def scenario():
    return load_scenario(SEEDS_DIR / "lead_vehicle_braking.yaml")


def test_new_store_is_marked_and_runs_are_unique(tmp_path, scenario):
    db = tmp_path / "c.db"
    with CampaignStore.create(db, config={"k": 1}) as store:
        assert store.add_runs([(scenario, "x.yaml")], "idm", "builtin", range(3)) == 3
        assert store.add_runs([(scenario, "x.yaml")], "idm", "builtin", range(4)) == 1  # only seed 3 is new
        assert store.counts()["pending"] == 4
        with pytest.raises(sqlite3.IntegrityError):
            store.conn.execute("INSERT INTO runs (scenario_hash, agent, backend, seed, status, created_at) "
                               "VALUES (?, 'idm', 'builtin', 0, 'pending', 0)", (scenario.content_hash(),))
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert check_database(db)


def test_finished_runs_and_dead_sessions(tmp_path, scenario):
    with CampaignStore.create(tmp_path / "c.db", config={}) as store:
        store.add_runs([(scenario, None)], "idm", "builtin", range(2))
        sid = store.begin_session({})
        runs, specs = store.runs_to_do("idm", "builtin")
        assert list(specs) == [scenario.content_hash()] and len(runs) == 2
        ids = [run_id for run_id, _, _ in runs]
        assert store.mark_running([ids[0]], sid, "w0") == {ids[0]: 1}
        store.finish_done(ids[0], {"termination": "collision", "min_ttc_s": 0.0, "impact_speed_mps": 5.0},
                          worker="w0", started_at=1.0, finished_at=2.0, wall_s=1.0)
        store.mark_running([ids[1]], sid, "w0")
        # the session's process "dies": a new session on a dead pid recovers the running run as pending
        store.conn.execute("UPDATE sessions SET pid = 999999999 WHERE id = ?", (sid,))
        assert store.recover_dead_sessions() == 1
        assert store.counts() == {"pending": 1, "running": 0, "done": 1, "failed": 0, "timed_out": 0}
        row = store.run(ids[0])
        assert row["collided"] == 1 and row["high_risk"] == 1 and row["status"] == "done"
        store.add_curve_points([CurvePoint("cbn", 1, 50, 3.0), CurvePoint("cbn", 2, 100, 7.0)])
        assert [p.value for p in store.curve_points()] == [3.0, 7.0]


def test_foreign_and_newer_databases_are_refused_untouched(tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    newer = tmp_path / "newer.db"
    CampaignStore.create(newer, config={}).close()
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    text = tmp_path / "notes.db"
    text.write_text("hello, not a database\n" * 10)
    for path, words in ((other, "not an adsgen campaign database"), (newer, "newer adsgen"),
                        (text, "not a SQLite file")):
        before = path.read_bytes()
        with pytest.raises(InputError, match=words):
            CampaignStore.open(path)
        assert path.read_bytes() == before


def test_results_simulated_elsewhere_are_recorded_once(tmp_path, scenario):
    from adsgen.sim.types import RunResult, TerminationReason

    result = RunResult(scenario=scenario.name, termination=TerminationReason.COLLISION, duration_s=3.0,
                       collision_partner="lead", impact_speed_mps=6.0, min_ttc_s=0.0, seed=4)
    with CampaignStore.create(tmp_path / "c.db", config={}, source="adsgen generate") as store:
        assert store.record_results([(scenario, 4, result)], "idm", "builtin") == 1
        assert store.record_results([(scenario, 4, result)], "idm", "builtin") == 0
        columns, (values,) = store.runs_table()
        row = dict(zip(columns, values, strict=True))
        assert row["status"] == "done" and row["collided"] == 1 and row["seed"] == 4
        assert store.campaign()["source"] == "adsgen generate"


@pytest.mark.parametrize(("k", "n", "lo", "hi"), [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634),
                                                  (10, 10, 0.7225, 1.0), (1, 50, 0.0035, 0.1050)])
def test_wilson_interval_matches_published_values(k, n, lo, hi):
    from adsgen.campaign.stats import wilson_interval

    a, b = wilson_interval(k, n)
    assert a == pytest.approx(lo, abs=1e-4) and b == pytest.approx(hi, abs=1e-4)


def test_public_api_imports():
    import adsgen.campaign as campaign

    for name in campaign.__all__:
        assert getattr(campaign, name) is not None


def test_a_campaign_run_by_a_live_process_is_not_taken_over(tmp_path, scenario):
    import os

    with CampaignStore.create(tmp_path / "c.db", config={}) as store:
        store.add_runs([(scenario, None)], "idm", "builtin", [0])
        sid = store.begin_session({})
        store.conn.execute("UPDATE sessions SET pid = ? WHERE id = ?", (os.getppid(), sid))  # alive, not us
        with pytest.raises(InputError, match="being run by process"):
            store.recover_dead_sessions()
