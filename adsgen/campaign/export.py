"""Export a campaign's runs: CSV, Parquet (one row per run) or JUnit XML (one test case per run, for CI)."""

from __future__ import annotations

import functools
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from adsgen.campaign.reproduce import replay_command
from adsgen.campaign.stats import runs_frame
from adsgen.campaign.store import CampaignStore
from adsgen.errors import ConfigError
from adsgen.outputs import atomic_path
from adsgen.sim.vocabulary import FailOn, verdict_label
from adsgen.variables import FACTORS

BOOL_COLUMNS = ("collided", "high_risk", "at_fault", "near_miss")
"""Run columns that are yes/no (stored 0/1): written as true/false, empty when unknown."""
TIME_COLUMNS = ("created_at", "started_at", "finished_at")
"""Run columns that are Unix times [s]: written as ISO 8601 UTC."""
INT_COLUMNS = ("id", "seed", "attempts", "session_id")


def tidy_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The CSV's types: booleans as true/false, times as ISO 8601 UTC, integers without '.0' (empty when
    missing), infinite min TTC as empty."""
    out = df.copy()
    for c in BOOL_COLUMNS:
        if c in out:
            out[c] = out[c].map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v))
                                else ("true" if bool(v) else "false"))
    for c in TIME_COLUMNS:
        if c in out:
            t = pd.to_datetime(pd.to_numeric(out[c], errors="coerce"), unit="s", utc=True)
            out[c] = t.map(lambda x: "" if pd.isna(x) else x.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
    for c in INT_COLUMNS:
        if c in out:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
    return out


def _write_csv(df: pd.DataFrame, out: Path, store: CampaignStore) -> None:
    tidy_frame(df).to_csv(out, index=False)


def _write_parquet(df: pd.DataFrame, out: Path, store: CampaignStore) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    campaign = store.campaign()
    meta = dict(table.schema.metadata or {})
    meta[b"adsgen.campaign"] = json.dumps({"created_utc": campaign["created_utc"], "source": campaign["source"],
                                           "versions": campaign["versions"]}).encode()
    pq.write_table(table.replace_schema_metadata(meta), out)


def _fmt(x: object) -> str:
    return "" if x is None or (isinstance(x, float) and pd.isna(x)) else str(x)


FAIL_ON = tuple(f.value for f in FailOn)
"""What makes a finished run a JUnit <failure> (the one list, adsgen.sim.vocabulary.FailOn): a valid failure,
a collision, or a near miss (collisions and near misses)."""


def _check_fail_on(fail_on: str) -> None:
    if fail_on not in FAIL_ON:
        raise ConfigError(f"--fail-on {fail_on!r}: expected one of {', '.join(FAIL_ON)}")


def _is_failure(r: Any, fail_on: FailOn) -> bool:
    if fail_on is FailOn.VALID_FAILURE:
        return r.verdict == "valid_failure"
    return bool(r.collided) or (fail_on is FailOn.NEAR_MISS and bool(r.near_miss))


def _failure_message(r: Any) -> str:
    if bool(r.collided):
        text = f"collision with {_fmt(r.collision_partner)} at {float(r.impact_speed_mps or 0):.1f} m/s"
    else:
        text = (f"near miss: min time-to-collision {float(r.min_ttc_s):.2f} s, "
                f"min distance {float(r.min_distance_m):.2f} m")
    return text + (f" ({verdict_label(r.verdict)})" if _fmt(r.verdict) else "")


def _failure_body(r: Any, db: str) -> str:
    """The way back from a failure: verdict, impact, factors and the command that reproduces it."""
    factors = ", ".join(f"{f}={_fmt(getattr(r, f, None))}" for f in FACTORS if _fmt(getattr(r, f, None)))
    return (f"verdict: {verdict_label(r.verdict) if _fmt(r.verdict) else 'not judged'}\n"
            f"impact speed: {_fmt(r.impact_speed_mps) or '-'} m/s; min TTC: {_fmt(r.min_ttc_s) or '-'} s\n"
            f"factors: {factors}\n"
            f"scenario {r.scenario_hash}, seed {r.seed}\n"
            f"reproduce: {replay_command(db, int(r.id))}")


def junit_tree(df: pd.DataFrame, store: CampaignStore, fail_on: str = "collision") -> ET.ElementTree:
    """One <testsuite> per (agent, backend); one <testcase> per run.

    done runs that meet ``fail_on`` -> <failure type="valid_failure|collision|near_miss"> whose body gives the
    verdict, impact speed, factors and the `adsgen replay DB RUN` command; other done runs pass;
    errored / timed out (stored failed / timed_out) -> <error> with the stored error; pending / running ->
    <skipped>.
    """
    _check_fail_on(fail_on)
    criterion = FailOn(fail_on)
    root = ET.Element("testsuites", name=f"adsgen campaign {store.path.name}")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for (agent, backend), group in df.groupby(["agent", "backend"], sort=True):
        suite = ET.SubElement(root, "testsuite", name=f"{agent} on {backend}")
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        time_total = 0.0
        for r in group.itertuples(index=False):
            counts["tests"] += 1
            wall = float(r.wall_s) if r.wall_s is not None and not pd.isna(r.wall_s) else 0.0
            time_total += wall
            case = ET.SubElement(suite, "testcase", name=f"{r.scenario_name} seed={r.seed} run={r.id}",
                                 classname=f"{r.seed_family or 'scenario'}.{agent}", time=f"{wall:.3f}")
            props = ET.SubElement(case, "properties")
            for key in ("termination", "min_ttc_s", "min_distance_m", "impact_speed_mps", "collision_partner",
                        "attempts", "verdict", "at_fault", "reference_outcome", "omniscient_outcome"):
                ET.SubElement(props, "property", name=key, value=_fmt(getattr(r, key)))
            if r.status == "done" and _is_failure(r, criterion):
                counts["failures"] += 1
                kind = ("valid_failure" if criterion is FailOn.VALID_FAILURE
                        else "collision" if bool(r.collided) else "near_miss")
                el = ET.SubElement(case, "failure", type=kind, message=_failure_message(r))
                el.text = _failure_body(r, str(store.path))
            elif r.status in ("failed", "timed_out"):
                counts["errors"] += 1
                first = (r.error or r.status).splitlines()[0]
                el = ET.SubElement(case, "error", type=r.status, message=first)
                el.text = r.error or ""
            elif r.status in ("pending", "running"):
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=f"not run yet ({r.status})")
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
        suite.set("time", f"{time_total:.3f}")
    for k, v in totals.items():
        root.set(k, str(v))
    _xml_safe(root)
    ET.indent(root)
    return ET.ElementTree(root)


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML 1.0 cannot hold (even escaped); names and errors read from the store may contain them."""


def _xml_safe(root: ET.Element) -> None:
    """Replace characters XML 1.0 forbids by a visible \\xNN in every text and attribute (in place)."""
    fix = lambda s: _XML_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)  # noqa: E731
    for el in root.iter():
        if el.text:
            el.text = fix(el.text)
        for k, v in el.attrib.items():
            el.set(k, fix(v))


def _write_junit(df: pd.DataFrame, out: Path, store: CampaignStore, fail_on: str = "collision") -> None:
    junit_tree(df, store, fail_on).write(out, encoding="utf-8", xml_declaration=True)


WRITERS: dict[str, Callable[[pd.DataFrame, Path, CampaignStore], None]] = {
    ".csv": _write_csv,
    ".parquet": _write_parquet,
    ".xml": _write_junit,
}
"""Output suffix -> writer."""


def export_runs(store: CampaignStore, out: str | Path, fail_on: str = "collision") -> int:
    """Write every run to OUT (format from its suffix); returns the number of runs written. ``fail_on``
    (JUnit only): 'valid-failure', 'collision' or 'near-miss' (see junit_tree)."""
    out = Path(out)
    writer = WRITERS.get(out.suffix.lower())
    if writer is None:
        raise ConfigError(f"--out {out}: unknown format {out.suffix!r}; expected one of {', '.join(WRITERS)}")
    _check_fail_on(fail_on)
    if writer is _write_junit:
        writer = functools.partial(_write_junit, fail_on=fail_on)
    elif fail_on != "collision":
        raise ConfigError(f"--fail-on {fail_on}: only JUnit XML (.xml) has failures; {out.name} is not one")
    if not out.parent.exists():
        raise ConfigError(f"--out {out}: folder {out.parent} does not exist")
    df = runs_frame(store)
    with atomic_path(out) as tmp:
        writer(df, tmp, store)
    return len(df)
