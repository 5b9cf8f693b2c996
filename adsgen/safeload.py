"""Reading YAML and JSON files that someone else wrote: data only, bounded, every problem one line.

- a size cap (``MAX_DOCUMENT_BYTES``) before parsing, and text that is not UTF-8 named with its line;
- duplicate keys refused with the key and line (YAML and JSON would otherwise keep the last silently);
- nesting beyond what Python can parse (a RecursionError in the parser) and numbers too long to convert
  (Python's 4300-digit limit) become one InputError naming the file.

PyYAML's ``SafeLoader`` (no Python objects) and the standard ``json`` module do the parsing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from adsgen.errors import InputError

MAX_DOCUMENT_BYTES = 32 * 1024 * 1024  # [bytes] largest YAML / JSON document read by these functions


def read_text(path: str | Path, what: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> str:
    """A file's text (UTF-8); InputError when missing, a folder, over max_bytes, or not UTF-8 (with the line)."""
    p = Path(path)
    if not p.is_file():
        kind = "a folder" if p.is_dir() else "not a regular file" if p.exists() else "no such file"
        raise InputError(f"{p}: {kind} (expected {what})")
    size = p.stat().st_size
    if size > max_bytes:
        raise InputError(f"{p}: {size:,} bytes, more than the {max_bytes:,} a {what} may have")
    data = p.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{p}: line {line}: not UTF-8 text (byte {data[exc.start]:#04x}); save it as UTF-8") from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with the same key twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", key_node.start_mark)
                seen[key] = key_node.start_mark.line
            except TypeError:  # an unhashable key: SafeLoader's own error follows
                pass
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _UniqueKeyLoader.construct_mapping)


def load_yaml(path: str | Path, what: str = "a YAML file") -> Any:
    """Parse a YAML file safely (see the module docstring); InputError naming the file and line."""
    text = read_text(path, what)
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        raise InputError(f"{path}:{where} not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply to read (expected {what})") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InputError(f"{path}: {str(exc)[:160]} (expected {what})") from None


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def loads_json(text: str, source: str, what: str = "a JSON file") -> Any:
    """Parse JSON text safely (see the module docstring); InputError naming SOURCE and the line."""
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise InputError(f"{source}: nested too deeply to read (expected {what})") from None
    except ValueError as exc:  # a duplicate key, an integer of more than 4300 digits
        raise InputError(f"{source}: {str(exc)[:160]} (expected {what})") from None


def load_json(path: str | Path, what: str = "a JSON file", max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """Parse a JSON file safely; InputError naming the file."""
    return loads_json(read_text(path, what, max_bytes), str(path), what)


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F]}


def printable(text: str, limit: int | None = None) -> str:
    """TEXT (a name or message read from a file) as one terminal-safe line: newlines and other control
    characters escaped (\\x1b), so it can neither break a line nor send escape sequences to the terminal;
    over LIMIT characters, its start and end are kept."""
    line = text.translate(_CONTROL)
    if limit is not None and len(line) > limit:
        line = line[: limit // 2] + f"...({len(line) - limit:,} characters left out)..." + line[-limit // 2:]
    return line
