"""Export a campaign's runs: CSV, Parquet (one row per run) or JUnit XML (one test case per run, for CI)."""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from adsgen.campaign.stats import runs_frame
from adsgen.campaign.store import CampaignStore
from adsgen.errors import ConfigError


def _write_csv(df: pd.DataFrame, out: Path, store: CampaignStore) -> None:
    df.to_csv(out, index=False)


def _write_parquet(df: pd.DataFrame, out: Path, store: CampaignStore) -> None:
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    campaign = store.campaign()
    meta = dict(table.schema.metadata or {})
    meta[b"adsgen.campaign"] = json.dumps({"created_utc": campaign["created_utc"], "source": campaign["source"],
                                           "versions": campaign["versions"]}).encode()
    pq.write_table(table.replace_schema_metadata(meta), out)


def _fmt(x: object) -> str:
    return "" if x is None or (isinstance(x, float) and pd.isna(x)) else str(x)


FAIL_ON = ("collision", "near-miss")
"""What makes a finished run a JUnit <failure>: a collision, or also a near miss."""


def _check_fail_on(fail_on: str) -> None:
    if fail_on not in FAIL_ON:
        raise ConfigError(f"--fail-on {fail_on!r}: expected one of {', '.join(FAIL_ON)}")


def junit_tree(df: pd.DataFrame, store: CampaignStore, fail_on: str = "collision") -> ET.ElementTree:
    """One <testsuite> per (agent, backend); one <testcase> per run.

    done without collision -> passed; done with a collision -> <failure type="collision"> (the agent failed
    the test); with ``fail_on='near-miss'`` also done with a near miss (high risk without a collision: min
    time-to-collision under the campaign's threshold) -> <failure type="near_miss">;
    failed / timed_out -> <error> with the stored error; pending / running -> <skipped>.
    """
    _check_fail_on(fail_on)
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
            if r.status == "done" and bool(r.collided):
                counts["failures"] += 1
                el = ET.SubElement(case, "failure", type="collision",
                                   message=f"collision with {_fmt(r.collision_partner)} at "
                                           f"{float(r.impact_speed_mps or 0):.1f} m/s"
                                           + (f" ({r.verdict})" if _fmt(r.verdict) else ""))
                el.text = f"scenario {r.scenario_hash}, seed {r.seed}"
            elif r.status == "done" and fail_on == "near-miss" and bool(r.near_miss):
                counts["failures"] += 1
                el = ET.SubElement(case, "failure", type="near_miss",
                                   message=f"near miss: min time-to-collision {float(r.min_ttc_s):.2f} s, "
                                           f"min distance {float(r.min_distance_m):.2f} m")
                el.text = f"scenario {r.scenario_hash}, seed {r.seed}"
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
    ET.indent(root)
    return ET.ElementTree(root)


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
    (JUnit only): 'collision' or 'near-miss' (see junit_tree)."""
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
    writer(df, out, store)
    return len(df)
