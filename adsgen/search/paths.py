"""Reading dotted paths of a Scenario ('ego.speed_mps', 'actors.lead.manoeuvre.trigger.value').

(Setting them is adsgen.scenario.mapping.instantiate's job.)

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

