"""One-line messages for pydantic validation errors of scenarios and seeds: '<source>: <field path>: <expected>'.

Shared by reading scenario files (adsgen.scenario.io) and instantiating seeds (adsgen.scenario.mapping).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails


def field_path(loc: tuple[Any, ...]) -> str:
    """Pydantic error location -> 'actors[1].manoeuvre.trigger.value'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _expected(err: ErrorDetails) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key (not a field of this section)"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error" and "expected" in ctx:
        return f"expected one of {ctx['expected']}"
    msg = err.get("msg", "invalid value")
    if "input" in err and kind != "value_error" and not isinstance(err["input"], dict | list):
        return f"{msg} (got {err['input']!r})"
    return msg.removeprefix("Value error, ")


def validation_message(exc: ValidationError, source: str, prefix: tuple[Any, ...] = ()) -> str:
    """One line: '<file>: <field path>: <expected>' for the first error (+ count of the others)."""
    errs = exc.errors()
    first = errs[0]
    loc = prefix + tuple(first.get("loc", ()))
    more = f" (and {len(errs) - 1} more error{'s' if len(errs) > 2 else ''})" if len(errs) > 1 else ""
    return f"{source}: {field_path(loc)}: {_expected(first)}{more}"
