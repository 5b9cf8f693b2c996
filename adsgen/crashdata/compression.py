"""Gzip-compressed crash tables: detect them by their magic bytes, open them for streaming, write them.

A crash file is read as gzip when its first two bytes are the gzip magic (whatever its name), and
written as gzip when its name ends in ``.gz``. Written files carry no timestamp (gzip ``mtime`` 0),
so the same table gives the same bytes.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO

from adsgen.errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
"""First two bytes of every gzip member (RFC 1952)."""

GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)
"""What decompressing a corrupt or truncated gzip stream raises."""

MAX_EXPANSION = 200
"""A gzip crash table may expand to at most this many times its size on disk (CSV text compresses 5-20x; a
file that expands more is a decompression bomb) ..."""
MIN_EXPANDED_BYTES = 256 * 1024 * 1024
"""... or to this many bytes, whichever is more."""

GZIP_LEVEL = 9
"""Compression level of written files (CSV text compresses best at 9 and writing is not the bottleneck)."""


def wants_gzip(path: str | Path | IO) -> bool:
    """True when an output path's name ends in ``.gz`` (an open handle is written as it is)."""
    return isinstance(path, (str, Path)) and str(path).lower().endswith(".gz")


@contextmanager
def open_table(path: str | Path) -> Iterator[tuple[BinaryIO, BinaryIO]]:
    """Open a crash file for reading: yields ``(raw, stream)``, where ``stream`` gives the table's bytes
    (decompressed when the file is gzip) and ``raw.tell()`` is the position in the file on disk (for
    progress against its size)."""
    with open(path, "rb") as raw:
        if raw.read(2) == GZIP_MAGIC:
            raw.seek(0)
            limit = max(MIN_EXPANDED_BYTES, MAX_EXPANSION * Path(path).stat().st_size)
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                yield raw, _Guarded(stream, limit, Path(path))  # type: ignore[misc]
        else:
            raw.seek(0)
            yield raw, _Guarded(raw, None, Path(path))  # type: ignore[misc]


@contextmanager
def open_text_out(path: str | Path) -> Iterator[IO[str]]:
    """Open a text file for writing CSV (``newline=""``), gzip-compressed without a timestamp when its
    name ends in ``.gz``."""
    path = Path(path)
    if not wants_gzip(path):
        with open(path, "w", newline="", encoding="utf-8") as fh:
            yield fh
        return
    with open(path, "wb") as raw, gzip.GzipFile(filename=path.name.removesuffix(".gz"), mode="wb",
                                                 fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0) as gz, \
            io.TextIOWrapper(gz, encoding="utf-8", newline="") as fh:
        yield fh


class _Guarded(io.RawIOBase):
    """A read-only view of a table's bytes that raises InputError at a NUL byte (naming its line: the CSV
    parser would silently end a row there) and, with a LIMIT, once more than LIMIT bytes came out (a gzip
    decompression bomb)."""

    def __init__(self, inner: BinaryIO | gzip.GzipFile, limit: int | None, path: Path):
        self.inner, self.limit, self.path = inner, limit, path
        self.count = 0
        self.lines = 1

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self.count += len(data)
        if self.limit is not None and self.count > self.limit:
            raise InputError(f"{self.path}: expands to more than {self.limit:,} bytes ({MAX_EXPANSION}x its size "
                             "on disk); not a crash table (a decompression bomb?); decompress it yourself if it "
                             "is genuine")
        nul = data.find(b"\x00")
        if nul >= 0:
            line = self.lines + data.count(b"\n", 0, nul)
            raise InputError(f"{self.path}: line {line}: a NUL byte in the text (a damaged or binary file); "
                             "expected CSV text")
        self.lines += data.count(b"\n")
        return data
