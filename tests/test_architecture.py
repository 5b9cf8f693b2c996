"""docs/ARCHITECTURE.md tells the truth: its import graph is generated and current, every room is described,
imports point down (no cycle between rooms), and no module imports a commands module."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adsgen import architecture as arch

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ARCHITECTURE.md"


def test_the_generated_graph_in_the_document_is_current_and_has_no_cycle(capsys):
    assert arch.main(["--check", str(DOC)]) == 0, capsys.readouterr().err


def test_every_room_is_described():
    text = DOC.read_text(encoding="utf-8")
    described = text.split("## What each room holds", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"^- `([\w.]+)`:", described, flags=re.M))
    assert named == set(arch.rooms()) | {arch.CLI_ROOM}


def test_no_module_imports_a_commands_module_and_crashdata_stays_below_cbn():
    edges = arch.import_edges()
    assert not [(e.module, e.imported) for e in edges if arch.is_cli_module(e.imported)]
    assert not [(e.module, e.imported) for e in edges if e.source == "adsgen.crashdata" and e.target == "adsgen.cbn"]


def test_the_check_fails_on_a_cycle_and_on_a_stale_document(tmp_path):
    for name, body in [("a", "from adsgen.b import x\n"), ("b", "import adsgen.a\n")]:
        (tmp_path / "adsgen" / name).mkdir(parents=True)
        (tmp_path / "adsgen" / name / "__init__.py").write_text(body)
    (tmp_path / "adsgen" / "__init__.py").write_text("")
    (tmp_path / "carla_bridge").mkdir()
    (tmp_path / "carla_bridge" / "__init__.py").write_text("")
    with pytest.raises(ValueError, match="import cycle between rooms: adsgen.a -> adsgen.b -> adsgen.a"):
        arch.generated_section(tmp_path)
    (tmp_path / "adsgen" / "b" / "__init__.py").write_text("")
    doc = tmp_path / "ARCH.md"
    doc.write_text(f"x\n{arch.BEGIN}\nold\n{arch.END}\n")
    section = arch.generated_section(tmp_path)
    assert "`adsgen.a` | b |" in section and "a --> b" in section
    assert arch.replace_section(doc.read_text(), section) != doc.read_text()


def test_function_imports_are_listed_but_heavy_libraries_are_not(tmp_path):
    (tmp_path / "adsgen").mkdir()
    (tmp_path / "carla_bridge").mkdir()
    (tmp_path / "adsgen" / "m.py").write_text(
        "import json\n\n\ndef f():\n    import torch\n    from adsgen import errors\n    return errors, torch, json\n")
    assert arch.function_imports(tmp_path) == [("adsgen/m.py", 6, "adsgen")]
