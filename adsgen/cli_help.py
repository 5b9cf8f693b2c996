"""Help-text conventions for every command, applied in one place to the built click command tree.

Placeholders are words a user reads (FILE, DIR, N, FLOAT, TEXT, choices joined by ``|``), never Python
types such as ``<list[str]>``; arguments show their name in capitals (``MODEL_DIR``). A placeholder given
by a command itself (``metavar=...``) is kept. Typer's own help shows the annotation's type, so the tree
is rewritten after typer builds it (``adsgen.cli.command``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

_DIR_WORDS = re.compile(r"\b(folder|directory|dir)\b", re.IGNORECASE)
_FILE_WORDS = re.compile(r"\b(file|files|table|database|json|yaml|csv|bif|sqlite)\b", re.IGNORECASE)

PLACEHOLDERS: dict[type, str] = {int: "N", float: "FLOAT", str: "TEXT"}
"""Placeholder by the option's Python type (paths and choices are decided from their parameter info)."""


def _path_word(param: Any) -> str:
    """FILE or DIR from typer's file_okay / dir_okay, else from the help text's words (the first of
    "folder" / "file" it names), else PATH."""
    info = param.type_descriptor.parameter_info
    if info.file_okay and not info.dir_okay:
        return "FILE"
    if info.dir_okay and not info.file_okay:
        return "DIR"
    text = param.help or ""
    is_dir, is_file = _DIR_WORDS.search(text), _FILE_WORDS.search(text)
    if is_dir and is_file:  # the first named decides: "Folder of seed YAML files" is a folder
        return "DIR" if is_dir.start() < is_file.start() else "FILE"
    return "DIR" if is_dir else "FILE" if is_file else "PATH"


def placeholder(param: Any) -> str:
    """The placeholder for one typer option's value."""
    desc = param.type_descriptor
    if desc.is_choice and desc.choices is not None:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices)
    if desc.is_path:
        return _path_word(param)
    annotation = desc.annotation
    if desc.is_list:
        args = getattr(annotation, "__args__", (str,))
        annotation = args[0] if args else str
        if isinstance(annotation, type) and issubclass(annotation, PurePath):
            return _path_word(param)
    return PLACEHOLDERS.get(annotation, "VALUE") if isinstance(annotation, type) else "VALUE"


def _commands(command: Any) -> Iterator[Any]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _commands(sub)


def _no_type(ctx: Any) -> None:
    return None


def apply_placeholders(root: Any) -> Any:
    """Give every option and argument of ``root`` (a click command built by typer) a readable placeholder;
    returns ``root``."""
    for command in _commands(root):
        for param in command.params:
            if not hasattr(param, "type_descriptor") or param.param_type_name not in ("option", "argument"):
                continue
            if param.param_type_name == "argument":
                if param.metavar is None:
                    param.metavar = param.name.upper()  # click adds "..." for several values
                param.display_type_rich = _no_type  # the name says it: MODEL_DIR, not model_dir <path>
            elif param.metavar is None and not param.is_flag and not param.count:
                param.metavar = placeholder(param)
    return root
