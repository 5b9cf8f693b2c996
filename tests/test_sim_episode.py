"""The episode owner: the builtin engine and the CARLA bridge (fake client) produce their RunResults through
the same referee code (adsgen.sim.episode), so a metric or an at-fault rule changed there changes both."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from adsgen.scenario.io import load_scenario
from adsgen.sim import episode
from adsgen.sim.agents import get_agent
from adsgen.sim.engine import BuiltinBackend

FIXTURES = Path(__file__).parent / "fixtures" / "carla"


def _backends():
    yield "builtin", BuiltinBackend(), None
    try:
        import carla  # noqa: F401
    except ImportError:
        return
    from carla_bridge.backend import CarlaBackend
    from carla_bridge.testing import FakeServer

    srv = FakeServer()
    host, port = srv.listen()
    yield "carla", CarlaBackend(f"{host}:{port}", client_factory=srv.client_factory, timeout_s=2.0), srv


def test_engine_and_bridge_results_come_from_the_referee(monkeypatch):
    """A change in the referee's judgement (here: every min TTC reported 1 s lower) shows on both backends."""
    sc = load_scenario(FIXTURES / "lead_brake.yaml")
    before = {}
    for name, backend, srv in _backends():
        (before[name],) = backend.run([sc], get_agent("idm"), seed=1)
        backend.close()
        if srv is not None:
            srv.shutdown()
    if "carla" not in before:
        pytest.skip("the carla client wheel is not installed")
    real_results = episode.Referee.results

    def shifted(self, *args, **kw):
        self.min_ttc = self.min_ttc - 1.0
        return real_results(self, *args, **kw)

    monkeypatch.setattr(episode.Referee, "results", shifted)
    for name, backend, srv in _backends():
        (after,) = backend.run([sc], get_agent("idm"), seed=1)
        backend.close()
        if srv is not None:
            srv.shutdown()
        assert math.isfinite(before[name].min_ttc_s), name  # the lead brakes: there is a TTC to shift
        assert after.min_ttc_s == pytest.approx(before[name].min_ttc_s - 1.0), name
