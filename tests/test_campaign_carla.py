"""A campaign on the CARLA bridge against its in-process fake server: a server lost mid-run is retried
after a reconnect, and the run is stored once, done."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from adsgen.paths import SEEDS_DIR

pytest.importorskip("carla")
FIXTURES = Path(__file__).parent / "fixtures" / "campaign"
sys.path.insert(0, str(FIXTURES))

import fakecarla  # noqa: E402


def test_lost_carla_server_is_reconnected_and_the_run_retried(cli, tmp_path):
    from carla_bridge.testing import FakeServer

    server = FakeServer(vanish_at_tick=40)  # dies 2 s into the first scenario
    port = fakecarla.listen_on(server)
    fakecarla.SERVERS[port] = server
    fakecarla.RESTARTS.clear()
    db = tmp_path / "carla.db"
    try:
        code, out, err = cli(["campaign", "run", SEEDS_DIR, "--db", db, "--backend", "fakecarla:backend",
                              "--carla-hosts", f"127.0.0.1:{port}", "--executor", "inline", "--retries", "2",
                              "--backoff-s", "0.05", "--no-progress"])
    finally:
        for s in fakecarla.SERVERS.values():
            s.shutdown()
        fakecarla.SERVERS.clear()
    assert code == 0, err
    assert "1 backend-fault retries" in out and fakecarla.RESTARTS == [port]
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT status, attempts, termination FROM runs ORDER BY id").fetchall()
    conn.close()
    assert [r[0] for r in rows] == ["done"] * 5
    assert sorted(r[1] for r in rows) == [1, 1, 1, 1, 2]
    assert all(r[2] in ("collision", "timeout", "completed", "off_road") for r in rows)
