"""validation.md: the validation report as markdown, with a line on how to read each figure; the console
summary of a learned model."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path


def _f(x, nd: int = 4) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{nd}f}" if abs(x) >= 10 ** (-nd) or x == 0 else f"{x:.2e}"
    return str(x)


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """A markdown table: the header line, its rule, one line per row (cells written as given)."""
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers),
            *("| " + " | ".join(str(c) for c in row) + " |" for row in rows)]


def _lost_dependences(lost: Mapping) -> list[str]:
    """Pairs the graph makes independent that a marginal G-test finds dependent (nothing when none)."""
    L: list[str] = []
    if not lost["pairs"]:
        return L
    L += ["", "## Warning: strong dependences the graph leaves out", "",
          f"These pairs are independent in the learned graph (d-separated given nothing), yet their "
          f"marginal G-test on the training rows has p < {lost['p_max']:g}. On a small sample the score "
          "may have dropped a real dependence; try `--score bic` or more rows, or add the arc by domain "
          "knowledge.", ""]
    L += _table(["pair", "rows", "G", "dof", "p"],
                ([f"{t['x']} - {t['y']}", t["rows"], _f(t["g"], 1), t["dof"], f"{t['p']:.2g}"] for t in lost["pairs"]))
    return L


def _heldout_loglik(ll: Mapping) -> list[str]:
    """Held-out log-likelihood against the empty graph."""
    L: list[str] = []
    L += ["", "## Held-out log-likelihood", "",
          "Mean log-probability of a held-out row (nats; missing cells summed out). Higher is better; "
          "the gain over the empty graph is what the arcs buy.", "",
          "| model | nats per row |", "|---|---|",
          f"| learned graph | {_f(ll['model_nats_per_row'])} |",
          f"| empty graph (independent variables) | {_f(ll['empty_graph_nats_per_row'])} |",
          f"| gain | {_f(ll['gain_nats_per_row'])} |"]
    return L


def _outcome_prediction(pred: Mapping) -> list[str]:
    """Predicting the outcome: log-loss, accuracy, Brier score, calibration bins."""
    L: list[str] = []
    L += ["", f"## Predicting {pred['target']}", "",
          f"P({pred['target']} | every other variable of the row) on {pred['rows']} held-out rows, against "
          "the training marginal (log-loss, Brier) and the majority state (accuracy). Lower log-loss is "
          f"better. Risky = {', '.join(pred['risky_states'])}.", "",
          "| figure | model | baseline |", "|---|---|---|",
          f"| log-loss (nats) | {_f(pred['log_loss'])} | {_f(pred['baseline_log_loss'])} |",
          f"| accuracy | {_f(pred['accuracy'])} | {_f(pred['majority_accuracy'])} "
          f"(always {pred['majority_state']}) |",
          f"| Brier score of P(risky) | {_f(pred['brier_risky'])} | {_f(pred['baseline_brier_risky'])} |",
          "", f"Calibration (10 bins of equal weight by predicted risk; expected calibration error "
          f"{_f(pred['expected_calibration_error'])}): a calibrated model has observed close to predicted.",
          ""]
    L += _table(["bin", "rows", "predicted risk range", "mean predicted", "observed"],
                ([b["bin"], b["rows"], f"{_f(b['risk_low'])}-{_f(b['risk_high'])}", _f(b["mean_predicted"]),
                  _f(b["observed"])] for b in pred["calibration"]))
    return L


def _independence_tests(ci: Mapping) -> list[str]:
    """The graph's implied conditional independences, tested on held-out rows."""
    L: list[str] = []
    L += ["", "## Implied conditional independences", "",
          f"Each non-adjacent pair X, Y with Y a non-descendant of X: the graph says X _||_ Y | parents(X) "
          f"(checked by d-separation). G-test on held-out rows, Benjamini-Hochberg at FDR {ci['fdr']}. "
          "A rejection is a dependence the graph misses; CMI (conditional mutual information, nats) says "
          "how large it is: with many rows, tiny CMIs are significant yet harmless.", "",
          f"Tested {ci['tested']}, rejected {ci['rejected']}, largest CMI {_f(ci['max_cmi_nats'], 5)} nats.",
          ""]
    L += _table(["X", "Y", "given", "G", "dof", "p (BH)", "CMI (nats)"],
                ([t["x"], t["y"], ", ".join(t["given"]) or "-", _f(t["g"], 1), t["dof"],
                  f"{_f(t['p_bh'])}{' **rejected**' if t['rejected'] else ''}", _f(t["cmi_nats"], 5)]
                 for t in ci["tests"][:15]))
    if len(ci["tests"]) > 15:
        L.append(f"| ... {len(ci['tests']) - 15} more in validation.json | | | | | | |")
    return L


def _bootstrap(boot: Mapping) -> list[str]:
    """Bootstrap arc strength and direction."""
    L: list[str] = []
    L += ["", "## Bootstrap arc strength", "",
          f"{boot['resamples']} resamples of the training rows, hill climbing rerun on each. Strength: share "
          "of resamples linking the pair; direction: share of those pointing as shown.", ""]
    L += _table(["arc", "strength", "direction", "in learned graph"],
                ([f"{r['from']} -> {r['to']}", _f(r["strength"], 2), _f(r["direction"], 2),
                  "yes" if r["in_graph"] else "no"] for r in boot["arcs"]))
    return L


def _pc_agreement(pc: Mapping) -> list[str]:
    """Agreement with pgmpy's PC."""
    L: list[str] = []
    L += ["", "## Agreement with PC", ""]
    if pc.get("skipped"):
        L.append(f"PC skipped: {pc['skipped']}.")
    else:
        L += [f"pgmpy PC (stable, chi-square, alpha {pc['alpha']}, up to {pc['max_cond_vars']} conditioning "
              f"variables) on {pc['rows']} complete training rows"
              + (f" (left out, mostly missing: {', '.join(pc['variables_left_out'])})"
                 if pc.get("variables_left_out") else "") + ".", "",
              f"- adjacencies: hill climbing {pc['hc_adjacencies']}, PC {pc['pc_adjacencies']}, shared "
              f"{pc['shared']} (skeleton SHD {pc['skeleton_shd']})",
              f"- only in hill climbing: {', '.join('-'.join(e) for e in pc['only_hc']) or 'none'}",
              f"- only in PC: {', '.join('-'.join(e) for e in pc['only_pc']) or 'none'}",
              f"- PC orientations: {pc['pc_directed']} directed, {pc['pc_directed_same_as_hc']} as in hill "
              f"climbing, {pc['pc_directed_opposite_to_hc']} opposite"]
    return L


def _known_graph(kg: Mapping) -> list[str]:
    """Structural Hamming distances to the known graph (synthetic data)."""
    L: list[str] = []
    L += ["", "## Against the known graph", "",
          "Structural Hamming distance: pairs whose adjacency (skeleton) or CPDAG mark differs.", "",
          f"- skeleton SHD {kg['skeleton_shd']}, CPDAG SHD {kg['cpdag_shd']}",
          f"- missed: {', '.join('->'.join(e) for e in kg['missed']) or 'none'}",
          f"- extra: {', '.join('->'.join(e) for e in kg['extra']) or 'none'}",
          f"- reversed: {', '.join('->'.join(e) for e in kg['reversed']) or 'none'}"]
    if "strong_arcs_not_true" in kg:
        L.append(f"- arcs with bootstrap strength >= 0.9 that are not true arcs: "
                 f"{', '.join('-'.join(e) for e in kg['strong_arcs_not_true']) or 'none'}")
    return L


_SECTIONS: tuple[tuple[str, Callable[[Mapping], list[str]]], ...] = (
    ("lost_dependences", _lost_dependences), ("heldout_loglik", _heldout_loglik),
    ("outcome_prediction", _outcome_prediction), ("independence_tests", _independence_tests),
    ("bootstrap", _bootstrap), ("pc", _pc_agreement), ("known_graph", _known_graph))
"""The report's sections after the graph, in page order: (key in the report, its markdown)."""


def render(report: Mapping, card: Mapping) -> str:
    """validation.md: the header, the graph, then each section the report has, in page order."""
    src = card.get("source", {})
    rows = report["rows"]
    L = [
        "# CBN validation report",
        "",
        f"- source: `{src.get('path', '?')}` ({src.get('kind', '?')}), fingerprint `{src.get('fingerprint', '?')}`",
        f"- rows: {rows['total']} total, {rows['train']} to learn, {rows['holdout']} held out "
        f"({rows['complete']} without any missing value); seed {card.get('seed')}",
        f"- score: {card.get('score')}; created {card.get('created')}",
        *(f"- warning: {w}" for w in src.get("warnings", [])),
        f"- structure search: {report['structure'].get('algorithm', '?')}",
        "",
        "## Graph",
        "",
        "Score loss if removed: how much the structure score drops when the arc is taken out "
        "(larger = better supported). Orientation: compelled (every graph the data cannot tell from this "
        "one points the arc this way), tiers (the data allow both directions, the tiers fix this one), "
        "reversible (a graph scoring exactly the same points it the other way: the direction is not "
        "learned; dashed in graph.png).",
        "",
        "| arc | score loss if removed | orientation |",
        "|---|---|---|",
    ]
    for e in report["structure"]["edges"]:
        L.append(f"| {e['from']} -> {e['to']} | {_f(e['score_loss_if_removed'], 1)} | "
                 f"{e.get('orientation', '?')} |")
    for key, section in _SECTIONS:
        part = report.get(key)
        if part:
            L += section(part)
    t = report.get("timings", {})
    L += ["", "## Timings", "", ", ".join(f"{k} {v:.2f}" for k, v in t.items()), ""]
    return "\n".join(L)


def print_learn_summary(result, folder: Path) -> None:
    """The learned model's headline figures as a table on the console (`adsgen cbn learn`, `adsgen demo`)."""
    from rich.console import Console
    from rich.table import Table

    rep = result.report
    t = Table(title=f"CBN learned: {folder}")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_row("rows (train / held out)", f"{rep['rows']['train']} / {rep['rows']['holdout']}")
    t.add_row("arcs", str(len(result.model.edges)))
    ll = rep.get("heldout_loglik")
    if ll:
        t.add_row("held-out nats/row (model | empty graph)",
                  f"{ll['model_nats_per_row']:.4f} | {ll['empty_graph_nats_per_row']:.4f}")
    pred = rep.get("outcome_prediction")
    if pred:
        t.add_row(f"{pred['target']} log-loss (model | marginal)",
                  f"{pred['log_loss']:.4f} | {pred['baseline_log_loss']:.4f}")
        t.add_row("calibration error", f"{pred['expected_calibration_error']:.4f}")
    ci = rep["independence_tests"]
    t.add_row("implied independences rejected (BH)", f"{ci['rejected']} / {ci['tested']}")
    if rep.get("pc") and not rep["pc"].get("skipped"):
        t.add_row("skeleton SHD to PC", str(rep["pc"]["skeleton_shd"]))
    if rep.get("known_graph"):
        t.add_row("SHD to known graph (skeleton | CPDAG)",
                  f"{rep['known_graph']['skeleton_shd']} | {rep['known_graph']['cpdag_shd']}")
    t.add_row("time (s)", f"{rep['timings']['total_s']:.2f}")
    Console().print(t)
