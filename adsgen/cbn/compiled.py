"""CompiledCBN: a fitted network as numpy arrays, answering batched exact queries without pgmpy.

Queries are exact. For a set of given variables E (evidence or interventions) and a target T, the
marginal table over E + {T} is one ``np.einsum`` contraction of all CPTs (numpy picks the elimination
order: variable elimination), cached per pattern; each row of a batch is then a gather from that table.
A batch of 100k combinations with a handful of distinct patterns costs a handful of contractions.

Interventions are graph surgery: for ``do(X=x)`` the CPT of X is dropped (its incoming edges are cut)
and X is fixed to x, so P(T | do(X=x), E=e) = P_mutilated(T, e, x) / P_mutilated(e, x). This stays correct
when do-variables are linked (do(weather, surface): surface's dependence on weather is cut), which
pgmpy's CausalInference gets wrong (upstream issue 3543).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np
import pandas as pd

from adsgen.errors import InputError

MAX_TABLE_CELLS = 20_000_000
"""Largest marginal table a pattern may build (cells); beyond it queries go row by row."""

Combos: TypeAlias = pd.DataFrame | Mapping[str, Sequence]


def _topological(names: Sequence[str], parents: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    order: list[str] = []
    done: set[str] = set()
    pending = list(names)
    while pending:
        progressed = False
        for v in list(pending):
            if all(p in done for p in parents[v]):
                order.append(v)
                done.add(v)
                pending.remove(v)
                progressed = True
        if not progressed:
            raise InputError(f"the graph has a cycle through {', '.join(pending)}")
    return tuple(order)


@dataclass(frozen=True, eq=False)
class CompiledCBN:
    """The CPTs of a discrete Bayesian network as arrays, with exact batched queries and sampling."""

    names: tuple[str, ...]
    """Variables, in topological order."""
    states: dict[str, tuple[str, ...]]
    """States of each variable, in code order."""
    parents: dict[str, tuple[str, ...]]
    """Parents of each variable, in CPT axis order."""
    cpts: dict[str, np.ndarray]
    """``cpts[v][parent_1, ..., parent_k, state]`` = P(v = state | parents); read-only."""
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, names: Sequence[str], states: Mapping[str, Sequence[str]],
              parents: Mapping[str, Sequence[str]], cpts: Mapping[str, np.ndarray]) -> CompiledCBN:
        """Check shapes and normalisation, order the variables topologically, freeze the arrays."""
        if len(names) > 52:
            raise InputError(f"CompiledCBN handles at most 52 variables, got {len(names)}")
        order = _topological(list(names), {v: tuple(parents.get(v, ())) for v in names})
        st = {v: tuple(str(s) for s in states[v]) for v in order}
        par = {v: tuple(parents.get(v, ())) for v in order}
        arrays: dict[str, np.ndarray] = {}
        for v in order:
            a = np.array(cpts[v], dtype=np.float64)
            want = tuple(len(st[p]) for p in par[v]) + (len(st[v]),)
            if a.shape != want:
                raise InputError(f"CPT of '{v}' has shape {a.shape}, expected {want} "
                                 f"(parents {list(par[v])}, then the variable)")
            if not np.allclose(a.sum(axis=-1), 1.0, atol=1e-6) or (a < 0).any():
                raise InputError(f"CPT of '{v}' is not a probability table (rows must sum to 1)")
            a.setflags(write=False)
            arrays[v] = a
        return cls(order, st, par, arrays)

    # ------------------------------------------------------------------ input checking
    def _var_index(self, name: str) -> int:
        if name not in self.states:
            raise InputError(f"unknown variable '{name}' (valid: {', '.join(self.names)})")
        return self.names.index(name)

    def _state_code(self, var: str, state: str) -> int:
        self._var_index(var)
        st = self.states[var]
        if str(state) not in st:
            raise InputError(f"unknown state '{state}' of '{var}' (valid: {', '.join(st)})")
        return st.index(str(state))

    def encode_combos(self, combos: Combos) -> np.ndarray:
        """(rows, variables) int64 codes of a DataFrame / dict of equal-length arrays; -1 = not given."""
        cols = dict(combos.items()) if isinstance(combos, pd.DataFrame) else dict(combos)
        lengths = {len(v) for v in cols.values()}
        if len(lengths) > 1:
            raise InputError(f"combination columns have different lengths: {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
        codes = np.full((n, len(self.names)), -1, dtype=np.int64)  # (rows, variables)
        for var, values in cols.items():
            j = self._var_index(str(var))
            st = list(self.states[str(var)])
            if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
                values = values.array
            if isinstance(values, pd.Categorical):
                raw, uniques = np.asarray(values.codes, dtype=np.int64), list(values.categories)
            else:
                arr = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else \
                    np.asarray(values, dtype=object)
                raw, uniques = pd.factorize(arr)  # missing (None / NaN) -> -1
                raw = np.asarray(raw, dtype=np.int64)
            used = set(np.unique(raw[raw >= 0]).tolist())
            bad = [str(u) for k, u in enumerate(uniques) if str(u) not in st and k in used]
            if bad:
                raise InputError(f"unknown state(s) {', '.join(map(repr, bad))} of '{var}' "
                                 f"(valid: {', '.join(st)})")
            lookup = np.array([st.index(str(u)) if str(u) in st else -1 for u in uniques] + [-1],
                              dtype=np.int64)
            codes[:, j] = lookup[raw]  # raw -1 picks the trailing -1
        return codes

    # ------------------------------------------------------------------ exact inference core
    def _table(self, keep: tuple[int, ...], cut: frozenset[int]) -> np.ndarray:
        """Unnormalised P over ``keep`` (variable indices, ascending) in the graph with ``cut`` CPTs removed."""
        key = (keep, cut)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        operands: list = []
        for j, v in enumerate(self.names):
            if j in cut:
                continue
            operands += [self.cpts[v], [self.names.index(p) for p in self.parents[v]] + [j]]
        for j in keep:  # every kept variable appears even when it is a cut, childless do-variable
            operands += [np.ones(len(self.states[self.names[j]])), [j]]
        out = np.einsum(*operands, list(keep), optimize="greedy")  # (cards of keep...)
        out.setflags(write=False)
        if len(self._cache) > 256:
            self._cache.clear()
        self._cache[key] = out
        return out

    def _cells(self, keep: Sequence[int]) -> int:
        return int(np.prod([len(self.states[self.names[j]]) for j in keep], dtype=np.float64))

    def _gather(self, target: int | None, evidence: np.ndarray, do: np.ndarray) -> np.ndarray:
        """Joint probabilities per row: (rows, r_target) of P(target, e | do), or (rows,) of P(e | do)."""
        n = evidence.shape[0]
        given = (evidence >= 0) | (do >= 0)
        both = (evidence >= 0) & (do >= 0)
        if both.any():
            j = int(np.argwhere(both)[0][1])
            raise InputError(f"'{self.names[j]}' is given both as evidence and as an intervention")
        values = np.where(do >= 0, do, evidence)
        r = len(self.states[self.names[target]]) if target is not None else 1
        out = np.empty((n, r), dtype=np.float64)
        patterns = given.astype(np.int8) + 2 * (do >= 0).astype(np.int8)  # (rows, variables) 0/1/2
        if n == 0 or (patterns == patterns[0]).all():  # one pattern: the common case
            uniq, inverse = patterns[:1], np.zeros(n, dtype=np.int64)
        elif patterns.shape[1] <= 31:
            key = patterns.astype(np.int64) @ (np.int64(4) ** np.arange(patterns.shape[1], dtype=np.int64))
            _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
            uniq = patterns[first]
        else:
            uniq, inverse = np.unique(patterns, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for k, pat in enumerate(uniq):
            rows = np.flatnonzero(inverse == k) if len(uniq) > 1 else np.arange(n)
            cut = frozenset(int(j) for j in np.flatnonzero(pat == 3))
            ev = [int(j) for j in np.flatnonzero(pat > 0)]
            keep = tuple(sorted(set(ev) | ({target} if target is not None else set())))
            if self._cells(keep) <= MAX_TABLE_CELLS:
                table = self._table(keep, cut)
                idx = tuple(slice(None) if j == target else values[rows, j] for j in keep)
                got = table[idx]
                if target is None:
                    got = np.broadcast_to(got, (len(rows),))[:, None]  # (rows, 1)
                elif len(keep) == 1:
                    got = np.broadcast_to(got, (len(rows), r))  # nothing given: the marginal
                elif keep[0] == target:
                    got = got.T  # numpy put the slice axis first: (r, rows) -> (rows, r)
                out[rows] = got  # (rows, r)
            else:
                for row in rows:
                    out[row] = self._single(target, values[row], ev, cut)
        return out if target is not None else out[:, 0]

    def _single(self, target: int | None, values: np.ndarray, ev: list[int], cut: frozenset[int]) -> np.ndarray:
        """One row by slicing every CPT at the given values, then contracting to the target."""
        fixed = {j: int(values[j]) for j in ev}
        operands: list = []
        for j, v in enumerate(self.names):
            if j in cut:
                continue
            axes = [self.names.index(p) for p in self.parents[v]] + [j]
            a = self.cpts[v][tuple(fixed.get(ax, slice(None)) for ax in axes)]
            operands += [a, [ax for ax in axes if ax not in fixed]]
        outs = [target] if target is not None else []
        if target is not None:
            operands += [np.ones(len(self.states[self.names[target]])), [target]]
        return np.atleast_1d(np.einsum(*operands, outs, optimize="greedy"))

    # ------------------------------------------------------------------ coded inputs (internal callers)
    def reorder_codes(self, codes: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """(rows, len(names)) codes in another column order -> (rows, variables) in this model's order."""
        out = np.full((codes.shape[0], len(self.names)), -1, dtype=np.int64)
        for j, n in enumerate(names):
            out[:, self._var_index(n)] = codes[:, j]
        return out

    def log_prob_codes(self, codes: np.ndarray) -> np.ndarray:
        """(rows,) log P of coded partial assignments ((rows, variables) in model order, -1 = not given)."""
        p = self._gather(None, codes, np.full_like(codes, -1))
        with np.errstate(divide="ignore"):
            return np.log(p)

    def query_codes(self, target: str, codes: np.ndarray) -> np.ndarray:
        """(rows, states of target) P(target | coded evidence); the target's own column is ignored."""
        t = self._var_index(target)
        ev = codes.copy()
        ev[:, t] = -1
        joint = self._gather(t, ev, np.full_like(ev, -1))
        return joint / joint.sum(axis=1, keepdims=True)

    # ------------------------------------------------------------------ public queries
    def query(self, target: str, evidence: Mapping[str, str] | None = None,
              do: Mapping[str, str] | None = None) -> np.ndarray:
        """P(target | evidence, do(interventions)) as a vector over ``states[target]``."""
        t = self._var_index(target)
        ev = np.full((1, len(self.names)), -1, dtype=np.int64)
        dv = np.full((1, len(self.names)), -1, dtype=np.int64)
        for var, state in (evidence or {}).items():
            ev[0, self._var_index(var)] = self._state_code(var, state)
        for var, state in (do or {}).items():
            dv[0, self._var_index(var)] = self._state_code(var, state)
        if ev[0, t] >= 0 or dv[0, t] >= 0:
            raise InputError(f"the target '{target}' is also given as evidence or intervention")
        joint = self._gather(t, ev, dv)[0]  # (r,)
        return joint / joint.sum()

    def batch_query(self, combos: Combos, target: str = "severity", do: bool = False) -> np.ndarray:
        """(rows, states of target): P(target | row) per row; a row's given variables are evidence, or
        interventions when ``do`` is true. Missing cells (None/NaN) are not given."""
        t = self._var_index(target)
        codes = self.encode_combos(combos)
        if (codes[:, t] >= 0).any():
            raise InputError(f"the target '{target}' is also given in the combinations")
        none = np.full_like(codes, -1)
        joint = self._gather(t, none, codes) if do else self._gather(t, codes, none)  # (rows, r)
        return joint / joint.sum(axis=1, keepdims=True)

    def batch_risk(self, combos: Combos, target: str = "severity",
                   risky_states: Sequence[str] = ("injury", "fatal"), do: bool = False) -> np.ndarray:
        """(rows,) P(target in risky_states | row), by conditioning or (``do``) by intervention."""
        idx = [self._state_code(target, s) for s in risky_states]
        return self.batch_query(combos, target, do)[:, idx].sum(axis=1)

    def log_prob(self, combos: Combos) -> np.ndarray:
        """(rows,) natural log of the marginal probability of each row's partial assignment."""
        codes = self.encode_combos(combos)
        p = self._gather(None, codes, np.full_like(codes, -1))
        with np.errstate(divide="ignore"):
            return np.log(p)

    def sample(self, n: int, seed: int = 0) -> pd.DataFrame:
        """n rows by ancestral sampling, as a DataFrame of pandas Categorical columns."""
        rng = np.random.default_rng(seed)
        codes: dict[str, np.ndarray] = {}
        for v in self.names:
            t = self.cpts[v]
            probs = t[tuple(codes[p] for p in self.parents[v])] if self.parents[v] else \
                np.broadcast_to(t, (n, t.shape[-1]))  # (n, r)
            u = rng.random(n)[:, None]  # (n, 1)
            codes[v] = np.minimum((np.cumsum(probs, axis=1) < u).sum(axis=1), t.shape[-1] - 1)
        return pd.DataFrame({v: pd.Categorical.from_codes(codes[v], categories=list(self.states[v]))
                             for v in self.names})
