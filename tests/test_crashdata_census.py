"""Crash records as they really are (issue 15): 2024-on spellings, multi-valued cells, wrapped-lines
files, data-quality gates, the three Montgomery tables, statewide code-only tables, severity shares."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from adsgen.crashdata import read_crash_table
from adsgen.crashdata.vocab import load_vocabulary, normalise

FIX = Path(__file__).parent / "fixtures" / "crashdata"
DRIVERS = FIX / "montgomery_2024_drivers.csv"
INCIDENTS = FIX / "montgomery_incidents.csv"
NON_MOTORISTS = FIX / "montgomery_non_motorists.csv"
ROAD_COLUMNS = ["Junction", "Intersection Type", "Road Alignment"]


def _by_crash(table) -> pd.DataFrame:
    data = table.data.copy()
    data.index = table.crash_keys
    return data


def _one_line(code: int, err: str, *words: str) -> str:
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def test_every_2024_spelling_of_the_fixture_is_mapped_to_its_state():
    table = read_crash_table(DRIVERS)
    assert table.unmapped == {}
    d = _by_crash(table)
    assert d.loc["MCP1001", "driver_impaired"] == "distracted"  # Other Action (looking away from task, etc.)
    assert d.loc["MCP1003", "driver_impaired"] == "distracted"  # same, upper case without the comma
    assert d.loc["MCP1002", "road_layout"] == "intersection"  # Intersection or Related + Straight
    assert d.loc["MCP1007", "road_layout"] == "intersection"  # CROSSOVER RELATED
    assert d.loc["MCP1003", "road_layout"] == "curve"  # Through Roadway + "Curve Left, Straight"
    assert d.loc["MCP1004", "road_layout"] == "t_junction"
    assert d.loc["MCP1005", "road_layout"] == "ramp"
    assert d.loc["MCP1002", "traffic_control"] == "stop_sign"  # "No Controls, Stop Sign"
    assert d.loc["MCP1006", "traffic_control"] == "signal"  # Lane Use Control Signal
    assert pd.isna(d.loc["MCP1004", "traffic_control"])  # Person (including flagger, ... (no closing paren)


def test_intersection_values_never_fall_back_to_straight():
    table = read_crash_table(DRIVERS)
    raw = pd.read_csv(DRIVERS, dtype=str, keep_default_na=False).drop_duplicates("Report Number")
    at_junction = raw.loc[raw["Junction"].str.contains("Intersection|CROSSOVER", case=False), "Report Number"]
    d = _by_crash(table)
    assert len(at_junction) == 4
    assert (d.loc[at_junction, "road_layout"] == "intersection").all()


@pytest.mark.parametrize("a, b", [
    ("Other Action (looking away from task, etc.)", "OTHER ACTION (LOOKING AWAY FROM TASK ETC.)"),
    ("  Dark -  Lighted", "DARK LIGHTED"),
    ("Person (including flagger, law enforcement, crossing guard, etc.",
     "Person (Including Flagger Law Enforcement Crossing Guard Etc.)"),
])
def test_matching_ignores_case_space_and_punctuation(a, b):
    assert normalise(a) == normalise(b)


def test_multi_valued_cells_take_the_state_listed_last():
    align = load_vocabulary("montgomery_road_alignment", "road_layout")
    control = load_vocabulary("montgomery_traffic_control", "traffic_control")
    assert align.lookup("Curve Left, Straight") == align.lookup("Straight, Curve Left") == 1  # curve
    assert control.lookup("No Controls, Stop Sign") == 2  # stop_sign
    assert control.lookup("Unknown; Traffic Control Signal") == 1  # a missing part is skipped
    assert control.lookup("Ferry, Hovercraft") is None  # no part known: unmapped


def _wrap(src: Path, dst: Path) -> Path:
    lines = src.read_text().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        buf = io.StringIO()
        csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="").writerow([line])
        out.append(buf.getvalue())
    dst.write_text("\n".join(out) + "\n")
    return dst


@pytest.mark.parametrize("command", ["inspect", "convert", "learn"])
def test_wrapped_lines_file_is_refused_with_the_fix(cli, tmp_path, command):
    wrapped = _wrap(DRIVERS, tmp_path / "wrapped.csv")
    argv = {"inspect": ["data", "inspect", wrapped, "--no-progress"],
            "convert": ["data", "convert", wrapped, "--out", tmp_path / "o.csv", "--no-progress"],
            "learn": ["cbn", "learn", wrapped, "--out", tmp_path / "model"]}[command]
    code, out, err = cli(argv)
    _one_line(code, err, str(wrapped), "wrapped in one quoted field", "re-save")
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "model").exists()


def test_severity_missing_everywhere_is_refused(cli, tmp_path):
    raw = pd.read_csv(DRIVERS, dtype=str, keep_default_na=False)
    raw["ACRS Report Type"] = "Unknown"
    bad = tmp_path / "nosev.csv"
    raw.to_csv(bad, index=False)
    code, _, err = cli(["data", "convert", bad, "--out", tmp_path / "o.csv", "--no-progress"])
    _one_line(code, err, str(bad), "severity is missing on every row", "ACRS Report Type")


def test_mostly_missing_table_is_refused_and_partly_missing_warned(cli, tmp_path):
    raw = pd.read_csv(DRIVERS, dtype=str, keep_default_na=False)
    mostly = raw.copy()
    keep = mostly["Report Number"].isin(["MCP1001", "MCP1002", "MCP1003"])
    for col in raw.columns[3:]:
        mostly.loc[~keep, col] = "Unknown"
    mostly.loc[~keep, "ACRS Report Type"] = "Unknown"
    bad = tmp_path / "mostly.csv"
    mostly.to_csv(bad, index=False)
    code, _, err = cli(["data", "convert", bad, "--out", tmp_path / "o.csv", "--no-progress"])
    _one_line(code, err, str(bad), "every mapped variable is missing on more than 50%")
    code, out, err = cli(["data", "convert", DRIVERS, "--out", tmp_path / "ok.csv", "--no-progress"])
    assert code == 0
    assert "warning: traffic_control is missing on 22.2% of rows (more than 20%)" in err
    assert "warning: light" not in err


def test_drivers_incidents_and_non_motorists_convert_in_one_command(cli, tmp_path):
    drivers = tmp_path / "drivers.csv"
    pd.read_csv(DRIVERS, dtype=str, keep_default_na=False).drop(columns=ROAD_COLUMNS).to_csv(drivers, index=False)
    out = tmp_path / "canon.csv"
    alone = read_crash_table(drivers)
    assert "road_layout" not in alone.data.columns
    code, _, err = cli(["data", "convert", drivers, "--incidents", INCIDENTS, "--non-motorists", NON_MOTORISTS,
                        "--out", out, "--no-progress"])
    assert code == 0, err
    canon = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(canon) == 9
    assert (canon["road_layout"] != "").all()  # every crash has its Incidents row
    table = read_crash_table(drivers, incidents=INCIDENTS, non_motorists=NON_MOTORISTS)
    d = _by_crash(table)
    assert d.loc["MCP1002", "road_layout"] == "intersection"
    assert d.loc["MCP1006", "collision_type"] == "pedestrian"
    assert d.loc["MCP1001", "collision_type"] == "rear_end"  # no non-motorist row: the Drivers value


@pytest.mark.parametrize("table, words", [
    (INCIDENTS, ("Crash Reporting - Incidents Data", "--incidents", "Drivers")),
    (NON_MOTORISTS, ("Crash Reporting - Non-Motorists Data", "--non-motorists", "Drivers")),
    (FIX / "statewide_codes.csv", ("Maryland statewide code-only CRASH table", "LIGHT_CODE", "*_DESC")),
])
def test_a_table_that_cannot_be_read_alone_is_named(cli, tmp_path, table, words):
    code, _, err = cli(["data", "convert", table, "--out", tmp_path / "o.csv", "--no-progress"])
    _one_line(code, err, str(table), *words)


def test_joins_need_a_drivers_table(cli, tmp_path):
    code, _, err = cli(["data", "convert", FIX / "statewide_hand.csv", "--incidents", INCIDENTS,
                        "--out", tmp_path / "o.csv", "--no-progress"])
    _one_line(code, err, str(INCIDENTS), "Drivers table")


def test_learn_refuses_zero_complete_rows(cli, tmp_path):
    canon = tmp_path / "holes.csv"
    canon.write_text("light,weather,severity\ndaylight,,injury\n,clear,property_damage\ndaylight,rain,\n" * 20)
    code, _, err = cli(["cbn", "learn", canon, "--out", tmp_path / "model", "--no-pc"])
    _one_line(code, err, str(canon), "0 complete rows")
    assert not (tmp_path / "model").exists()


def test_severity_shares_match_the_raw_report_types(cli, tmp_path):
    raw_path = tmp_path / "m.csv"
    code, _, err = cli(["data", "synth", "--rows", "3000", "--out", raw_path, "--no-progress"])
    assert code == 0, err
    out = tmp_path / "canon.csv"
    code, _, err = cli(["data", "convert", raw_path, "--out", out, "--no-progress"])
    assert code == 0, err
    raw = pd.read_csv(raw_path, dtype=str, keep_default_na=False).drop_duplicates("Report Number")
    kind = raw["ACRS Report Type"].map(normalise).map({"property damage crash": "property_damage",
                                                     "injury crash": "injury", "fatal crash": "fatal"})
    canon = pd.read_csv(out, dtype=str, keep_default_na=False)
    raw_share = kind.value_counts(normalize=True)
    canon_share = canon.loc[canon["severity"] != "", "severity"].value_counts(normalize=True)
    assert kind.notna().mean() > 0.8
    for state in ("property_damage", "injury", "fatal"):
        assert abs(raw_share[state] - canon_share[state]) <= 0.01, (state, raw_share, canon_share)


def test_canonical_output_keeps_report_no_first_and_the_reader_keeps_it_out_of_the_variables(cli, tmp_path):
    out = tmp_path / "canon.csv"
    code, _, err = cli(["data", "convert", DRIVERS, "--out", out, "--no-progress"])
    assert code == 0, err
    canon = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert canon.columns[0] == "report_no"
    assert sorted(canon["report_no"]) == [f"MCP10{i:02d}" for i in range(1, 10)]
    back = read_crash_table(out)
    assert "report_no" not in back.data.columns
    assert list(back.crash_keys) == list(canon["report_no"])


def test_by_year_drift_report_flags_a_new_spelling_and_the_share_it_moves(cli, tmp_path):
    raw_path = tmp_path / "m.csv"
    assert cli(["data", "synth", "--rows", "800", "--out", raw_path, "--no-progress"])[0] == 0
    raw = pd.read_csv(raw_path, dtype=str, keep_default_na=False)
    keys = raw["Report Number"].drop_duplicates()
    late = raw["Report Number"].isin(keys.iloc[len(keys) // 2:])
    raw["Crash Date/Time"] = "06/01/2023 10:00:00 AM"
    raw.loc[late, "Crash Date/Time"] = "06/01/2024 10:00:00 AM"
    distracted = raw["Driver Distracted By"].map(
        lambda s: load_vocabulary("montgomery_driver_distracted_by", "driver_impaired").lookup(s) == 1)
    raw.loc[late & distracted, "Driver Distracted By"] = "Looking Somewhere Else (new spelling)"
    drift = tmp_path / "drift.csv"
    raw.to_csv(drift, index=False)
    code, out, err = cli(["data", "inspect", drift, "--by-year", "--no-progress", "--json", tmp_path / "d.json"])
    assert code == 0, err
    report = json.loads((tmp_path / "d.json").read_text())["by_year"]
    assert report["years"] == ["2023", "2024"]
    flags = report["flags"]
    new = [f for f in flags if f.startswith("driver_impaired: unmapped spelling")]
    assert len(new) == 1 and "'Looking Somewhere Else (new spelling)' in 2024" in new[0], flags
    assert any(f.startswith("driver_impaired=distracted:") and f.endswith("0.0% in 2024") for f in flags), flags
    assert not any(f.startswith("light=") for f in flags), flags  # untouched variables do not drift

    # the same shift over 40 crashes a year is not compared (chance moves small years' shares)
    few = raw[raw["Report Number"].isin(pd.concat([keys.iloc[:40], keys.iloc[-40:]]))]
    few.to_csv(drift, index=False)
    code, out, err = cli(["data", "inspect", drift, "--by-year", "--no-progress", "--json", tmp_path / "d.json"])
    flags = json.loads((tmp_path / "d.json").read_text())["by_year"]["flags"]
    assert not any("=" in f.split(":")[0] for f in flags), flags  # no share flagged
    assert any(f.startswith("not compared: 2023, 2024") for f in flags), flags
    assert any("unmapped spelling" in f for f in flags), flags  # a new spelling is flagged at any size


def test_cbn_validation_report_warns_about_variables_missing_on_over_a_fifth_of_rows(cli, tmp_path):
    canon = tmp_path / "canon.csv"
    rows = ["daylight,clear,injury", "dark_lighted,rain,property_damage", "daylight,,property_damage",
            "dawn_dusk,clear,injury", "daylight,snow,property_damage"]
    canon.write_text("light,weather,severity\n" + "\n".join(rows * 40) + "\n")
    code, _, err = cli(["cbn", "learn", canon, "--out", tmp_path / "model", "--no-pc"])
    assert code == 0, err
    report = (tmp_path / "model" / "validation.md").read_text()
    assert "- warning: weather is missing on 20.0%" not in report  # exactly a fifth: not more
    canon.write_text("light,weather,severity\n" + "\n".join((rows + ["daylight,,injury"]) * 40) + "\n")
    code, _, err = cli(["cbn", "learn", canon, "--out", tmp_path / "model2", "--no-pc"])
    assert code == 0, err
    report = (tmp_path / "model2" / "validation.md").read_text()
    assert "- warning: weather is missing on 33.3% of rows (more than 20%)" in report
    assert "light is missing" not in report


def test_cbn_learn_joins_the_incidents_table(cli, tmp_path):
    drivers = pd.read_csv(DRIVERS, dtype=str, keep_default_na=False).drop(columns=ROAD_COLUMNS)
    incidents = pd.read_csv(INCIDENTS, dtype=str, keep_default_na=False)
    copies = range(30)
    pd.concat([drivers.assign(**{"Report Number": drivers["Report Number"] + f"-{i}"}) for i in copies]).to_csv(
        tmp_path / "d.csv", index=False)
    pd.concat([incidents.assign(**{"Report Number": incidents["Report Number"] + f"-{i}"}) for i in copies]).to_csv(
        tmp_path / "i.csv", index=False)
    code, _, err = cli(["cbn", "learn", tmp_path / "d.csv", "--incidents", tmp_path / "i.csv",
                        "--out", tmp_path / "model", "--no-pc"])
    assert code == 0, err
    assert "variable road_layout" in (tmp_path / "model" / "model.bif").read_text()


def test_by_year_reads_statewide_dates_and_names_a_missing_date_column(cli, tmp_path):
    raw = pd.read_csv(FIX / "statewide_hand.csv", dtype=str, keep_default_na=False)
    raw["ACC_DATE"] = ["20150102" if i % 2 else "20160304" for i in range(len(raw))]
    dated = tmp_path / "dated.csv"
    raw.to_csv(dated, index=False)
    code, _, err = cli(["data", "inspect", dated, "--by-year", "--no-progress", "--json", tmp_path / "d.json"])
    assert code == 0, err
    assert json.loads((tmp_path / "d.json").read_text())["by_year"]["years"] == ["2015", "2016"]
    code, _, err = cli(["data", "inspect", FIX / "statewide_hand.csv", "--by-year", "--no-progress"])
    _one_line(code, err, "statewide_hand.csv", "--by-year needs a date column")
