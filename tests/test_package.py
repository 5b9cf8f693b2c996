"""The public package imports, and the shared contracts hold together."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from adsgen import variables


def test_cli_help_lists_bench(cli):
    code, out, _ = cli(["--help"])
    assert code == 0
    assert "bench" in out


def test_canonical_variables_are_consistent():
    assert variables.OUTCOME not in variables.FACTORS
    assert len(variables.NAMES) == 10
    for v in variables.VARIABLES:
        assert len(set(v.states)) == len(v.states)
    assert variables.speed_limit_state(25) == "low"
    assert variables.speed_limit_state(35) == "mid"
    assert variables.speed_limit_state(55) == "high"
    assert variables.speed_limit_state(0) is None


def test_speed_limit_bins_read_back_what_is_written():
    """A posted limit the synthetic writers use for a bin reads back as that bin; 28 and 43 mph (between
    the posted steps) fall in the next bin up; a scenario drives at its bin's limit in m/s."""
    for b in variables.SPEED_LIMIT_BINS:
        assert {variables.speed_limit_state(mph) for mph in b.posted_mph} == {b.state}
        assert b.scenario_mph in b.posted_mph
        assert variables.SPEED_LIMIT_MPS[b.state] == pytest.approx(b.scenario_mph * 0.44704, abs=0.005)
    assert variables.speed_limit_state(28) == "mid" and variables.speed_limit_state(43) == "high"
    assert variables.STATES["speed_limit"] == ("low", "mid", "high")


@pytest.mark.parametrize("module", ["adsgen.scenario.model", "adsgen.sim.types", "adsgen.errors",
                                    "adsgen.provenance"])
def test_modules_import(module):
    importlib.import_module(module)


def test_run_result_round_trips_through_json():
    import json
    import math

    from adsgen.sim.types import RunResult, TerminationReason

    r = RunResult(scenario="s", termination=TerminationReason.TIMEOUT, duration_s=10.0)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["min_ttc_s"] is None
    back = RunResult.from_dict(d)
    assert back.termination is TerminationReason.TIMEOUT and math.isinf(back.min_ttc_s)
    assert not back.high_risk()


def test_exit_codes_of_commands_reach_the_shell(monkeypatch):
    import typer

    from adsgen import cli

    sub = typer.Typer()

    @sub.command("boom")
    def boom() -> None:
        raise typer.Exit(3)

    @sub.command("fine")
    def fine() -> str:
        return "a value, not an exit code"

    monkeypatch.setattr(cli, "app", sub)
    assert cli.main(["boom"]) == 3
    assert cli.main(["fine"]) == 0


LONG_FUNCTION_LINES = 80
"""A function longer than this (decorators to last line) needs a comment block starting ``# long: reason``
right above it."""


def _long_functions_without_reason(root: Path) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            assert node.end_lineno is not None
            length = node.end_lineno - first + 1
            i = first - 2  # the comment block right above the def (or its decorators)
            while (i > 0 and lines[i].strip().startswith("#") and not lines[i].strip().startswith("# long:")
                   and lines[i - 1].strip().startswith("#")):
                i -= 1
            above = lines[i].strip() if i >= 0 else ""
            if (length > LONG_FUNCTION_LINES) != above.startswith("# long:"):  # a note on a short one is stale
                out.append(f"{path}:{node.lineno} {node.name} ({length} lines)")
    return out


def test_no_long_function_without_a_written_reason():
    repo = Path(__file__).resolve().parent.parent
    found = [f for pkg in ("adsgen", "carla_bridge") for f in _long_functions_without_reason(repo / pkg)]
    assert not found, ("functions over 80 lines without a '# long: reason' note, or with a note but no longer "
                       "long:\n" + "\n".join(found))


def test_the_long_function_check_finds_one(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(LONG_FUNCTION_LINES))
    (tmp_path / "m.py").write_text(f"def f():\n{body}\n\n\n# long: a table of cases\ndef g():\n{body}\n\n\n"
                                   "# long: stale\ndef h():\n    pass\n")
    assert [f.split()[1] for f in _long_functions_without_reason(tmp_path)] == ["f", "h"]
