"""The scenarios a campaign runs: YAML files or folders of them; a seed file counts as its nominal scenario."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from adsgen.errors import InputError
from adsgen.scenario.io import load_scenario, scenario_files
from adsgen.scenario.model import Scenario


def load_campaign_scenario(path: Path) -> Scenario:
    """One YAML file -> a Scenario (a seed file gives its nominal scenario). InputError on a bad file, naming
    the field path (adsgen.scenario.io)."""
    return load_scenario(path)


def load_campaign_scenarios(paths: Sequence[str | Path]) -> list[tuple[Scenario, str]]:
    """All scenarios under PATHS as (scenario, source file), without duplicates (same content hash)."""
    seen: set[str] = set()
    out: list[tuple[Scenario, str]] = []
    for f in scenario_files(paths):
        s = load_campaign_scenario(f)
        h = s.content_hash()
        if h not in seen:
            seen.add(h)
            out.append((s, str(f)))
    if not out:
        raise InputError("no scenarios given")
    return out
