"""Dotted paths into a Scenario ('ego.speed_mps', 'actors.lead.manoeuvre.trigger.value').

Actors are addressed by id, not position, so a path stays valid when actors are reordered.
"""

from __future__ import annotations

from typing import Any


def _step(node: Any, part: str) -> Any:
    if isinstance(node, list):
        for item in node:
            if getattr(item, "id", None) == part or (isinstance(item, dict) and item.get("id") == part):
                return item
        raise KeyError(part)
    if isinstance(node, dict):
        return node[part]
    if not hasattr(node, part):
        raise KeyError(part)
    return getattr(node, part)


def get_path(obj: Any, path: str) -> Any:
    """Value at a dotted path of a Scenario (model or dict)."""
    node = obj
    for part in path.split("."):
        node = _step(node, part)
    return node


def set_path(data: dict, path: str, value: Any) -> None:
    """Set a dotted path in a Scenario's plain-data form (``Scenario.spec()``), in place."""
    parts = path.split(".")
    node: Any = data
    for part in parts[:-1]:
        node = _step(node, part)
        if node is None:
            raise KeyError(f"{path}: {part} is empty")
    last = parts[-1]
    if isinstance(node, dict):
        if last not in node:
            raise KeyError(f"{path}: no field {last!r}")
        node[last] = value
    else:
        raise KeyError(f"{path}: cannot set into {type(node).__name__}")
