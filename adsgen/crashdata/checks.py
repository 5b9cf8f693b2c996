"""Sanity checks on a crash file before pandas sees it, so bad input gives one clear line.

Each failure raises ``adsgen.errors.InputError`` naming the file and the problem: missing file,
a directory, an empty file, a binary file (archive, spreadsheet, image, anything with NUL bytes),
JSON instead of CSV, a first line that is not a comma-separated header, a header without data rows.
A gzip-compressed file (recognised by its magic bytes) is checked on its decompressed start, and the
messages then say "once decompressed".
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

from adsgen.crashdata.compression import GZIP_ERRORS, GZIP_MAGIC
from adsgen.errors import InputError
from adsgen.variables import NAMES

_PROBE_BYTES = 64 * 1024
_MAGIC = {
    b"PK\x03\x04": "a zip archive (an .xlsx workbook?)",
    b"\x1f\x8b": "a gzip archive",
    b"PAR1": "a Parquet file",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xd0\xcf\x11\xe0": "an old Excel/Office document",
    b"SQLite format": "an SQLite database",
}


def read_header(path: str | Path) -> list[str]:
    """Check that ``path`` is a readable, non-empty CSV table with data rows; return its header."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a CSV file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty, expected a CSV table with a header row")
    with open(path, "rb") as fh:
        head = fh.read(_PROBE_BYTES)
    inside = ""  # what the messages say about where the content is
    if head.startswith(GZIP_MAGIC):
        head, inside = _gunzip_head(path), " once decompressed"
        if not head:
            raise InputError(f"{path}: is a gzip file of an empty file, expected a CSV table with a header row")
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise InputError(f"{path}: is {what}{inside}, not a CSV text table")
    if b"\x00" in head:
        raise InputError(f"{path}: is a binary file (contains NUL bytes){inside}, not a CSV text table")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if not text.strip():
        raise InputError(f"{path}: the file is empty (only whitespace){inside}, expected a CSV table")
    if text.lstrip()[:1] in ("{", "["):
        raise InputError(f"{path}: looks like JSON{inside}, expected a CSV table with a header row")
    lines = text.splitlines()
    first = next(line for line in lines if line.strip())
    header = _header_names(path, first, inside)
    body = lines[lines.index(first) + 1:]
    if len(head) < _PROBE_BYTES and not any(line.strip() for line in body):
        raise InputError(f"{path}: has a header but no data rows")
    _check_not_wrapped(path, header, body, inside)
    return header


def _header_names(path: Path, first: str, inside: str) -> list[str]:
    """The column names of a header line: at least two (or one that is allowed alone), none empty, none
    twice (pandas would read the first and rename the others silently)."""
    header = [h.strip() for h in next(csv.reader([first]))]
    if len(header) < 2 and not _single_column_ok(header):
        raise InputError(f"{path}: not a CSV table{inside}: the first line '{first[:60]}' has no "
                         "comma-separated column names")
    if any(not h for h in header):
        raise InputError(f"{path}: the header row has an empty column name (column {header.index('') + 1})")
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        if h.casefold() in seen:
            raise InputError(f"{path}: the header row names column '{h}' twice (columns {seen[h.casefold()] + 1} "
                             f"and {i + 1}); expected each column once")
        seen[h.casefold()] = i
    return header


WRAPPED_PROBE_LINES = 50
"""Data lines looked at to tell a wrapped-lines file (see ``_check_not_wrapped``)."""


def _check_not_wrapped(path: Path, header: list[str], body: list[str], inside: str) -> None:
    """Refuse a file whose data lines are each one quoted field holding the whole row (a spreadsheet
    re-save, each line quoted whole with its inner quotes doubled): pandas would read it as rows
    with every column but the first empty."""
    if len(header) < 2:
        return
    probe = [line for line in body[:WRAPPED_PROBE_LINES] if line.strip()]
    try:
        rows = list(csv.reader(probe))
    except csv.Error:
        return
    wrapped = [r for r in rows if len(r) == 1 and "," in r[0]]
    if rows and len(wrapped) * 2 > len(rows):
        example = next(csv.reader([wrapped[0][0]]), [])
        raise InputError(
            f"{path}: every data line{inside} is wrapped in one quoted field (line 2 is one field of "
            f"{len(example)} comma-separated values, the header has {len(header)} columns), so every column "
            "but the first would read as missing; re-save it as a plain CSV (one field per column) or strip "
            "the outer quotes of each data line and un-double the inner ones")


def _gunzip_head(path: Path) -> bytes:
    """The first ``_PROBE_BYTES`` decompressed bytes of a gzip file (all of them when it is shorter)."""

    try:
        with gzip.open(path, "rb") as gz:
            return gz.read(_PROBE_BYTES)
    except GZIP_ERRORS as exc:
        raise InputError(f"{path}: is a corrupt or truncated gzip file ({exc}), expected a CSV table") from None


def _single_column_ok(header: list[str]) -> bool:
    """A one-column file is a table only when that column is a canonical variable."""

    return len(header) == 1 and header[0].strip().casefold() in NAMES
