"""`adsgen carla check`: one-line errors for an unreachable server or a missing extra; the checks against the
fake server (reachability, versions, map, tiny run, server-side map parity)."""

from __future__ import annotations

import json
import socket
import sys

import pytest

pytest.importorskip("carla")

from carla_bridge.check import run_check  # noqa: E402
from carla_bridge.testing import FakeServer  # noqa: E402


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_check_unreachable_exits_2_with_one_line(cli, tmp_path):
    port = _closed_port()
    code, out, err = cli(["carla", "check", "--host", f"127.0.0.1:{port}", "--json", tmp_path / "r.json"])
    assert code == 2
    assert f"127.0.0.1:{port}" in err and "not reachable" in err and "Traceback" not in err
    assert json.loads((tmp_path / "r.json").read_text())["ok"] is False


def test_check_bad_host_is_a_config_error(cli):
    code, _, err = cli(["carla", "check", "--host", "a:b:c"])
    assert code == 2 and "HOST" in err


def test_check_without_the_extra_names_pip_install(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "carla", None)
    code, _, err = cli(["carla", "check", "--host", "127.0.0.1:2000"])
    assert code == 2
    assert "'carla' package" in err and "pip install 'adsgen" in err and len(err.strip().splitlines()) == 1


def test_cli_error_line_keeps_the_extra_name(cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "carla", None)
    _, _, err = cli(["carla", "check", "--host", "127.0.0.1:2000"])
    assert "pip install 'adsgen[carla]'" in err


def test_check_against_a_working_server_passes_every_row():
    srv = FakeServer()
    host, port = srv.listen()
    try:
        rep = run_check(host, port, client_factory=srv.client_factory, timeout_s=2.0)
    finally:
        srv.shutdown()
    assert rep.ok, rep.rows
    assert [r.name for r in rep.rows] == ["reachable", "versions", "map", "tiny run", "map parity"]
    assert srv.alive == []


def test_check_reports_an_old_server_and_a_server_dying_in_the_tiny_run():
    old = FakeServer(version="0.9.13")
    host, port = old.listen()
    rep = run_check(host, port, client_factory=old.client_factory)
    old.shutdown()
    assert not rep.ok and rep.rows[-1].name == "versions" and rep.rows[-1].status == "fail"
    dying = FakeServer(vanish_at_tick=5)
    host, port = dying.listen()
    rep = run_check(host, port, client_factory=dying.client_factory, timeout_s=2.0)
    assert not rep.ok and rep.rows[-1].name == "tiny run" and "backend_fault" in rep.rows[-1].detail


def test_compare_pairs_engine_and_carla_results():
    from pathlib import Path

    from adsgen.scenario.io import load_scenario
    from carla_bridge.backend import CarlaBackend
    from carla_bridge.compare import compare

    fixtures = Path(__file__).parent / "fixtures" / "carla"
    scs = [load_scenario(fixtures / f"{n}.yaml") for n in ("cut_in", "lead_brake")]
    srv = FakeServer()
    host, port = srv.listen()
    with CarlaBackend(f"{host}:{port}", client_factory=srv.client_factory) as backend:
        rows = compare(scs, "idm", 0, backend)
    srv.shutdown()
    assert [r.scenario for r in rows] == [s.name for s in scs]
    assert rows[0].builtin_verdict == "collision" and rows[0].confirmed
    assert rows[1].carla["min_distance_m"] is not None and rows[1].to_dict()["confirmed"] == rows[1].confirmed


def test_compare_command_fails_cleanly_without_a_server(cli, tmp_path):
    from pathlib import Path

    fixture = Path(__file__).parent / "fixtures" / "carla" / "cut_in.yaml"
    code, _, err = cli(["carla", "compare", fixture, "--host", f"127.0.0.1:{_closed_port()}"])
    assert code == 2 and "not reachable" in err


# --- --carla-host on `adsgen simulate` and `adsgen generate` ------------------------------------------

@pytest.fixture
def fake_server(monkeypatch):
    """A FakeServer listening on a real port; the bridge's default client factory builds its fake client."""
    from carla_bridge import connection

    srv = FakeServer()
    host, port = srv.listen()
    monkeypatch.setattr(connection, "default_client_factory", srv.client_factory)
    yield srv, f"{host}:{port}"
    srv.shutdown()


def test_simulate_on_carla_at_the_given_host(cli, fake_server, monkeypatch, tmp_path):
    from pathlib import Path

    srv, hostport = fake_server
    monkeypatch.setenv("CARLA_HOST", f"127.0.0.1:{_closed_port()}")  # the option wins over the variable
    fixture = Path(__file__).parent / "fixtures" / "carla" / "lead_brake.yaml"
    code, out, err = cli(["simulate", fixture, "--backend", "carla", "--carla-host", hostport,
                          "--json", tmp_path / "r.json"])
    assert code == 0, err
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["backend"] == "carla" and result["termination"] in out
    assert srv.alive == []  # the run's actors were destroyed


def test_simulate_unreachable_carla_host_is_one_line_exit_2(cli):
    from pathlib import Path

    port = _closed_port()
    fixture = Path(__file__).parent / "fixtures" / "carla" / "lead_brake.yaml"
    code, _, err = cli(["simulate", fixture, "--backend", "carla", "--carla-host", f"127.0.0.1:{port}"])
    assert code == 2 and f"127.0.0.1:{port}" in err and "not reachable" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, _, err = cli(["simulate", fixture, "--carla-host", "localhost:2000"])  # builtin backend: refused
    assert code == 2 and "--backend carla" in err


def test_generate_on_carla_at_the_given_host(cli, fake_server, tmp_path):
    srv, hostport = fake_server
    code, out, err = cli(["generate", "--method", "random", "--budget", "2", "--backend", "carla",
                          "--carla-host", hostport, "--no-xosc", "--out", tmp_path / "out"])
    assert code == 0, err
    assert "2 runs" in out
    assert srv.alive == []


def test_generate_unreachable_carla_host_is_one_line_exit_2(cli, tmp_path):
    port = _closed_port()
    code, _, err = cli(["generate", "--method", "random", "--budget", "2", "--backend", "carla",
                        "--carla-host", f"127.0.0.1:{port}", "--out", tmp_path / "out"])
    assert code == 2 and f"127.0.0.1:{port}" in err and "not reachable" in err and "Traceback" not in err
