"""Categorical tables as integer codes, compressed to distinct rows with counts.

Structure and parameter learning only ever need contingency counts, so a table of N rows is reduced
once to its M distinct rows (M is small: a few thousand for the canonical crash variables) and a
weight per row (how many times it occurs). Every count is then a weighted ``np.bincount`` over M rows.
Missing values (NaN) are kept as code -1; each family count drops the rows with a missing value in that
family (per-family complete cases), which is what pgmpy's counting does too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from adsgen.errors import InputError

MISSING = -1
"""Code of a missing value."""


@dataclass(frozen=True)
class CodedData:
    """A categorical table as distinct coded rows with weights."""

    names: tuple[str, ...]
    """Variable names, one per column of ``codes``."""
    states: dict[str, tuple[str, ...]]
    """All states of each variable, in code order (code k is ``states[name][k]``)."""
    codes: np.ndarray
    """(distinct_rows, variables) int16 state codes; -1 is missing."""
    weights: np.ndarray
    """(distinct_rows,) float64: how many rows of the table each distinct row stands for."""

    @property
    def cards(self) -> tuple[int, ...]:
        """Number of states of each variable."""
        return tuple(len(self.states[n]) for n in self.names)

    @property
    def n_rows(self) -> int:
        """Rows of the original table (missing values included)."""
        return int(round(float(self.weights.sum())))

    def index(self, name: str) -> int:
        return self.names.index(name)

    def reweighted(self, weights: np.ndarray) -> CodedData:
        """The same distinct rows with other weights (bootstrap resamples, splits)."""
        keep = weights > 0
        return CodedData(self.names, self.states, self.codes[keep], weights[keep].astype(np.float64))


def codes_of(frame: pd.DataFrame, names: Sequence[str], states: Mapping[str, Sequence[str]],
             source: str = "data") -> np.ndarray:
    """(rows, variables) int16 codes of ``frame[names]`` against ``states`` (-1 for missing).

    Raises InputError naming the column and the unknown states when a value is not a declared state.
    """
    out = np.empty((len(frame), len(names)), dtype=np.int16)  # (rows, variables)
    for j, name in enumerate(names):
        if name not in frame.columns:
            raise InputError(f"{source}: no column '{name}' (columns: {', '.join(map(str, frame.columns))})")
        col = frame[name]
        declared = list(states[name])
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = [str(c) for c in col.cat.categories]
            unknown = sorted(set(cats) - set(declared))
            if unknown:
                present = set(map(str, col.dropna().unique()))
                unknown = [u for u in unknown if u in present]
            if unknown:
                raise InputError(f"{source}: column '{name}' has states {unknown} that are not among "
                                 f"{declared}")
            lookup = np.array([declared.index(c) if c in declared else MISSING for c in cats] + [MISSING],
                              dtype=np.int16)
            out[:, j] = lookup[col.cat.codes.to_numpy()]  # code -1 indexes the trailing MISSING
        else:
            isna = col.isna().to_numpy()
            if pd.api.types.is_numeric_dtype(col.dtype) and not isna.all():
                raise InputError(f"{source}: column '{name}' holds numbers where categories "
                                 f"{declared} are expected")
            as_str = col.astype("object").where(~isna, None).map(lambda v: v if v is None else str(v))
            cat = pd.Categorical(as_str, categories=declared)
            arr = np.asarray(cat.codes, dtype=np.int64)
            unknown = (arr < 0) & ~isna
            if unknown.any():
                bad = sorted(set(as_str[unknown]))[:10]
                raise InputError(f"{source}: column '{name}' has states {bad} that are not among {declared}")
            out[:, j] = arr
    return out


def compress(codes: np.ndarray, cards: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a (rows, variables) code matrix and their counts.

    Returns (distinct codes (M, variables) int16, weights (M,) float64).
    """
    if codes.shape[0] == 0:
        return codes.astype(np.int16), np.zeros(0, dtype=np.float64)
    radix = np.array([c + 1 for c in cards], dtype=np.float64)
    if float(np.prod(radix)) < 2.0**62:
        key = np.zeros(codes.shape[0], dtype=np.int64)  # (rows,) mixed-radix key, missing as code 0
        for j, c in enumerate(cards):
            key = key * (c + 1) + (codes[:, j].astype(np.int64) + 1)
        uniq, first, counts = np.unique(key, return_index=True, return_counts=True)
        return codes[first].astype(np.int16), counts.astype(np.float64)
    uniq_rows, counts = np.unique(codes, axis=0, return_counts=True)
    return uniq_rows.astype(np.int16), counts.astype(np.float64)


def encode(frame: pd.DataFrame, states: Mapping[str, Sequence[str]], names: Sequence[str] | None = None,
           source: str = "data") -> CodedData:
    """Encode a table of categorical columns against declared states and compress it."""
    names = tuple(names) if names is not None else tuple(states)
    st = {n: tuple(str(s) for s in states[n]) for n in names}
    codes = codes_of(frame, names, st, source)
    uniq, weights = compress(codes, [len(st[n]) for n in names])
    return CodedData(names, st, uniq, weights)


def decode(codes: np.ndarray, names: Sequence[str], states: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """(rows, variables) codes back to a DataFrame of pandas Categorical columns (-1 becomes NaN)."""
    return pd.DataFrame({
        n: pd.Categorical.from_codes(codes[:, j].astype(np.int64), categories=list(states[n]))
        for j, n in enumerate(names)
    })
