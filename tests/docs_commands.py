"""Every `adsgen ...` command shown in README.md and docs/*.md (inline code and code blocks)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _clean(cmd: str) -> str:
    cmd = cmd.split("  #")[0].split(" # ")[0].strip().rstrip("`").strip()
    return cmd.replace("\\|", "|")


def doc_commands() -> list[tuple[str, int, str]]:
    """(file name, line, command) for every adsgen command line shown in the docs."""
    found = []
    for path in DOCS:
        in_block = False
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip().startswith("```"):
                in_block = not in_block
                continue
            if in_block:
                text = line.strip().removeprefix("$ ")
                if text.startswith("adsgen "):
                    found.append((path.name, n, _clean(text)))
            else:
                for span in re.findall(r"`(adsgen [^`]+)`", line):
                    found.append((path.name, n, _clean(span)))
    return found


def words(cmd: str) -> list[str]:
    """The command's words (shell-split when possible, else on spaces)."""
    try:
        return shlex.split(cmd)
    except ValueError:
        return cmd.split()
