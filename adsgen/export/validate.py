"""Schema checks of exported files: OpenSCENARIO against the XSD installed with scenariogeneration.

The scenariogeneration wheel installs the ASAM schemas next to itself (``site-packages/schemas``);
its OpenSCENARIO 1.0 XSD is the one CARLA ScenarioRunner validates against.
"""

from __future__ import annotations

import functools
import importlib.metadata
import xml.etree.ElementTree as ET
from pathlib import Path

from adsgen.errors import ConfigError, InputError


def schema_path(minor: int = 0) -> Path:
    """Path of the OpenSCENARIO 1.<minor> XSD installed by the scenariogeneration package."""
    name = "OpenSCENARIO_1_3_1.xsd" if minor == 3 else f"OpenSCENARIO_1_{minor}.xsd"
    try:
        files = importlib.metadata.files("scenariogeneration") or []
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError("the scenariogeneration package is not installed: pip install scenariogeneration") from None
    for f in files:
        if f.name == name and f.parent.name == "schemas":
            return Path(f.locate())
    raise ConfigError(f"scenariogeneration installs no {name}; reinstall scenariogeneration")


@functools.lru_cache(maxsize=4)
def _schema(path: str):
    import xmlschema

    return xmlschema.XMLSchema(path)


def xosc_errors(path: str | Path, xsd: str | Path | None = None) -> list[str]:
    """Schema violations of an .xosc file (empty when valid) against ``xsd`` (default: installed 1.0 XSD)."""
    schema = _schema(str(xsd or schema_path(0)))
    try:
        return [f"{e.path}: {e.reason}" for e in schema.iter_errors(str(path))]
    except ET.ParseError as exc:
        raise InputError(f"{path}: not well-formed XML ({exc})") from None


def xodr_check(path: str | Path) -> dict:
    """Parse an .xodr file and return a summary (header revision, road and junction counts)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InputError(f"{path}: not well-formed OpenDRIVE XML ({exc})") from None
    if root.tag != "OpenDRIVE":
        raise InputError(f"{path}: root element is <{root.tag}>, expected <OpenDRIVE>")
    header = root.find("header")
    return {"revMajor": header.get("revMajor") if header is not None else None,
            "revMinor": header.get("revMinor") if header is not None else None,
            "roads": len(root.findall("road")), "junctions": len(root.findall("junction"))}
