"""Backend registry: ``get_backend("builtin")``; the CARLA bridge registers "carla" lazily.

A factory takes the options as keyword arguments and returns an object implementing
``adsgen.sim.types.Backend``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adsgen.errors import ConfigError

BackendFactory = Callable[..., Any]
BACKENDS: dict[str, BackendFactory] = {}
LAZY_BACKENDS: dict[str, str] = {"carla": "carla_bridge"}
"""Backends registered by importing a module on first use (name -> module)."""


def register_backend(name: str, factory: BackendFactory) -> None:
    BACKENDS[name] = factory


def _builtin(**options: Any):
    from adsgen.sim.engine import BuiltinBackend

    if options:
        raise ConfigError(f"backend 'builtin' takes no options, got {', '.join(sorted(options))}")
    return BuiltinBackend()


register_backend("builtin", _builtin)


def get_backend(name: str, **options: Any):
    """A backend by name, with its options."""
    if name not in BACKENDS and name in LAZY_BACKENDS:
        import importlib

        try:
            importlib.import_module(LAZY_BACKENDS[name])
        except ModuleNotFoundError as exc:
            if exc.name != LAZY_BACKENDS[name]:
                raise
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise ConfigError(f"unknown backend {name!r}; expected one of "
                          f"{', '.join(sorted(set(BACKENDS) | set(LAZY_BACKENDS)))}") from None
    return factory(**options)


def backend_options(backend: str, carla_host: str | None) -> dict[str, Any]:
    """get_backend options from the CLI's --carla-host (HOST or HOST:PORT, parsed by the CARLA bridge)."""
    if carla_host is None:
        return {}
    if backend != "carla":
        raise ConfigError(f"--carla-host {carla_host!r} needs --backend carla (got --backend {backend})")
    return {"host": carla_host}


__all__ = ["get_backend", "register_backend", "backend_options", "BACKENDS", "LAZY_BACKENDS"]
