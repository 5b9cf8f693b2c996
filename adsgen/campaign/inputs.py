"""The scenarios a campaign runs: YAML files or folders of them; a seed file counts as its nominal scenario."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from adsgen.errors import InputError
from adsgen.scenario.io import load_scenario
from adsgen.scenario.model import Scenario

YAML_SUFFIXES = (".yaml", ".yml")


def scenario_files(paths: Sequence[str | Path]) -> list[Path]:
    """Expand files and folders (recursively, sorted) into YAML files, in the order given."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in YAML_SUFFIXES and f.is_file())
            if not found:
                raise InputError(f"{p}: folder holds no scenario files (*.yaml, *.yml)")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise InputError(f"{p}: no such scenario file or folder")
    return files


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
