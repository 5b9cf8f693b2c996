"""Scenario and seed YAML files.

A file holds either a Scenario or a Seed (a Seed has ``contract`` and ``scenario`` keys). Invalid files
raise ``InputError`` naming the file, the field path (``actors[1].manoeuvre.trigger.value``) and what was
expected, never a pydantic traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from adsgen.errors import InputError
from adsgen.safeload import load_yaml
from adsgen.scenario.mapping import check_descriptive
from adsgen.scenario.messages import field_path, validation_message
from adsgen.scenario.model import Scenario, Seed
from adsgen.scenario.roads import validate_routes

YAML_SUFFIXES = (".yaml", ".yml")  # scenario and seed files, any case


def scenario_files(paths: Sequence[str | Path]) -> list[Path]:
    """Expand files and folders (recursively, sorted) into YAML files, in the order given (campaigns, drivelm qa,
    export)."""
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


def _read_yaml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file (expected a scenario or seed YAML file)")
    data = load_yaml(p, "a scenario or seed YAML file")
    if not isinstance(data, dict):
        raise InputError(f"{p}: expected a mapping with scenario or seed fields, got {type(data).__name__}")
    return data


def _is_seed(data: dict[str, Any]) -> bool:
    return "contract" in data or "expect_collision" in data


def _validate(model: type[BaseModel], data: dict[str, Any], source: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(validation_message(exc, source)) from None


def _check_routes(scenario: Scenario, source: str) -> None:
    validate_routes(scenario, source)


def _seed(data: dict[str, Any], path: str | Path) -> Seed:
    seed = _validate(Seed, data, str(path))
    _check_routes(seed.scenario, f"{path}: scenario")
    check_descriptive(seed, str(path))
    return seed


def load_seed(path: str | Path) -> Seed:
    """Read a seed YAML file."""
    data = _read_yaml(path)
    if not _is_seed(data):
        raise InputError(f"{path}: contract: required field is missing (expected a seed file, got a scenario)")
    return _seed(data, path)


def load_seeds(directory: str | Path) -> list[Seed]:
    """Every ``*.yaml`` seed in a directory, sorted by file name."""
    d = Path(directory)
    if not d.is_dir():
        raise InputError(f"{d}: not a directory (expected a folder of seed YAML files)")
    files = sorted(d.glob("*.yaml")) + sorted(d.glob("*.yml"))
    if not files:
        raise InputError(f"{d}: no *.yaml seed files")
    return [load_seed(f) for f in files]


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario YAML file; a seed file gives its nominal scenario."""
    data = _read_yaml(path)
    if _is_seed(data):
        return _seed(data, path).scenario
    scenario = _validate(Scenario, data, str(path))
    _check_routes(scenario, str(path))
    return scenario


def dump_yaml(obj: Scenario | Seed) -> str:
    """YAML text of a scenario or seed (fields in model order)."""
    return yaml.safe_dump(obj.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def save_scenario(scenario: Scenario, path: str | Path) -> Path:
    """Write a scenario as YAML; returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(dump_yaml(scenario), encoding="utf-8")
    return p


def save_seed(seed: Seed, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(dump_yaml(seed), encoding="utf-8")
    return p


__all__ = ["load_scenario", "save_scenario", "load_seed", "load_seeds", "save_seed", "dump_yaml",
           "field_path", "validation_message"]
