"""A learned CBN and its folder: model.bif, card.json, validation.md/.json, graph.png.

The BIF file (written by ``adsgen.cbn.bif``, read by pgmpy) is the only store of the structure and tables, so other tools
(pgmpy, R bnlearn's read.bif, GeNIe) read the same model; card.json says what the model is and where it
came from. Nothing is pickled.

Loading for queries::

    from adsgen.cbn import load_model
    model = load_model("models/cbn", expected_variables=adsgen.variables.STATES)
    cbn = model.compiled()   # CompiledCBN: batch_risk, query, log_prob, sample
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from adsgen.cbn.compiled import CompiledCBN
from adsgen.errors import InputError

CARD_FORMAT = "adsgen-cbn/1"
MODEL_FILE = "model.bif"
CARD_FILE = "card.json"
REPORT_MD = "validation.md"
REPORT_JSON = "validation.json"
GRAPH_PNG = "graph.png"


@dataclass(frozen=True, eq=False)
class CBNModel:
    """A discrete causal Bayesian network: graph, tables and the card describing it."""

    names: tuple[str, ...]
    """Variables, in the data's column order."""
    states: dict[str, tuple[str, ...]]
    """All states of each variable, in order."""
    parents: dict[str, tuple[str, ...]]
    """Parents of each variable (CPT axis order)."""
    cpts: dict[str, np.ndarray]
    """``cpts[v][parent_1, ..., parent_k, state]``."""
    card: dict = field(default_factory=dict)
    """The model card (see docs/cbn.md); empty for a model not yet saved."""

    @property
    def edges(self) -> list[tuple[str, str]]:
        return [(p, v) for v in self.names for p in self.parents[v]]

    @property
    def tiers(self) -> dict[str, int]:
        return dict(self.card.get("tiers", {}))

    def compiled(self) -> CompiledCBN:
        """The numpy form for queries (no pgmpy at query time)."""
        return CompiledCBN.build(self.names, self.states, self.parents, self.cpts)

    def to_pgmpy(self):
        """A pgmpy DiscreteBayesianNetwork of this model."""
        from adsgen.cbn.pgmpy_adapter import network

        return network(self.names, self.states, self.parents, self.cpts)


BIF_UNSAFE_STATE = r'[,"{}\[\]();|]|\s|^$'
"""State names matching this are not read back unchanged by pgmpy's BIF reader (a comma splits the state
list, quotes and whitespace are dropped or split); they are written mapped (``bif_state_names``). Others,
such as child's 'Asy/Patch' or '<5', are written as they are."""


def bif_state_names(states: Mapping[str, Sequence[str]]) -> dict[str, dict[str, str]]:
    """{variable: {name written to BIF: real state name}} for the states BIF cannot carry unchanged; each
    mapped name is letters, digits and ``_ . - +``, unique among the variable's states."""
    import re

    unsafe = re.compile(BIF_UNSAFE_STATE)
    out: dict[str, dict[str, str]] = {}
    for v, sts in states.items():
        taken = {s for s in sts if not unsafe.search(s)}
        for s in sts:
            if not unsafe.search(s):
                continue
            base = re.sub(r"[^A-Za-z0-9_.\-+]", "_", s) or "state"
            cand, k = base, 2
            while cand in taken:
                cand, k = f"{base}_{k}", k + 1
            taken.add(cand)
            out.setdefault(v, {})[cand] = s
    return out


def _check_bif_names(model: CBNModel) -> None:
    import re

    ok = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
    for v in model.names:
        if not ok.match(v):
            raise InputError(f"variable name '{v}' cannot be written to BIF (use letters, digits, _ . -)")


def save_model(model: CBNModel, out_dir: str | Path, report: Mapping | None = None,
               report_md: str | None = None, strengths: Mapping[tuple[str, str], float] | None = None,
               directions: Mapping[tuple[str, str], float] | None = None) -> Path:
    """Write the model folder; returns its path."""
    from adsgen.cbn.bif import write_bif

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    _check_bif_names(model)
    mapping = bif_state_names(model.states)
    written = model
    if mapping:
        back = {v: {real: bif for bif, real in m.items()} for v, m in mapping.items()}
        written = CBNModel(model.names, {v: tuple(back.get(v, {}).get(s, s) for s in model.states[v])
                                         for v in model.names}, model.parents, model.cpts, model.card)
    write_bif(out / MODEL_FILE, written.names, written.states, written.parents, written.cpts)
    card = dict(model.card)
    if mapping:
        card["bif_state_names"] = mapping
    card.setdefault("format", CARD_FORMAT)
    card["variables"] = list(model.names)
    card["states"] = {v: list(model.states[v]) for v in model.names}
    card["edges"] = [list(e) for e in model.edges]
    card["files"] = {"model": MODEL_FILE, "card": CARD_FILE}
    if report is not None:
        (out / REPORT_JSON).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        card["files"]["validation_json"] = REPORT_JSON
    if report_md is not None:
        (out / REPORT_MD).write_text(report_md, encoding="utf-8")
        card["files"]["validation_md"] = REPORT_MD
    if strengths is not None:
        from adsgen.cbn.plot import draw_graph

        draw_graph(model.names, model.edges, model.tiers, strengths, out / GRAPH_PNG,
                   title=Path(card.get("source", {}).get("path", "")).name, directions=directions,
                   reversible={tuple(k.split(" -> ", 1)) for k, v in card.get("orientation", {}).items()
                               if v == "reversible"})
        card["files"]["graph"] = GRAPH_PNG
    (out / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return out


def _check_expected(d: Path, names: Sequence[str], states: Mapping[str, Sequence[str]],
                    expected: Sequence[str] | Mapping[str, Sequence[str]]) -> None:
    """InputError naming how the model's variables (or states) differ from the ones the caller needs."""
    want = list(expected)
    missing = [v for v in want if v not in states]
    extra = sorted(v for v in names if v not in want)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"lacks {', '.join(missing)}")
        if extra:
            parts.append(f"has unexpected {', '.join(extra)}")
        raise InputError(f"{d}: the model is over another variable set: it {'; '.join(parts)}")
    if isinstance(expected, Mapping):
        for v, st in expected.items():
            if list(st) != list(states[v]):
                raise InputError(f"{d}: states of '{v}' are {list(states[v])}, expected {list(st)}")


def load_model(model_dir: str | Path,
               expected_variables: Sequence[str] | Mapping[str, Sequence[str]] | None = None) -> CBNModel:
    """Load a model folder written by ``adsgen cbn learn``.

    ``expected_variables``: the variable names the caller needs (a sequence), or names with their states
    (a mapping such as ``adsgen.variables.STATES``). A folder whose variables (or states) differ raises
    InputError naming the difference.
    """
    from adsgen.cbn import bif

    d = Path(model_dir)
    if not d.is_dir():
        raise InputError(f"{d}: not a model folder (expected a folder with {MODEL_FILE} and {CARD_FILE})")
    card_path, bif_path = d / CARD_FILE, d / MODEL_FILE
    for p in (card_path, bif_path):
        if not p.is_file():
            raise InputError(f"{d}: not a model folder, {p.name} is missing")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{card_path}: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise InputError(f"{card_path}: not an adsgen CBN card (format must be '{CARD_FORMAT}')")
    try:
        text = bif_path.read_text(encoding="utf-8")
        read = bif.read_bif(text)  # adsgen's own layout, without importing pgmpy (and torch)
        if read is None:
            from adsgen.cbn.pgmpy_adapter import read_bif

            read = read_bif(bif_path)
        names, states, parents, cpts = read
    except Exception as exc:  # pyparsing / pgmpy errors on a damaged file
        first = (str(exc).splitlines() or [exc.__class__.__name__])[0]
        raise InputError(f"{bif_path}: cannot read BIF ({first})") from None
    mapping = card.get("bif_state_names") or {}
    if not isinstance(mapping, dict):
        raise InputError(f"{card_path}: 'bif_state_names' must be a mapping")
    for v, m in mapping.items():
        if v in states and isinstance(m, dict):
            states[v] = tuple(str(m.get(s, s)) for s in states[v])
    if expected_variables is not None:  # the caller's question first: is this a model over my variables?
        _check_expected(d, names, states, expected_variables)
    order = [v for v in card.get("variables", []) if v in states]
    if sorted(order) != sorted(names) or len(order) != len(card.get("variables", [])):
        raise InputError(f"{d}: {CARD_FILE} lists variables {card.get('variables')} but {MODEL_FILE} has "
                         f"{sorted(names)}")
    for v in order:
        if list(states[v]) != list(card.get("states", {}).get(v, [])):
            raise InputError(f"{d}: states of '{v}' differ between {CARD_FILE} and {MODEL_FILE}")
    return CBNModel(tuple(order), {v: states[v] for v in order}, {v: parents[v] for v in order},
                    {v: cpts[v] for v in order}, card)
