"""carla_bridge: run adsgen scenarios on a real CARLA server. The only package that imports ``carla``.

``CarlaBackend`` implements adsgen's Backend protocol (``adsgen.sim.types.Backend``). It is loaded
lazily (module ``__getattr__``), so importing this package never imports ``carla``; a user without the
``carla`` extra gets ``MissingExtraError`` ("... pip install 'adsgen[carla]'") when the backend is built.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CarlaBackend", "CarlaOptions"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from carla_bridge import backend

        return getattr(backend, name)
    raise AttributeError(f"module 'carla_bridge' has no attribute {name!r}")
