"""carla_bridge: run adsgen scenarios on a real CARLA server. The only package that imports ``carla``.

``CarlaBackend`` implements adsgen's Backend protocol (``adsgen.sim.types.Backend``). It is loaded
lazily (module ``__getattr__``), so importing this package never imports ``carla``; a user without the
``carla`` extra gets ``MissingExtraError`` ("... pip install 'adsgen[carla]'") when the backend is built.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CarlaBackend", "CarlaOptions"]


def _carla_backend(**options: Any) -> Any:
    """Backend factory for ``adsgen.sim.backends.get_backend("carla", host="H:P", ...)``."""
    from carla_bridge.backend import CarlaBackend

    return CarlaBackend(**options)


def _register() -> None:
    try:
        from adsgen.sim.backends import register_backend
    except ImportError:  # pragma: no cover - the registry is part of adsgen
        return
    register_backend("carla", _carla_backend)


_register()


def __getattr__(name: str) -> Any:
    if name in __all__:
        from carla_bridge import backend

        return getattr(backend, name)
    raise AttributeError(f"module 'carla_bridge' has no attribute {name!r}")
