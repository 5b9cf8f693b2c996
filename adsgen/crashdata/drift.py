"""Drift report (``adsgen data inspect FILE --by-year``): each variable's state shares per year, with
flags where a state's share changes by more than half from one year to the next, or where a spelling
no mapping knows appears in a year. This is how a change of spellings in an export (Montgomery
County's 2024 ACRS update) shows itself.

The year of a crash comes from its date column (Montgomery ``Crash Date/Time``, statewide ``YEAR`` or
``ACC_DATE``, a canonical table's ``year`` if any): the first 19xx/20xx standing alone or opening an eight-digit ``yyyymmdd`` date in the cell.
"""

from __future__ import annotations

import re
from itertools import pairwise

import pandas as pd

from adsgen.crashdata.compression import open_table
from adsgen.crashdata.sources import column_key
from adsgen.errors import InputError
from adsgen.variables import NAMES

DATE_COLUMNS = ("Crash Date/Time", "YEAR", "ACC_DATE", "year", "date")
"""Columns a crash's year is read from, first present wins."""
DRIFT_CHANGE = 0.5
"""A state's share changing by more than this fraction of its previous share is flagged."""
DRIFT_MIN_SHARE = 0.05
"""Shares below this in both years are not flagged (a handful of crashes moving is noise)."""
DRIFT_MIN_KNOWN = 100
"""A pair of years is compared for a variable only when both have at least this many crashes with the
variable known: on a public sample with ~30 crashes a year (2015-2022) every light state "drifted" by
chance, one crash moving 3 points."""

_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?=\d{4}(?!\d)|(?!\d))")  # 2024, 01/05/2024, 20150102


def _read_columns(path, columns: list[str]) -> pd.DataFrame:
    with open_table(path) as (_fh, stream):
        return pd.read_csv(stream, usecols=columns, dtype=str, keep_default_na=False, encoding="utf-8",
                           encoding_errors="replace")


def drift_report(table) -> dict:
    """{"years": [...], "shares": {var: {year: {state: share}}}, "flags": [str, ...]} for a CrashTable."""
    header = _read_columns_header(table.path)
    by_key = {column_key(h): h for h in header}
    date_col = next((by_key[column_key(c)] for c in DATE_COLUMNS if column_key(c) in by_key), None)
    if date_col is None:
        raise InputError(f"{table.path}: --by-year needs a date column ({', '.join(DATE_COLUMNS)}), none found")
    key_col = next((h for h in header if column_key(h) in ("report_number", "report_no")), None)
    raw_cols = sorted({c for v, cols in table.columns.items() for c in cols if c in header})
    raw = _read_columns(table.path, sorted({date_col, *([key_col] if key_col else []), *raw_cols}))
    row_year = raw[date_col].str.extract(_YEAR, expand=False)
    if row_year.isna().all():
        raise InputError(f"{table.path}: column '{date_col}' holds no year (e.g. '{raw[date_col].iloc[0]}')")
    if key_col is not None and table.crash_keys is not None:
        first = pd.Series(row_year.to_numpy(), index=raw[key_col].str.strip())
        first = first[~first.index.duplicated()]
        crash_year = first.reindex(table.crash_keys).to_numpy()
    else:
        crash_year = row_year.to_numpy()
    years = sorted(y for y in pd.unique(crash_year) if isinstance(y, str))
    shares: dict[str, dict[str, dict[str, float]]] = {}
    flags: list[str] = []
    for v in [c for c in table.data.columns if c in NAMES]:
        col = table.data[v]
        per_year = {}
        for y in years:
            known = col[crash_year == y].dropna()
            counts = known.value_counts(normalize=True, sort=False) if len(known) else pd.Series(dtype=float)
            per_year[y] = {str(s): float(counts.get(s, 0.0)) for s in col.cat.categories}
        shares[v] = per_year
        known_n = {y: int(col[crash_year == y].notna().sum()) for y in years}
        for y0, y1 in pairwise(years):
            if min(known_n[y0], known_n[y1]) < DRIFT_MIN_KNOWN:
                continue
            for s in col.cat.categories:
                a, b = per_year[y0][str(s)], per_year[y1][str(s)]
                if max(a, b) >= DRIFT_MIN_SHARE and abs(b - a) > DRIFT_CHANGE * a:
                    flags.append(f"{v}={s}: {a:.1%} in {y0} -> {b:.1%} in {y1}")
        unmapped = table.unmapped.get(v, {})
        for c in table.columns.get(v, []):
            if c not in raw.columns or not unmapped:
                continue
            cells = raw[c].str.strip()
            hit = cells.isin(list(unmapped))
            for (y, spelling), n in pd.DataFrame({"y": row_year[hit], "s": cells[hit]}).value_counts().items():
                flags.append(f"{v}: unmapped spelling {spelling!r} in {y} ({n:,} raw rows, column {c})")
    counts = {y: int((crash_year == y).sum()) for y in years}
    few = [y for y in years if counts[y] < DRIFT_MIN_KNOWN]
    if few:
        flags.append(f"not compared: {', '.join(few)} (fewer than {DRIFT_MIN_KNOWN} crashes in the year)")
    return {"years": years, "shares": shares, "flags": flags, "crashes_per_year": counts}


def _read_columns_header(path) -> list[str]:
    with open_table(path) as (_fh, stream):
        return list(pd.read_csv(stream, nrows=0).columns)
