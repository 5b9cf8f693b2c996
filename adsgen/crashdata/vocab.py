"""Vocabulary mappings: raw spellings of a source column -> canonical states, loaded from data files.

Each file ``mappings/<source>_<column>.csv`` has two columns, ``raw`` and ``state``. ``state`` is a
canonical state name of the variable the column feeds, or blank: the spelling is known and means
"missing" (Unknown, Other, Not Applicable, a surface such as gravel that has no canonical state).
Spellings are matched after normalisation (case-folded, every run of spaces and punctuation
collapsed to one space, trimmed), so ``"  Dark -  Lighted"``, ``"DARK LIGHTED"`` and
``"Other Action (looking away from task, etc.)"`` / ``"OTHER ACTION (LOOKING AWAY FROM TASK ETC.)"``
match the same entry.

Multi-valued cells (the 2024-on exports write ``Curve Left, Straight`` or ``No Controls, Stop Sign``):
a cell whose whole spelling is in no file is split on commas and semicolons; of the parts that map
to a state, the state listed last in ``STATES[variable]`` wins (each variable lists its baseline
first: ``Curve Left, Straight`` is curve, ``No Controls, Stop Sign`` is stop_sign, ``Straight,
Intersection`` is intersection); parts that mean missing are skipped; a cell none of whose parts
is known stays unmapped. Blank cells and the words in
``ALWAYS_MISSING`` are missing in every column, listed or not. A spelling in no file is *unmapped*:
the reader counts it and treats it as missing.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

from adsgen.variables import STATES

MAPPINGS_DIR = Path(__file__).resolve().parent / "mappings"

ALWAYS_MISSING = frozenset({"", "unknown", "n a", "na", "not applicable", "null"})
"""Normalised spellings that mean missing in every column."""

_PUNCT = re.compile(r"[\W_]+")
_SPLIT = re.compile(r"[,;]")


def normalise(raw: str) -> str:
    """Normalised form used for matching: case-folded, runs of whitespace and punctuation as one space,
    trimmed."""
    return _PUNCT.sub(" ", raw.casefold()).strip()


class Vocabulary:
    """One mapping file: normalised raw spelling -> state code (index in STATES[variable]) or -1."""

    def __init__(self, name: str, variable: str, entries: dict[str, int], raw_by_state: dict[int, list[str]]):
        self.name = name
        """File stem, e.g. ``montgomery_weather``."""
        self.variable = variable
        """Canonical variable the column feeds."""
        self.entries = entries
        """Normalised spelling -> state code (-1 for known-missing)."""
        self.raw_by_state = raw_by_state
        """State code -> raw spellings as written in the file (used by the synthetic writers)."""

    def lookup(self, raw: str) -> int | None:
        """State code of a raw spelling; -1 when it means missing; None when unmapped."""
        key = normalise(raw)
        if key in ALWAYS_MISSING:
            return -1
        code = self.entries.get(key)
        if code is not None or not _SPLIT.search(raw):
            return code
        parts = [self.entries.get(normalise(p), -1 if normalise(p) in ALWAYS_MISSING else None)
                 for p in _SPLIT.split(raw)]
        if all(p is None for p in parts):
            return None
        return max((p for p in parts if p is not None), default=-1)


@cache
def load_vocabulary(name: str, variable: str) -> Vocabulary:
    """Load ``mappings/<name>.csv`` for ``variable`` (cached: each file is read once per process)."""
    path = MAPPINGS_DIR / f"{name}.csv"
    states = STATES[variable]
    entries: dict[str, int] = {}
    raw_by_state: dict[int, list[str]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != ["raw", "state"]:
            raise ValueError(f"{path}: header must be 'raw,state', found {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            state = (row["state"] or "").strip()
            if state and state not in states:
                raise ValueError(f"{path}:{line}: '{state}' is not a state of {variable} {states}")
            code = states.index(state) if state else -1
            key = normalise(row["raw"])
            if key in entries and entries[key] != code:
                raise ValueError(f"{path}:{line}: '{row['raw']}' is mapped twice to different states")
            entries[key] = code
            raw_by_state.setdefault(code, []).append(row["raw"])
    return Vocabulary(name, variable, entries, raw_by_state)
