"""Progress of drivelm's long phases (loading a model, generating answers, rescoring options, a judge's
ratings), drawn with rich.

Library functions take ``progress: Phases | None`` (None: silent). A phase is opened with its name and its
number of steps and returns the function that advances it; commands pass the phases of :func:`rich_phases`,
one bar per phase, as the rest of the CLI draws its bars.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Advance = Callable[[int], None]
"""Advance a phase by this many steps."""


class Phases(Protocol):
    def __call__(self, name: str, total: int) -> Advance:
        """Open a phase of ``total`` steps; returns its advance function."""
        ...


def silent(name: str, total: int) -> Advance:
    """Phases that show nothing."""
    return _nothing


def _nothing(n: int) -> None:
    return None


def stderr_is_terminal() -> bool:
    """Bars drawn outside a command (the VLM agent loading) go to stderr only when it is a terminal, not into
    pipes, logs or a campaign worker's captured output."""
    return Console(stderr=True).is_terminal


@contextmanager
def rich_phases(console: Any = None, *, transient: bool = False, enabled: bool = True) -> Iterator[Phases]:
    """Phases drawn as rich bars (label, bar, done/total, elapsed time) for the duration of the block.

    ``console``: where to draw (default: a new stderr console, so stdout stays the command's output);
    ``enabled=False`` gives :func:`silent`."""
    if not enabled:
        yield silent
        return
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console if console is not None else Console(stderr=True), transient=transient) as bar:

        def phase(name: str, total: int) -> Advance:
            task = bar.add_task(name, total=total)
            return lambda n: bar.advance(task, n)

        yield phase
