"""The scenarios a campaign runs: YAML files or folders of them; a seed file counts as its nominal scenario."""

from __future__ import annotations

from pathlib import Path

from adsgen.errors import InputError
from adsgen.scenario.model import Scenario, Seed

YAML_SUFFIXES = (".yaml", ".yml")


def scenario_files(paths: list[str | Path]) -> list[Path]:
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


def _validation_message(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        loc = ".".join(str(x) for x in first.get("loc", ()))
        return f"{loc}: {first.get('msg')}" if loc else str(first.get("msg"))
    return str(exc).splitlines()[0]


def load_campaign_scenario(path: Path) -> Scenario:
    """One YAML file -> a Scenario (a seed file gives its nominal scenario). InputError on a bad file."""
    try:
        from adsgen.scenario import io as scenario_io
    except ImportError:  # the scenario I/O module is optional here; the model validates on its own
        scenario_io = None
    from adsgen.safeload import load_yaml

    data = load_yaml(path, "a scenario or seed YAML file")
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a scenario or seed (a YAML mapping), got {type(data).__name__}")
    is_seed = "contract" in data
    if scenario_io is not None:
        loader = getattr(scenario_io, "load_seed" if is_seed else "load_scenario", None)
        if loader is not None:
            obj = loader(path)  # raises InputError with the field path
            return obj.scenario if is_seed else obj
    try:
        return Seed.model_validate(data).scenario if is_seed else Scenario.model_validate(data)
    except Exception as exc:  # pydantic.ValidationError
        raise InputError(f"{path}: invalid {'seed' if is_seed else 'scenario'}: {_validation_message(exc)}") from None


def load_campaign_scenarios(paths: list[str | Path]) -> list[tuple[Scenario, str]]:
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
