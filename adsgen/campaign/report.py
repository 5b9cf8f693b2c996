"""Static HTML reports: a reusable page builder and the campaign report built on it.

``write_html_report(title, sections, out_dir)`` writes ``index.html`` plus one PNG per figure into
``out_dir``; the page references nothing outside that folder (no scripts, fonts or styles from the web),
so it reads offline and can be zipped or attached as a CI artifact. Any command (the campaign report, the
demo) builds ``Section`` objects with text, tables and matplotlib figures and calls it.

``write_campaign_report(data, out_dir)`` lays out a campaign: summary, collision and near-miss rate by
factor (95 % Wilson intervals), min-TTC distribution, runs over time, worst scenarios with keyframes, the
search curve (when the campaign came from ``adsgen generate`` or a curve is given), and failures.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adsgen.campaign import plots
from adsgen.campaign.stats import campaign_status, runs_frame
from adsgen.provenance import utc_now, versions
from adsgen.sim.types import HIGH_RISK_TTC_S
from adsgen.sim.vocabulary import finding_words, status_label

_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #222; padding: 0 1rem; }
h1 { border-bottom: 2px solid #444; padding-bottom: .3rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .9rem; display: block; max-width: 100%;
        overflow-x: auto; }
td { overflow-wrap: anywhere; }
code { font-size: .85rem; background: #f3f3f3; padding: 0 .2rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .85rem; color: #555; }
.keyframes { display: flex; gap: .5rem; flex-wrap: wrap; }
.keyframes figure { flex: 1 1 22%; margin: .3rem 0; }
pre { background: #f7f7f7; padding: .5rem; overflow-x: auto; font-size: .8rem; }
.muted { color: #777; font-size: .85rem; }
"""


@dataclass
class Image:
    """A figure in a section: a matplotlib Figure (saved as PNG) or an existing PNG file / bytes."""

    name: str
    """File stem (unique within the report)."""
    caption: str = ""
    figure: Any = None
    """matplotlib.figure.Figure, saved at `dpi` and closed."""
    png: bytes | None = None
    path: Path | None = None
    """A PNG already inside the report folder: linked where it is, not copied (each file written once)."""
    dpi: int = 110


@dataclass(frozen=True)
class Link:
    """A table cell (or part of one) linking to a file next to the page (href relative to it)."""

    text: str
    href: str


class Code(str):
    """A table cell shown as code (a command to copy)."""


@dataclass
class Table:
    """Rows of dicts (columns from the first row, or given)."""

    rows: list[dict[str, Any]]
    columns: list[str] | None = None
    caption: str = ""


@dataclass
class Section:
    """One titled part of the page, rendered in order: paragraphs, tables, images, image groups."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    """Plain text (escaped)."""
    tables: list[Table] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    image_rows: list[list[Image]] = field(default_factory=list)
    """Groups of images shown side by side (e.g. keyframes of one scenario)."""
    preformatted: str | None = None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _inline(v: Any) -> str:
    if isinstance(v, Link):
        return f'<a href="{html.escape(v.href)}">{html.escape(v.text)}</a>'
    if isinstance(v, Code):
        return f"<code>{html.escape(str(v))}</code>"
    return html.escape(str(v))


def _cell(v: Any) -> str:
    if v is None:
        return "<td></td>"
    if isinstance(v, Link | Code):
        return f"<td>{_inline(v)}</td>"
    if isinstance(v, list | tuple):
        return "<td>" + " ".join(_inline(x) for x in v) + "</td>"
    if isinstance(v, float):
        return f'<td class="num">{v:.3g}</td>' if v == v else "<td>-</td>"  # NaN: no value, never "nan"
    if isinstance(v, int) and not isinstance(v, bool):
        return f'<td class="num">{v}</td>'
    return f"<td>{html.escape(str(v))}</td>"


def _table_html(t: Table) -> str:
    if not t.rows:
        return '<p class="muted">(none)</p>'
    cols = t.columns or list(t.rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(_cell(r.get(c)) for c in cols) + "</tr>" for r in t.rows)
    cap = f"<caption>{html.escape(t.caption)}</caption>" if t.caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _save_image(img: Image, out_dir: Path, used: set[str]) -> str:
    if img.path is not None:
        rel = Path(img.path).resolve().relative_to(out_dir.resolve())  # ValueError: not inside the report
        used.add(rel.as_posix())
        return rel.as_posix()
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", img.name).strip("-") or "image"  # frame stems kept as they are
    name, i = f"{stem}.png", 1
    while name in used:
        i += 1
        name = f"{stem}-{i}.png"
    used.add(name)
    path = out_dir / name
    if img.figure is not None:
        import matplotlib.pyplot as plt

        img.figure.savefig(path, dpi=img.dpi, bbox_inches="tight")
        plt.close(img.figure)
    elif img.png is not None:
        path.write_bytes(img.png)
    else:
        raise ValueError(f"image {img.name!r} has neither a figure nor PNG bytes")
    return name


def _image_html(img: Image, src: str) -> str:
    cap = f"<figcaption>{html.escape(img.caption)}</figcaption>" if img.caption else ""
    alt = html.escape(img.caption or img.name)
    return f'<figure><img src="{html.escape(src)}" alt="{alt}" loading="eager">{cap}</figure>'


def write_html_report(title: str, sections: Sequence[Section], out_dir: str | Path, *,
                      provenance: dict[str, Any] | None = None) -> Path:
    """Write out_dir/index.html and its PNGs; returns the page's path. Provenance goes into a footer."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    toc = "".join(f'<li><a href="#{_slug(s.title)}">{html.escape(s.title)}</a></li>' for s in sections)
    parts = [f"<h1>{html.escape(title)}</h1>", f'<p class="muted">written {utc_now()}</p>', f"<ul>{toc}</ul>"]
    for s in sections:
        parts.append(f'<h2 id="{_slug(s.title)}">{html.escape(s.title)}</h2>')
        parts += [f"<p>{html.escape(p)}</p>" for p in s.paragraphs]
        parts += [_table_html(t) for t in s.tables]
        parts += [_image_html(img, _save_image(img, out, used)) for img in s.images]
        for row in s.image_rows:
            figs = "".join(_image_html(img, _save_image(img, out, used)) for img in row)
            parts.append(f'<div class="keyframes">{figs}</div>')
        if s.preformatted:
            parts.append(f"<pre>{html.escape(s.preformatted)}</pre>")
    prov = provenance if provenance is not None else {"versions": versions()}
    parts.append('<h2 id="provenance">Provenance</h2>')
    parts.append(f"<pre>{html.escape(json.dumps(prov, indent=2, sort_keys=True, default=str))}</pre>")
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


# ---- the campaign report ------------------------------------------------------------------------------------

@dataclass
class CampaignReportData:
    """Everything the campaign report shows; build it with ``load_campaign_report_data`` or by hand."""

    title: str
    status: dict[str, Any]
    """adsgen.campaign.stats.campaign_status(store)."""
    runs: Any
    """pandas DataFrame from adsgen.campaign.stats.runs_frame(store)."""
    curve: list[Any] = field(default_factory=list)
    """CurvePoint list (search curve); empty when the campaign did not come from a search."""
    worst: list[dict[str, Any]] = field(default_factory=list)
    """Worst runs (rows of runs_frame), most severe first."""
    keyframes: dict[int, list[Image]] = field(default_factory=dict)
    """run id -> rendered keyframes."""
    keyframe_note: str = ""
    """Why keyframes are missing, when they are."""
    reproduction: dict[int, dict[str, str]] = field(default_factory=dict)
    """run id -> {"yaml": href, "xosc": href} (relative to the page), see adsgen.campaign.reproduce."""
    db_arg: str = ""
    """The database as the user named it, for the `adsgen replay DB RUN` commands."""
    high_risk_ttc_s: float = HIGH_RISK_TTC_S
    provenance: dict[str, Any] = field(default_factory=dict)


def worst_runs(df: Any, n: int) -> list[dict[str, Any]]:
    """The worst finished run of each scenario, most severe first: collisions by impact speed, then the rest
    by min TTC."""
    done = df[df["status"] == "done"].copy()
    if done.empty:
        return []
    done["_c"] = done["collided"].fillna(0).astype(bool)
    done["_impact"] = done["impact_speed_mps"].fillna(0.0).astype(float)
    done["_ttc"] = done["min_ttc_s"].fillna(float("inf")).astype(float)
    done = done.sort_values(["_c", "_impact", "_ttc"], ascending=[False, False, True])
    done = done.drop_duplicates("scenario_hash", keep="first")
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in done.head(n).to_dict("records")]


def load_campaign_report_data(store: Any, *, curve: list[Any] | None = None, worst: int = 5,
                              title: str | None = None) -> CampaignReportData:
    """Gather the report's data from an open CampaignStore (curve: extra points, e.g. from a JSON file)."""

    campaign = store.campaign()
    df = runs_frame(store)
    cfg = campaign["config"]
    return CampaignReportData(
        title=title or f"Campaign {store.path.name}",
        status=campaign_status(store), runs=df, curve=store.curve_points() + list(curve or []),
        worst=worst_runs(df, worst), high_risk_ttc_s=float(cfg.get("high_risk_ttc_s", HIGH_RISK_TTC_S)),
        provenance={"campaign_db": str(store.path), "created_utc": campaign["created_utc"],
                    "source": campaign["source"], "config": cfg, "versions": campaign["versions"],
                    "sessions": [{k: s[k] for k in ("id", "started_utc", "ended_utc", "state", "host")}
                                 for s in store.sessions()], "metadata": store.metadata()})


def _fmt_num(x: Any, unit: str = "") -> str:
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return "-"
    if xf != xf or xf in (float("inf"), float("-inf")):
        return "-"
    return f"{xf:.2f}{unit}"


def _worst_section(data: CampaignReportData) -> Section:
    """The worst runs, most severe first, each with its reproduction command, files and keyframes."""
    worst = Section("Worst scenarios", paragraphs=[] if data.worst else ["No finished runs yet."])
    if data.worst:
        from adsgen.campaign.reproduce import replay_command
        from adsgen.variables import FACTORS

        worst.paragraphs.append(
            "Most severe first: collisions by impact speed, then the rest by min TTC. Each row's command reruns the "
            "run from the store and checks it reproduces the same outcome and verdict; YAML is the scenario "
            "(adsgen simulate FILE --seed SEED), .xosc its OpenSCENARIO 1.0 export.")
        worst.tables.append(Table([{
            "run": int(r["id"]), "scenario": r["scenario_name"], "seed": int(r["seed"]),
            "verdict": run_finding_words(r),
            "termination": r["termination"], "partner": _text(r["collision_partner"]),
            "impact [m/s]": _fmt_num(r["impact_speed_mps"]), "min TTC [s]": _fmt_num(r["min_ttc_s"]),
            "factors": ", ".join(f"{f}={r[f]}" for f in FACTORS if f in r and r[f] is not None),
            "reproduce": Code(replay_command(data.db_arg or data.status["db"], int(r["id"]))),
            "files": [Link(k, v) for k, v in data.reproduction.get(int(r["id"]), {}).items()],
        } for r in data.worst]))
        for r in data.worst:
            frames = data.keyframes.get(int(r["id"]))
            if frames:
                worst.image_rows.append(frames)
        if data.keyframe_note:
            worst.paragraphs.append(data.keyframe_note)
    return worst


def _failures_section(data: CampaignReportData) -> Section:
    """Errored and timed-out runs (infrastructure outcomes, not verdicts), the first 200."""

    failures = [r for r in data.runs.to_dict("records") if r["status"] in ("failed", "timed_out")]
    fail = Section("Errored and timed-out runs", paragraphs=[
        "Infrastructure outcomes, not test verdicts: the backend or scenario raised (errored) or the run hit "
        "the wall-time limit (timed out)."] + ([] if failures else ["None."]))
    if failures:
        fail.tables.append(Table([{"run": int(r["id"]), "scenario": r["scenario_name"], "seed": int(r["seed"]),
                                   "status": status_label(r["status"]), "attempts": int(r["attempts"]),
                                   "error": (r["error"] or "").splitlines()[0][:200]} for r in failures[:200]],
                                 caption=f"{len(failures)} run(s)" + (", first 200 shown" if len(failures) > 200
                                                                      else "")))
    return fail


def campaign_sections(data: CampaignReportData) -> list[Section]:
    """The campaign report's sections (the demo can insert these into its own page)."""

    st = data.status
    c = st["counts"]
    v = st.get("verdicts", {})
    summary = Section("Summary", paragraphs=[
        f"Valid failures (the agent at fault, the careful-driver reference safe): {v.get('valid_failure', 0)}; "
        f"unavoidable: {v.get('unavoidable', 0)}; careful driver fails too: {v.get('reference_fails', 0)}; "
        f"not at fault: {v.get('not_at_fault', 0)} (high-risk runs judged by re-running them, docs/search.md).",
        f"{st['total']} runs: {c['done']} done, {c['failed']} errored, {c['timed_out']} timed out, "
        f"{c['pending'] + c['running']} not finished. Among finished runs {st['collisions']} collided and "
        f"{st['near_misses']} were near misses (min TTC < {data.high_risk_ttc_s:g} s without a collision).",
        f"Agents: {', '.join(st['agents']) or '-'}; backends: {', '.join(st['backends']) or '-'}; "
        f"created {st['created_utc']} by {st['source']}; " + _sessions_phrase(st["sessions"], st["source"])])
    guided = st["source"] != "adsgen campaign run"
    rates = Section("Collision and near-miss rate by factor" + (" (guided-search sample)" if guided else ""),
                    paragraphs=[
        "Collision rate and near-miss rate of finished runs per factor state; error bars are 95 % Wilson score "
        "intervals. Errored and timed-out runs are counted in the table, not in the rates."]
        + (["Guided-search rates: these runs were chosen by a search (" + st["source"] + ") that over-samples "
            "risky factor states, so the rates describe what the search tried, not how often each state fails "
            "in the population of scenarios."] if guided else []),
        images=[Image("rates-by-factor", "One panel per factor: for each state (n = finished runs in that state), "
                      "the share of runs that collided (red) and that were near misses (orange), with 95 % Wilson "
                      "intervals" + ("; a guided search's sample, not population rates." if guided else "."),
                      plots.rates_by_factor(st["by_factor"], guided=guided))],
        tables=[Table([{"factor": r["factor"], "state": r["state"], "done": r["done"],
                        "collisions": r["collisions"],
                        "collision rate [95% CI]": (f"{r['collision_rate']:.2f} [{r['collision_ci'][0]:.2f}, "
                                                    f"{r['collision_ci'][1]:.2f}]") if r["done"] else "-",
                        "near misses": r["near_misses"],
                        "near-miss rate [95% CI]": (f"{r['near_miss_rate']:.2f} [{r['near_miss_ci'][0]:.2f}, "
                                                    f"{r['near_miss_ci'][1]:.2f}]") if r["done"] else "-",
                        "failed": r["failed"], "timed out": r["timed_out"]} for r in st["by_factor"]])])
    ttc = Section("Minimum time-to-collision", images=[
        Image("min-ttc", "Finished runs by their smallest time-to-collision [s]: collisions as the red bar at 0, "
              f"runs left of the dashed line ({data.high_risk_ttc_s:g} s) without a collision are near misses.",
              plots.min_ttc_distribution(data.runs, data.high_risk_ttc_s))])
    batch = plots.stored_in_one_batch(data.runs)
    over_time = Section("Runs over time", images=[
        Image("runs-over-time", "Cumulative collisions, near misses and runs without a finding, in the order the "
              f"runs were stored ({st['source']} stored them at once, so wall time would be a vertical line)."
              if batch else "Cumulative finished runs per status against wall time: a flat stretch is a pause or "
              "a resume gap, a steep one many workers.", plots.runs_over_time(data.runs))])
    worst = _worst_section(data)
    sections = [summary, rates, ttc, over_time, worst]
    if data.curve:
        sections.append(Section("Search curve", paragraphs=[
            "Progress of the search that produced this campaign's scenarios: the metric against simulated runs."],
            images=[Image("search-curve", "Each search method's running count of distinct high-risk scenarios "
                          "against the simulated runs it had used.", plots.search_curve(data.curve))]))
    fail = _failures_section(data)
    sections.append(fail)
    return sections


def _sessions_phrase(sessions: int, source: str) -> str:
    """'3 campaign sessions.', or for a database a search wrote in one go, that it has none."""
    if sessions == 0:
        return f"stored by {source} in one go (no campaign sessions: nothing was resumed)."
    return f"{sessions} campaign session{'s' if sessions != 1 else ''} (each start or resume is one)."


def _text(v: Any) -> str:
    """A text cell: '-' for None and pandas' NaN."""
    return "-" if v is None or (isinstance(v, float) and v != v) else str(v)


def run_finding_words(row: dict[str, Any]) -> str:
    """A stored run's (a runs_frame row's) finding in words (adsgen.sim.vocabulary.finding_words)."""

    return finding_words(row.get("verdict"), _flag(row.get("collided")), _flag(row.get("high_risk")))


def _flag(v: Any) -> bool:
    """A stored 1/0 column value as a bool; pandas' NaN (not recorded) is False."""
    return bool(v) and v == v


def write_campaign_report(data: CampaignReportData, out_dir: str | Path) -> Path:
    """Write the campaign report (index.html + PNGs) into out_dir; returns the page's path."""
    return write_html_report(data.title, campaign_sections(data), out_dir, provenance=data.provenance)
