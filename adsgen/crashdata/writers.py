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
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from adsgen.crashdata.compression import open_text_out
from adsgen.crashdata.sources import REPORT_NO
from adsgen.crashdata.vocab import Vocabulary, load_vocabulary
from adsgen.variables import NAMES, STATES

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
_SPEEDS_MPH = {"low": (15, 20, 25), "mid": (30, 35, 40), "high": (45, 50, 55, 65)}
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
    acrs = when >= _ACRS_FROM  # (n,) ACRS 2.0 spelling era
    single = np.isin(code["collision_type"], [STATES["collision_type"].index("single_vehicle"),
                                              STATES["collision_type"].index("pedestrian")])
    drivers = np.where(single, 1, rng.choice([2, 3], size=n, p=[0.8, 0.2]))  # (n,)
    ci = np.repeat(np.arange(n), drivers)  # (rows,) crash of each driver row
    di = np.arange(len(ci)) - np.repeat(np.cumsum(drivers) - drivers, drivers)  # (rows,) driver index
    adversary = di == rng.integers(0, 1 << 30, size=n)[ci] % drivers[ci]  # (rows,)
    rows = len(ci)
    era_rows = acrs[ci]

    def spell(mapping: str, var: str, crash_codes: np.ndarray, per_row: np.ndarray | None = None):
        sp = _Spellings(load_vocabulary(mapping, var), rng)
        values = sp.spell(crash_codes if per_row is None else per_row,
                          acrs if per_row is None else era_rows)
        return values if per_row is not None else values[ci]

    cols: dict[str, np.ndarray] = {}
    # crash-level condition columns (same value on every driver row of a crash)
    for var, col, mapping in (("light", "Light", "montgomery_light"),
                              ("weather", "Weather", "montgomery_weather"),
                              ("surface", "Surface Condition", "montgomery_surface_condition"),
                              ("traffic_control", "Traffic Control", "montgomery_traffic_control"),
                              ("severity", "ACRS Report Type", "montgomery_acrs_report_type")):
        sp = _Spellings(load_vocabulary(mapping, var), rng)
        crash_vals = sp.spell(expected[var], acrs)
        if var in typo:
            for i in np.flatnonzero(typo[var]):
                crash_vals[i] = _typo(sp.spell(code[var][i:i + 1], acrs[i:i + 1])[0], sp.vocab, rng)
        cols[col] = crash_vals[ci]

    # road layout over three columns (Intersection Type, Junction, Road Alignment; first known wins)
    rl = expected["road_layout"]
    s = STATES["road_layout"]
    it_code = np.where(np.isin(rl, [s.index("intersection"), s.index("t_junction")]), rl, -1)
    jn_code = np.where(np.isin(rl, [s.index("intersection"), s.index("ramp")]), rl, -1)
    jn_code = np.where(rl == s.index("t_junction"),
                       np.where(rng.random(n) < 0.3, rl, s.index("intersection")), jn_code)
    al_code = np.where(rl == s.index("curve"), rl, s.index("straight"))
    al_code = np.where(rl < 0, -1, al_code)
    cols["Intersection Type"] = spell("montgomery_intersection_type", "road_layout", it_code)
    cols["Junction"] = spell("montgomery_junction", "road_layout", jn_code)
    cols["Road Alignment"] = spell("montgomery_road_alignment", "road_layout", al_code)

    # collision type: pedestrians through Related Non-Motorist, the rest through Collision Type
    ct = expected["collision_type"]
    ped = ct == STATES["collision_type"].index("pedestrian")
    ct_written = np.where(ped, STATES["collision_type"].index("single_vehicle"), ct)
    rnm_code = np.where(ped, ct, -1)
    rnm = spell("montgomery_related_non_motorist", "collision_type", rnm_code)
    cols["Related Non-Motorist"] = np.where((rnm_code[ci] < 0) & (rng.random(rows) < 0.9), "", rnm)
    cols["Collision Type"] = spell("montgomery_collision_type", "collision_type", ct_written)

    # speed limit: the same posted limit on every driver row (0 = not recorded)
    sl = expected["speed_limit"]
    mph = np.zeros(n, dtype=np.int64)
    for k, st in enumerate(STATES["speed_limit"]):
        sel = sl == k
        mph[sel] = rng.choice(_SPEEDS_MPH[st], size=int(sel.sum()))
    cols["Speed Limit"] = mph[ci].astype(str).astype(object)

    # other party's movement on the adversary row; the other drivers go straight
    om = expected["other_movement"]
    straight = STATES["other_movement"].index("straight")
    om_rows = np.where(adversary, om[ci], np.where(om[ci] < 0, -1, straight))
    cols["Vehicle Movement"] = spell("montgomery_vehicle_movement", "other_movement", None, om_rows)

    # impairment on the adversary row; the other drivers are neither distracted nor suspected
    imp = expected["driver_impaired"]
    si = STATES["driver_impaired"]
    imp_rows = np.where(adversary, imp[ci], np.where(imp[ci] < 0, -1, si.index("no")))
    sub_rows = np.where(imp_rows == si.index("substance"), imp_rows,
                        np.where(imp_rows < 0, -1, si.index("no")))
    dis_rows = np.where(imp_rows == si.index("distracted"), imp_rows,
                        np.where(imp_rows < 0, -1, si.index("no")))
    cols["Driver Substance Abuse"] = spell("montgomery_driver_substance_abuse", "driver_impaired", None, sub_rows)
    cols["Driver Distracted By"] = spell("montgomery_driver_distracted_by", "driver_impaired", None, dis_rows)

    for c in list(cols):
        if c not in ("Speed Limit",):
            cols[c] = _stray(np.asarray(cols[c], dtype=object), stray_share, rng)

    # identifiers, time, place and free text (not read by adsgen)
    agency = rng.choice(["MCP", "DD", "EJ", "HA", "MCP"], size=n)
    report = np.array([f"{a}{int(x):08d}{'' if a == 'MCP' else '0'}" for a, x in
                       zip(agency, rng.permutation(n) + first_id + 10_000_000, strict=True)], dtype=object)
    fmt_legacy = pd.to_datetime(when).strftime("%m/%d/%Y %I:%M:%S %p")
    fmt_acrs = pd.to_datetime(when).strftime("%m/%d/%Y %H:%M")
    cols["Report Number"] = report[ci]
    cols["Local Case Number"] = (rng.permutation(n) + first_id + 190_000_000).astype(str)[ci]
    cols["Agency Name"] = np.full(rows, SYNTHETIC_AGENCY, dtype=object)
    cols["Crash Date/Time"] = np.where(acrs, fmt_acrs, fmt_legacy)[ci]
    cols["Route Type"] = rng.choice(["County", "Maryland (State)", "Municipality", "US (State)"], size=n)[ci]
    road = rng.choice(np.array(_ROADS), size=n).astype(object) + rng.choice(np.array(_ROAD_SUFFIXES), size=n)
    cols["Road Name"] = road[ci]
    cross = rng.choice(np.array(_ROADS), size=n).astype(object)
    cols["Cross-Street Name"] = np.where(rl[ci] >= 2, cross[ci], "")
    cols["Off-Road Description"] = np.full(rows, "", dtype=object)
    cols["Municipality"] = np.where(era_rows, "N/A", "")
    cols["Non-Motorist Substance Abuse"] = np.where(ped[ci], "UNKNOWN", "")
    cols["Person ID"] = _uuids(rows, rng)
    rear_lead = om_rows == STATES["other_movement"].index("slowing_stopped")
    cols["Driver At Fault"] = np.where(adversary ^ rear_lead, "Yes", "No")
    sev = code["severity"][ci]
    injured = np.where(sev == 2, 4, np.where(sev == 1, rng.integers(1, 4, size=rows), 0))
    injured = np.where((sev > 0) & ~adversary & (rng.random(rows) < 0.6), 0, injured)
    inj = np.array(_INJURY_LEGACY, dtype=object)[injured]
    cols["Injury Severity"] = np.where(era_rows, [s.title() for s in inj], inj)
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
        mph[sel] = rng.choice(_SPEEDS_MPH[st], size=int(sel.sum()))
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
