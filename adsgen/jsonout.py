"""``--json FILE`` on every command that produces results: one option, one writer.

``--json FILE`` writes the command's results as JSON to FILE (atomically, checked before any work like
every output, adsgen.outputs); ``--json -`` writes them to standard output, and the command's human-readable
tables then go to standard error, so ``adsgen ... --json - | jq`` reads clean JSON.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import typer

from adsgen.outputs import atomic_path, check_output

STDOUT = "-"
"""The --json value that means standard output."""


def json_help(what: str) -> str:
    return f"Write {what} as JSON to FILE ('-' for standard output; tables then go to standard error)."


def json_option(what: str = "the results", *, required: bool = False) -> Any:
    """The ``--json FILE`` option of a command (typer OptionInfo, as a parameter's default); ``what`` names
    what the JSON holds."""
    return typer.Option(... if required else None, "--json", metavar="FILE", help=json_help(what))


def json_annotation(what: str = "the results") -> Any:
    """The same option for ``Annotated[str | None, json_annotation(...)] = None`` parameters."""
    return typer.Option("--json", metavar="FILE", help=json_help(what))


def to_stdout(target: str | Path | None) -> bool:
    """Whether --json sends the results to standard output (the human tables then use standard error)."""
    return target is not None and str(target) == STDOUT


@contextlib.contextmanager
def tables_to_stderr(target: str | Path | None) -> Iterator[None]:
    """With ``--json -``, what the block prints to standard output (rich tables, echo) goes to standard
    error instead, so standard output carries the JSON alone."""
    if not to_stdout(target):
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


def check_json_target(target: str | Path | None, inputs: Iterable[str | Path | None] = ()) -> None:
    """Refuse a bad --json FILE before any work (an input, a folder, a missing parent folder)."""
    if target is not None and not to_stdout(target):
        check_output(target, inputs, option="--json")


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write_json(target: str | Path | None, payload: Any) -> str | None:
    """Write ``payload`` to the --json target (nothing when None); returns where it went (None, '-' or the
    file's path as text). Paths and other objects are written as their text; NaN and infinity as null."""
    if target is None:
        return None
    text = json.dumps(_finite(json.loads(json.dumps(payload, default=str))), indent=2) + "\n"
    if to_stdout(target):
        sys.stdout.write(text)
        sys.stdout.flush()
        return STDOUT
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return str(target)
