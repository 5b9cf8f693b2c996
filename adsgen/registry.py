"""Named things users extend: agents, backends, road templates, structure scores, search methods.

``Registry`` holds one kind's factories by name. It reads as a mapping (``name in reg``, ``reg[name]``,
``sorted(reg)``); ``reg.lookup(name)`` is the user-facing read: it imports the edge module a name is
declared in (``plugins``: the CARLA bridge, the VLM agent) on first use, and refuses an unknown name with a
ConfigError that lists the known ones.

``resolve_import("package.module:Factory")`` is the one resolver of import paths in the code base. Files
are data: an import path read from a file (a campaign database) runs only when the user names it again or
passes --trust-imports; ``adsgen.campaign.backends.ImportTrust`` applies that rule before anything here is
called.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar, overload

from adsgen.errors import ConfigError

T = TypeVar("T")

def resolve_import(spec: str, what: str) -> Any:
    """The attribute 'package.module:Attribute' names; ConfigError naming ``what`` (e.g. '--backend') and the
    spec when the module or attribute cannot be found."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{what} {spec!r}: expected package.module:Factory")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"{what} {spec}: cannot import {attr!r} from {module_name!r} ({exc})") from None


def import_plugin(module_name: str) -> bool:
    """Import a module that registers things when imported; False when that module is not installed."""
    try:
        importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise  # the module exists but something it imports is missing: say so
        return False
    return True


class Registry(Mapping[str, T], Generic[T]):
    """One kind's factories by name, extended with ``register``."""

    def __init__(self, kind: str, *, plugins: Mapping[str, str] | None = None) -> None:
        self.kind = kind
        """What the entries are, in error messages ('agent', 'backend', 'road template', ...)."""
        self._items: dict[str, T] = {}
        self._plugins = dict(plugins or {})  # name -> module that registers it when imported

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, item: T) -> T: ...

    def register(self, name: str, item: Any = None) -> Any:
        """``reg.register(name, item)``, or ``@reg.register(name)`` above a function or class."""
        if item is None:
            def deco(obj: T) -> T:
                self._items[name] = obj
                return obj
            return deco
        self._items[name] = item
        return item

    def unregister(self, name: str) -> None:
        """Forget a name (tests that register a throwaway entry)."""
        self._items.pop(name, None)

    def names(self) -> list[str]:
        """Registered names and names an edge module would register, sorted."""
        return sorted(set(self._items) | set(self._plugins))

    def known(self, name: str) -> bool:
        """Registered, or declared by an edge module (without importing it)."""
        return name in self._items or name in self._plugins

    def load_plugins(self) -> None:
        """Import every edge module that declares names (those not installed are skipped)."""
        for module_name in dict.fromkeys(self._plugins.values()):
            import_plugin(module_name)

    def lookup(self, name: str, shown: str | None = None) -> T:
        """The entry for ``name``, importing its edge module first when needed; ConfigError when unknown
        (``shown``: how the user wrote it, e.g. the whole 'vlm:DIR' spec)."""
        if name not in self._items and name in self._plugins:
            import_plugin(self._plugins[name])
        try:
            return self._items[name]
        except KeyError:
            raise ConfigError(f"unknown {self.kind} {shown or name!r}; expected one of "
                              f"{', '.join(self.names())}") from None

    def __getitem__(self, name: str) -> T:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
