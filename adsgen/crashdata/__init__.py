"""adsgen.crashdata: crash tables (Maryland statewide, Montgomery County, canonical) to canonical
variables, and synthetic tables in those layouts (sampled from adsgen.groundtruth's reference network).

Public API:

- ``read_crash_table(path, *, vehicle_table=None) -> CrashTable``
"""

from __future__ import annotations

from adsgen.crashdata.reader import CrashTable, read_crash_table

__all__ = ["CrashTable", "read_crash_table"]
