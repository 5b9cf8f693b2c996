"""Writing a command's outputs without destroying anything.

- :func:`check_output`: an output path is refused (InputError, exit 2) when it resolves to one of the
  command's inputs, when it is a folder where a file is expected (or a file where a folder is expected), or
  when its parent folder does not exist (no command creates folders outside the named output's parent
  unless asked).
- :func:`atomic_path`: the output is written to a temporary file in the same folder and renamed over the
  target only once complete, so a failure (disk full, an exception, Ctrl-C) leaves the old file or nothing,
  never half a file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from adsgen.errors import InputError


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_output(out: str | Path, inputs: Iterable[str | Path | None] = (), *, folder: bool = False,
                 option: str = "--out", make_parents: bool = False) -> Path:
    """OUT, checked before anything is read or written (see the module docstring); InputError otherwise."""
    out = Path(out)
    for src in inputs:
        if src is None:
            continue
        src = Path(src)
        if _same_file(out, src):
            raise InputError(f"{option} {out}: that is the input {src}; write the output to another file")
        if folder and src.exists() and not src.is_dir() and src.resolve().is_relative_to(out.resolve()):
            raise InputError(f"{option} {out}: the output folder holds the input {src}; choose another folder")
    if folder:
        if out.exists() and not out.is_dir():
            raise InputError(f"{option} {out}: is a file, expected a folder (or a path that does not exist yet)")
    elif out.is_dir():
        raise InputError(f"{option} {out}: is a folder, expected a file name (e.g. {out / 'out'}...)")
    elif out.exists() and not out.is_file():
        raise InputError(f"{option} {out}: is not a regular file (a FIFO or device); expected a file name")
    parent = out.parent
    if not parent.exists():
        if not make_parents:
            raise InputError(f"{option} {out}: the folder {parent} does not exist")
        parent.mkdir(parents=True, exist_ok=True)
    elif not parent.is_dir():
        raise InputError(f"{option} {out}: {parent} is not a folder")
    return out


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to TARGET; on success rename it over TARGET, on failure remove it.

    The temporary file has TARGET's own name inside a hidden folder made beside it, so writers that look at
    the name (the format by suffix, the name stored in a gzip header) write the same bytes."""
    target = Path(target)
    tmp_dir = Path(tempfile.mkdtemp(prefix=".adsgen-partial-", dir=target.parent))
    tmp = tmp_dir / target.name
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
