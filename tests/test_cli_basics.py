"""The command line's own conventions: --version, doctor, help texts that keep their units."""

from __future__ import annotations

import json
from importlib import metadata

from adsgen import __version__


def test_version_prints_the_package_version(cli):
    code, out, _ = cli(["--version"])
    assert code == 0
    assert out.strip() == f"adsgen {__version__}"


def test_doctor_reports_every_declared_requirement(cli, tmp_path):
    code, _, _ = cli(["doctor", "--json", tmp_path / "doctor.json"])
    rep = json.loads((tmp_path / "doctor.json").read_text())
    assert code == (0 if rep["ok"] else 1)
    checks = {r["check"]: r for r in rep["rows"]}
    # every requirement of the installed package has a row, with the installed version when present
    for text in metadata.requires("adsgen") or []:
        name = text.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip()
        assert name in checks, name
    assert metadata.version("numpy") in checks["numpy"]["detail"]
    assert checks["carla server"]["status"] == "skip"  # no host given: nothing is contacted
    assert {"python", "cores", "free disk", "chromium"} <= set(checks)


def test_doctor_json_to_stdout(cli):
    code, out, _ = cli(["doctor", "--json", "-"])
    rep = json.loads(out)
    assert code == (0 if rep["ok"] else 1)
    assert all(r["status"] in ("ok", "warn", "fail", "skip") for r in rep["rows"])


def test_help_keeps_units(cli):
    code, out, _ = cli(["generate", "--help"])
    assert code == 0
    text = " ".join(out.split())
    assert "min-TTC threshold (s)" in text
    code, out, _ = cli(["campaign", "run", "--help"])
    assert code == 0 and "under this [s]" in " ".join(out.split())  # square brackets survive too (markup off)
