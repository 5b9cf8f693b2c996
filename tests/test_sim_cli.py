"""adsgen simulate / adsgen bench sim."""

from __future__ import annotations

import json

import pytest
import yaml

from adsgen.paths import SEEDS_DIR


def test_simulate_prints_and_writes_run_result_json(cli, tmp_path):
    out = tmp_path / "r.json"
    code, stdout, _ = cli(["simulate", SEEDS_DIR / "straight_crossing_path.yaml", "--seed", "3", "--json", out])
    assert code == 0 and "collision" in stdout and "crosser" in stdout
    d = json.loads(out.read_text())
    assert d["termination"] == "collision" and d["collision_partner"] == "crosser" and d["seed"] == 3
    for key in ("duration_s", "impact_speed_mps", "collision_time_s", "min_ttc_s", "min_distance_m", "pet_s"):
        assert key in d
    assert d["provenance"]["scenario_fingerprint"].startswith("sha256:")


@pytest.mark.parametrize(("seed_file", "fail_on", "expected"), [
    ("straight_crossing_path.yaml", None, 0),             # a collision, but no --fail-on: exit 0
    ("straight_crossing_path.yaml", "collision", 1),
    ("straight_crossing_path.yaml", "near-miss", 1),      # a collision is at least a near miss
    ("cut_in.yaml", None, 0),                             # issue 18's bar: the nominal cut-in is a collision of
    ("cut_in.yaml", "collision", 1),                      # the default agent: exit 1 only with --fail-on
    ("cut_in.yaml", "near-miss", 1),
    ("pedestrian_crossing.yaml", "near-miss", 0),         # the nominal pedestrian crossing is safe
])
def test_simulate_fail_on_sets_the_exit_code(cli, seed_file, fail_on, expected):
    argv = ["simulate", SEEDS_DIR / seed_file, "--no-judge"] + (["--fail-on", fail_on] if fail_on else [])
    code, stdout, _ = cli(argv)
    assert code == expected
    first = stdout.splitlines()[0]
    assert first.split(": ", 1)[1] in ("collision", "near miss", "safe")  # the finding comes first
    assert ("meets it (exit 1)" in stdout) == (expected == 1)


def test_simulate_fail_on_valid_failure_uses_the_judge(cli):
    code, stdout, _ = cli(["simulate", SEEDS_DIR / "cut_in.yaml", "--fail-on", "valid-failure"])
    assert stdout.splitlines()[0] == "cut_in_nominal: valid failure (collision)" and code == 1
    code, stdout, _ = cli(["simulate", SEEDS_DIR / "pedestrian_crossing.yaml", "--fail-on", "valid-failure"])
    assert stdout.splitlines()[0] == "pedestrian_crossing_nominal: safe" and code == 0


def test_simulate_bad_file_exits_2_with_field_path(cli, tmp_path):
    data = yaml.safe_load((SEEDS_DIR / "cut_in.yaml").read_text())["scenario"]
    data["actors"][0]["manoeuvre"]["trigger"]["value"] = "soon"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    code, _, err = cli(["simulate", bad])
    assert code == 2 and "actors[0].manoeuvre.trigger.value" in err and "Traceback" not in err


def test_simulate_unknown_agent_and_backend(cli):
    code, _, err = cli(["simulate", SEEDS_DIR / "cut_in.yaml", "--agent", "nobody"])
    assert code == 2 and "unknown agent" in err
    code, _, err = cli(["simulate", SEEDS_DIR / "cut_in.yaml", "--backend", "nowhere"])
    assert code == 2 and "unknown backend" in err


@pytest.mark.slow
def test_bench_sim_reports_figures(cli, tmp_path):
    out = tmp_path / "b.json"
    code, stdout, _ = cli(["bench", "sim", "--json", out, "--batch", "100", "--loop-scenarios", "5", "--repeats", "1"])
    assert code == 0
    d = json.loads(out.read_text())
    assert d["rollouts_per_s"] > 0 and d["loop_rollouts_per_s"] > 0
    assert d["speedup_vs_loop"] == pytest.approx(d["rollouts_per_s"] / d["loop_rollouts_per_s"], abs=0.1)
    assert "render_ms" in d and d["batch"] == 100 and d["horizon_s"] == 10.0


@pytest.mark.parametrize(("argv", "message"), [
    (["no-such-command"], "No such command 'no-such-command'"),
    (["simulate"], "Missing argument"),
    (["simulate", "x.yaml", "--no-such-option"], "No such option: --no-such-option"),
])
def test_usage_errors_are_one_message_and_exit_2_not_a_traceback(cli, argv, message):
    code, _, err = cli(argv)
    assert code == 2 and message in err and "Traceback" not in err
