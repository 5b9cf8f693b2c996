"""The one gate through which carla_bridge imports the ``carla`` client library.

Every module of the bridge that needs ``carla`` calls :func:`import_carla` (never ``import carla`` at
module top), so ``adsgen --help`` stays fast and a user without the extra gets one line naming
``pip install 'adsgen[carla]'`` instead of a traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from adsgen.errors import MissingExtraError


def import_carla(what: str = "the CARLA backend") -> ModuleType:
    """The ``carla`` module, or MissingExtraError naming the extra to install."""
    try:
        return importlib.import_module("carla")
    except ModuleNotFoundError as exc:
        if exc.name not in ("carla", None) and not str(exc.name).startswith("carla."):
            raise  # carla is installed but one of its own dependencies is missing: show the real cause
        raise MissingExtraError("carla", "carla", what) from exc
