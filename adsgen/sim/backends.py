"""Backend registry (adsgen.registry): ``get_backend("builtin")``; the CARLA bridge registers "carla" lazily.

A factory takes the options as keyword arguments and returns an object implementing
``adsgen.sim.types.Backend``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adsgen.errors import ConfigError
from adsgen.registry import Registry

BackendFactory = Callable[..., Any]
BACKENDS: Registry[BackendFactory] = Registry("backend", plugins={"carla": "carla_bridge"})
"""Backends by name; "carla" is registered by the CARLA bridge, imported on first use."""


def register_backend(name: str, factory: BackendFactory) -> None:
    BACKENDS.register(name, factory)


def _builtin(**options: Any):
    from adsgen.sim.engine import BuiltinBackend

    if options:
        raise ConfigError(f"backend 'builtin' takes no options, got {', '.join(sorted(options))}")
    return BuiltinBackend()


register_backend("builtin", _builtin)


def get_backend(name: str, **options: Any) -> Any:
    """A backend by name, with its options."""
    return BACKENDS.lookup(name)(**options)


def backend_options(backend: str, carla_host: str | None) -> dict[str, Any]:
    """get_backend options from the CLI's --carla-host (HOST or HOST:PORT, parsed by the CARLA bridge)."""
    if carla_host is None:
        return {}
    if backend != "carla":
        raise ConfigError(f"--carla-host {carla_host!r} needs --backend carla (got --backend {backend})")
    return {"host": carla_host}


__all__ = ["get_backend", "register_backend", "backend_options", "BACKENDS"]
