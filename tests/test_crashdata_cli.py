"""`adsgen data synth|inspect|convert`, bad input (one line naming the file, exit code 2), and the
shipped synthetic sample."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adsgen.paths import CRASH_DIR
from adsgen.variables import NAMES, STATES

FIX = Path(__file__).parent / "fixtures" / "crashdata"
MONTGOMERY_HEADER = ("Report Number,ACRS Report Type,Collision Type,Weather,Surface Condition,Light,"
                     "Traffic Control,Driver Substance Abuse,Driver Distracted By,Vehicle Movement,Speed Limit")


def _one_line_error(code: int, err: str, path: Path, *words: str) -> str:
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert str(path) in lines[0]
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


BAD_INPUTS = {
    "empty": (b"", ("empty",)),
    "whitespace": (b"\n\n  \n", ("empty",)),
    "header_only": (MONTGOMERY_HEADER.encode() + b"\n", ("no data rows",)),
    "binary": (bytes(range(256)) * 40, ("binary",)),
    "zip": (b"PK\x03\x04" + b"\x00" * 200, ("zip",)),
    "json": (b'[{"Weather": "CLEAR"}]\n', ("JSON",)),
    "prose": (b"This is a note about crashes\nit has no columns at all\n", ("not a CSV table",)),
    "missing_column": ((MONTGOMERY_HEADER.replace(",Weather", "") + "\n"
                        "MCP1,Injury Crash,HEAD ON,DRY,DAYLIGHT,NO CONTROLS,NONE DETECTED,NOT DISTRACTED,"
                        "MOVING CONSTANT SPEED,35\n").encode(), ("missing required column 'Weather'",)),
    "missing_statewide_column": (b"REPORT_NO,REPORT_TYPE,LIGHT_DESC\nA1,Injury Crash,Daylight\n",
                                 ("missing required column", "WEATHER_DESC")),
    "numbers_montgomery": ((MONTGOMERY_HEADER + "\n" + "\n".join(
        f"MCP{i},Injury Crash,HEAD ON,{i % 4},DRY,DAYLIGHT,NO CONTROLS,NONE DETECTED,NOT DISTRACTED,"
        f"MOVING CONSTANT SPEED,35" for i in range(6)) + "\n").encode(), ("column 'Weather'", "numbers")),
    "numbers_canonical": (b"light,weather\ndaylight,1\ndaylight,2\n", ("column 'weather'", "numbers")),
    "measurement_column": (b"rain,temperature_c\nyes,12.5\nno,3.25\n", ("column 'temperature_c'", "numbers")),
    "ragged": (b"light,weather\ndaylight,clear\ndaylight,clear,extra,more\n", ("CSV",)),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
@pytest.mark.parametrize("command", ["inspect", "convert"])
def test_bad_input_is_one_line_naming_the_file(cli, tmp_path, case, command):
    content, words = BAD_INPUTS[case]
    path = tmp_path / f"{case}.csv"
    path.write_bytes(content)
    args = ["data", command, path, "--no-progress"] + (["--out", tmp_path / "o.csv"] if command == "convert" else [])
    code, _, err = cli(args)
    _one_line_error(code, err, path, *words)
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_inside_gzip_is_one_line_naming_the_file(cli, tmp_path, case):
    content, words = BAD_INPUTS[case]
    path = tmp_path / f"{case}.csv.gz"
    path.write_bytes(gzip.compress(content))
    code, _, err = cli(["data", "inspect", path, "--no-progress"])
    _one_line_error(code, err, path, *words)


def test_gzip_of_a_binary_blob_or_a_broken_gzip_is_named(cli, tmp_path):
    blob = tmp_path / "blob.csv.gz"
    blob.write_bytes(gzip.compress(bytes(range(256)) * 400))
    code, _, err = cli(["data", "inspect", blob, "--no-progress"])
    _one_line_error(code, err, blob, "binary", "decompressed")
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(b"light,weather\ndaylight,clear\n" * 50)[:25])
    code, _, err = cli(["data", "inspect", broken, "--no-progress"])
    _one_line_error(code, err, broken, "corrupt or truncated gzip")
    # truncated after the start the header check reads: caught while streaming the rows
    cut = tmp_path / "cut.csv.gz"
    code, _, err = cli(["data", "synth", "--rows", "2000", "--seed", "1", "--out", cut, "--no-progress"])
    assert code == 0, err
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    for command in ("inspect", "convert"):
        args = ["data", command, cut, "--no-progress"] + (["--out", tmp_path / "o.csv"] if command == "convert"
                                                           else [])
        code, _, err = cli(args)
        _one_line_error(code, err, cut, "corrupt or truncated gzip")
    assert not (tmp_path / "o.csv").exists()


def test_synth_convert_and_learn_gzip_files(cli, tmp_path):
    raw = tmp_path / "m.csv.gz"
    code, out, err = cli(["data", "synth", "--rows", "1200", "--seed", "3", "--out", raw, "--no-progress"])
    assert code == 0, err
    assert raw.read_bytes()[:2] == b"\x1f\x8b"
    plain = tmp_path / "m.csv"
    cli(["data", "synth", "--rows", "1200", "--seed", "3", "--out", plain, "--no-progress"])
    assert gzip.decompress(raw.read_bytes()) == plain.read_bytes()
    again = tmp_path / "again" / "m.csv.gz"
    again.parent.mkdir()
    cli(["data", "synth", "--rows", "1200", "--seed", "3", "--out", again, "--no-progress"])
    assert again.read_bytes() == raw.read_bytes()  # no timestamp in the gzip header
    canon = tmp_path / "c.csv.gz"
    code, out, err = cli(["data", "convert", raw, "--out", canon, "--no-progress"])
    assert code == 0, err
    back = pd.read_csv(gzip.open(canon), dtype=str, keep_default_na=False)
    code, _, err = cli(["data", "convert", plain, "--out", tmp_path / "c.csv", "--no-progress"])
    assert code == 0, err
    pd.testing.assert_frame_equal(back, pd.read_csv(tmp_path / "c.csv", dtype=str, keep_default_na=False))
    assert len(back) == 1200 and list(back.columns) == ["report_no", *NAMES]
    code, out, err = cli(["cbn", "learn", canon, "--out", tmp_path / "model", "--no-pc"])
    assert code == 0, err
    card = json.loads((tmp_path / "model" / "card.json").read_text())
    assert "c.csv.gz" in json.dumps(card)


def test_missing_file(cli, tmp_path):
    path = tmp_path / "nope.csv"
    code, _, err = cli(["data", "inspect", path])
    _one_line_error(code, err, path, "no such file")


def test_vehicle_table_needs_a_statewide_crash_table(cli, tmp_path):
    code, _, err = cli(["data", "inspect", FIX / "montgomery_hand.csv", "--vehicles",
                        FIX / "statewide_vehicles_hand.csv", "--no-progress"])
    _one_line_error(code, err, FIX / "statewide_vehicles_hand.csv", "statewide")


def test_bad_vehicle_table_is_named(cli, tmp_path):
    bad = tmp_path / "veh.csv"
    bad.write_text("REPORT_NO,VEHICLE_ID\nA1,v1\n")
    code, _, err = cli(["data", "inspect", FIX / "statewide_hand.csv", "--vehicles", bad, "--no-progress"])
    _one_line_error(code, err, bad, "SPEED_LIMIT")


def test_synth_inspect_convert(cli, tmp_path):
    raw = tmp_path / "m.csv"
    code, out, err = cli(["data", "synth", "--rows", "1500", "--format", "montgomery", "--seed", "3",
                          "--out", raw, "--no-progress"])
    assert code == 0, err
    assert "1,500" in out
    code, out, err = cli(["data", "inspect", raw, "--no-progress", "--json", tmp_path / "s.json"])
    assert code == 0, err
    assert "montgomery" in out and "rows: 1,500" in out
    for v in NAMES:
        assert v in out
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["rows"] == 1500 and 0.03 < summary["variables"]["weather"]["missing_share"] < 0.12
    canon = tmp_path / "c.csv"
    code, out, err = cli(["data", "convert", raw, "--out", canon, "--no-progress"])
    assert code == 0, err
    back = pd.read_csv(canon, dtype=str, keep_default_na=False)
    assert list(back.columns) == ["report_no", *NAMES] and len(back) == 1500
    for v in NAMES:
        assert set(back[v]) <= set(STATES[v]) | {""}
    prov = json.loads(Path(str(canon) + ".provenance.json").read_text())
    assert prov["input"]["source"] == "montgomery" and prov["input"]["fingerprint"].startswith("sha256:")


def test_synth_is_deterministic_per_seed(cli, tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        code, _, err = cli(["data", "synth", "--rows", "300", "--format", "statewide", "--seed", seed,
                            "--out", tmp_path / f"{name}.csv", "--vehicles", tmp_path / f"{name}_v.csv",
                            "--no-progress"])
        assert code == 0, err
    a, b, c = ((tmp_path / f"{n}.csv").read_bytes() for n in "abc")
    assert a == b and a != c
    code, out, _ = cli(["data", "inspect", tmp_path / "a.csv", "--vehicles", tmp_path / "a_v.csv",
                        "--no-progress"])
    assert code == 0 and "statewide" in out and "speed_limit" in out


def test_synth_rejects_bad_options(cli, tmp_path):
    code, _, err = cli(["data", "synth", "--rows", "10", "--format", "excel", "--out", tmp_path / "x.csv"])
    assert code == 2 and "--format" in err
    code, _, err = cli(["data", "synth", "--rows", "10", "--out", tmp_path / "missing" / "x.csv"])
    assert code == 2 and "does not exist" in err


def test_shipped_sample_is_synthetic_readable_and_close_to_the_reference():
    from adsgen.crashdata import read_crash_table
    from adsgen.crashdata.writers import SYNTHETIC_AGENCY
    from adsgen.groundtruth.reference import exact_marginals, reference_edges

    sample = CRASH_DIR / "montgomery_synthetic.csv.gz"
    assert sample.stat().st_size < 4 * 2**20 and sample.read_bytes()[:2] == b"\x1f\x8b"  # gzip
    t = read_crash_table(sample)
    assert t.source == "montgomery" and t.rows == 20_000
    acrs = pd.read_csv(sample, usecols=["Weather"], dtype=str)["Weather"]
    assert acrs.isin(["CLEAR"]).any() and acrs.isin(["Clear"]).any()  # both spelling eras
    assert pd.read_csv(sample, usecols=["Agency Name"], nrows=5)["Agency Name"].eq(SYNTHETIC_AGENCY).all()
    m = exact_marginals()
    for v in NAMES:
        shares = t.data[v].value_counts(normalize=True, sort=False).to_numpy()
        np.testing.assert_allclose(shares, m[v], atol=0.02, err_msg=v)
    graph = json.loads((CRASH_DIR / "reference_graph.json").read_text())
    assert graph["synthetic"] is True
    assert [(e["from"], e["to"]) for e in graph["edges"]] == reference_edges()
    assert "SYNTHETIC" in (CRASH_DIR / "README.md").read_text()


def test_damaged_montgomery_export_names_its_missing_key(cli, tmp_path):
    path = tmp_path / "no_key.csv"
    src = (FIX / "montgomery_hand.csv").read_text().splitlines()
    path.write_text("\n".join(line.split(",", 1)[1] for line in src) + "\n")
    code, _, err = cli(["data", "inspect", path, "--no-progress"])
    _one_line_error(code, err, path, "missing required column 'Report Number'")


def test_reference_command_writes_json_and_bif_that_pgmpy_reads(cli, tmp_path):
    from pgmpy.readwrite import BIFReader

    from adsgen.groundtruth.reference import reference_edges

    code, out, err = cli(["cbn", "reference", "--out", tmp_path / "g.json", "--bif", tmp_path / "g.bif"])
    assert code == 0, err
    graph = json.loads((tmp_path / "g.json").read_text())
    assert len(graph["edges"]) == len(reference_edges()) and graph["synthetic"] is True
    model = BIFReader(str(tmp_path / "g.bif")).get_model()
    assert set(model.edges()) == set(reference_edges())
    assert model.get_cpds("light").state_names["light"] == list(STATES["light"])


def test_convert_refuses_a_table_without_canonical_variables(cli, tmp_path):
    code, out, err = cli(["data", "inspect", FIX / "canonical_other.csv", "--no-progress"])
    assert code == 0 and "canonical" in out and "sprinkler" in out
    code, _, err = cli(["data", "convert", FIX / "canonical_other.csv", "--out", tmp_path / "o.csv",
                        "--no-progress"])
    _one_line_error(code, err, FIX / "canonical_other.csv", "no canonical variable")
