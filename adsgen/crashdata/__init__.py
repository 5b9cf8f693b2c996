"""adsgen.crashdata: crash tables (Maryland statewide, Montgomery County, canonical) to canonical
variables, and the synthetic reference network that generates test tables.

Public API:

- ``read_crash_table(path, *, vehicle_table=None) -> CrashTable``
- ``reference_edges()``, ``reference_cpds()``, ``sample_canonical(rows, seed)``
"""

from __future__ import annotations

from adsgen.crashdata.reader import CrashTable, read_crash_table
from adsgen.crashdata.reference import (
    SYNTHETIC_NOTE,
    Cpd,
    reference_cpds,
    reference_edges,
    sample_canonical,
)

__all__ = [
    "CrashTable",
    "read_crash_table",
    "SYNTHETIC_NOTE",
    "Cpd",
    "reference_cpds",
    "reference_edges",
    "sample_canonical",
]
