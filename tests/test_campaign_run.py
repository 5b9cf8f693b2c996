"""`adsgen campaign run`: faults, timeouts, retries, resume after SIGKILL / SIGINT, and bad input."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "campaign"
sys.path.insert(0, str(FIXTURES))  # fakesim: a cheap deterministic backend; worker processes inherit sys.path

from fakesim import write_scenarios  # noqa: E402

FAULTS = "adsgen.campaign.faults:FaultInjectingBackend"
FAKE = ["--agent", "fakesim:FakeAgent", "--backend", FAULTS, "--backend-opt", "inner=fakesim:FakeBackend"]


def _rows(db: Path, where: str = "1") -> list[dict]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute(f"SELECT * FROM runs WHERE {where} ORDER BY id")]
    conn.close()
    return rows


def _counts(db: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in _rows(db):
        out[r["status"]] = out.get(r["status"], 0) + 1
    return out


@pytest.mark.slow
def test_raising_and_hanging_scenarios_do_not_stop_the_campaign(cli, tmp_path):
    scen = write_scenarios(tmp_path / "scen", 100)
    db = tmp_path / "c.db"
    code, out, err = cli(["campaign", "run", scen, "--db", db, *FAKE, "--backend-opt", "raise_matching=9$",
                          "--backend-opt", "hang_matching=^s004$", "--timeout-s", "3", "--workers", "2",
                          "--no-progress"])
    assert code == 0, err
    assert _counts(db) == {"done": 89, "failed": 10, "timed_out": 1}
    failed = _rows(db, "status = 'failed'")
    assert all("InjectedFault: injected fault for scenario s0" in r["error"] for r in failed)
    (hung,) = _rows(db, "status = 'timed_out'")
    assert "timeout of 3 s" in hung["error"]
    # rerunning the same command resumes: nothing left to run, nothing duplicated
    code, out, err = cli(["campaign", "run", scen, "--db", db, *FAKE, "--no-progress", "--workers", "2"])
    assert code == 0 and "(0 finished now, 0 new" in out
    assert len(_rows(db)) == 100


def test_inline_executor_times_out_a_hung_run(cli, tmp_path):
    scen = write_scenarios(tmp_path / "scen", 4)
    db = tmp_path / "c.db"
    code, _, err = cli(["campaign", "run", scen, "--db", db, *FAKE, "--backend-opt", "hang_matching=^s001$",
                        "--executor", "inline", "--timeout-s", "1", "--seeds", "2", "--no-progress"])
    assert code == 0, err
    assert _counts(db) == {"done": 6, "timed_out": 2}


@pytest.mark.parametrize("as_result", [False, True])
def test_lost_server_is_retried_with_backoff(cli, tmp_path, as_result):
    scen = write_scenarios(tmp_path / "scen", 5)
    db = tmp_path / "c.db"
    code, out, err = cli(["campaign", "run", scen, "--db", db, *FAKE, "--backend-opt", "lose_server_times=2",
                          "--backend-opt", f"state_dir={tmp_path / 'faults'}", "--backend-opt",
                          f"fault_as_result={str(as_result).lower()}", "--executor", "inline", "--retries", "3",
                          "--backoff-s", "0.05", "--no-progress"])
    assert code == 0, err
    assert "2 backend-fault retries" in out
    rows = _rows(db)
    assert [r["status"] for r in rows] == ["done"] * 5
    assert sum(r["attempts"] for r in rows) == 5 + 2


def test_retries_give_up_after_k(cli, tmp_path):
    scen = write_scenarios(tmp_path / "scen", 2)
    db = tmp_path / "c.db"
    code, _, err = cli(["campaign", "run", scen, "--db", db, *FAKE, "--backend-opt", "lose_server_times=100",
                        "--backend-opt", f"state_dir={tmp_path / 'faults'}", "--executor", "inline",
                        "--retries", "1", "--backoff-s", "0.01", "--no-progress"])
    assert code == 0, err
    rows = _rows(db)
    assert [r["status"] for r in rows] == ["failed", "failed"]
    assert all(r["attempts"] == 2 and "gave up after 2 attempts" in r["error"] for r in rows)


def _foreign_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (x TEXT)")
    conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.commit()
    conn.close()
    return path


def test_bad_input_exits_2_and_leaves_the_database_untouched(cli, tmp_path):
    scen = write_scenarios(tmp_path / "scen", 3)
    # a database of another tool
    other = _foreign_db(tmp_path / "other.db")
    before = other.read_bytes()
    code, _, err = cli(["campaign", "run", scen, "--db", other, *FAKE, "--no-progress"])
    assert code == 2 and "not an adsgen campaign database" in err
    assert other.read_bytes() == before
    # a campaign database of a newer schema version
    newer = tmp_path / "newer.db"
    assert cli(["campaign", "run", scen, "--db", newer, *FAKE, "--executor", "inline", "--no-progress"])[0] == 0
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = newer.read_bytes()
    code, _, err = cli(["campaign", "run", scen, "--db", newer, *FAKE, "--no-progress"])
    assert code == 2 and "newer adsgen" in err and "99" in err
    code, _, err = cli(["campaign", "status", newer])
    assert code == 2 and "newer adsgen" in err
    assert newer.read_bytes() == before
    # a scenario file that does not parse: nothing created, an existing database unchanged
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.yaml").write_text("name: [unclosed\n  factors: {")
    fresh = tmp_path / "fresh.db"
    code, _, err = cli(["campaign", "run", bad, "--db", fresh, *FAKE, "--no-progress"])
    assert code == 2 and "broken.yaml" in err and not fresh.exists()
    ours = tmp_path / "ours.db"
    assert cli(["campaign", "run", scen, "--db", ours, *FAKE, "--executor", "inline", "--no-progress"])[0] == 0
    before = ours.read_bytes()
    code, _, err = cli(["campaign", "run", scen, bad, "--db", ours, *FAKE, "--no-progress"])
    assert code == 2 and "broken.yaml" in err
    assert ours.read_bytes() == before
    # an unreachable CARLA host
    code, _, err = cli(["campaign", "run", scen, "--db", fresh, "--backend", "carla", "--carla-hosts",
                        "127.0.0.1:1", "--no-progress"])
    assert code == 2 and "127.0.0.1:1" in err and not fresh.exists()
    code, _, err = cli(["campaign", "run", scen, "--db", ours, "--backend", "carla", "--carla-hosts",
                        "127.0.0.1:1", "--no-progress"])
    assert code == 2 and ours.read_bytes() == before
    # a backend or agent that does not exist
    for opt, name in (("--backend", "no_such_backend"), ("--backend", "no.such.module:Backend"),
                      ("--agent", "no_such_agent")):
        code, _, err = cli(["campaign", "run", scen, "--db", fresh, opt, name, "--no-progress"])
        assert code == 2 and name in err and not fresh.exists()
    # an unreachable Ray head
    code, _, err = cli(["campaign", "run", scen, "--db", ours, "--executor", "ray", "--ray-address",
                        "127.0.0.1:1", "--no-progress"])
    assert code == 2 and "no Ray head answers" in err and ours.read_bytes() == before
    code, _, err = cli(["campaign", "run", scen, "--db", fresh, "--carla-hosts", "nohostport", "--no-progress"])
    assert code == 2 and "host:port" in err


def _start(args: list, env_extra: dict | None = None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(FIXTURES), os.environ.get("PYTHONPATH", "")]))
    env.update(env_extra or {})
    return subprocess.Popen([sys.executable, "-m", "adsgen", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_done(db: Path, n: int, proc: subprocess.Popen, limit_s: float = 60.0) -> None:
    t0 = time.time()
    while time.time() - t0 < limit_s:
        if proc.poll() is not None:
            raise AssertionError(f"campaign ended early: {proc.communicate()}")
        if db.exists():
            try:
                if _counts(db).get("done", 0) >= n:
                    return
            except sqlite3.OperationalError:  # schema not written yet
                pass
        time.sleep(0.05)
    raise AssertionError("campaign too slow")


@pytest.mark.slow
def test_sigkill_loses_at_most_the_runs_in_flight(cli, tmp_path):
    scen = write_scenarios(tmp_path / "scen", 200)
    db = tmp_path / "c.db"
    args = ["campaign", "run", scen, "--db", db, *FAKE, "--backend-opt", "delay_s=0.02", "--workers", "2",
            "--no-progress"]
    proc = _start(args)
    _wait_for_done(db, 40, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    before = {r["id"]: r for r in _rows(db, "status = 'done'")}
    assert 40 <= len(before) < 200
    code, out, err = cli(args)
    assert code == 0, err
    rows = _rows(db)
    assert len(rows) == 200 and [r["status"] for r in rows] == ["done"] * 200
    keys = {(r["scenario_hash"], r["agent"], r["backend"], r["seed"]) for r in rows}
    assert len(keys) == 200
    after = {r["id"]: r for r in rows}
    assert all(after[i] == r for i, r in before.items())  # finished before the kill: unchanged
    conn = sqlite3.connect(db)
    states = [s for (s,) in conn.execute("SELECT state FROM sessions ORDER BY id")]
    conn.close()
    assert states == ["died", "finished"]


@pytest.mark.slow
def test_sigint_stops_cleanly_and_resumes(cli, tmp_path):
    scen = write_scenarios(tmp_path / "scen", 60)
    db = tmp_path / "c.db"
    args = ["campaign", "run", scen, "--db", db, *FAKE, "--backend-opt", "delay_s=0.05", "--workers", "2",
            "--no-progress"]
    proc = _start(args)
    _wait_for_done(db, 10, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted: finished runs are committed" in err
    counts = _counts(db)
    assert counts.get("running", 0) == 0 and 10 <= counts["done"] < 60
    assert cli(args)[0] == 0
    assert _counts(db) == {"done": 60}


def test_one_worker_per_carla_host():
    from adsgen.campaign.config import CampaignConfig
    from adsgen.campaign.runner import worker_specs

    cfg = CampaignConfig(scenarios=["x"], db="x.db", backend="carla", workers=7,
                         carla_hosts=[("10.0.0.1", 2000), ("10.0.0.2", 2000), ("10.0.0.2", 3000)])
    specs = worker_specs(cfg)
    assert [(s.backend.options["host"], s.backend.options["port"]) for s in specs] == cfg.carla_hosts
    assert "tm_port" not in specs[0].backend.options
    assert [s.backend.options["tm_port"] for s in specs[1:]] == [8001, 8002]


@pytest.mark.slow
def test_batches_isolate_raising_and_hanging_runs(cli, tmp_path):
    scen = write_scenarios(tmp_path / "scen", 30)
    db = tmp_path / "c.db"
    code, out, err = cli(["campaign", "run", scen, "--db", db, *FAKE, "--backend-opt", "raise_matching=9$",
                          "--backend-opt", "hang_matching=^s004$", "--timeout-s", "0.4", "--seeds", "2",
                          "--batch-size", "8", "--executor", "inline", "--no-progress"])
    assert code == 0, err
    assert _counts(db) == {"done": 52, "failed": 6, "timed_out": 2}
    conn = sqlite3.connect(db)
    hung = conn.execute("SELECT s.name, r.attempts FROM runs r JOIN scenarios s ON s.hash = r.scenario_hash "
                        "WHERE r.status = 'timed_out'").fetchall()
    conn.close()
    assert hung == [("s004", 2), ("s004", 2)]  # its batch timed out, then it timed out alone


@pytest.mark.slow
def test_second_sigint_abandons_runs_in_flight(tmp_path):
    scen = write_scenarios(tmp_path / "scen", 6)
    db = tmp_path / "c.db"
    proc = _start(["campaign", "run", scen, "--db", db, *FAKE, "--backend-opt", "delay_s=30", "--workers", "2",
                   "--no-progress"])
    t0 = time.time()
    while time.time() - t0 < 60 and not (db.exists() and _counts_safe(db).get("running", 0) == 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert time.time() - t0 < 30  # did not wait for the 30 s runs
    assert _counts(db) == {"pending": 6}


def _counts_safe(db: Path) -> dict[str, int]:
    try:
        return _counts(db)
    except sqlite3.OperationalError:
        return {}


def test_a_crashing_worker_fails_its_run_and_is_replaced(cli, tmp_path):
    scen = write_scenarios(tmp_path / "scen", 10)
    db = tmp_path / "c.db"
    code, _, err = cli(["campaign", "run", scen, "--db", db, *FAKE, "--backend-opt", "crash_matching=^s003$",
                        "--workers", "2", "--no-progress"])
    assert code == 0, err
    assert _counts(db) == {"done": 9, "failed": 1}
    (crashed,) = _rows(db, "status = 'failed'")
    assert "died (exit code 3)" in crashed["error"]


def test_runs_are_judged_and_a_backend_that_cannot_rerun_is_one_line_exit_2(cli, tmp_path):
    scen = write_scenarios(tmp_path / "scen", 8)
    db = tmp_path / "c.db"
    code, _, err = cli(["campaign", "run", scen, "--db", db, "--agent", "fakesim:FakeAgent",
                        "--backend", "fakesim:FakeBackend", "--workers", "1", "--no-progress"])
    assert code == 0, err
    rows = _rows(db)
    assert all((r["verdict"] is not None) == bool(r["high_risk"]) for r in rows)
    assert any(r["verdict"] for r in rows)
    code, out, _ = cli(["campaign", "status", db, "--json", "-"])
    verdicts = json.loads(out)["verdicts"]
    assert code == 0 and sum(verdicts.values()) == sum(bool(r["high_risk"]) for r in rows)
    code, _, err = cli(["campaign", "run", scen, "--db", tmp_path / "d.db", "--agent", "fakesim:FakeAgent",
                        "--backend", "fakesim:NoRerunBackend", "--workers", "1", "--no-progress"])
    assert code == 2 and "cannot re-run" in err and "Traceback" not in err


def test_fail_on_exits_1_when_a_done_run_meets_it_and_errors_are_not_failures(cli, tmp_path):
    scen = write_scenarios(tmp_path / "scen", 8)
    base = ["campaign", "run", scen, *FAKE, "--backend-opt", "raise_matching=^s000$", "--workers", "1",
            "--executor", "inline", "--no-progress"]
    code, out, err = cli([*base, "--db", tmp_path / "a.db"])
    assert code == 0, err
    rows = _rows(tmp_path / "a.db")
    collisions = sum(bool(r["collided"]) for r in rows if r["status"] == "done")
    high_risk = sum(bool(r["high_risk"]) for r in rows if r["status"] == "done")
    valid = sum(r["verdict"] == "valid_failure" for r in rows if r["status"] == "done")
    first, second = out.splitlines()[:2]
    assert "valid failure(s)" in first and f"{collisions} collision(s)" in first  # findings first
    assert "1 errored" in second and "failed" not in out  # an infrastructure error is not a failing test
    for fail_on, n in (("collision", collisions), ("near-miss", high_risk), ("valid-failure", valid)):
        code, out, _ = cli([*base, "--db", tmp_path / f"{fail_on}.db", "--fail-on", fail_on])
        assert code == (1 if n else 0) and (f"{n} run(s) meet it" in out) == bool(n)
    assert collisions and high_risk > collisions  # the fixture exercises both exits
