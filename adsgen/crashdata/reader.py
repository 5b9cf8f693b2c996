"""Read a crash table (Maryland statewide, Montgomery County, or canonical) into canonical variables.

The file (plain or gzip-compressed CSV, told apart by its magic bytes) is streamed in chunks
(``CHUNK_ROWS`` rows) with pandas' C parser, reading only the columns a schema needs, as
categoricals: each chunk's distinct raw spellings are mapped once, then
rows become small integer codes (int8, -1 = missing). Rows of one crash (Montgomery's driver rows,
statewide vehicle rows) are combined by the schema's crash rules at the end. Peak memory is a few
bytes per row and variable plus one chunk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from adsgen.crashdata.checks import read_header
from adsgen.crashdata.compression import GZIP_ERRORS, open_table
from adsgen.crashdata.sources import (
    MONTGOMERY_INCIDENTS,
    MONTGOMERY_NON_MOTORISTS,
    MONTGOMERY_TABLES,
    REPORT_NO,
    SOURCES,
    STATEWIDE_CODE_COLUMNS,
    VEHICLE_SOURCES,
    SourceSchema,
    VariableRule,
    column_key,
    detect_source,
    identify_other_table,
)
from adsgen.crashdata.vocab import ALWAYS_MISSING, load_vocabulary, normalise
from adsgen.errors import InputError
from adsgen.provenance import file_fingerprint
from adsgen.variables import NAMES, STATES, speed_limit_state

CHUNK_ROWS = 200_000
"""Rows per chunk when streaming a file."""

MISSING_WARN_SHARE = 0.20
"""A variable missing on more than this share of rows gets a warning (inspect, convert, CBN report)."""
MISSING_REFUSE_SHARE = 0.5
"""A raw table in which every mapped variable is missing on more than this share of rows is refused."""

MAX_NUMERIC_CATEGORIES = 50
"""In a canonical table of other variables, an all-number column with more distinct values than this
(or with fractions) is taken for a measurement, not a category, and refused."""

Progress = Callable[[int, int], None]
"""Progress callback: (bytes read so far, total bytes)."""


@dataclass
class CrashTable:
    """A crash table read into canonical variables."""

    data: pd.DataFrame
    """One pandas Categorical column per variable present (categories = STATES[var] in order for the
    canonical variables, observed categories sorted for other variables); NaN = missing."""
    source: str
    """Detected source: ``statewide``, ``montgomery`` or ``canonical``."""
    path: Path
    """The file read."""
    rows_raw: int
    """Data rows in the file (Montgomery: driver rows)."""
    rows: int
    """Rows of ``data`` (crashes for statewide and Montgomery)."""
    unmapped: dict[str, dict[str, int]]
    """{variable: {raw spelling: raw rows}} of spellings no mapping knows (read as missing)."""
    fingerprint: str
    """``sha256:`` of the file's bytes."""
    vehicle_path: Path | None = None
    """The joined vehicle table, if any."""
    vehicle_fingerprint: str | None = None
    """``sha256:`` of the vehicle table's bytes, if any."""
    vehicle_rows_raw: int = 0
    """Data rows in the vehicle table."""
    notes: list[str] = field(default_factory=list)
    """Remarks a user should see (e.g. variables the source cannot provide)."""
    crash_keys: pd.Index | None = None
    """Crash key of each row of ``data`` (REPORT_NO / Report Number); None for canonical tables."""
    columns: dict[str, list[str]] = field(default_factory=dict)
    """{variable: raw columns it was read from}."""
    warnings: list[str] = field(default_factory=list)
    """Data-quality warnings (variables missing on more than ``MISSING_WARN_SHARE`` of rows)."""

    def missing_share(self) -> dict[str, float]:
        """Share of missing values per column."""
        n = max(len(self.data), 1)
        return {c: float(self.data[c].isna().sum()) / n for c in self.data.columns}

    def provenance(self) -> dict:
        """JSON-ready record of where the table came from."""
        return {
            "source": self.source, "path": str(self.path), "fingerprint": self.fingerprint,
            "rows_raw": self.rows_raw, "rows": self.rows,
            "vehicle_path": str(self.vehicle_path) if self.vehicle_path else None,
            "vehicle_fingerprint": self.vehicle_fingerprint,
        }


def read_crash_table(path: str | Path, *, vehicle_table: str | Path | None = None,
                     incidents: str | Path | None = None, non_motorists: str | Path | None = None,
                     progress: Progress | None = None) -> CrashTable:
    """Read a crash table, detecting its source from the header.

    ``vehicle_table``: the Maryland statewide vehicle table (REPORT_NO, SPEED_LIMIT,
    VEH_MOVEMENT_DESC), joined on REPORT_NO for speed_limit and other_movement; statewide only.
    ``incidents`` / ``non_motorists``: Montgomery County Incidents / Non-Motorists tables joined to a
    Drivers table on Report Number: road layout from Incidents (it wins over the Drivers rows),
    pedestrian involvement from Non-Motorists (a crash with a pedestrian row is a pedestrian collision).
    ``progress``: called with (bytes read, total bytes) after each chunk.
    Raises ``InputError`` for anything wrong with the file.
    """
    path = Path(path)
    header = read_header(path)
    _refuse_other_table(path, header)
    schema = detect_source(header)
    if (incidents is not None or non_motorists is not None) and (schema is None or schema.name != "montgomery"):
        raise InputError(f"{incidents or non_motorists}: Incidents / Non-Motorists tables join to a Montgomery "
                         f"County Drivers table; {path} is a {schema.name if schema else 'canonical'} table")
    if schema is None:
        if vehicle_table is not None:
            raise InputError(f"{vehicle_table}: a vehicle table can only be joined to a Maryland statewide "
                             f"crash table; {path} is a canonical table")
        table = _read_canonical(path, header, progress)
        table.warnings.extend(missing_warnings(table.data))
    else:
        if vehicle_table is not None and schema.name != "statewide":
            raise InputError(f"{vehicle_table}: a vehicle table can only be joined to a Maryland "
                             f"statewide crash table; {path} is a {schema.name} table")
        codes, keys, rows_raw, unmapped, used = _read_coded(path, header, schema, progress)
        gid, n_crashes, crash_keys = _group(keys)
        agg = {r.variable: _aggregate(codes[r.variable], gid, n_crashes, r) for r in schema.rules
               if r.variable in codes}
        notes: list[str] = []
        table = CrashTable(data=pd.DataFrame(), source=schema.name, path=path, rows_raw=rows_raw,
                           rows=n_crashes, unmapped=unmapped, fingerprint="", notes=notes,
                           crash_keys=crash_keys, columns=used)
        if vehicle_table is not None:
            _join_vehicles(table, agg, crash_keys, Path(vehicle_table), progress)
        for extra, extra_schema in ((incidents, MONTGOMERY_INCIDENTS), (non_motorists, MONTGOMERY_NON_MOTORISTS)):
            if extra is not None:
                _join_montgomery(table, agg, crash_keys, Path(extra), extra_schema, progress)
        for v in NAMES:
            if v in agg:
                continue
            if schema.name == "statewide" and v in ("speed_limit", "other_movement"):
                notes.append(f"{v}: in the statewide vehicle table; give it with --vehicles / vehicle_table=")
            else:
                notes.append(f"{v}: not available from this source")
        table.data = pd.DataFrame({v: _categorical(agg[v], v) for v in NAMES if v in agg})
        _quality_gate(table)
    table.fingerprint = file_fingerprint(path)
    return table


def missing_warnings(data: pd.DataFrame) -> list[str]:
    """One line per canonical variable of ``data`` missing on more than ``MISSING_WARN_SHARE`` of rows."""
    n = max(len(data), 1)
    out = []
    for v in NAMES:
        if v in data.columns:
            share = float(data[v].isna().sum()) / n
            if share > MISSING_WARN_SHARE:
                out.append(f"{v} is missing on {share:.1%} of rows (more than {MISSING_WARN_SHARE:.0%})")
    return out


def _quality_gate(table: CrashTable) -> None:
    """Refuse a raw table that would convert into (mostly) missing rows; else note the warnings."""
    missing = table.missing_share()
    unmapped = lambda v: sum(table.unmapped.get(v, {}).values())  # noqa: E731
    if "severity" in missing and missing["severity"] >= 1.0:
        cols = ", ".join(table.columns.get("severity", [])) or "severity"
        raise InputError(f"{table.path}: severity is missing on every row (column {cols}; "
                         f"{unmapped('severity'):,} raw rows with unmapped spellings), nothing to learn from")
    if missing and all(share > MISSING_REFUSE_SHARE for share in missing.values()):
        worst = min(missing, key=missing.__getitem__)
        raise InputError(f"{table.path}: every mapped variable is missing on more than "
                         f"{MISSING_REFUSE_SHARE:.0%} of rows (best: {worst} {missing[worst]:.1%} missing); "
                         "is this the right table, and are its values in the vocabulary "
                         "(adsgen data inspect lists the unmapped spellings)?")
    table.warnings.extend(missing_warnings(table.data))


# ------------------------------------------------------------------------------------------------
# raw sources
# ------------------------------------------------------------------------------------------------
def _resolve_columns(path: Path, header: list[str], schema: SourceSchema) -> dict[tuple[str, ...], str | None]:
    """Map each ColumnSpec's accepted names to the actual header name (None when absent & optional)."""
    by_key = {column_key(h): h for h in header}
    if column_key(schema.key) not in by_key:
        raise InputError(f"{path}: missing required column '{schema.key}' (the crash key of a "
                         f"{schema.name} table)")
    found: dict[tuple[str, ...], str | None] = {}
    for rule in schema.rules:
        for spec in rule.columns:
            actual = next((by_key[column_key(n)] for n in spec.names if column_key(n) in by_key), None)
            if actual is None and spec.required:
                raise InputError(f"{path}: missing required column '{spec.names[0]}' (a {schema.name} table "
                                 f"needs it for {rule.variable})")
            found[spec.names] = actual
    for extra in schema.required_extra:
        if column_key(extra) not in by_key:
            raise InputError(f"{path}: missing required column '{extra}'")
    return found


def _read_chunks(path: Path, usecols: list[str] | None, progress: Progress | None, key: str | None = None):
    """Chunks of ``usecols`` as categoricals (all columns when None: rows with extra fields are then
    refused; with a column selection pandas ignores them). The crash ``key`` column, nearly unique
    per row, is read as plain strings: as a categorical it costs four times the parse."""
    total = path.stat().st_size  # bytes on disk (compressed for gzip: progress follows the file position)
    with open_table(path) as (fh, stream):
        try:
            dtype = "category" if key is None else defaultdict(lambda: "category", {key: "str"})
            reader = pd.read_csv(stream, usecols=usecols, dtype=dtype, na_filter=False,
                                 keep_default_na=False, chunksize=CHUNK_ROWS, encoding="utf-8",
                                 encoding_errors="replace", skipinitialspace=False)
            for chunk in reader:
                yield chunk
                if progress is not None:
                    progress(min(fh.tell(), total), total)
        except GZIP_ERRORS as exc:
            raise InputError(f"{path}: is a corrupt or truncated gzip file ({exc})") from None
        except (pd.errors.ParserError, ValueError) as exc:
            msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise InputError(f"{path}: not a well-formed CSV table: {msg}") from None


class _ColumnMapper:
    """Maps the raw spellings of one column to state codes, caching each distinct spelling."""

    def __init__(self, path: Path, column: str, variable: str, mapping: str | None):
        self.path, self.column, self.variable = path, column, variable
        self.vocab = load_vocabulary(mapping, variable) if mapping else None
        self.cache: dict[str, int | None] = {}
        self.checked = False

    def lookup(self, raw: str) -> int | None:
        if raw not in self.cache:
            if self.vocab is not None:
                self.cache[raw] = self.vocab.lookup(raw)
            else:
                self.cache[raw] = _speed_code(raw)
        return self.cache[raw]

    def map(self, col: pd.Series, unmapped: dict[str, int]) -> np.ndarray:
        """Codes (int8, -1 missing) for a categorical chunk column; counts unmapped spellings."""
        cats = [str(c) for c in col.cat.categories]
        if not self.checked and self.vocab is not None:
            self._check_not_numeric(cats)
            self.checked = True
        looked = [self.lookup(c) for c in cats]
        lut = np.array([-1 if c is None else c for c in looked] + [-1], dtype=np.int8)  # (cats + 1,)
        raw_codes = col.cat.codes.to_numpy()
        out = lut[raw_codes]  # codes of -1 (NaN) index the trailing -1
        bad = [i for i, c in enumerate(looked) if c is None]
        if bad:
            counts = np.bincount(raw_codes[raw_codes >= 0], minlength=len(cats))
            for i in bad:
                if counts[i]:
                    key = cats[i].strip()
                    unmapped[key] = unmapped.get(key, 0) + int(counts[i])
        return out

    def _check_not_numeric(self, cats: list[str]) -> None:
        values = [c for c in cats if normalise(c) not in ALWAYS_MISSING]
        if values and all(_is_number(c) for c in values):
            raise InputError(f"{self.path}: column '{self.column}' holds numbers (e.g. '{values[0].strip()}'), "
                             f"expected categories of {self.variable}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _speed_code(raw: str) -> int | None:
    if normalise(raw) in ALWAYS_MISSING:
        return -1
    try:
        mph = float(raw)
    except ValueError:
        return None
    state = speed_limit_state(mph)
    return -1 if state is None else STATES["speed_limit"].index(state)


def _read_coded(path: Path, header: list[str], schema: SourceSchema, progress: Progress | None):
    """Stream a raw file: per-row codes per variable, the crash key per row, row count, unmapped."""
    found = _resolve_columns(path, header, schema)
    key_col = next(h for h in header if column_key(h) == column_key(schema.key))
    active: list[tuple[VariableRule, list[_ColumnMapper | None]]] = []
    usecols = {key_col}
    for rule in schema.rules:
        mappers = [(_ColumnMapper(path, col, rule.variable, s.mapping) if (col := found[s.names]) else None)
                   for s in rule.columns]
        if any(m is not None for m in mappers):
            active.append((rule, mappers))
            usecols.update(m.column for m in mappers if m is not None)
    codes: dict[str, list[np.ndarray]] = {rule.variable: [] for rule, _ in active}
    unmapped: dict[str, dict[str, int]] = {rule.variable: {} for rule, _ in active}
    keys: list[np.ndarray] = []
    rows = 0
    for chunk in _read_chunks(path, sorted(usecols), progress, key=key_col):
        rows += len(chunk)
        keys.append(chunk[key_col].str.strip())
        for rule, mappers in active:
            per_col = [m.map(chunk[m.column], unmapped[rule.variable]) for m in mappers if m is not None]
            codes[rule.variable].append(_combine_columns(per_col, rule))
    if rows == 0:
        raise InputError(f"{path}: has a header but no data rows")
    merged = {v: np.concatenate(parts) for v, parts in codes.items()}
    unmapped = {v: dict(sorted(u.items(), key=lambda kv: -kv[1])) for v, u in unmapped.items() if u}
    used = {rule.variable: [m.column for m in mappers if m is not None] for rule, mappers in active}
    return merged, pd.concat(keys, ignore_index=True), rows, unmapped, used


def _rank_luts(rule: VariableRule) -> tuple[np.ndarray, np.ndarray]:
    """(rank of each state code, with -1 for missing at index -1; state code of each rank)."""
    states = STATES[rule.variable]
    assert rule.rank is not None and set(rule.rank) == set(states), rule
    rank_of = np.array([rule.rank.index(s) for s in states] + [-1], dtype=np.int8)  # (card + 1,)
    code_of = np.array([states.index(s) for s in rule.rank] + [-1], dtype=np.int8)  # (card + 1,)
    return rank_of, code_of


def _combine_columns(per_col: list[np.ndarray], rule: VariableRule) -> np.ndarray:
    out = per_col[0].copy()
    if len(per_col) == 1:
        return out
    if rule.combine == "first":
        for c in per_col[1:]:
            np.copyto(out, c, where=out < 0)
        return out
    rank_of, code_of = _rank_luts(rule)
    best = rank_of[per_col[0]]
    for c in per_col[1:]:
        np.maximum(best, rank_of[c], out=best)
    return code_of[best]


def _group(keys: pd.Series) -> tuple[np.ndarray, int, pd.Index]:
    """Crash id per row (rows with a blank key are crashes of their own), crash count, crash keys."""
    gid, uniques = pd.factorize(keys)
    blank = (keys == "").to_numpy()
    if blank.any():
        # '' was factorised as one value: give each blank-key row its own id
        blank_id = int(gid[np.argmax(blank)])
        nb = int(blank.sum())
        keep = np.arange(len(uniques)) != blank_id
        remap = np.full(len(uniques), -1, dtype=np.int64)
        remap[keep] = np.arange(int(keep.sum()))
        gid = remap[gid]
        gid[blank] = int(keep.sum()) + np.arange(nb)
        uniques = pd.Index(list(uniques[keep]) + [f"<blank {i}>" for i in range(nb)])
    return gid.astype(np.int64), len(uniques), pd.Index(uniques)


def _aggregate(codes: np.ndarray, gid: np.ndarray, n: int, rule: VariableRule) -> np.ndarray:
    """One state code per crash from its rows (see SourceSchema docs for the rules)."""
    out = np.full(n, -1, dtype=np.int8)
    if rule.aggregate == "first":
        known = codes >= 0
        g = gid[known]
        first_ids, idx = np.unique(g, return_index=True)  # first known row of each crash
        out[first_ids] = codes[known][idx]
        return out
    rank_of, code_of = _rank_luts(rule)
    best = np.full(n, -1, dtype=np.int8)
    np.maximum.at(best, gid, rank_of[codes])
    return code_of[best]


def _join_vehicles(table: CrashTable, agg: dict[str, np.ndarray], crash_keys: pd.Index, vpath: Path,
                   progress: Progress | None) -> None:
    header = read_header(vpath)
    schema = detect_source(header, VEHICLE_SOURCES)
    if schema is None:
        raise InputError(f"{vpath}: missing required column 'REPORT_NO' (not a statewide vehicle table)")
    codes, keys, rows_raw, unmapped, used = _read_coded(vpath, header, schema, progress)
    gid, n, vkeys = _group(keys)
    where = vkeys.get_indexer(crash_keys)  # (crashes,) vehicle-crash id or -1
    for rule in schema.rules:
        if rule.variable not in codes:
            continue
        per_crash = _aggregate(codes[rule.variable], gid, n, rule)
        joined = np.where(where >= 0, per_crash[np.maximum(where, 0)], -1).astype(np.int8)
        agg.setdefault(rule.variable, joined)
    for v, u in unmapped.items():
        table.unmapped.setdefault(v, {}).update(u)
    for v, cols in used.items():
        table.columns.setdefault(v, [f"{c} (vehicle table)" for c in cols])
    table.vehicle_path = vpath
    table.vehicle_fingerprint = file_fingerprint(vpath)
    table.vehicle_rows_raw = rows_raw
    unmatched = int((where < 0).sum())
    if unmatched:
        table.notes.append(f"{unmatched} of {len(crash_keys)} crashes have no row in the vehicle table")


def _refuse_other_table(path: Path, header: list[str]) -> None:
    """One message naming a known table that cannot be read on its own, and what to do with it."""
    other = identify_other_table(header)
    if other is None:
        return
    if other == "statewide_codes":
        present = [c for c in STATEWIDE_CODE_COLUMNS if column_key(c) in {column_key(h) for h in header}]
        raise InputError(
            f"{path}: is a Maryland statewide code-only CRASH table (MSP quarterly format: {', '.join(present)} "
            f"... without the *_DESC columns or REPORT_TYPE); adsgen has no verified ACRS code book for field "
            f"{present[0]}, so it cannot map its codes: use the statewide export with the *_DESC columns "
            "(LIGHT_DESC, WEATHER_DESC, SURF_COND_DESC, REPORT_TYPE ...)")
    title = MONTGOMERY_TABLES[other][0]
    option = "--incidents" if other == "montgomery_incidents" else "--non-motorists"
    raise InputError(f"{path}: is a Montgomery County \"{title}\" table, which adsgen reads only joined to "
                     f"the Drivers table (\"Crash Reporting - Drivers Data\") on Report Number: pass the Drivers "
                     f"file as DATA and this one with {option} {path}")


def _join_montgomery(table: CrashTable, agg: dict[str, np.ndarray], crash_keys: pd.Index, xpath: Path,
                     schema: SourceSchema, progress: Progress | None) -> None:
    """Join a Montgomery Incidents / Non-Motorists table: its known states replace the Drivers ones."""
    header = read_header(xpath)
    if column_key(schema.key) not in {column_key(h) for h in header}:
        raise InputError(f"{xpath}: missing required column '{schema.key}' (the crash key of a "
                         f"{schema.name} table)")
    codes, keys, rows_raw, unmapped, used = _read_coded(xpath, header, schema, progress)
    gid, n, xkeys = _group(keys)
    where = xkeys.get_indexer(crash_keys)  # (crashes,) id in the joined table or -1
    for rule in schema.rules:
        if rule.variable not in codes:
            continue
        per_crash = _aggregate(codes[rule.variable], gid, n, rule)
        joined = np.where(where >= 0, per_crash[np.maximum(where, 0)], -1).astype(np.int8)  # (crashes,)
        base = agg.get(rule.variable)
        agg[rule.variable] = joined if base is None else np.where(joined >= 0, joined, base).astype(np.int8)
    for v, u in unmapped.items():
        bucket = table.unmapped.setdefault(v, {})
        for raw, c in u.items():
            bucket[raw] = bucket.get(raw, 0) + c
    for v, cols in used.items():
        table.columns.setdefault(v, []).extend(f"{c} ({xpath.name})" for c in cols)
    unmatched = int((where < 0).sum())
    table.notes.append(f"{schema.name}: {xpath} ({rows_raw:,} rows) joined on {schema.key}; "
                       f"{len(crash_keys) - unmatched:,} of {len(crash_keys):,} crashes matched")


def _categorical(codes: np.ndarray, variable: str) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int64), categories=list(STATES[variable]))


# ------------------------------------------------------------------------------------------------
# canonical tables
# ------------------------------------------------------------------------------------------------
def _canonical_key(raw: str) -> str:
    return normalise(raw).replace("-", "_").replace(" ", "_")


class _OtherColumn:
    """A column of a canonical table that is not an adsgen variable: observed categories."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.parts: list[np.ndarray] = []

    def add(self, col: pd.Series) -> None:
        cats = [str(c).strip() for c in col.cat.categories]
        lut = np.array([-1 if normalise(c) in ALWAYS_MISSING else self.ids.setdefault(c, len(self.ids))
                        for c in cats] + [-1], dtype=np.int64)  # (cats + 1,)
        self.parts.append(lut[col.cat.codes.to_numpy()])

    def finish(self) -> pd.Categorical:
        names = sorted(self.ids)
        pos = {c: i for i, c in enumerate(names)}
        order = np.array([pos[c] for c in self.ids] + [-1], dtype=np.int64)  # old id -> sorted id
        codes = np.concatenate(self.parts) if self.parts else np.zeros(0, dtype=np.int64)
        return pd.Categorical.from_codes(order[codes], categories=names)


def _read_canonical(path: Path, header: list[str], progress: Progress | None) -> CrashTable:
    canon = {h: h.strip().casefold() for h in header if h.strip().casefold() in NAMES}
    luts: dict[str, dict[str, int | None]] = {}
    codes: dict[str, list[np.ndarray]] = {h: [] for h in canon}
    key_col = next((h for h in header if h.strip().casefold() == REPORT_NO), None)
    keys: list[pd.Series] = []
    others: dict[str, _OtherColumn] = {h: _OtherColumn() for h in header if h not in canon and h != key_col}
    unmapped: dict[str, dict[str, int]] = {}
    rows = 0
    first = True
    for chunk in _read_chunks(path, None, progress):
        rows += len(chunk)
        if first:
            _check_canonical_columns(path, chunk.drop(columns=[key_col]) if key_col else chunk, canon)
            first = False
        for h, var in canon.items():
            codes[h].append(_canonical_codes(chunk[h], var, luts.setdefault(var, {}), unmapped))
        for h, other in others.items():
            other.add(chunk[h])
        if key_col is not None:
            keys.append(chunk[key_col].astype(str).str.strip())
    if rows == 0:
        raise InputError(f"{path}: has a header but no data rows")
    data: dict[str, pd.Categorical] = {}
    for v in NAMES:  # canonical variables first, in canonical order
        col = next((h for h, var in canon.items() if var == v), None)
        if col is not None:
            data[v] = _categorical(np.concatenate(codes[col]), v)
    for h, other in others.items():
        data[h.strip()] = other.finish()
    notes = [f"{v}: not in this table" for v in NAMES if v not in data] if canon else []
    crash_keys = pd.Index(pd.concat(keys, ignore_index=True)) if keys else None
    return CrashTable(data=pd.DataFrame(data), source="canonical", path=path, rows_raw=rows, rows=rows,
                      unmapped={v: dict(sorted(u.items(), key=lambda kv: -kv[1])) for v, u in unmapped.items()},
                      fingerprint="", notes=notes, crash_keys=crash_keys)


def _canonical_codes(col: pd.Series, var: str, lut_cache: dict[str, int | None],
                     unmapped: dict[str, dict[str, int]]) -> np.ndarray:
    """State codes (int8, -1 = missing) of one categorical chunk column of canonical variable ``var``;
    spellings that are no state are counted in ``unmapped[var]``. ``lut_cache``: spelling -> code, kept
    across chunks."""
    cats = [str(c) for c in col.cat.categories]
    state_keys = {s: i for i, s in enumerate(STATES[var])}
    looked = []
    for c in cats:
        if c not in lut_cache:
            k = _canonical_key(c)
            lut_cache[c] = -1 if normalise(c) in ALWAYS_MISSING else state_keys.get(k)
            if lut_cache[c] is None and var == "speed_limit":  # a posted limit in mph
                lut_cache[c] = _speed_code(c)
        looked.append(lut_cache[c])
    lut = np.array([-1 if x is None else x for x in looked] + [-1], dtype=np.int8)
    raw_codes = col.cat.codes.to_numpy()
    bad = [i for i, x in enumerate(looked) if x is None]
    if bad:
        counts = np.bincount(raw_codes[raw_codes >= 0], minlength=len(cats))
        u = unmapped.setdefault(var, {})
        for i in bad:
            if counts[i]:
                u[cats[i].strip()] = u.get(cats[i].strip(), 0) + int(counts[i])
    return lut[raw_codes]


def _check_canonical_columns(path: Path, chunk: pd.DataFrame, canon: dict[str, str]) -> None:
    """Refuse columns of numbers where categories are expected (see MAX_NUMERIC_CATEGORIES)."""
    for h in chunk.columns:
        cats = [str(c).strip() for c in chunk[h].cat.categories if normalise(str(c)) not in ALWAYS_MISSING]
        if not cats or not all(_is_number(c) for c in cats):
            continue
        fractional = any(not float(c).is_integer() for c in cats)
        if canon.get(h) == "speed_limit":  # posted limits in mph are binned, not refused
            continue
        if h in canon or fractional or len(cats) > MAX_NUMERIC_CATEGORIES:
            raise InputError(f"{path}: column '{h.strip()}' holds numbers (e.g. '{cats[0]}'), expected "
                             "categories" + (f" of {canon[h]}" if h in canon else ""))


def supported_sources() -> list[str]:
    """Names of the sources the reader detects, plus ``canonical``."""
    return [*SOURCES, "canonical"]
