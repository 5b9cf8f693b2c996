"""Causal tiers: which edges structure learning may never add.

Tiers come from ``adsgen.variables.TIERS`` (the canonical variables) or from a YAML/JSON file, either a
mapping ``variable: tier`` (integers, lower is earlier) or a list of lists (tier 0 first). No edge may
go from a later tier to an earlier one; variables in the same tier may be linked either way; a variable
the tiers do not name is unconstrained.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from adsgen.errors import InputError


def default_tiers(names: Sequence[str]) -> dict[str, int]:
    """The canonical tiers of those ``names`` that are canonical variables."""
    from adsgen.variables import TIERS

    return {n: TIERS[n] for n in names if n in TIERS}


def load_tiers(path: str | Path, names: Sequence[str]) -> dict[str, int]:
    """Read a tiers file and check every variable it names is in ``names``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read tiers file ({exc.__class__.__name__})") from None
    try:
        if path.suffix.lower() == ".json":
            raw = json.loads(text)
        else:
            import yaml

            raw = yaml.safe_load(text)
    except Exception as exc:  # yaml.YAMLError / json.JSONDecodeError
        first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise InputError(f"{path}: not valid YAML/JSON ({first})") from None
    return parse_tiers(raw, names, str(path))


def parse_tiers(raw: object, names: Sequence[str], source: str = "tiers") -> dict[str, int]:
    """Tiers from a mapping ``{variable: int}`` or a list of lists of variables."""
    tiers: dict[str, int] = {}
    if isinstance(raw, Mapping):
        for var, tier in raw.items():
            if isinstance(tier, bool) or not isinstance(tier, int):
                raise InputError(f"{source}: tier of '{var}' must be an integer, got {tier!r}")
            tiers[str(var)] = tier
    elif isinstance(raw, list) and all(isinstance(t, list) for t in raw):
        for k, group in enumerate(raw):
            for var in group:
                if str(var) in tiers:
                    raise InputError(f"{source}: variable '{var}' appears in two tiers")
                tiers[str(var)] = k
    else:
        raise InputError(f"{source}: expected a mapping 'variable: tier' or a list of lists of variables")
    unknown = sorted(set(tiers) - set(names))
    if unknown:
        raise InputError(f"{source}: unknown variable(s) {', '.join(unknown)} "
                         f"(the data has: {', '.join(names)})")
    return tiers


def forbidden_edges(tiers: Mapping[str, int]) -> set[tuple[str, str]]:
    """Directed edges (a, b) with a in a later tier than b."""
    return {(a, b) for a, ta in tiers.items() for b, tb in tiers.items() if ta > tb}


def temporal_order(tiers: Mapping[str, int]) -> list[list[str]]:
    """Tiers as a list of lists, earliest first (pgmpy's ``temporal_order``)."""
    levels = sorted(set(tiers.values()))
    return [[v for v in tiers if tiers[v] == t] for t in levels]
