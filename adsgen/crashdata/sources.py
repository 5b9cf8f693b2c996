"""Schemas of the raw crash tables adsgen reads: which columns feed which canonical variable, how
several columns of one row combine, and how several rows of one crash combine.

A schema is data; adding a source means adding a ``SourceSchema`` to ``SOURCES`` (and its mapping
files), not editing the reader.

Row rules (several columns of one raw row -> one state):
  ``first``: the first column (in the listed order) whose value maps to a state wins;
  ``rank``: the highest-ranked state among the columns wins (``rank`` lists states lowest first).
Crash rules (several raw rows of one crash -> one state), ``aggregate``:
  ``first``: the first row (in file order) with a known state (crash-level columns, repeated on
  every driver / vehicle row); ``rank``: the highest-ranked state over the rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adsgen.variables import NAMES, STATES

# movement ranking: the adversary is the party doing the most conflict-creating manoeuvre
MOVEMENT_RANK = ("straight", "slowing_stopped", "changing_lanes", "turning_right", "turning_left")
IMPAIRED_RANK = ("no", "distracted", "substance")
SPEED_RANK = STATES["speed_limit"]  # the highest posted limit among a crash's vehicles


@dataclass(frozen=True)
class ColumnSpec:
    """One raw column feeding a canonical variable."""

    names: tuple[str, ...]
    """Accepted header names (first present wins; matched case-insensitively)."""
    mapping: str | None
    """Mapping file stem in mappings/ for categorical columns; None for a numeric speed limit in mph."""
    required: bool = True
    """Whether the file must have this column (an InputError names it when absent)."""


@dataclass(frozen=True)
class VariableRule:
    """How one canonical variable is derived from a source."""

    variable: str
    columns: tuple[ColumnSpec, ...]
    combine: str = "first"
    """Row rule over ``columns``: ``first`` or ``rank``."""
    aggregate: str = "first"
    """Crash rule over the rows of one crash: ``first`` or ``rank``."""
    rank: tuple[str, ...] | None = None
    """States lowest first, for ``rank`` rules (row or crash)."""


@dataclass(frozen=True)
class SourceSchema:
    """A raw crash table: how to recognise it and how to map it."""

    name: str
    description: str
    key: str
    """Column identifying a crash (rows sharing it are one crash)."""
    signature: tuple[str, ...]
    """Header columns (case-insensitive) whose presence identifies the source."""
    rules: tuple[VariableRule, ...]
    required_extra: tuple[str, ...] = ()
    """Further required columns that feed no variable directly."""


def _c(*names: str, mapping: str | None, required: bool = True) -> ColumnSpec:
    return ColumnSpec(tuple(names), mapping, required)


MONTGOMERY = SourceSchema(
    name="montgomery",
    description="Montgomery County (MD) Crash Reporting - Drivers Data, one row per driver, both eras",
    key="Report Number",
    signature=("Report Number", "ACRS Report Type"),
    rules=(
        VariableRule("light", (_c("Light", mapping="montgomery_light"),)),
        VariableRule("weather", (_c("Weather", mapping="montgomery_weather"),)),
        VariableRule("surface", (_c("Surface Condition", mapping="montgomery_surface_condition"),)),
        VariableRule("road_layout", (
            _c("Intersection Type", mapping="montgomery_intersection_type", required=False),
            _c("Junction", mapping="montgomery_junction", required=False),
            _c("Road Alignment", mapping="montgomery_road_alignment", required=False),
        )),
        VariableRule("traffic_control", (_c("Traffic Control", mapping="montgomery_traffic_control"),)),
        VariableRule("speed_limit", (_c("Speed Limit", mapping=None),), aggregate="rank", rank=SPEED_RANK),
        VariableRule("other_movement", (_c("Vehicle Movement", mapping="montgomery_vehicle_movement"),),
                     aggregate="rank", rank=MOVEMENT_RANK),
        VariableRule("driver_impaired", (
            _c("Driver Substance Abuse", mapping="montgomery_driver_substance_abuse"),
            _c("Driver Distracted By", mapping="montgomery_driver_distracted_by"),
        ), combine="rank", aggregate="rank", rank=IMPAIRED_RANK),
        VariableRule("collision_type", (
            _c("Related Non-Motorist", mapping="montgomery_related_non_motorist", required=False),
            _c("Collision Type", mapping="montgomery_collision_type"),
        )),
        VariableRule("severity", (_c("ACRS Report Type", mapping="montgomery_acrs_report_type"),)),
    ),
)

STATEWIDE = SourceSchema(
    name="statewide",
    description="Maryland Statewide Vehicle Crashes, crash table (one row per crash)",
    key="REPORT_NO",
    signature=("REPORT_NO", "REPORT_TYPE"),
    rules=(
        VariableRule("light", (_c("LIGHT_DESC", mapping="statewide_light_desc"),)),
        VariableRule("weather", (_c("WEATHER_DESC", mapping="statewide_weather_desc"),)),
        VariableRule("surface", (_c("SURF_COND_DESC", mapping="statewide_surf_cond_desc"),)),
        VariableRule("road_layout", (_c("JUNCTION_DESC", mapping="statewide_junction_desc"),)),
        VariableRule("traffic_control", (_c("SIGNAL_FLAG", mapping="statewide_signal_flag"),)),
        VariableRule("collision_type", (
            _c("HARM_EVENT_DESC1", mapping="statewide_harm_event_desc1", required=False),
            _c("COLLISION_TYPE_DESC", mapping="statewide_collision_type_desc"),
        )),
        VariableRule("severity", (_c("REPORT_TYPE", mapping="statewide_report_type"),)),
    ),
)

STATEWIDE_VEHICLES = SourceSchema(
    name="statewide_vehicles",
    description="Maryland Statewide Vehicle Crashes, vehicle table (one row per vehicle), joined on REPORT_NO",
    key="REPORT_NO",
    signature=("REPORT_NO", "VEHICLE_ID"),
    rules=(
        VariableRule("speed_limit", (_c("SPEED_LIMIT", mapping=None),), aggregate="rank", rank=SPEED_RANK),
        VariableRule("other_movement",
                     (_c("VEH_MOVEMENT_DESC", "MOVEMENT_DESC", mapping="statewide_veh_movement_desc"),),
                     aggregate="rank", rank=MOVEMENT_RANK),
    ),
)

MONTGOMERY_INCIDENTS = SourceSchema(
    name="montgomery_incidents",
    description="Montgomery County (MD) Crash Reporting - Incidents Data, one row per crash, joined on "
                "Report Number for road layout (Drivers rows of the same crash give way to it)",
    key="Report Number",
    signature=("Report Number",),
    rules=(
        VariableRule("road_layout", (
            _c("Intersection Type", mapping="montgomery_intersection_type", required=False),
            _c("Junction", mapping="montgomery_junction", required=False),
            _c("Road Alignment", mapping="montgomery_road_alignment", required=False),
        )),
    ),
)

MONTGOMERY_NON_MOTORISTS = SourceSchema(
    name="montgomery_non_motorists",
    description="Montgomery County (MD) Crash Reporting - Non-Motorists Data, one row per non-motorist, "
                "joined on Report Number: a crash with a pedestrian row is a pedestrian collision",
    key="Report Number",
    signature=("Report Number",),
    rules=(
        VariableRule("collision_type", (
            _c("Pedestrian Type", "Related Non-Motorist", mapping="montgomery_related_non_motorist"),
        ), aggregate="first"),
    ),
)

MONTGOMERY_TABLES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "montgomery_incidents": ("Crash Reporting - Incidents Data", ("Report Number", "ACRS Report Type"),
                             ("Vehicle ID", "Person ID", "Vehicle Movement", "Speed Limit", "Driver Distracted By")),
    "montgomery_non_motorists": ("Crash Reporting - Non-Motorists Data", ("Report Number", "Pedestrian Type"),
                                 ("Vehicle ID", "Vehicle Movement", "Speed Limit", "Driver Distracted By")),
}
"""Other Montgomery tables: name -> (title, columns it has, Drivers columns it has none of)."""

REPORT_NO = "report_no"
"""First column of a canonical table written by ``data convert``: the crash's report number in its
source (REPORT_NO / Report Number). The reader keeps it as the table's crash keys, never as a variable."""

INCIDENTS_HELP = ("Montgomery County Incidents table, joined to the Drivers table on Report Number "
                  "(road layout).")
NON_MOTORISTS_HELP = ("Montgomery County Non-Motorists table, joined to the Drivers table on Report Number "
                      "(pedestrian collisions).")
"""Help of the --incidents / --non-motorists options (data inspect/convert, cbn learn)."""

STATEWIDE_CODE_COLUMNS = ("LIGHT_CODE", "WEATHER_CODE", "SURF_COND_CODE", "JUNCTION_CODE",
                          "COLLISION_TYPE_CODE")
"""Code columns of the older Maryland statewide quarterly CRASH tables (MSP), which come without the
``*_DESC`` columns and without REPORT_TYPE."""

SOURCES: dict[str, SourceSchema] = {s.name: s for s in (STATEWIDE, MONTGOMERY)}
"""Crash-table sources tried, in order, when detecting a file's source from its header."""

VEHICLE_SOURCES: dict[str, SourceSchema] = {STATEWIDE_VEHICLES.name: STATEWIDE_VEHICLES}
"""Tables that can be joined to a crash table with ``vehicle_table=``."""


def column_key(name: str) -> str:
    """Header matching key: case-folded, runs of non-alphanumerics as one underscore, so the CSV
    export's ``Report Number`` / ``REPORT_NO`` and the JSON API's ``report_number`` / ``report_no``
    match."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().casefold()).strip("_")


def known_columns(schema: SourceSchema) -> set[str]:
    """Column keys a schema knows (key, signature, every mapped column)."""
    names = {schema.key, *schema.signature, *schema.required_extra}
    names.update(n for rule in schema.rules for spec in rule.columns for n in spec.names)
    return {column_key(n) for n in names}


def identify_other_table(header: list[str]) -> str | None:
    """Name of a known table the reader cannot read on its own (a Montgomery Incidents or
    Non-Motorists table, a statewide code-only CRASH table), or None."""
    keys = {column_key(h) for h in header}
    for name, (_title, has, lacks) in MONTGOMERY_TABLES.items():
        if all(column_key(c) in keys for c in has) and not any(column_key(c) in keys for c in lacks):
            return name
    if column_key("REPORT_NO") in keys and column_key("REPORT_TYPE") not in keys and \
            any(column_key(c) in keys for c in STATEWIDE_CODE_COLUMNS) and column_key("LIGHT_DESC") not in keys:
        return "statewide_codes"
    return None


def detect_source(header: list[str], sources: dict[str, SourceSchema] = SOURCES) -> SourceSchema | None:
    """The schema a header belongs to, or None (a canonical table).

    First a schema whose signature columns are all present; else the schema sharing the most
    known columns, if at least three besides canonical variable names (a damaged export still reads
    as its source, and the reader then names the missing column)."""

    keys = {column_key(h) for h in header}
    for schema in sources.values():
        if all(column_key(s) in keys for s in schema.signature):
            return schema
    best, overlap = None, 2
    for schema in sources.values():
        shared = len((keys - set(NAMES)) & known_columns(schema))
        if shared > overlap:
            best, overlap = schema, shared
    return best
