"""Where the shipped inputs live: seed scenarios, the synthetic crash table, the DriveLM example.

In a source checkout they are the repository's ``data/`` folder. A wheel carries the same folder as the
package data ``adsgen/data`` (setup.py maps ``data/`` to the package ``adsgen.data``), found through
importlib.resources, so an installed adsgen runs its seeds and demo from any folder.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

PACKAGE_DIR = Path(str(files("adsgen")))
"""The installed (or checked-out) adsgen package folder."""


def _data_dir() -> Path:
    installed = PACKAGE_DIR / "data"
    return installed if installed.is_dir() else PACKAGE_DIR.parent / "data"


DATA_DIR = _data_dir()
"""adsgen/data in an installed wheel, the repository's data/ in a checkout."""
SEEDS_DIR = DATA_DIR / "seeds"
CRASH_DIR = DATA_DIR / "crash"
DRIVELM_DIR = DATA_DIR / "drivelm"
