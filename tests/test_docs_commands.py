"""The commands the docs show: every one names real subcommands and options, and README's run on shipped data."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

sys.path.insert(0, str(Path(__file__).parent))
from docs_commands import ROOT, doc_commands, words  # noqa: E402

from adsgen.cli import app  # noqa: E402

ROOT_CMD = typer.main.get_command(app)


def _variants(tokens: list[str]) -> list[list[str]]:
    """'status/export' and 'train|predict' in a subcommand position expand to each alternative."""
    return [list(p) for p in itertools.product(*[t.split("/") if "/" in t and not t.startswith(("-", ".", "data"))
                                                 else t.split("|") if "|" in t and not t.startswith("-") else [t]
                                                 for t in tokens])]


def _resolve(tokens: list[str]) -> tuple[Any, list[str]]:
    cmd, rest = ROOT_CMD, tokens
    while hasattr(cmd, "commands") and rest and not rest[0].startswith("-"):
        sub = cmd.commands.get(rest[0])
        if sub is None:
            raise LookupError(f"no command {rest[0]!r}")
        cmd, rest = sub, rest[1:]
    return cmd, rest


def _options(cmd: Any) -> set[str]:
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}


def _problems(commands: list[tuple[str, int, str]]) -> list[str]:
    problems = []
    for doc, line, text in commands:
        tokens = words(text)[1:]
        head = [t for t in itertools.takewhile(lambda t: not t.startswith(("-", "[")), tokens)]
        if "..." in head[:2] or not head:
            continue  # "adsgen campaign ... --backend carla": an elision, not a command
        for variant in _variants(head[:2]):
            try:
                cmd, _ = _resolve(variant + head[2:])
            except LookupError as exc:
                problems.append(f"{doc}:{line}: `{text}`: {exc}")
                continue
            if hasattr(cmd, "commands"):
                continue
            known = _options(cmd)
            for t in tokens:
                opt = t.strip("[]").split("=")[0]
                if opt.startswith("--") and opt not in known:
                    problems.append(f"{doc}:{line}: `{text}`: {' '.join(variant)} has no option {opt}")
    return problems


def test_every_documented_command_names_real_subcommands_and_options():
    problems = _problems(doc_commands())
    assert not problems, "\n".join(problems)
    bad = _problems([("x.md", 1, "adsgen simulate S.yaml --nope"), ("x.md", 2, "adsgen campaign status/exprt"),
                     ("x.md", 3, "adsgen campaign run SCEN --db F [--fail-on F]")])
    assert len(bad) == 2 and "--nope" in bad[0] and "'exprt'" in bad[1]  # the check itself notices


NOT_RUN = {
    "adsgen simulate --backend carla --carla-host H:P": "needs a CARLA server",
    "adsgen carla check --host H:P": "needs a CARLA server",
    "adsgen drivelm train/predict": "needs a model (LLaVA weights or the tiny test model) and minutes of CPU",
    "adsgen drivelm compare": "compares two training runs' held-out answers: needs two trained adapters (tests/test_vlm_zoom.py runs it)",
    "adsgen bench cbn": "benchmark: minutes (docs/cbn.md gives the figures)",
    "adsgen bench cbn-networks": "benchmark: minutes per network (docs/cbn.md)",
    "adsgen bench sim": "benchmark: minutes (docs/simulation.md)",
    "adsgen bench search": "benchmark: minutes (docs/search.md)",
    "adsgen bench campaign": "benchmark: minutes (docs/campaigns.md)",
    "adsgen bench vlm": "benchmark with torch: minutes (docs/vlm.md)",
    "adsgen demo": "minutes of CPU (make demo; tests/test_demo.py runs it on a small budget)",
    "adsgen simulate SEED.yaml": "run from an installed wheel outside the repository by tests/test_wheel.py",
    "adsgen doctor": "run by tests/test_cli_basics.py and, from an installed wheel, tests/test_wheel.py",
    "adsgen generate": "names the default seeds; the full generate command above is run",
}
"""README commands the test does not run, and why."""


def _readme_runs(tmp: Path) -> dict[str, list[list[str]]]:
    """README command as written -> the argv run for it on shipped (or freshly made) data, in order."""
    seed = str(ROOT / "data" / "seeds" / "cut_in.yaml")
    seeds = str(ROOT / "data" / "seeds")
    m, canon, model, db = str(tmp / "m.csv"), str(tmp / "canonical.csv"), str(tmp / "model"), str(tmp / "runs.sqlite")
    example = str(ROOT / "data" / "drivelm" / "sim_example")
    fixtures = ROOT / "tests" / "fixtures" / "crashdata"
    return {
        "adsgen data synth --rows N --format montgomery|statewide|canonical --out FILE": [
            ["data", "synth", "--rows", "3000", "--format", "montgomery", "--out", m]],
        "adsgen data inspect FILE [--by-year]": [["data", "inspect", m], ["data", "inspect", m, "--by-year"]],
        "adsgen data convert FILE [--incidents F --non-motorists F] --out canonical.csv": [
            ["data", "convert", m, "--out", canon],
            ["data", "convert", str(fixtures / "montgomery_2024_drivers.csv"),
             "--incidents", str(fixtures / "montgomery_incidents.csv"),
             "--non-motorists", str(fixtures / "montgomery_non_motorists.csv"), "--out", str(tmp / "joined.csv")]],
        "adsgen cbn learn DATA --out MODEL [--bootstrap N]": [["cbn", "learn", canon, "--out", model]],
        "adsgen cbn query MODEL --target severity --given light=dark_unlighted --do weather=snow": [
            ["cbn", "query", model, "--target", "severity", "--given", "light=dark_unlighted", "--do", "weather=snow"]],
        "adsgen simulate SCENARIO.yaml [--render DIR] [--json FILE]": [
            ["simulate", seed, "--render", str(tmp / "frames"), "--json", str(tmp / "r.json")]],
        "adsgen export SCENARIO... --format xosc --out DIR": [["export", seed, "--format", "xosc", "--out",
                                                               str(tmp / "xosc")]],
        "adsgen generate --cbn MODEL --seeds data/seeds --budget 2000 --method cbn --out OUT": [
            ["generate", "--cbn", model, "--seeds", seeds, "--budget", "100", "--method", "cbn", "--out",
             str(tmp / "out")]],  # budget 100 instead of 2000 (time)
        "adsgen campaign run SCENARIOS... --db runs.sqlite": [["campaign", "run", seeds, "--db", db, "--no-progress"]],
        "adsgen campaign status/export": [["campaign", "status", db],
                                          ["campaign", "export", db, "--out", str(tmp / "runs.csv")]],
        "adsgen replay": [["replay", db, "1"]],
        "adsgen replay DB RUN": [["replay", db, "2"]],
        "adsgen report DB --out DIR": [["report", db, "--out", str(tmp / "report")]],
        "adsgen drivelm convert/validate/evaluate/submit/qa": [
            ["drivelm", "validate", f"{example}/test.json"],
            ["drivelm", "evaluate", f"{example}/example_predictions.json", "--gt", f"{example}/test.json"],
            ["drivelm", "qa", seed, "--out", str(tmp / "qa"), "--frames", "2", "--scale", "0.2", "--variants", "2"]],
    }


def _readme_commands() -> list[str]:
    return [text for doc, _, text in doc_commands() if doc == "README.md"]


def test_every_readme_command_is_run_or_says_why_not(tmp_path):
    covered = set(_readme_runs(tmp_path)) | set(NOT_RUN)
    missing = [c for c in _readme_commands() if c not in covered]
    assert not missing, f"README commands the docs test neither runs nor explains: {missing}"


@pytest.mark.slow
def test_readme_commands_run_on_shipped_data(cli, tmp_path):
    runs = _readme_runs(tmp_path)  # in an order where each finds the files the earlier ones wrote
    assert set(runs) <= set(_readme_commands())
    for text, argvs in runs.items():
        for argv in argvs:
            code, _, err = cli(argv)
            assert code == 0, f"README `{text}` as `adsgen {' '.join(argv)}`: exit {code}\n{err[-2000:]}"
