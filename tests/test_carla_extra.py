"""Bar: without the carla extra, the bridge fails with one line naming pip install 'adsgen[carla]'.
These tests hide the carla module (as an environment without the wheel would) and need nothing installed."""

from __future__ import annotations

import sys

import pytest

from adsgen.errors import MissingExtraError


def test_missing_carla_gives_one_line_naming_the_extra(monkeypatch):
    from carla_bridge._carla import import_carla

    monkeypatch.setitem(sys.modules, "carla", None)  # what Python does when a module cannot be imported
    with pytest.raises(MissingExtraError) as info:
        import_carla()
    msg = str(info.value)
    assert "pip install 'adsgen[carla]'" in msg and "\n" not in msg


def test_importing_the_package_and_its_commands_does_not_import_carla():
    import subprocess

    code = ("import sys, carla_bridge, carla_bridge.commands; from adsgen.sim.backends import BACKENDS; "
            "assert 'carla' not in sys.modules; assert 'carla' in BACKENDS")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_backend_without_the_extra_is_one_line_naming_pip_install(monkeypatch):
    from adsgen.sim.backends import get_backend

    monkeypatch.setitem(sys.modules, "carla", None)
    with pytest.raises(MissingExtraError) as info:
        get_backend("carla", host="localhost:2000")
    assert "pip install 'adsgen[carla]'" in str(info.value) and "\n" not in str(info.value)
