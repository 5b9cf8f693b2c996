"""One registry helper for the things users extend, and one resolver of 'package.module:Factory'."""

from __future__ import annotations

import importlib
import sys

import pytest

from adsgen.cbn.scores import SCORES
from adsgen.errors import ConfigError
from adsgen.registry import Registry, resolve_import
from adsgen.scenario.roads import TEMPLATES
from adsgen.sim.agents import AGENTS, get_agent
from adsgen.sim.backends import BACKENDS, get_backend


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A folder on sys.path for throwaway modules (removed from sys.modules afterwards)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("adsgen_test_plugin"):
            del sys.modules[name]


def test_register_lookup_and_the_unknown_name_message():
    reg: Registry[int] = Registry("widget")
    reg.register("one", 1)

    @reg.register("two")
    def two() -> int:
        return 2

    assert reg.lookup("one") == 1 and reg.lookup("two") is two and sorted(reg) == ["one", "two"]
    with pytest.raises(ConfigError) as err:
        reg.lookup("three", shown="three:x")
    assert str(err.value) == "unknown widget 'three:x'; expected one of one, two"
    reg.unregister("two")
    assert "two" not in reg and len(reg) == 1


def test_a_plugin_module_is_imported_on_first_lookup_only(plugin_dir):
    (plugin_dir / "adsgen_test_plugin_reg.py").write_text(
        "from adsgen.registry import Registry\nREG = Registry('widget', plugins={'far': 'adsgen_test_plugin_a'})\n")
    (plugin_dir / "adsgen_test_plugin_a.py").write_text(
        "from adsgen_test_plugin_reg import REG\nREG.register('far', 'from the plugin')\n")
    reg = importlib.import_module("adsgen_test_plugin_reg").REG
    assert reg.known("far") and "far" not in reg and "adsgen_test_plugin_a" not in sys.modules
    assert reg.names() == ["far"]
    assert reg.lookup("far") == "from the plugin" and "adsgen_test_plugin_a" in sys.modules


def test_a_missing_plugin_is_an_unknown_name_but_a_broken_one_says_what_is_missing(plugin_dir):
    reg: Registry[str] = Registry("widget", plugins={"gone": "adsgen_test_plugin_absent",
                                                     "broken": "adsgen_test_plugin_b"})
    with pytest.raises(ConfigError, match="unknown widget 'gone'"):
        reg.lookup("gone")
    (plugin_dir / "adsgen_test_plugin_b.py").write_text("import adsgen_test_dependency_that_is_not_installed\n")
    with pytest.raises(ModuleNotFoundError, match="adsgen_test_dependency_that_is_not_installed"):
        reg.lookup("broken")


def test_resolve_import_names_the_option_and_the_path():
    assert resolve_import("adsgen.sim.backends:get_backend", "--backend") is get_backend
    for spec, says in [("adsgen.sim.backends:nothing_here", "cannot import 'nothing_here'"),
                       ("adsgen.no_such_module:X", "cannot import 'X' from 'adsgen.no_such_module'"),
                       ("adsgen.sim.backends", "expected package.module:Factory")]:
        with pytest.raises(ConfigError) as err:
            resolve_import(spec, "--backend")
        assert str(err.value).startswith(f"--backend {spec}") or str(err.value).startswith(f"--backend {spec!r}")
        assert says in str(err.value) and "\n" not in str(err.value)


def test_the_project_registries_share_the_helper():
    for reg, expected in [(AGENTS, {"idm", "reference", "omniscient", "vlm", "oracle"}),
                          (BACKENDS, {"builtin", "carla"}), (TEMPLATES, {"straight", "intersection"}),
                          (SCORES, {"bdeu", "bic"})]:
        assert isinstance(reg, Registry)
        assert expected <= set(reg.names())
    with pytest.raises(ConfigError, match="unknown backend 'nope'; expected one of builtin, carla"):
        get_backend("nope")
    with pytest.raises(ConfigError, match="unknown agent 'nope:x'; expected one of .*idm"):
        get_agent("nope:x")
