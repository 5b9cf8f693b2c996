"""The drivelm rooms import one way (challenge <- qa <- vlm), and the challenge's scoring needs no torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

DRIVELM = Path(__file__).resolve().parents[1] / "adsgen" / "drivelm"
ROOMS = ("challenge", "qa", "vlm")
MAY_IMPORT = {"challenge": set(), "qa": {"challenge"}, "vlm": {"challenge", "qa"}}


def _drivelm_imports(path: Path) -> set[str]:
    """The drivelm rooms a module imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["adsgen", "drivelm"] and len(parts) > 2 and parts[2] in ROOMS:
                found.add(parts[2])
    return found


@pytest.mark.parametrize("room", ROOMS)
def test_a_room_imports_only_the_rooms_below_it(room):
    files = sorted((DRIVELM / room).rglob("*.py"))
    assert files
    wrong = {f.relative_to(DRIVELM).as_posix(): sorted(_drivelm_imports(f) - MAY_IMPORT[room] - {room})
             for f in files}
    assert {f: w for f, w in wrong.items() if w} == {}


def test_challenge_scoring_and_submission_load_without_torch():
    code = ("import sys\n"
            "sys.modules['torch'] = None\n"  # an import of torch now fails
            "from adsgen.drivelm.challenge import formats, submission, testset\n"
            "from adsgen.drivelm.challenge.scoring import evaluate\n"
            "from adsgen.drivelm import commands\n"
            "from adsgen.drivelm.vlm import commands as vlm_commands, agent\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"
