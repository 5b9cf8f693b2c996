"""Where an artifact came from: versions of the stack, input fingerprints, timestamps.

Every artifact adsgen writes (a learned CBN, a scenario set, an adapter, a campaign) carries a
provenance record built here, so it can say how it was made.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import platform
from pathlib import Path

_TRACKED = ("adsgen", "numpy", "pandas", "pgmpy", "scipy", "pydantic", "scenariogeneration",
            "torch", "transformers", "peft", "ray", "carla")


def versions(packages: tuple[str, ...] = _TRACKED) -> dict[str, str | None]:
    """Installed version of each package (None when not installed), plus the Python version."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def file_fingerprint(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """``sha256:<hex>`` of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            h.update(block)
    return "sha256:" + h.hexdigest()


def text_fingerprint(text: str | bytes) -> str:
    """``sha256:<hex>`` of a string or bytes."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return "sha256:" + hashlib.sha256(data).hexdigest()


def utc_now() -> str:
    """The current time in UTC, ISO 8601, seconds precision."""
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
