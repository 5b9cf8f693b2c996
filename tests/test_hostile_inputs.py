"""Hostile and careless inputs, run as a user would (the CLI in-process): each is refused with one line on
stderr, exit code 2, no traceback, and nothing written, run or lost. Issue 16."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from adsgen.paths import SEEDS_DIR


def one_line_refusal(code: int, out: str, err: str) -> str:
    """Assert the shape of a refusal (exit 2, one line, no traceback) and return the line."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, (code, out, err)
    assert "Traceback" not in err + out, err
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    """One shipped seed x 2 simulation seeds on the builtin engine against the IDM agent."""
    from adsgen.cli import main

    tmp = tmp_path_factory.mktemp("hostile")
    scen = tmp / "scen"
    scen.mkdir()
    shutil.copy(SEEDS_DIR / "lead_vehicle_braking.yaml", scen)
    db = tmp / "small.db"
    assert main(["campaign", "run", str(scen), "--db", str(db), "--seeds", "2", "--executor", "inline",
                 "--no-progress"]) == 0
    return db


def _plant_os_system(db: Path, tmp_path: Path, column: str) -> tuple[Path, Path]:
    """A copy of DB whose runs name os:system as backend (or agent), with an option that creates a marker."""
    bad = tmp_path / "shared.db"
    shutil.copy(db, bad)
    marker = tmp_path / "pwned"
    conn = sqlite3.connect(bad)
    conn.execute(f"UPDATE runs SET {column} = 'os:system'")
    for sid, cfg in conn.execute("SELECT id, config_json FROM sessions").fetchall():
        cfg = json.loads(cfg)
        cfg["backend_options"] = {"command": f"touch {marker}"}
        conn.execute("UPDATE sessions SET config_json = ? WHERE id = ?", (json.dumps(cfg), sid))
    conn.commit()
    conn.close()
    return bad, marker


def test_stored_import_path_runs_nothing_under_replay_or_report(cli, small_db, tmp_path):
    bad, marker = _plant_os_system(small_db, tmp_path, "backend")
    line = one_line_refusal(*cli(["replay", bad, "1"]))
    assert "'os:system'" in line and "--trust-imports" in line
    code, _, err = cli(["report", bad, "--out", tmp_path / "report", "--worst", "2"])
    assert code == 0, err
    assert "is an import path" in (tmp_path / "report" / "index.html").read_text()
    assert not marker.exists()
    # the control: trusting the database does import and call os.system (so the refusal above is what saved us)
    cli(["replay", bad, "1", "--trust-imports"])
    assert marker.exists()


def test_stored_agent_import_path_runs_nothing(cli, small_db, tmp_path):
    bad, marker = _plant_os_system(small_db, tmp_path, "agent")
    line = one_line_refusal(*cli(["replay", bad, "2", "--backend", "os:system"]))
    assert "stored agent 'os:system'" in line
    assert not marker.exists()


def test_planted_checkpoint_pickle_runs_nothing(tmp_path):
    torch = pytest.importorskip("torch")
    from adsgen.drivelm.vlm.train import STATE_FILE, read_trainer_state
    from adsgen.errors import InputError

    marker = tmp_path / "pwned"

    class Planted:
        def __reduce__(self):
            import os
            return (os.system, (f"touch {marker}",))

    ckpt = tmp_path / "adapter" / "checkpoint"
    ckpt.mkdir(parents=True)
    torch.save({"optimizer": Planted(), "step": 1}, ckpt / STATE_FILE)
    with pytest.raises(InputError, match="not a trainer state written by adsgen"):
        read_trainer_state(ckpt / STATE_FILE)
    assert not marker.exists()
    # the control: a real optimizer state with its counters loads
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=1e-3)
    torch.save({"optimizer": opt.state_dict(), "step": 3, "epoch": 0, "batch_in_epoch": 1, "loss": 0.5},
               ckpt / STATE_FILE)
    assert read_trainer_state(ckpt / STATE_FILE)["step"] == 3


def test_adapter_folder_without_safetensors_is_one_error(tmp_path):
    from adsgen.drivelm.vlm.adapters import check_adapter_files
    from adsgen.errors import InputError

    folder = tmp_path / "runs" / "x"
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text("{}")
    (folder / "adapter_model.bin").write_bytes(b"\x80\x04N.")
    with pytest.raises(InputError, match="no adapter_model.safetensors .adapter_model.bin is not loaded"):
        check_adapter_files(folder)


def test_no_unsafe_torch_load_in_the_code():
    root = Path(__file__).resolve().parents[1]
    hits = [p for d in ("adsgen", "carla_bridge") for p in (root / d).rglob("*.py")
            if "weights_only=False" in p.read_text()]
    assert hits == []


class _OneAnswerServer:
    """A local TCP server that answers every connection with fixed bytes (after reading what the client sends,
    unless it greets first, as SSH does); close() stops it."""

    def __init__(self, answer: bytes | None, greet: bool = False):
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.answer, self.greet = answer, greet
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(3.0)
                try:
                    if self.greet and self.answer:
                        conn.sendall(self.answer)
                    data = conn.recv(4096)
                    if self.answer is None:
                        conn.recv(4096)  # silent: hold the connection until the client gives up
                    elif not self.greet and data:
                        conn.sendall(self.answer)
                except OSError:
                    pass

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("answer, greet, expected", [
    (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", False, "does not speak CARLA's RPC protocol"),
    (b"SSH-2.0-OpenSSH_9.6\r\n", True, "does not speak CARLA's RPC protocol"),
])
def test_carla_check_on_a_foreign_port_is_one_line_in_seconds(tmp_path, answer, greet, expected):
    pytest.importorskip("carla")
    import os
    import subprocess
    import sys
    import time

    server = _OneAnswerServer(answer, greet)
    try:
        t0 = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "adsgen", "carla", "check", "--host",
                               f"127.0.0.1:{server.port}", "--no-run"], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
        wall = time.monotonic() - t0
    finally:
        server.close()
    line = one_line_refusal(proc.returncode, proc.stdout, proc.stderr)
    assert expected in line and answer[:8].decode() in line
    assert wall < 15.0


def test_rpc_probe_reads_a_carla_version_answer():
    msgpack = pytest.importorskip("msgpack")
    from adsgen.errors import BackendError
    from carla_bridge.probe import _MSGID, probe_rpc

    good = _OneAnswerServer(msgpack.packb([1, _MSGID, None, "0.9.16"]))
    silent = _OneAnswerServer(None)
    try:
        assert probe_rpc("127.0.0.1", good.port) == "0.9.16"
        with pytest.raises(BackendError, match="did not answer CARLA's RPC handshake within 0.5 s"):
            probe_rpc("127.0.0.1", silent.port, timeout_s=0.5)
    finally:
        good.close()
        silent.close()


def _synth(cli, out: Path, rows: int = 200) -> None:
    code, _, err = cli(["data", "synth", "--rows", rows, "--format", "montgomery", "--out", out, "--no-progress"])
    assert code == 0, err


def test_data_convert_onto_its_input_is_refused_and_leaves_it(cli, tmp_path):
    raw = tmp_path / "raw.csv"
    _synth(cli, raw)
    before = raw.read_bytes()
    line = one_line_refusal(*cli(["data", "convert", raw, "--out", raw, "--no-progress"]))
    assert "that is the input" in line
    via_link = tmp_path / "sub"
    via_link.mkdir()
    line = one_line_refusal(*cli(["data", "convert", raw, "--out", via_link / ".." / "raw.csv", "--no-progress"]))
    assert raw.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw.csv", "sub"]  # nothing else written


@pytest.mark.parametrize("argv", [
    ["data", "synth", "--rows", "10", "--out", "{dir}", "--no-progress"],
    ["data", "convert", "{raw}", "--out", "{dir}", "--no-progress"],
    ["data", "convert", "{raw}", "--out", "{missing}/x.csv", "--no-progress"],
])
def test_output_that_is_a_folder_or_in_no_folder_is_one_line(cli, tmp_path, argv):
    raw = tmp_path / "raw.csv"
    _synth(cli, raw, 50)
    (tmp_path / "dir").mkdir()
    subs = {"dir": tmp_path / "dir", "raw": raw, "missing": tmp_path / "missing"}
    line = one_line_refusal(*cli([a.format(**subs) for a in argv]))
    assert str(tmp_path) in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "raw.csv"] and not any((tmp_path / "dir").iterdir())


def test_drivelm_convert_onto_its_input_keeps_the_answers(cli, tmp_path):
    from adsgen.drivelm.challenge.testset import make_eval_file  # noqa: F401  (the area is importable)

    nested = tmp_path / "test.json"
    nested.write_text(json.dumps({"s1": {"scene_description": "", "key_frames": {"f1": {
        "key_object_infos": {}, "image_paths": {"CAM_FRONT": "x.jpg"},
        "QA": {"perception": [{"Q": "What is ahead?", "A": "A car.", "C": None, "con_up": [], "con_down": [],
                               "cluster": [], "layer": None, "tag": [0]}],
               "prediction": [], "planning": [], "behavior": []}}}}}))
    before = nested.read_bytes()
    line = one_line_refusal(*cli(["drivelm", "convert", "nested-to-questions", nested, "--out", nested]))
    assert "that is the input" in line and nested.read_bytes() == before
    line = one_line_refusal(*cli(["drivelm", "submit", nested, "--questions", nested, "--out", tmp_path,
                                  "--team", "t", "--method", "m"]))
    assert "is a folder" in line and sorted(p.name for p in tmp_path.iterdir()) == ["test.json"]


_SLOW_LOG = '''
import os, time
from fakesim import FakeBackend

class SlowLogBackend(FakeBackend):
    """Logs every run it executes (pid, agent, scenario, seed), then takes 0.15 s per run."""
    def run(self, scenarios, agent, seed=0, **kw):
        with open(self.options["log"], "a") as fh:
            for s in scenarios:
                fh.write(f"{os.getpid()} {agent.name} {s.name} {seed}\\n")
        time.sleep(0.15 * len(scenarios))
        return super().run(scenarios, agent, seed, **kw)
'''


def test_two_campaign_runs_started_together_never_run_a_run_twice(tmp_path):
    import os
    import subprocess
    import sys

    fixtures = Path(__file__).parent / "fixtures" / "campaign"
    sys.path.insert(0, str(fixtures))
    from fakesim import write_scenarios

    scen = write_scenarios(tmp_path / "scen", 4)
    (tmp_path / "slowlog.py").write_text(_SLOW_LOG)
    log, db = tmp_path / "runs.log", tmp_path / "c.db"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), str(fixtures),
                                                        str(tmp_path)])}

    def both(seeds: int) -> list[subprocess.CompletedProcess]:
        argv = [sys.executable, "-m", "adsgen", "campaign", "run", str(scen), "--db", str(db), "--seeds", str(seeds),
                "--agent", "fakesim:FakeAgent", "--backend", "slowlog:SlowLogBackend", "--backend-opt", f"log={log}",
                "--executor", "inline", "--no-progress", "--extend"]
        procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for _ in range(2)]
        return [subprocess.CompletedProcess(p.args, p.wait(timeout=120), *p.communicate()) for p in procs]

    for seeds in (2, 3):  # on a new database, then on an existing one with runs added
        done = both(seeds)
        assert sorted(p.returncode for p in done)[0] == 0, [p.stderr for p in done]
        for p in done:
            if p.returncode:
                assert "the campaign is being run by " in one_line_refusal(p.returncode, p.stdout, p.stderr)
        # the agent under test's runs only: the judge re-runs high-risk ones with the reference drivers
        lines = [ln.split(maxsplit=2)[2] for ln in log.read_text().splitlines() if ln.split()[1] == "fake"]
        assert len(lines) == len(set(lines)) == 4 * seeds  # every run executed exactly once
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'done'").fetchone()[0] == 12
    conn.close()


def _scenario_text() -> str:
    from adsgen.scenario.io import dump_yaml, load_scenario

    return dump_yaml(load_scenario(SEEDS_DIR / "lead_vehicle_braking.yaml"))


@pytest.mark.parametrize("name, make, expected", [
    ("latin1", lambda t: t.replace("name: ", "name: caf\xe9 ", 1).encode("latin-1"), "not UTF-8 text (byte 0xe9)"),
    ("deep", lambda t: (t + "deep: " + "[" * 100_000 + "]" * 100_000 + "\n").encode(), "nested too deeply"),
    ("inf", lambda t: re_sub(r"start_s_m: [0-9.]+", "start_s_m: .inf", t).encode(), "finite number"),
    ("dupkey", lambda t: (t + "horizon_s: 5.0\n").encode(), "duplicate key 'horizon_s'"),
    ("bigint", lambda t: re_sub(r"horizon_s: [0-9.]+", "horizon_s: " + "9" * 5000, t).encode(), "digits"),
])
@pytest.mark.parametrize("command", ["simulate", "export", "campaign", "qa"])
def test_hostile_scenario_files_are_one_line(cli, tmp_path, name, make, expected, command):
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(make(_scenario_text()))
    argv = {"simulate": ["simulate", path], "export": ["export", path, "--out", tmp_path / "xosc"],
            "campaign": ["campaign", "run", path, "--db", tmp_path / "c.db", "--executor", "inline", "--no-progress"],
            "qa": ["drivelm", "qa", path, "--out", tmp_path / "qa"]}[command]
    line = one_line_refusal(*cli(argv))
    assert str(path) in line and expected in line
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def re_sub(pattern: str, repl: str, text: str) -> str:
    import re

    out, n = re.subn(pattern, repl, text, count=1)
    assert n == 1, pattern
    return out


def _corrupt_middle(src: Path, dst: Path) -> None:
    data = bytearray(src.read_bytes())
    page = 4096
    assert len(data) >= 3 * page
    data[page: 2 * page] = b"\xa5" * page  # a whole page in the middle overwritten
    dst.write_bytes(bytes(data))


def test_damaged_or_strange_campaign_databases_are_one_line(cli, small_db, tmp_path):
    import os

    conn = sqlite3.connect(small_db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    middle = tmp_path / "middle.db"
    _corrupt_middle(small_db, middle)
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(small_db.read_bytes()[:5000])
    fifo = tmp_path / "fifo.db"
    os.mkfifo(fifo)
    for db, expected in ((middle, "damaged"), (truncated, "restore it from a copy"), (fifo, "not a regular file")):
        for argv in (["campaign", "status", db], ["campaign", "export", db, "--out", tmp_path / "r.csv"],
                     ["report", db, "--out", tmp_path / "rep", "--no-keyframes"]):
            line = one_line_refusal(*cli(argv))
            assert str(db) in line and expected in line, line
    assert not (tmp_path / "r.csv").exists() and not (tmp_path / "rep").exists()


def test_campaign_outputs_checked_before_anything_runs(cli, small_db, tmp_path):
    scen = small_db.parent / "scen"
    db = tmp_path / "new.db"
    line = one_line_refusal(*cli(["campaign", "run", scen, "--db", db, "--executor", "inline", "--no-progress",
                                  "--json", tmp_path / "nonexistent" / "x.json"]))
    assert "does not exist" in line and not db.exists()
    line = one_line_refusal(*cli(["report", small_db, "--out", tmp_path / "r", "--worst", "-5"]))
    assert "--worst -5" in line
    (tmp_path / "afile").write_text("keep")
    line = one_line_refusal(*cli(["report", small_db, "--out", tmp_path / "afile"]))
    assert "is a file, expected a folder" in line and (tmp_path / "afile").read_text() == "keep"
    line = one_line_refusal(*cli(["replay", small_db, "1", "--render", tmp_path / "afile"]))
    line = one_line_refusal(*cli(["campaign", "export", small_db, "--out", tmp_path]))
    assert "is a folder" in line
    line = one_line_refusal(*cli(["campaign", "run", scen, "--db", db, "--executor", "inline", "--no-progress",
                                  "--agent", "os:system"]))
    assert "os:system" in line and not db.exists()


def test_simulate_json_in_a_missing_folder_creates_nothing(cli, tmp_path):
    line = one_line_refusal(*cli(["simulate", SEEDS_DIR / "cut_in.yaml", "--json", tmp_path / "no" / "where" / "x.json"]))
    assert "does not exist" in line and list(tmp_path.iterdir()) == []


def test_control_characters_in_names_stay_out_of_junit_and_the_terminal(cli, small_db, tmp_path):
    import xml.etree.ElementTree as ET

    bad = tmp_path / "names.db"
    shutil.copy(small_db, bad)
    conn = sqlite3.connect(bad)
    conn.execute("UPDATE scenarios SET name = ?", ("evil\x1b[31m\x00\x07name",))
    conn.commit()
    conn.close()
    code, _, err = cli(["campaign", "export", bad, "--out", tmp_path / "r.xml"])
    assert code == 0, err
    names = [c.get("name") for c in ET.parse(tmp_path / "r.xml").getroot().iter("testcase")]
    assert names and all(n.startswith("evil\\x1b[31m\\x00\\x07name") for n in names)


def test_a_dollar_in_a_curve_method_name_is_drawn_as_text(cli, small_db, tmp_path):
    curve = tmp_path / "run.json"
    curve.write_text(json.dumps({"method": "$\\x$", "curve": [{"iteration": 0, "runs": 1, "distinct_high_risk": 0},
                                                              {"iteration": 1, "runs": 2, "distinct_high_risk": 1}]}))
    code, _, err = cli(["report", small_db, "--out", tmp_path / "rep", "--curve", curve, "--no-keyframes"])
    assert code == 0, err


_KILLER = '''
import os
from fakesim import FakeBackend

class KillerBackend(FakeBackend):
    """Ends the whole process (as a segfaulting simulator would) on scenario s001."""
    def run(self, scenarios, agent, seed=0, **kw):
        if any(s.name == "s001" for s in scenarios):
            os._exit(139)
        return super().run(scenarios, agent, seed, **kw)
'''


def _campaign_env(tmp_path: Path) -> tuple[dict, Path]:
    import os
    import sys

    fixtures = Path(__file__).parent / "fixtures" / "campaign"
    sys.path.insert(0, str(fixtures))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), str(fixtures),
                                                        str(tmp_path)])}
    return env, fixtures


def test_inline_run_that_kills_the_process_is_bounded_by_the_retry_cap(tmp_path):
    import subprocess
    import sys

    env, _ = _campaign_env(tmp_path)
    from fakesim import write_scenarios

    scen = write_scenarios(tmp_path / "scen", 3)
    (tmp_path / "killer.py").write_text(_KILLER)
    db = tmp_path / "k.db"
    argv = [sys.executable, "-m", "adsgen", "campaign", "run", str(scen), "--db", str(db), "--agent",
            "fakesim:FakeAgent", "--backend", "killer:KillerBackend", "--executor", "inline", "--retries", "1",
            "--no-progress"]
    codes = [subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120).returncode for _ in range(3)]
    assert codes == [139, 139, 0]  # two attempts (retries 1) die; the third command stores it failed and ends
    conn = sqlite3.connect(db)
    rows = dict(conn.execute("SELECT s.name, r.status FROM runs r JOIN scenarios s ON s.hash = r.scenario_hash"))
    error = conn.execute("SELECT error FROM runs WHERE status = 'failed'").fetchone()[0]
    conn.close()
    assert rows == {"s000": "done", "s001": "failed", "s002": "done"} and error.startswith("ProcessDied")


def test_resume_with_another_plan_says_what_differs(cli, small_db, tmp_path):
    db = tmp_path / "resume.db"
    shutil.copy(small_db, db)
    scen = small_db.parent / "scen"
    line = one_line_refusal(*cli(["campaign", "run", scen, "--db", db, "--seeds", "3", "--executor", "inline",
                                  "--no-progress"]))
    assert "1 run(s) not in the database (new seeds: 2)" in line and "--extend" in line
    line = one_line_refusal(*cli(["campaign", "run", SEEDS_DIR / "cut_in.yaml", "--db", db, "--seeds", "2",
                                  "--executor", "inline", "--no-progress"]))
    assert "new scenarios: " in line and "2 stored run(s) this command does not name" in line
    code, out, err = cli(["campaign", "run", scen, "--db", db, "--seeds", "3", "--executor", "inline",
                          "--no-progress", "--extend"])
    assert code == 0 and "(1 finished now, 1 new in the store" in out, err


def _limited(limit_bytes: int):
    """preexec_fn: files may grow to LIMIT_BYTES (beyond, writes fail with EFBIG, as on a full disk)."""
    def apply():
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return apply


def test_a_full_disk_is_one_line_and_leaves_no_half_file(tmp_path):
    import subprocess
    import sys

    env, _ = _campaign_env(tmp_path)
    out = tmp_path / "big.csv"
    proc = subprocess.run([sys.executable, "-m", "adsgen", "data", "synth", "--rows", "50000", "--out", str(out),
                           "--no-progress"], capture_output=True, text=True, env=env, timeout=120,
                          preexec_fn=_limited(64 * 1024))
    line = one_line_refusal(proc.returncode, proc.stdout, proc.stderr)
    assert "File too large; free some space and rerun" in line and list(tmp_path.iterdir()) == []
    from fakesim import write_scenarios

    scen = write_scenarios(tmp_path / "scen", 40)
    db = tmp_path / "full.db"
    argv = [sys.executable, "-m", "adsgen", "campaign", "run", str(scen), "--db", str(db), "--agent",
            "fakesim:FakeAgent", "--backend", "fakesim:FakeBackend", "--executor", "inline", "--seeds", "20",
            "--no-progress"]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, preexec_fn=_limited(160 * 1024))
    line = one_line_refusal(proc.returncode, proc.stdout, proc.stderr)
    assert "rerun the same command to resume" in line
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)  # room again: it resumes
    assert proc.returncode == 0, proc.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'done'").fetchone()[0] == 800
    conn.close()


@pytest.mark.parametrize("argv", [
    ["drivelm", "train", "{data}", "--base", "tiny", "--out", "{file}"],
    ["drivelm", "predict", "{data}", "--base", "tiny", "--out", "{dir}"],
    ["drivelm", "predict", "{data}", "--base", "tiny", "--out", "{data}"],
    ["drivelm", "qa", "{data}", "--out", "{file}"],
])
def test_drivelm_outputs_that_are_the_wrong_kind_are_one_line(cli, tmp_path, argv):
    data, file, folder = tmp_path / "q.json", tmp_path / "f.txt", tmp_path / "d"
    data.write_text("[]")
    file.write_text("keep")
    folder.mkdir()
    line = one_line_refusal(*cli([a.format(data=data, file=file, dir=folder) for a in argv]))
    assert "--out" in line
    assert data.read_text() == "[]" and file.read_text() == "keep" and list(folder.iterdir()) == []


def test_a_usage_error_is_one_line(cli):
    line = one_line_refusal(*cli(["simulate", "x.yaml", "--no-such-option"]))
    assert "No such option: --no-such-option" in line and "adsgen simulate --help" in line


@pytest.mark.parametrize("text, expected", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"x": ' + "7" * 5000 + "}", "digits"),
])
def test_hostile_json_is_one_line(cli, tmp_path, text, expected):
    path = tmp_path / "q.json"
    path.write_text(text)
    for argv in (["drivelm", "validate", path], ["drivelm", "convert", "nested-to-questions", path, "--out",
                                                 tmp_path / "o.json"],
                 ["report", SEEDS_DIR / "x.db", "--out", tmp_path / "r", "--curve", path]):
        line = one_line_refusal(*cli(argv))
        assert str(path) in line or "x.db" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["q.json"]


def test_adapter_card_with_wrong_types_is_one_error(tmp_path):
    from adsgen.drivelm.vlm.adapters import CARD_FILE, read_card
    from adsgen.errors import InputError

    (tmp_path / CARD_FILE).write_text(json.dumps({"base_path": 3, "base_family": "llava", "base_fingerprint": "x",
                                                  "options": {}}))
    with pytest.raises(InputError, match="field 'base_path' is int, expected str"):
        read_card(tmp_path)


def test_a_scenario_name_of_100k_characters_is_one_line_in_export(cli, tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text(re_sub(r"name: [^\n]+", "name: " + "n" * 100_000, _scenario_text()))
    code, out, err = cli(["export", path, "--out", tmp_path / "xosc"])
    if code == 0:  # written under a shortened file name: fine, as long as nothing is a traceback
        assert "Traceback" not in err
    else:
        one_line_refusal(code, out, err)
        assert len(err) < 2000


def test_a_campaign_on_a_foreign_port_stores_backend_faults_not_a_crash(tmp_path):
    pytest.importorskip("carla")
    import subprocess
    import sys

    env, _ = _campaign_env(tmp_path)
    from fakesim import write_scenarios

    scen = write_scenarios(tmp_path / "scen", 1)
    db = tmp_path / "c.db"
    server = _OneAnswerServer(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    try:
        proc = subprocess.run([sys.executable, "-m", "adsgen", "campaign", "run", str(scen), "--db", str(db),
                               "--backend", "carla", "--carla-hosts", f"127.0.0.1:{server.port}", "--executor",
                               "inline", "--retries", "1", "--backoff-s", "0.05", "--no-progress"],
                              capture_output=True, text=True, env=env, timeout=120)
    finally:
        server.close()
    assert proc.returncode == 0, proc.stderr
    conn = sqlite3.connect(db)
    status, attempts, error = conn.execute("SELECT status, attempts, error FROM runs").fetchone()
    conn.close()
    assert (status, attempts) == ("failed", 2) and "does not speak CARLA's RPC protocol" in error


def test_a_gzip_bomb_is_refused_by_its_expansion(cli, tmp_path, monkeypatch):
    import gzip

    from adsgen.crashdata import compression

    monkeypatch.setattr(compression, "MIN_EXPANDED_BYTES", 1024 * 1024)  # the default is 256 MiB
    bomb = tmp_path / "crashes.csv.gz"
    bomb.write_bytes(gzip.compress(b"REPORT_NO,LIGHT\n" + b"1,DAYLIGHT\n" * 400_000))
    assert max(bomb.stat().st_size * compression.MAX_EXPANSION, 1024 * 1024) < 4_400_000
    line = one_line_refusal(*cli(["data", "inspect", bomb]))
    assert str(bomb) in line and "expands to more than" in line
    # the control: the same rows in a file that may expand that much are read
    monkeypatch.setattr(compression, "MIN_EXPANDED_BYTES", 8 * 1024 * 1024)  # over the 4.4 MB it expands to
    assert "expands to more" not in cli(["data", "inspect", bomb])[2]


def test_a_duplicated_csv_column_is_refused_with_its_name(cli, tmp_path):
    raw = tmp_path / "raw.csv"
    _synth(cli, raw, 50)
    lines = raw.read_text().splitlines()
    first = lines[0].split(",")[0]
    dup = tmp_path / "dup.csv"
    dup.write_text("\n".join([lines[0] + "," + first.lower()] + [ln + ",x" for ln in lines[1:]]) + "\n")
    line = one_line_refusal(*cli(["data", "inspect", dup]))
    assert f"'{first.lower()}' twice" in line


def test_a_nul_byte_in_a_crash_table_is_reported_with_its_line(cli, tmp_path):
    raw = tmp_path / "raw.csv"
    _synth(cli, raw, 300)
    lines = raw.read_bytes().split(b"\n")
    lines[200] = lines[200][:5] + b"\x00" + lines[200][5:]
    bad = tmp_path / "nul.csv"
    bad.write_bytes(b"\n".join(lines))
    line = one_line_refusal(*cli(["data", "convert", bad, "--out", tmp_path / "c.csv", "--no-progress"]))
    assert "line 201: a NUL byte" in line and not (tmp_path / "c.csv").exists()


def test_control_characters_from_a_database_never_reach_the_terminal(cli, small_db, tmp_path):
    bad = tmp_path / "errors.db"
    shutil.copy(small_db, bad)
    conn = sqlite3.connect(bad)
    conn.execute("UPDATE runs SET status = 'failed', error = ? WHERE id = 1", ("Boom [bold]\x1b]0;pwned\x07\nx",))
    conn.execute("UPDATE scenarios SET name = ?", ("evil\x1b[2J",))
    conn.commit()
    conn.close()
    code, out, err = cli(["campaign", "status", bad])
    assert code == 0, err
    assert "\x1b" not in out and "\x07" not in out and "1 x Boom [bold]\\x1b]0;pwned\\x07" in out
    code, out, err = cli(["replay", bad, "2"])
    assert "\x1b" not in out + err and "evil\\x1b[2J" in out


def test_a_database_on_a_read_only_mount_is_read(small_db, tmp_path):
    import shutil as sh
    import subprocess
    import sys

    if sh.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("needs unshare -m (a mount namespace) to make a read-only mount")
    src, mnt = tmp_path / "src", tmp_path / "ro"
    src.mkdir()
    mnt.mkdir()
    shutil.copy(small_db, src / "c.db")  # a WAL database without its -shm file, as a copy is
    env, _ = _campaign_env(tmp_path)
    adsgen = f"{sys.executable} -m adsgen"
    script = (f"mount --bind {src} {mnt} && mount -o remount,bind,ro {mnt} && "
              f"{adsgen} campaign status {mnt}/c.db --json - > {tmp_path}/status.json && "
              f"{adsgen} campaign export {mnt}/c.db --out {tmp_path}/runs.csv && "
              f"{adsgen} report {mnt}/c.db --out {tmp_path}/report --no-keyframes")
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env, timeout=120)
    if "mount:" in proc.stderr:
        pytest.skip(f"cannot mount here: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "status.json").read_text())["total"] == 2
    assert (tmp_path / "runs.csv").read_text().count("\n") == 3 and (tmp_path / "report" / "index.html").exists()
    assert sorted(p.name for p in src.iterdir()) == ["c.db"]  # nothing written beside it


def _canonical_table(path: Path, rows: int = 400) -> Path:
    from adsgen.crashdata.synth import synthesize

    synthesize(rows, "canonical", 0, path)
    return path


def test_cbn_learn_with_a_column_outside_the_tiers_learns_it(cli, tmp_path):
    import pandas as pd

    table = _canonical_table(tmp_path / "c.csv")
    df = pd.read_csv(table)
    df["road_owner"] = ["county" if i % 3 else "state" for i in range(len(df))]
    df.to_csv(table, index=False)
    code, _, err = cli(["cbn", "learn", table, "--out", tmp_path / "m"])
    assert code == 0, err
    assert "road_owner" in (tmp_path / "m" / "model.bif").read_text()


@pytest.mark.parametrize("graph, says", [('[["light", "weather"], ["weather", "light"]]', "has a cycle"),
                                         ('"light"', "got str"), ('{"edges": 5}', "got int")])
def test_cbn_learn_known_graph_bad_shapes_are_one_line(cli, tmp_path, graph, says):
    table = _canonical_table(tmp_path / "c.csv")
    (tmp_path / "g.json").write_text(graph)
    code, out, err = cli(["cbn", "learn", table, "--out", tmp_path / "m", "--known-graph", tmp_path / "g.json",
                          "--no-pc"])
    assert says in one_line_refusal(code, out, err)
    assert not (tmp_path / "m").exists()
