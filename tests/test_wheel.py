"""The wheel carries what it needs: built from the repository, installed into a folder of its own, it runs
`adsgen simulate` on a shipped seed and reports the shipped data from a folder outside the repository."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("adsgen", "carla_bridge", "data", "setup.py", "pyproject.toml", "README.md")


def _build_wheel(tmp_path: Path) -> Path:
    """Build from a copy of the sources, so no build/ folder of an earlier build leaks into the wheel."""
    src = tmp_path / "src"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(src)], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("adsgen-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(wheel, target folder it is installed into)."""
    tmp = tmp_path_factory.mktemp("wheel")
    wheel = _build_wheel(tmp)
    target = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "-q",
                    "--target", str(target), str(wheel)], check=True, capture_output=True, timeout=300)
    return wheel, target


def _run_installed(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """python -m adsgen ARGS from CWD with the installed wheel first on the path (the venv's dependencies
    after it; an editable install of the repository in that venv comes after the wheel and is not used)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env["PYTHONPATH"] = str(target)
    return subprocess.run([sys.executable, "-m", "adsgen", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=300)


@pytest.mark.slow
def test_wheel_ships_seeds_crash_table_and_vocabulary(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    seeds = {p.name for p in (ROOT / "data" / "seeds").glob("*.yaml")}
    assert seeds and {n.rsplit("/", 1)[1] for n in names if n.startswith("adsgen/data/seeds/")} == seeds
    assert "adsgen/data/crash/montgomery_synthetic.csv.gz" in names
    assert "adsgen/crashdata/mappings/montgomery_weather.csv" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "data/"))]


@pytest.mark.slow
def test_installed_wheel_simulates_a_shipped_seed_outside_the_repository(installed, tmp_path):
    _, target = installed
    seed = target / "adsgen" / "data" / "seeds" / "cut_in.yaml"
    where = _run_installed(target, tmp_path, "doctor", "--json", "-")
    rows = {r["check"]: r for r in json.loads(where.stdout)["rows"]}
    assert rows["shipped seeds"]["status"] == "ok" and str(seed.parent) in rows["shipped seeds"]["detail"]

    proc = _run_installed(target, tmp_path, "simulate", str(seed), "--json", "run.json", "--no-judge")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "run.json").read_text())
    assert result["scenario"] and result["termination"]
    check = subprocess.run([sys.executable, "-c", "import adsgen, sys; print(adsgen.__file__); print(sys.path)"],
                           cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(target)}, text=True,
                           capture_output=True, check=True)
    module_file, path = check.stdout.splitlines()
    assert Path(module_file).is_relative_to(target)
    # the repository's own folder is not on the path (a venv kept inside the checkout may be)
    assert ROOT not in {Path(entry).resolve() for entry in ast.literal_eval(path) if entry}
