"""Shared test fixtures."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def cli(capsys):
    """Run the adsgen CLI in-process: cli(["data", "inspect", path]) -> (exit_code, stdout, stderr)."""
    from adsgen.cli import main

    def _run(argv: list[str]) -> tuple[int, str, str]:
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return _run
