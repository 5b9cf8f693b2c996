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


def _leaf_commands(command, path=()):
    for name, sub in getattr(command, "commands", {}).items():
        yield from _leaf_commands(sub, (*path, name))
    if not getattr(command, "commands", None):
        yield path, command


def test_every_help_page_uses_real_placeholders_and_fits_80_columns():
    import re

    from adsgen.cli import command

    root = command()
    pages = 0
    for path, cmd in _leaf_commands(root):
        with cmd.make_context(" ".join(("adsgen", *path)), [], resilient_parsing=True) as ctx:
            ctx.terminal_width = ctx.max_content_width = 80
            text = cmd.get_help(ctx)
        pages += 1
        where = " ".join(path)
        assert not re.search(r"<(int|float|str|path|file|dir|bool|list\[[^>]*\])>", text), (where, text)
        for param in cmd.params:  # every option's full name is shown, however long, and flags take no value
            if param.param_type_name != "option":
                assert param.metavar in text, (where, param.name)  # NAME, or the command's own metavar
                continue
            for opt in param.opts:
                assert opt in text, (where, opt)
            if getattr(param, "is_flag", False) and param.opts[0] != "--help":
                assert not re.search(re.escape(param.opts[0]) + r" [A-Z<]", text), (where, param.opts[0])
    assert pages > 30
    generate = root.commands["generate"]
    with generate.make_context("adsgen generate", [], resilient_parsing=True) as ctx:
        text = generate.get_help(ctx)
    for shown in ("--cbn DIR", "--seeds DIR", "--budget N", "--ttc-threshold FLOAT", "--out DIR"):
        assert shown in text, shown
    query = root.commands["cbn"].commands["query"]
    with query.make_context("adsgen cbn query", [], resilient_parsing=True) as ctx:
        assert "MODEL_DIR" in query.get_help(ctx)


def test_json_is_one_option_everywhere_file_or_stdout():
    """--json FILE with '-' for standard output, the same words on every command that has it; the commands
    that produce results have it."""
    from adsgen.cli import command

    root = command()
    with_json = {}
    for path, cmd in _leaf_commands(root):
        for param in cmd.params:
            if "--json" in getattr(param, "opts", []):
                with_json[" ".join(path)] = param
    for name, param in with_json.items():
        if name.startswith(("drivelm", "carla", "bench vlm")):
            continue  # the VLM and CARLA areas' commands: not converted yet
        assert not param.is_flag and param.metavar == "FILE", name
        assert "'-' for standard output" in param.help, name
    for name in ("simulate", "generate", "report", "replay", "export", "cbn learn", "cbn query", "campaign run",
                 "campaign status", "campaign export", "data inspect", "doctor", "bench sim", "bench campaign"):
        assert name in with_json, name


def test_json_to_stdout_is_clean_json(cli, tmp_path):
    from adsgen.paths import SEEDS_DIR

    code, out, err = cli(["simulate", SEEDS_DIR / "cut_in.yaml", "--no-judge", "--json", "-"])
    assert code == 0, err
    result = json.loads(out)  # nothing but the JSON on standard output
    assert "termination" in result and "cut_in" in err  # the human summary went to standard error
    code, _, err = cli(["simulate", SEEDS_DIR / "cut_in.yaml", "--json", tmp_path / "missing" / "r.json"])
    assert code == 2 and "--json" in err  # a bad target is refused before the run


def test_generate_and_report_write_their_results_as_json(cli, tmp_path):
    """generate --json - prints its record alone on standard output; report --json FILE lists each worst run
    with the replay command the page shows."""
    import html
    import re

    from adsgen.paths import SEEDS_DIR

    code, out, err = cli(["generate", "--seeds", SEEDS_DIR, "--budget", 60, "--method", "random", "--no-xosc",
                          "--out", tmp_path / "gen", "--json", "-"])
    assert code == 0, err
    record = json.loads(out)
    assert record["runs"] == 60 and record["method"] == "random" and "writing scenario files" in err
    db = record["outputs"]["runs"]
    code, _, err = cli(["report", db, "--out", tmp_path / "rep", "--worst", 2, "--no-keyframes",
                        "--json", tmp_path / "rep.json"])
    assert code == 0, err
    rep = json.loads((tmp_path / "rep.json").read_text())
    page = html.unescape((tmp_path / "rep" / "index.html").read_text())
    assert rep["runs"] > 0 and rep["counts"]["done"] == rep["runs"]  # a search stores finished runs only
    assert [w["replay"] for w in rep["worst"]] == re.findall(r"<code>(adsgen replay [^<]+)</code>", page)
    assert all(w["finding"] for w in rep["worst"]) and rep["page"].endswith("index.html")
