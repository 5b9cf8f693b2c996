"""Writers from a canonical DataFrame to raw crash-table formats (for synthetic data and tests).

- ``write_montgomery``: the Montgomery County "Crash Reporting - Drivers Data" layout, one row per
  driver (1 driver for single-vehicle and pedestrian crashes, 2-3 otherwise), both spelling eras
  (legacy upper case before 2024, ACRS 2.0 mixed case from 2024 on, by crash date), injected
  unknowns, stray spellings (extra spaces, case variants), a few typos, and free-text columns with
  quoted commas.
- ``write_statewide``: the Maryland statewide crash table (one row per crash) and optionally its
  vehicle table (one row per vehicle).
- ``write_canonical``: one column per canonical variable, exact state names, empty cell = missing.

Each writes to an open text handle or to a file path; a path ending in ``.gz`` is written
gzip-compressed (no timestamp, so the same input gives the same bytes).

Raw spellings come from the same mapping files the reader uses (inverted), so writer and reader
cannot drift apart. Each raw writer returns the canonical frame a correct reader must recover:
the input with injected unknowns and typos set to missing, and the source's documented lossy
mappings applied (statewide: no curves, no stop signs, no driver impairment).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from adsgen.crashdata.compression import open_text_out
from adsgen.crashdata.sources import REPORT_NO
from adsgen.crashdata.vocab import Vocabulary, load_vocabulary
from adsgen.variables import NAMES, SPEED_LIMIT_BINS, STATES

MONTGOMERY_COLUMNS = (
    "Report Number", "Local Case Number", "Agency Name", "ACRS Report Type", "Crash Date/Time",
    "Route Type", "Road Name", "Cross-Street Name", "Off-Road Description", "Municipality",
    "Junction", "Intersection Type", "Road Alignment",
    "Related Non-Motorist", "Collision Type", "Weather", "Surface Condition", "Light", "Traffic Control",
    "Driver Substance Abuse", "Non-Motorist Substance Abuse", "Person ID", "Driver At Fault",
    "Injury Severity", "Circumstance", "Driver Distracted By", "Drivers License State", "Vehicle ID",
    "Vehicle Damage Extent", "Vehicle First Impact Location", "Vehicle Body Type", "Vehicle Movement",
    "Vehicle Going Dir", "Speed Limit", "Driverless Vehicle", "Parked Vehicle", "Vehicle Year",
    "Vehicle Make", "Vehicle Model", "Latitude", "Longitude", "Location",
)

STATEWIDE_COLUMNS = (
    "YEAR", "QUARTER", "LIGHT_DESC", "LIGHT_CODE", "COUNTY_DESC", "COUNTY_NO", "MUNI_DESC", "MUNI_CODE",
    "JUNCTION_DESC", "JUNCTION_CODE", "COLLISION_TYPE_DESC", "COLLISION_TYPE_CODE", "SURF_COND_DESC",
    "SURF_COND_CODE", "LANE_DESC", "LANE_CODE", "RD_COND_DESC", "RD_COND_CODE", "RD_DIV_DESC", "RD_DIV_CODE",
    "FIX_OBJ_DESC", "FIX_OBJ_CODE", "REPORT_NO", "REPORT_TYPE", "WEATHER_DESC", "WEATHER_CODE", "ACC_DATE",
    "ACC_TIME", "LOC_CODE", "SIGNAL_FLAG_DESC", "SIGNAL_FLAG", "C_M_ZONE_FLAG", "AGENCY_CODE", "AREA_CODE",
    "HARM_EVENT_DESC1", "HARM_EVENT_CODE1", "HARM_EVENT_DESC2", "HARM_EVENT_CODE2", "RTE_NO",
    "ROUTE_TYPE_CODE", "RTE_SUFFIX", "LOG_MILE", "LOGMILE_DIR_FLAG_DESC", "LOGMILE_DIR_FLAG", "MAINROAD_NAME",
    "DISTANCE", "FEET_MILES_FLAG_DESC", "FEET_MILES_FLAG", "DISTANCE_DIR_FLAG", "REFERENCE_NO",
    "REFERENCE_TYPE_CODE", "REFERENCE_SUFFIX", "REFERENCE_ROAD_NAME", "LATITUDE", "LONGITUDE", "LOCATION",
)

STATEWIDE_VEHICLE_COLUMNS = ("REPORT_NO", "VEHICLE_ID", "VEH_YEAR", "VEH_MAKE", "BODY_TYPE_DESC",
                             "VEH_MOVEMENT_DESC", "SPEED_LIMIT", "DAMAGE_DESC")

_ACRS_FROM = np.datetime64("2024-01-01")
SYNTHETIC_AGENCY = "SYNTHETIC (adsgen reference network)"
"""Agency written on every synthetic row, so a synthetic file says what it is."""
_POSTED_MPH = {b.state: b.posted_mph for b in SPEED_LIMIT_BINS}
_ROADS = ("GEORGIA AVE", "RANDOLPH RD", "ROCKVILLE PIKE", "CONNECTICUT AVE", "VEIRS MILL RD",
          "UNIVERSITY BLVD", "NEW HAMPSHIRE AVE", "COLESVILLE RD", "OLD GEORGETOWN RD", "FREDERICK RD",
          "WISCONSIN AVE", "BRADLEY BLVD", "SHADY GROVE RD", "MIDDLEBROOK RD", "CLOPPER RD")
_ROAD_SUFFIXES = ("", "", "", "", ", SERVICE RD", ", NB RAMP", ", EAST, WB")
_MAKES = (("TOYOTA", "CAMRY"), ("HONDA", "ACCORD"), ("FORD", "F-150"), ("NISSAN", "ALTIMA"),
          ("CHEVROLET", "MALIBU"), ("HYUNDAI", "ELANTRA"), ("SUBARU", "OUTBACK"))
_BODIES = ("PASSENGER CAR", "SPORT UTILITY VEHICLE", "PICKUP TRUCK", "CARGO VAN/LIGHT TRUCK 2 AXLES")
_INJURY_LEGACY = ("NO APPARENT INJURY", "POSSIBLE INJURY", "SUSPECTED MINOR INJURY",
                  "SUSPECTED SERIOUS INJURY", "FATAL INJURY")


class _Spellings:
    """Chooses raw spellings for state codes from a mapping file (the first listed is the usual one)."""

    def __init__(self, vocab: Vocabulary, rng: np.random.Generator):
        self.vocab, self.rng = vocab, rng

    def candidates(self, code: int, acrs: bool | None) -> list[str]:
        allc = self.vocab.raw_by_state.get(code, [])
        if acrs is None:
            return allc
        legacy = [r for r in allc if r == r.upper()]
        mixed = [r for r in allc if r != r.upper()]
        return (mixed if acrs else legacy) or allc

    def spell(self, codes: np.ndarray, acrs: np.ndarray | None) -> np.ndarray:
        """Raw spellings (object array) for ``codes`` (-1 = a known 'missing' spelling or blank)."""
        out = np.empty(len(codes), dtype=object)
        eras = (None,) if acrs is None else (False, True)
        for code in np.unique(codes):
            for era in eras:
                sel = codes == code if era is None else (codes == code) & (acrs == era)
                n = int(sel.sum())
                if not n:
                    continue
                cands = self.candidates(int(code), era)
                if code < 0:
                    cands = [""] + cands
                    p = np.full(len(cands), 0.6 / max(len(cands) - 1, 1))
                    p[0] = 0.4 if len(cands) > 1 else 1.0
                elif len(cands) == 1:
                    p = np.ones(1)
                else:
                    p = np.full(len(cands), 0.2 / (len(cands) - 1))
                    p[0] = 0.8
                out[sel] = self.rng.choice(np.array(cands, dtype=object), size=n, p=p / p.sum())
        return out


def _typo(text: str, vocab: Vocabulary, rng: np.random.Generator) -> str:
    """A misspelling of ``text`` that no mapping knows (drops one inner letter, or adds one)."""
    core = text.strip()
    if len(core) > 3:
        i = int(rng.integers(1, len(core) - 1))
        cand = core[:i] + core[i + 1:]
    else:
        cand = core + "X"
    while vocab.lookup(cand) is not None:
        cand += "X"
    return cand


def _stray(values: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Apply stray-but-readable spellings (extra spaces, case variants) to a share of non-blank cells."""
    out = values.copy()
    pick = (rng.random(len(values)) < share) & (values != "")
    idx = np.flatnonzero(pick)
    kinds = rng.integers(0, 5, size=len(idx))
    transforms = (lambda s: " " + s, lambda s: s + "  ", str.lower, str.title,
                  lambda s: s.replace(" ", "  ", 1))
    for k, t in enumerate(transforms):
        sel = idx[kinds == k]
        out[sel] = [t(s) for s in values[sel]]
    return out


def _codes(df: pd.DataFrame, var: str) -> np.ndarray:
    """int8 state codes of a canonical column (-1 for NaN), whatever its dtype."""
    col = df[var]
    if isinstance(col.dtype, pd.CategoricalDtype) and list(col.cat.categories) == list(STATES[var]):
        return col.cat.codes.to_numpy().astype(np.int8)
    return pd.Categorical(col, categories=list(STATES[var])).codes.astype(np.int8)


def _dates(n: int, rng: np.random.Generator, start: str, end: str, light: np.ndarray) -> np.ndarray:
    """Crash timestamps (datetime64[m]) with the hour consistent with the light condition."""
    days = (np.datetime64(end) - np.datetime64(start)).astype(int)
    day = np.datetime64(start) + rng.integers(0, days, size=n).astype("timedelta64[D]")  # (n,)
    hours = rng.integers(8, 18, size=n)  # daylight and unknown light
    dd = light == 1
    hours[dd] = rng.choice([6, 7, 18, 19], size=int(dd.sum()))
    dark = light >= 2
    hours[dark] = rng.choice([20, 21, 22, 23, 0, 1, 2, 3, 4, 5], size=int(dark.sum()))
    minutes = rng.integers(0, 60, size=n)
    return day.astype("datetime64[m]") + (hours * 60 + minutes).astype("timedelta64[m]")


def _inject(codes: np.ndarray, share: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Set a share of codes to missing; returns (codes, mask of injected cells)."""
    mask = rng.random(len(codes)) < share
    out = codes.copy()
    out[mask] = -1
    return out, mask



def _codes_and_unknowns(df: pd.DataFrame, unknown_share: float, rng: np.random.Generator
                        ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Each variable's state codes, and the codes a reader must get back once unknowns are injected
    (severity is never unknown: it comes from the report type)."""
    code = {v: _codes(df, v) for v in NAMES}
    expected = {v: code[v].copy() for v in NAMES}
    for v in NAMES:
        if v != "severity":
            expected[v], _ = _inject(expected[v], unknown_share, rng)
    return code, expected

def _uuids(n: int, rng: np.random.Generator) -> np.ndarray:
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    return np.array([str(uuid.UUID(bytes=b.tobytes())).upper() for b in raw], dtype=object)


@dataclass(frozen=True)
class _DriverRows:
    """The driver rows of a Montgomery table (1 for single-vehicle and pedestrian crashes, 2-3 otherwise):
    which crash each row belongs to, which row is the adversary, and each crash's spelling era."""

    rng: np.random.Generator
    acrs: np.ndarray
    """(n,) True where the crash is written in the ACRS 2.0 (mixed-case) spelling era."""
    ci: np.ndarray
    """(rows,) the crash of each driver row."""
    adversary: np.ndarray
    """(rows,) True on the row of the party that created the conflict."""

    @property
    def rows(self) -> int:
        return len(self.ci)

    @property
    def era_rows(self) -> np.ndarray:
        return self.acrs[self.ci]  # (rows,)

    def crash_column(self, mapping: str, var: str, codes: np.ndarray) -> np.ndarray:
        """Raw spellings of per-crash ``codes`` (n,), repeated on each of the crash's driver rows."""
        return _Spellings(load_vocabulary(mapping, var), self.rng).spell(codes, self.acrs)[self.ci]

    def row_column(self, mapping: str, var: str, codes: np.ndarray) -> np.ndarray:
        """Raw spellings of per-row ``codes`` (rows,)."""
        return _Spellings(load_vocabulary(mapping, var), self.rng).spell(codes, self.era_rows)


def _driver_rows(code: dict[str, np.ndarray], acrs: np.ndarray, rng: np.random.Generator) -> _DriverRows:
    n = len(acrs)
    single = np.isin(code["collision_type"], [STATES["collision_type"].index("single_vehicle"),
                                              STATES["collision_type"].index("pedestrian")])
    drivers = np.where(single, 1, rng.choice([2, 3], size=n, p=[0.8, 0.2]))  # (n,)
    ci = np.repeat(np.arange(n), drivers)  # (rows,) crash of each driver row
    di = np.arange(len(ci)) - np.repeat(np.cumsum(drivers) - drivers, drivers)  # (rows,) driver index
    adversary = di == rng.integers(0, 1 << 30, size=n)[ci] % drivers[ci]  # (rows,)
    return _DriverRows(rng, acrs, ci, adversary)


def _montgomery_conditions(code: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                           typo: dict[str, np.ndarray], d: _DriverRows) -> dict[str, np.ndarray]:
    """Crash-level condition columns (the same value on every driver row of a crash), typos included."""
    cols: dict[str, np.ndarray] = {}
    for var, col, mapping in (("light", "Light", "montgomery_light"),
                              ("weather", "Weather", "montgomery_weather"),
                              ("surface", "Surface Condition", "montgomery_surface_condition"),
                              ("traffic_control", "Traffic Control", "montgomery_traffic_control"),
                              ("severity", "ACRS Report Type", "montgomery_acrs_report_type")):
        sp = _Spellings(load_vocabulary(mapping, var), d.rng)
        crash_vals = sp.spell(expected[var], d.acrs)
        if var in typo:
            for i in np.flatnonzero(typo[var]):
                crash_vals[i] = _typo(sp.spell(code[var][i:i + 1], d.acrs[i:i + 1])[0], sp.vocab, d.rng)
        cols[col] = crash_vals[d.ci]
    return cols


def _montgomery_road_layout(expected: dict[str, np.ndarray], d: _DriverRows) -> dict[str, np.ndarray]:
    """Road layout over three columns (Intersection Type, Junction, Road Alignment; first known wins)."""
    rl = expected["road_layout"]
    s = STATES["road_layout"]
    it_code = np.where(np.isin(rl, [s.index("intersection"), s.index("t_junction")]), rl, -1)
    jn_code = np.where(np.isin(rl, [s.index("intersection"), s.index("ramp")]), rl, -1)
    jn_code = np.where(rl == s.index("t_junction"),
                       np.where(d.rng.random(len(rl)) < 0.3, rl, s.index("intersection")), jn_code)
    al_code = np.where(rl == s.index("curve"), rl, s.index("straight"))
    al_code = np.where(rl < 0, -1, al_code)
    return {"Intersection Type": d.crash_column("montgomery_intersection_type", "road_layout", it_code),
            "Junction": d.crash_column("montgomery_junction", "road_layout", jn_code),
            "Road Alignment": d.crash_column("montgomery_road_alignment", "road_layout", al_code)}


def _montgomery_collision_and_speed(expected: dict[str, np.ndarray], d: _DriverRows) -> dict[str, np.ndarray]:
    """Collision type (pedestrians through Related Non-Motorist, the rest through Collision Type) and the
    posted speed limit, the same on every driver row (0 = not recorded)."""
    ct = expected["collision_type"]
    ped = ct == STATES["collision_type"].index("pedestrian")
    ct_written = np.where(ped, STATES["collision_type"].index("single_vehicle"), ct)
    rnm_code = np.where(ped, ct, -1)
    rnm = d.crash_column("montgomery_related_non_motorist", "collision_type", rnm_code)
    cols = {"Related Non-Motorist": np.where((rnm_code[d.ci] < 0) & (d.rng.random(d.rows) < 0.9), "", rnm),
            "Collision Type": d.crash_column("montgomery_collision_type", "collision_type", ct_written)}
    sl = expected["speed_limit"]
    mph = np.zeros(len(sl), dtype=np.int64)
    for k, st in enumerate(STATES["speed_limit"]):
        sel = sl == k
        mph[sel] = d.rng.choice(_POSTED_MPH[st], size=int(sel.sum()))
    cols["Speed Limit"] = mph[d.ci].astype(str).astype(object)
    return cols


def _adversary_movement(expected: dict[str, np.ndarray], d: _DriverRows) -> np.ndarray:
    """(rows,) movement codes: the other party's movement on the adversary row; the others go straight."""
    om = expected["other_movement"]
    straight = STATES["other_movement"].index("straight")
    return np.where(d.adversary, om[d.ci], np.where(om[d.ci] < 0, -1, straight))


def _montgomery_adversary(expected: dict[str, np.ndarray], d: _DriverRows) -> dict[str, np.ndarray]:
    """Movement and impairment on the adversary row; the other drivers go straight, neither distracted nor
    suspected."""
    cols = {"Vehicle Movement": d.row_column("montgomery_vehicle_movement", "other_movement",
                                             _adversary_movement(expected, d))}
    imp = expected["driver_impaired"][d.ci]
    si = STATES["driver_impaired"]
    imp_rows = np.where(d.adversary, imp, np.where(imp < 0, -1, si.index("no")))
    for state, col, mapping in (("substance", "Driver Substance Abuse", "montgomery_driver_substance_abuse"),
                                ("distracted", "Driver Distracted By", "montgomery_driver_distracted_by")):
        codes = np.where(imp_rows == si.index(state), imp_rows, np.where(imp_rows < 0, -1, si.index("no")))
        cols[col] = d.row_column(mapping, "driver_impaired", codes)
    return cols


def _montgomery_free_text(code: dict[str, np.ndarray], expected: dict[str, np.ndarray], when: np.ndarray,
                          d: _DriverRows, first_id: int) -> dict[str, np.ndarray]:
    """Identifiers, time, place, people and vehicles (columns adsgen does not read)."""
    rng, ci, rows, era_rows = d.rng, d.ci, d.rows, d.era_rows
    n = len(when)
    agency = rng.choice(["MCP", "DD", "EJ", "HA", "MCP"], size=n)
    report = np.array([f"{a}{int(x):08d}{'' if a == 'MCP' else '0'}" for a, x in
                       zip(agency, rng.permutation(n) + first_id + 10_000_000, strict=True)], dtype=object)
    fmt_legacy = pd.to_datetime(when).strftime("%m/%d/%Y %I:%M:%S %p")
    fmt_acrs = pd.to_datetime(when).strftime("%m/%d/%Y %H:%M")
    cols: dict[str, np.ndarray] = {}
    cols["Report Number"] = report[ci]
    cols["Local Case Number"] = (rng.permutation(n) + first_id + 190_000_000).astype(str)[ci]
    cols["Agency Name"] = np.full(rows, SYNTHETIC_AGENCY, dtype=object)
    cols["Crash Date/Time"] = np.where(d.acrs, fmt_acrs, fmt_legacy)[ci]
    cols["Route Type"] = rng.choice(["County", "Maryland (State)", "Municipality", "US (State)"], size=n)[ci]
    road = rng.choice(np.array(_ROADS), size=n).astype(object) + rng.choice(np.array(_ROAD_SUFFIXES), size=n)
    cols["Road Name"] = road[ci]
    cross = rng.choice(np.array(_ROADS), size=n).astype(object)
    cols["Cross-Street Name"] = np.where(expected["road_layout"][ci] >= 2, cross[ci], "")
    cols["Off-Road Description"] = np.full(rows, "", dtype=object)
    cols["Municipality"] = np.where(era_rows, "N/A", "")
    ped = expected["collision_type"] == STATES["collision_type"].index("pedestrian")
    cols["Non-Motorist Substance Abuse"] = np.where(ped[ci], "UNKNOWN", "")
    cols["Person ID"] = _uuids(rows, rng)
    rear_lead = _adversary_movement(expected, d) == STATES["other_movement"].index("slowing_stopped")
    cols["Driver At Fault"] = np.where(d.adversary ^ rear_lead, "Yes", "No")
    cols["Injury Severity"] = _injuries(code["severity"][ci], d)
    cols["Circumstance"] = np.where(era_rows, "N/A", "")
    cols["Drivers License State"] = rng.choice(["MD", "MD", "MD", "VA", "DC"], size=rows)
    cols["Vehicle ID"] = _uuids(rows, rng)
    cols["Vehicle Damage Extent"] = rng.choice(["FUNCTIONAL", "DISABLING", "SUPERFICIAL"], size=rows)
    cols["Vehicle First Impact Location"] = rng.choice(["TWELVE OCLOCK", "SIX OCLOCK", "THREE OCLOCK"],
                                                       size=rows)
    cols["Vehicle Body Type"] = rng.choice(np.array(_BODIES), size=rows)
    cols["Vehicle Going Dir"] = rng.choice(["North", "South", "East", "West"], size=rows)
    cols["Driverless Vehicle"] = np.full(rows, "No", dtype=object)
    cols["Parked Vehicle"] = np.full(rows, "No", dtype=object)
    cols["Vehicle Year"] = rng.integers(2000, 2025, size=rows).astype(str)
    mk = rng.integers(0, len(_MAKES), size=rows)
    cols["Vehicle Make"] = np.array([m for m, _ in _MAKES], dtype=object)[mk]
    cols["Vehicle Model"] = np.array([m for _, m in _MAKES], dtype=object)[mk]
    lat = np.round(38.93 + rng.random(n) * 0.35, 6)
    lon = np.round(-77.52 + rng.random(n) * 0.5, 6)
    cols["Latitude"] = lat.astype(str)[ci]
    cols["Longitude"] = lon.astype(str)[ci]
    cols["Location"] = np.char.add(np.char.add(np.char.add("(", lat.astype(str)), ", "),
                                   np.char.add(lon.astype(str), ")")).astype(object)[ci]
    return cols


def _injuries(sev: np.ndarray, d: _DriverRows) -> np.ndarray:
    """(rows,) Injury Severity spellings from each row's crash severity code (the adversary is the one
    hurt more often), in the row's spelling era."""
    injured = np.where(sev == 2, 4, np.where(sev == 1, d.rng.integers(1, 4, size=d.rows), 0))
    injured = np.where((sev > 0) & ~d.adversary & (d.rng.random(d.rows) < 0.6), 0, injured)
    inj = np.array(_INJURY_LEGACY, dtype=object)[injured]
    return np.where(d.era_rows, [s.title() for s in inj], inj)


def write_montgomery(df: pd.DataFrame, path: str | Path | IO[str], *, seed: int, unknown_share: float = 0.07,
                     stray_share: float = 0.03, typo_share: float = 0.002, first_id: int = 0,
                     header: bool = True) -> pd.DataFrame:
    """Write canonical crashes as raw Montgomery County Drivers Data; return the expected read-back.

    ``unknown_share``: per crash and variable (all but severity), chance of an Unknown / N/A / blank /
    other unmappable-to-a-state spelling. ``stray_share``: per cell, chance of extra spaces or a case
    variant (the reader must still map it). ``typo_share``: per crash and condition variable (light,
    weather, surface, traffic control), chance of a misspelling no mapping knows (reported unmapped).
    ``first_id`` / ``header``: for writing a large table in slices to one open file (report numbers
    are ``first_id + 0 .. len(df) - 1`` in shuffled order; the header is written only when asked).
    """
    rng = np.random.default_rng(seed)
    n = len(df)
    code, expected = _codes_and_unknowns(df, unknown_share, rng)
    typo = {}
    for v in ("light", "weather", "surface", "traffic_control"):
        typo[v] = (rng.random(n) < typo_share) & (expected[v] >= 0)
        expected[v][typo[v]] = -1

    when = _dates(n, rng, "2019-01-01", "2026-01-01", code["light"])  # (n,)
    d = _driver_rows(code, when >= _ACRS_FROM, rng)
    cols = _montgomery_conditions(code, expected, typo, d)  # the order of these calls is the rng's order
    cols |= _montgomery_road_layout(expected, d)
    cols |= _montgomery_collision_and_speed(expected, d)
    cols |= _montgomery_adversary(expected, d)
    for c in list(cols):
        if c not in ("Speed Limit",):
            cols[c] = _stray(np.asarray(cols[c], dtype=object), stray_share, rng)
    cols |= _montgomery_free_text(code, expected, when, d, first_id)
    out = pd.DataFrame({c: cols[c] for c in MONTGOMERY_COLUMNS})
    _to_csv(out, path, index=False, header=header)
    return _expected_frame(expected, NAMES)


def write_statewide(df: pd.DataFrame, path: str | Path | IO[str], *, seed: int,
                    vehicle_path: str | Path | IO[str] | None = None, unknown_share: float = 0.07,
                    stray_share: float = 0.03, first_id: int = 0, header: bool = True) -> pd.DataFrame:
    """Write canonical crashes as the Maryland statewide crash table (+ vehicle table if a path is
    given); return the expected read-back.

    The statewide tables cannot say everything: junction kinds have no curve (a curve is written as
    'Non Intersection' and reads back as straight), SIGNAL_FLAG only says signal or not (a stop sign
    reads back as none), and impairment lives in the Person table (driver_impaired is absent).
    """
    rng = np.random.default_rng(seed)
    n = len(df)
    code, expected = _codes_and_unknowns(df, unknown_share, rng)
    rl, tc = STATES["road_layout"], STATES["traffic_control"]
    expected["road_layout"] = np.where(expected["road_layout"] == rl.index("curve"), rl.index("straight"),
                                       expected["road_layout"]).astype(np.int8)
    expected["traffic_control"] = np.where(expected["traffic_control"] == tc.index("stop_sign"),
                                           tc.index("none"), expected["traffic_control"]).astype(np.int8)
    when = _dates(n, rng, "2015-01-01", "2024-01-01", code["light"])

    def spell(mapping: str, var: str, codes: np.ndarray) -> np.ndarray:
        vals = _Spellings(load_vocabulary(mapping, var), rng).spell(codes, None)
        return _stray(vals, stray_share, rng)

    cols: dict[str, np.ndarray] = {}
    cols["LIGHT_DESC"] = spell("statewide_light_desc", "light", expected["light"])
    cols["WEATHER_DESC"] = spell("statewide_weather_desc", "weather", expected["weather"])
    cols["SURF_COND_DESC"] = spell("statewide_surf_cond_desc", "surface", expected["surface"])
    cols["JUNCTION_DESC"] = spell("statewide_junction_desc", "road_layout", expected["road_layout"])
    cols["SIGNAL_FLAG"] = spell("statewide_signal_flag", "traffic_control", expected["traffic_control"])
    ct = expected["collision_type"]
    ped = ct == STATES["collision_type"].index("pedestrian")
    sv = STATES["collision_type"].index("single_vehicle")
    cols["COLLISION_TYPE_DESC"] = spell("statewide_collision_type_desc", "collision_type", np.where(ped, sv, ct))
    harm = np.where(ped, "Pedestrian", np.where(ct == sv, rng.choice(["Fixed Object", "Overturn", "Animal"],
                                                                      size=n), "Other Vehicle"))
    cols["HARM_EVENT_DESC1"] = harm.astype(object)
    cols["REPORT_TYPE"] = spell("statewide_report_type", "severity", expected["severity"])
    cols["REPORT_NO"] = np.array([f"A{int(x):09d}" for x in rng.permutation(n) + first_id + 100_000_000],
                                 dtype=object)
    stamp = pd.to_datetime(when)
    cols["YEAR"] = stamp.year.astype(str).to_numpy(dtype=object)
    cols["QUARTER"] = ("Q" + stamp.quarter.astype(str)).to_numpy(dtype=object)
    cols["ACC_DATE"] = stamp.strftime("%Y%m%d").to_numpy(dtype=object)
    cols["ACC_TIME"] = stamp.strftime("%H:%M:%S").to_numpy(dtype=object)
    cols["AGENCY_CODE"] = np.full(n, SYNTHETIC_AGENCY, dtype=object)
    cols["COUNTY_DESC"] = rng.choice(["Montgomery", "Baltimore", "Prince George's", "Anne Arundel"], size=n)
    road = rng.choice(np.array(_ROADS), size=n).astype(object) + rng.choice(np.array(_ROAD_SUFFIXES), size=n)
    cols["MAINROAD_NAME"] = road
    cols["REFERENCE_ROAD_NAME"] = rng.choice(np.array(_ROADS), size=n)
    lat = np.round(38.0 + rng.random(n) * 1.7, 6)
    lon = np.round(-79.4 + rng.random(n) * 4.0, 6)
    cols["LATITUDE"], cols["LONGITUDE"] = lat.astype(str), lon.astype(str)
    cols["LOCATION"] = np.array([f"POINT ({a} {b})" for a, b in zip(lon, lat, strict=True)], dtype=object)
    out = pd.DataFrame({c: cols.get(c, np.full(n, "", dtype=object)) for c in STATEWIDE_COLUMNS})
    _to_csv(out, path, index=False, header=header)

    names = [v for v in NAMES if v != "driver_impaired"]
    if vehicle_path is None:
        names = [v for v in names if v not in ("speed_limit", "other_movement")]
    else:
        _write_statewide_vehicles(cols["REPORT_NO"], expected, code, vehicle_path, rng, stray_share, header)
    return _expected_frame(expected, names)


def _write_statewide_vehicles(report: np.ndarray, expected: dict[str, np.ndarray], code: dict[str, np.ndarray],
                              path: str | Path | IO[str], rng: np.random.Generator, stray_share: float,
                              header: bool) -> None:
    n = len(report)
    single = np.isin(code["collision_type"], [STATES["collision_type"].index("single_vehicle"),
                                              STATES["collision_type"].index("pedestrian")])
    vehicles = np.where(single, 1, rng.choice([2, 3], size=n, p=[0.8, 0.2]))  # (n,)
    ci = np.repeat(np.arange(n), vehicles)  # (rows,)
    vi = np.arange(len(ci)) - np.repeat(np.cumsum(vehicles) - vehicles, vehicles)  # (rows,)
    adversary = vi == rng.integers(0, 1 << 30, size=n)[ci] % vehicles[ci]
    om = expected["other_movement"]
    straight = STATES["other_movement"].index("straight")
    om_rows = np.where(adversary, om[ci], np.where(om[ci] < 0, -1, straight))
    moves = _Spellings(load_vocabulary("statewide_veh_movement_desc", "other_movement"), rng)
    move_vals = moves.spell(om_rows, np.ones(len(ci), dtype=bool))  # mixed-case spellings
    sl = expected["speed_limit"]
    mph = np.zeros(n, dtype=np.int64)
    for k, st in enumerate(STATES["speed_limit"]):
        sel = sl == k
        mph[sel] = rng.choice(_POSTED_MPH[st], size=int(sel.sum()))
    mk = rng.integers(0, len(_MAKES), size=len(ci))
    out = pd.DataFrame({
        "REPORT_NO": report[ci],
        "VEHICLE_ID": _uuids(len(ci), rng),
        "VEH_YEAR": rng.integers(2000, 2024, size=len(ci)).astype(str),
        "VEH_MAKE": np.array([m for m, _ in _MAKES], dtype=object)[mk],
        "BODY_TYPE_DESC": rng.choice(np.array(_BODIES), size=len(ci)),
        "VEH_MOVEMENT_DESC": _stray(move_vals, stray_share, rng),
        "SPEED_LIMIT": mph[ci].astype(str),
        "DAMAGE_DESC": rng.choice(["Functional", "Disabling", "Superficial"], size=len(ci)),
    })
    out = out.iloc[rng.permutation(len(out))]  # vehicle tables are not grouped by crash
    _to_csv(out, path, index=False, header=header)


def _to_csv(frame: pd.DataFrame, path: str | Path | IO[str], **kwargs) -> None:
    """``frame.to_csv`` to an open handle as it is, or to a file (gzip when its name ends in .gz)."""
    if isinstance(path, (str, Path)):
        with open_text_out(path) as fh:
            frame.to_csv(fh, **kwargs)
    else:
        frame.to_csv(path, **kwargs)


def _expected_frame(codes: dict[str, np.ndarray], names) -> pd.DataFrame:
    return pd.DataFrame({v: pd.Categorical.from_codes(codes[v].astype(np.int64), categories=list(STATES[v]))
                         for v in names})


def write_canonical(df: pd.DataFrame, path: str | Path | IO[str], *, header: bool = True) -> None:
    """Write a canonical table: ``report_no`` first when ``df`` has it, then one column per canonical
    variable present, exact state names, empty cell for missing (other columns of ``df`` are written
    after them, unchanged)."""
    lead = [REPORT_NO] if REPORT_NO in df.columns else []
    ordered = lead + [v for v in NAMES if v in df.columns] + [c for c in df.columns if c not in NAMES
                                                              and c != REPORT_NO]
    _to_csv(df[ordered], path, index=False, na_rep="", header=header)
