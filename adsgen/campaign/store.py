"""The campaign results store: one SQLite file (WAL) holding a campaign's scenarios, runs and outcomes.

Identity: ``PRAGMA application_id`` is ``APPLICATION_ID`` ('ADSC') and ``PRAGMA user_version`` the schema
version. A file that is not SQLite, a SQLite database of another tool, or one written by a newer schema is
refused with an ``InputError`` *before* anything is written (the header is read as bytes, so such a file is
left byte-for-byte untouched).

Durability: every state change of a run is its own transaction. With WAL and ``synchronous=NORMAL`` a
committed transaction survives the writing process being killed (``kill -9``); only a power loss may drop
the last few. See docs/campaigns.md for the schema and the resume rules.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from adsgen.errors import InputError
from adsgen.provenance import utc_now, versions
from adsgen.sim.types import HIGH_RISK_TTC_S
from adsgen.variables import FACTORS

APPLICATION_ID = 0x41445343  # 'ADSC': marks an adsgen campaign database
SCHEMA_VERSION = 1
RunStatus = Literal["pending", "running", "done", "failed", "timed_out"]
"""A run's status: where the infrastructure got with it (not the test's verdict)."""
STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
UnfinishedStatus = Literal["failed", "timed_out"]
"""The statuses of a run that ended without a result."""

_SQLITE_MAGIC = b"SQLite format 3\x00"

_FACTOR_COLUMNS = ",\n  ".join(f"{f} TEXT" for f in FACTORS)

SCHEMA = f"""
CREATE TABLE campaign (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  created_utc TEXT NOT NULL,
  source TEXT NOT NULL,          -- what made it: 'adsgen campaign run', 'adsgen generate', ...
  config_json TEXT NOT NULL,     -- config of the command that created it
  versions_json TEXT NOT NULL    -- adsgen.provenance.versions() at creation
);
CREATE TABLE sessions (          -- one row per command that ran runs (first run, each resume)
  id INTEGER PRIMARY KEY,
  started_utc TEXT NOT NULL,
  ended_utc TEXT,
  state TEXT NOT NULL CHECK (state IN ('running', 'finished', 'interrupted', 'died')),
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  config_json TEXT NOT NULL,
  versions_json TEXT NOT NULL
);
CREATE TABLE scenarios (
  hash TEXT PRIMARY KEY,         -- Scenario.content_hash() (sha256 of the spec without its name)
  name TEXT NOT NULL,
  seed_family TEXT,              -- Scenario.seed
  source_path TEXT,              -- file it was first read from (None when made in memory)
  spec_json TEXT NOT NULL,       -- Scenario.spec()
  {_FACTOR_COLUMNS}
);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  scenario_hash TEXT NOT NULL REFERENCES scenarios(hash),
  agent TEXT NOT NULL,
  backend TEXT NOT NULL,
  seed INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed', 'timed_out')),
  attempts INTEGER NOT NULL DEFAULT 0,   -- tries started (retries after backend faults included)
  session_id INTEGER REFERENCES sessions(id),  -- session that last started / finished it
  worker TEXT,                   -- executor worker that ran the last attempt
  created_at REAL NOT NULL,      -- unix time [s]
  started_at REAL,               -- unix time [s] the last attempt started
  finished_at REAL,              -- unix time [s]
  wall_s REAL,                   -- wall time of the last attempt [s]
  termination TEXT,              -- RunResult.termination
  collided INTEGER,              -- 0/1
  high_risk INTEGER,             -- 0/1: collided or min_ttc_s < 1.0 s
  min_ttc_s REAL,                -- NULL = infinite (never closing)
  min_distance_m REAL,
  impact_speed_mps REAL,
  collision_partner TEXT,
  duration_s REAL,               -- simulated time [s]
  at_fault INTEGER,              -- 0/1 RunResult.at_fault (NULL: not judged)
  fault_rule TEXT,               -- the at-fault rule that decided it
  reference_outcome TEXT,        -- careful-driver reference re-run: collision / near_miss / safe (high-risk runs)
  omniscient_outcome TEXT,       -- omniscient solvability check: collision / near_miss / safe
  verdict TEXT,                  -- valid_failure / reference_fails / unavoidable / not_at_fault (adsgen.sim.judge)
  result_json TEXT,              -- RunResult.to_dict()
  error TEXT,                    -- failed / timed_out: what happened; retried faults: the last fault
  UNIQUE (scenario_hash, agent, backend, seed)
);
CREATE INDEX runs_by_status ON runs(status);
CREATE TABLE metadata (key TEXT PRIMARY KEY, value_json TEXT NOT NULL);
CREATE TABLE search_curve (      -- written by `adsgen generate` (see docs/campaigns.md)
  method TEXT NOT NULL,          -- e.g. 'cbn', 'random', 'genetic'
  metric TEXT NOT NULL,          -- e.g. 'distinct_high_risk'
  iteration INTEGER NOT NULL,
  sim_runs INTEGER NOT NULL,     -- simulated runs spent so far
  value REAL NOT NULL,
  wall_s REAL,                   -- wall time spent so far [s]
  extra_json TEXT,
  PRIMARY KEY (method, metric, iteration)
);
"""

RUN_COLUMNS = ("id", "scenario_hash", "agent", "backend", "seed", "status", "attempts", "session_id",
               "worker", "created_at", "started_at", "finished_at", "wall_s", "termination", "collided",
               "high_risk", "min_ttc_s", "min_distance_m", "impact_speed_mps", "collision_partner",
               "duration_s", "at_fault", "fault_rule", "reference_outcome", "omniscient_outcome", "verdict",
               "result_json", "error")
LABEL_COLUMNS = {"at_fault": "INTEGER", "fault_rule": "TEXT", "reference_outcome": "TEXT",
                 "omniscient_outcome": "TEXT", "verdict": "TEXT"}
"""Run columns added after schema version 1 was released: opening an older database adds them (NULL)."""


@dataclass(frozen=True)
class CurvePoint:
    """One point of a search curve: after `iteration` iterations and `sim_runs` runs, `value` of `metric`."""

    method: str
    iteration: int
    sim_runs: int
    value: float
    metric: str = "distinct_high_risk"
    wall_s: float | None = None
    extra: dict[str, Any] | None = None


def _header_ids(path: Path) -> tuple[int, int] | None:
    """(application_id, user_version) read from the SQLite header bytes; None for an empty file.

    Raises InputError when the file is not a SQLite database.
    """
    with open(path, "rb") as fh:
        head = fh.read(100)
    if not head:
        return None
    if len(head) < 100 or not head.startswith(_SQLITE_MAGIC):
        raise InputError(f"{path}: not an adsgen campaign database (not a SQLite file)")
    user_version = int.from_bytes(head[60:64], "big", signed=True)
    application_id = int.from_bytes(head[68:72], "big", signed=True)
    return application_id, user_version


def check_database(path: str | Path) -> bool:
    """Check that PATH is a usable campaign database without writing to it.

    Returns False when it does not exist (or is empty), True when it is ours at a schema this code reads.
    Raises InputError for a non-SQLite file, another tool's database, or a newer schema version.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a campaign database file")
    if not path.exists():
        return False
    if not path.is_file():
        raise InputError(f"{path}: is not a regular file (a FIFO, socket or device), expected a campaign database")
    ids = _header_ids(path)
    if ids is None:
        return False
    application_id, user_version = ids
    wal = Path(f"{path}-wal")
    if (application_id, user_version) != (APPLICATION_ID, SCHEMA_VERSION) and wal.exists() and wal.stat().st_size:
        # the newest header may still sit in the write-ahead log (a writer was killed before a checkpoint)
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
            try:
                application_id = conn.execute("PRAGMA application_id").fetchone()[0]
                user_version = conn.execute("PRAGMA user_version").fetchone()[0]
            finally:
                conn.close()
        except sqlite3.DatabaseError:
            pass
    if application_id != APPLICATION_ID:
        raise InputError(f"{path}: not an adsgen campaign database (SQLite application_id "
                         f"{application_id:#010x}, expected {APPLICATION_ID:#010x}); use a new --db file")
    if user_version > SCHEMA_VERSION:
        raise InputError(f"{path}: written by a newer adsgen (campaign schema version {user_version}, "
                         f"this adsgen reads up to {SCHEMA_VERSION}); upgrade adsgen to open it")
    if user_version < 1:
        raise InputError(f"{path}: campaign database with an invalid schema version {user_version}")
    return True


def _none_if_inf(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isinf(x)) else x


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection (mode=ro); on a read-only folder, where SQLite cannot make the WAL's -shm file,
    the file is opened immutable (nothing can be writing to it there)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0, isolation_level=None,
                           check_same_thread=False)
    try:
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        if os.access(path.parent, os.W_OK):
            raise
    return sqlite3.connect(f"file:{path}?immutable=1", uri=True, timeout=30.0, isolation_level=None,
                           check_same_thread=False)


LOCK_SUFFIX = ".lock"
"""A running session holds an exclusive lock (flock) on DB + LOCK_SUFFIX; the kernel drops it when the
process ends, however it ends, so a stale claim cannot outlive its process (nor be mistaken for a reused
PID)."""


@contextmanager
def session_lock(db: str | Path) -> Iterator[None]:
    """Hold the campaign's session lock for the duration; InputError naming the holder when another process
    has it. Taken before the database is created or opened, so two commands cannot both run it."""

    lock_path = Path(f"{db}{LOCK_SUFFIX}")
    try:
        fh = open(lock_path, "a+")
    except OSError as exc:
        raise InputError(f"{lock_path}: cannot create the campaign's lock file ({exc.strerror or exc})") from None
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read(200).strip() or "another process"
            raise InputError(f"{db}: the campaign is being run by {holder} (it holds {lock_path}); wait for it "
                             "or stop it first") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"process {os.getpid()} on {socket.gethostname()} since {utc_now()}\n")
        fh.flush()
        yield
    finally:
        fh.close()  # closing the file releases the lock


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CampaignStore:
    """An open campaign database. Use ``CampaignStore.open(path)`` / ``.create(path, ...)``; close() after."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self.conn = conn
        self.store_s = 0.0
        """Wall time spent in this object's write transactions, commits included [s]."""
        self._depth = 0  # transaction nesting

    # ---- opening -------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, readonly: bool = False) -> CampaignStore:
        """Open an existing campaign database (InputError when missing or not ours)."""
        path = Path(path)
        if not check_database(path):
            raise InputError(f"{path}: no such campaign database")
        try:
            if readonly:
                conn = _connect_readonly(path)
            else:
                conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys=ON")
            problems = [r[0] for r in conn.execute("PRAGMA quick_check(3)").fetchall()]
        except sqlite3.DatabaseError as exc:
            text = str(exc)
            if isinstance(exc, sqlite3.OperationalError) and any(
                    k in text for k in ("disk I/O", "full", "unable to open", "readonly")):
                raise InputError(f"{path}: cannot open the campaign database ({text}): is the disk full, or its "
                                 "folder not writable?") from None
            raise InputError(f"{path}: cannot read the campaign database ({text}); restore it from a copy") from None
        if problems != ["ok"]:
            conn.close()
            raise InputError(f"{path}: the campaign database is damaged (PRAGMA quick_check: {problems[0][:160]}); "
                             "restore it from a copy, or `sqlite3 DB .recover` into a new file")
        store = cls(path, conn)
        if not readonly:
            store._add_label_columns()
        return store

    def _run_columns(self) -> set[str]:
        return {r[1] for r in self.conn.execute("PRAGMA table_info(runs)")}

    def _add_label_columns(self) -> None:
        """Migrate a database made before the judge's columns existed (adds them, NULL for old runs)."""
        missing = [c for c in LABEL_COLUMNS if c not in self._run_columns()]
        if missing:
            with self.transaction() as c:
                for col in missing:
                    c.execute(f"ALTER TABLE runs ADD COLUMN {col} {LABEL_COLUMNS[col]}")

    @classmethod
    def create(cls, path: str | Path, *, config: dict[str, Any], source: str = "adsgen campaign run"
               ) -> CampaignStore:
        """Create a new campaign database (InputError when PATH already holds data)."""
        path = Path(path)
        if check_database(path):
            raise InputError(f"{path}: a campaign database already exists there")
        if not path.parent.exists():
            raise InputError(f"{path}: folder {path.parent} does not exist")
        conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        # created in rollback-journal mode, so the identity and schema land in the main file, then WAL
        conn.executescript("BEGIN;\n" + SCHEMA)  # the transaction stays open until the COMMIT below
        conn.execute("INSERT INTO campaign (id, created_utc, source, config_json, versions_json) "
                     "VALUES (1, ?, ?, ?, ?)",
                     (utc_now(), source, json.dumps(config, sort_keys=True), json.dumps(versions())))
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return cls(path, conn)

    @classmethod
    def open_or_create(cls, path: str | Path, *, config: dict[str, Any],
                       source: str = "adsgen campaign run") -> CampaignStore:
        path = Path(path)
        if check_database(path):
            return cls.open(path)
        return cls.create(path, config=config, source=source)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> CampaignStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error). Nested uses join the outer transaction, so
        several run updates (e.g. the runs of one batch) can commit together."""
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        t0 = time.perf_counter()
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0
        self.conn.execute("COMMIT")
        self.store_s += time.perf_counter() - t0

    # ---- campaign, sessions, metadata -----------------------------------------------------------------------
    def campaign(self) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM campaign WHERE id = 1").fetchone()
        return {"created_utc": row["created_utc"], "source": row["source"],
                "config": json.loads(row["config_json"]), "versions": json.loads(row["versions_json"])}

    def sessions(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM sessions ORDER BY id").fetchall()
        return [{**dict(r), "config": json.loads(r["config_json"]), "versions": json.loads(r["versions_json"])}
                for r in rows]

    def session(self, session_id: int) -> dict[str, Any] | None:
        r = self.conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if r is None:
            return None
        return {**dict(r), "config": json.loads(r["config_json"]), "versions": json.loads(r["versions_json"])}

    def recover_dead_sessions(self, *, locked: bool = False, max_attempts: int | None = None) -> int:
        """Mark sessions whose process is gone as 'died' and their 'running' runs 'pending'.

        With LOCKED (the caller holds ``session_lock``), every session still marked running is dead: its
        process would hold the lock. Without it, a session of a live PID on this host raises InputError.
        A run left 'running' that has already had MAX_ATTEMPTS attempts (it took its process down that often,
        e.g. in the inline executor) is stored failed instead, so no resume dies on it again.
        Returns the number of runs put back to pending.
        """
        host = socket.gethostname()
        reset = 0
        with self.transaction() as c:
            for s in c.execute("SELECT id, host, pid FROM sessions WHERE state = 'running'").fetchall():
                if not locked and s["host"] == host and s["pid"] != os.getpid() and pid_alive(s["pid"]):
                    raise InputError(f"{self.path}: campaign is being run by process {s['pid']} on this host "
                                     f"(session {s['id']}); stop it first")
                c.execute("UPDATE sessions SET state = 'died', ended_utc = ? WHERE id = ?", (utc_now(), s["id"]))
            if max_attempts is not None:
                c.execute("UPDATE runs SET status = 'failed', finished_at = ?, error = ? "
                          "WHERE status = 'running' AND attempts >= ?",
                          (time.time(), f"ProcessDied: the process running this run ended during each of its "
                                        f"{max_attempts} attempt(s) (killed or crashed); not retried again "
                                        "(--rerun-failed tries once more)", max_attempts))
            reset = c.execute("UPDATE runs SET status = 'pending' WHERE status = 'running'").rowcount
        return reset

    def planned_runs(self, agent: str, backend: str) -> set[tuple[str, int]]:
        """(scenario hash, seed) of every run stored for this agent and backend."""
        return {(r[0], int(r[1])) for r in self.conn.execute(
            "SELECT scenario_hash, seed FROM runs WHERE agent = ? AND backend = ?", (agent, backend))}

    def begin_session(self, config: dict[str, Any]) -> int:
        with self.transaction() as c:
            cur = c.execute("INSERT INTO sessions (started_utc, state, host, pid, config_json, versions_json) "
                            "VALUES (?, 'running', ?, ?, ?, ?)",
                            (utc_now(), socket.gethostname(), os.getpid(), json.dumps(config, sort_keys=True),
                             json.dumps(versions())))
            assert cur.lastrowid is not None  # set by the INSERT
            return cur.lastrowid

    def end_session(self, session_id: int, state: str) -> int:
        """Close a session; its runs still 'running' go back to 'pending'. Returns how many."""
        with self.transaction() as c:
            n = c.execute("UPDATE runs SET status = 'pending' WHERE status = 'running' AND session_id = ?",
                          (session_id,)).rowcount
            c.execute("UPDATE sessions SET state = ?, ended_utc = ? WHERE id = ?", (state, utc_now(), session_id))
        return n

    def set_metadata(self, key: str, value: Any) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO metadata (key, value_json) VALUES (?, ?)", (key, json.dumps(value)))

    def metadata(self) -> dict[str, Any]:
        return {r["key"]: json.loads(r["value_json"]) for r in self.conn.execute("SELECT * FROM metadata")}

    # ---- search curve ---------------------------------------------------------------------------------------
    def add_curve_points(self, points: Iterable[CurvePoint]) -> int:
        """Insert (or replace) search-curve points; returns how many."""
        rows = [(p.method, p.metric, int(p.iteration), int(p.sim_runs), float(p.value), p.wall_s,
                 json.dumps(p.extra) if p.extra else None) for p in points]
        with self.transaction() as c:
            c.executemany("INSERT OR REPLACE INTO search_curve (method, metric, iteration, sim_runs, value, "
                          "wall_s, extra_json) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def curve_points(self) -> list[CurvePoint]:
        rows = self.conn.execute("SELECT * FROM search_curve ORDER BY method, metric, iteration").fetchall()
        return [CurvePoint(method=r["method"], iteration=r["iteration"], sim_runs=r["sim_runs"], value=r["value"],
                           metric=r["metric"], wall_s=r["wall_s"],
                           extra=json.loads(r["extra_json"]) if r["extra_json"] else None) for r in rows]

    # ---- scenarios and runs ---------------------------------------------------------------------------------
    def add_runs(self, scenarios: Sequence[tuple[Any, str | None]], agent: str, backend: str,
                 seeds: Sequence[int]) -> int:
        """Insert scenarios (Scenario, source path) and their runs (one per seed) unless already present.

        Returns the number of new runs.
        """
        now = time.time()
        new = 0
        with self.transaction() as c:
            for scenario, source in scenarios:
                h = scenario.content_hash()
                factors = scenario.factors.model_dump()
                c.execute(f"INSERT OR IGNORE INTO scenarios (hash, name, seed_family, source_path, spec_json, "
                          f"{', '.join(FACTORS)}) VALUES (?, ?, ?, ?, ?, {', '.join('?' * len(FACTORS))})",
                          (h, scenario.name, scenario.seed, source, json.dumps(scenario.spec(), sort_keys=True),
                           *(factors[f] for f in FACTORS)))
                for seed in seeds:
                    new += c.execute("INSERT OR IGNORE INTO runs (scenario_hash, agent, backend, seed, status, "
                                     "created_at) VALUES (?, ?, ?, ?, 'pending', ?)",
                                     (h, agent, backend, int(seed), now)).rowcount
        return new

    def record_results(self, items: Iterable[tuple[Any, int, Any]], agent: str, backend: str, *,
                       session_id: int | None = None, high_risk_ttc_s: float = HIGH_RISK_TTC_S) -> int:
        """Store runs simulated elsewhere (e.g. by a search) as done, in one transaction.

        items: (Scenario, seed, RunResult). A run already in the store (same key) is left as it is.
        Returns the number of runs added.
        """
        now = time.time()
        added = 0
        rows = list(items)
        self.add_runs([(sc, None) for sc, _, _ in rows], agent, backend, [])
        with self.transaction() as c:
            for scenario, seed, result in rows:
                d = result.to_dict()
                min_ttc = d.get("min_ttc_s")
                collided = d["termination"] == "collision"
                high_risk = collided or (min_ttc is not None and min_ttc < high_risk_ttc_s)
                added += c.execute(
                    "INSERT OR IGNORE INTO runs (scenario_hash, agent, backend, seed, status, attempts, session_id, "
                    "worker, created_at, started_at, finished_at, termination, collided, high_risk, min_ttc_s, "
                    "min_distance_m, impact_speed_mps, collision_partner, duration_s, at_fault, fault_rule, "
                    "reference_outcome, omniscient_outcome, verdict, result_json) "
                    "VALUES (?, ?, ?, ?, 'done', 1, ?, 'external', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (scenario.content_hash(), agent, backend, int(seed), session_id, now, now, now, d["termination"],
                     int(collided), int(high_risk), _none_if_inf(min_ttc), _none_if_inf(d.get("min_distance_m")),
                     d.get("impact_speed_mps"), d.get("collision_partner"), d.get("duration_s"),
                     None if d.get("at_fault") is None else int(d["at_fault"]), d.get("fault_rule"),
                     d.get("reference_outcome"), d.get("omniscient_outcome"), d.get("verdict"),
                     json.dumps(d, sort_keys=True))).rowcount
        return added

    def runs_to_do(self, agent: str, backend: str, *, include_failed: bool = False
                   ) -> tuple[list[tuple[int, int, str]], dict[str, dict[str, Any]]]:
        """Runs of this agent and backend that are pending (plus failed / timed_out ones when asked).

        Returns ([(run id, seed, scenario hash), ...] in id order, {scenario hash: spec}); each spec is read
        once however many seeds run it.
        """
        statuses = ("pending", "failed", "timed_out") if include_failed else ("pending",)
        marks = ", ".join("?" * len(statuses))
        runs = [(int(r[0]), int(r[1]), r[2]) for r in self.conn.execute(
            f"SELECT id, seed, scenario_hash FROM runs WHERE agent = ? AND backend = ? AND status IN ({marks}) "
            f"ORDER BY id", (agent, backend, *statuses))]
        specs = {r[0]: json.loads(r[1]) for r in self.conn.execute(
            f"SELECT hash, spec_json FROM scenarios WHERE hash IN (SELECT scenario_hash FROM runs WHERE agent = ? "
            f"AND backend = ? AND status IN ({marks}))", (agent, backend, *statuses))}
        return runs, specs

    def mark_running(self, run_ids: Sequence[int], session_id: int, worker: str) -> dict[int, int]:
        """Start an attempt of each run (one transaction): status running, attempts + 1.

        Returns run id -> its attempt number.
        """
        now = time.time()
        with self.transaction() as c:
            c.executemany("UPDATE runs SET status = 'running', attempts = attempts + 1, session_id = ?, worker = ?, "
                          "started_at = ? WHERE id = ?", [(session_id, worker, now, r) for r in run_ids])
            marks = ", ".join("?" * len(run_ids))
            attempts = {int(r["id"]): int(r["attempts"]) for r in
                        c.execute(f"SELECT id, attempts FROM runs WHERE id IN ({marks})", tuple(run_ids))}
        return attempts

    def mark_pending(self, run_id: int, error: str | None = None) -> None:
        """Put a started run back to pending (a backend fault that will be retried), keeping the fault text."""
        with self.transaction() as c:
            c.execute("UPDATE runs SET status = 'pending', error = ? WHERE id = ?", (error, run_id))

    def finish_done(self, run_id: int, result: dict[str, Any], *, worker: str, started_at: float,
                    finished_at: float, wall_s: float, high_risk_ttc_s: float = HIGH_RISK_TTC_S) -> None:
        """Store a finished run's RunResult (dict from RunResult.to_dict()) and commit."""
        min_ttc = result.get("min_ttc_s")
        collided = result["termination"] == "collision"
        high_risk = collided or (min_ttc is not None and min_ttc < high_risk_ttc_s)
        with self.transaction() as c:
            c.execute("UPDATE runs SET status = 'done', worker = ?, started_at = ?, finished_at = ?, wall_s = ?, "
                      "termination = ?, collided = ?, high_risk = ?, min_ttc_s = ?, min_distance_m = ?, "
                      "impact_speed_mps = ?, collision_partner = ?, duration_s = ?, at_fault = ?, fault_rule = ?, "
                      "reference_outcome = ?, omniscient_outcome = ?, verdict = ?, result_json = ?, error = NULL "
                      "WHERE id = ?",
                      (worker, started_at, finished_at, wall_s, result["termination"], int(collided),
                       int(high_risk), _none_if_inf(min_ttc), _none_if_inf(result.get("min_distance_m")),
                       result.get("impact_speed_mps"), result.get("collision_partner"), result.get("duration_s"),
                       None if result.get("at_fault") is None else int(result["at_fault"]),
                       result.get("fault_rule"), result.get("reference_outcome"), result.get("omniscient_outcome"),
                       result.get("verdict"), json.dumps(result, sort_keys=True), run_id))

    def finish_error(self, run_id: int, status: UnfinishedStatus, error: str, *, worker: str, started_at: float,
                     finished_at: float, wall_s: float) -> None:
        """Store a failed or timed-out run with its error text and commit."""
        if status not in get_args(UnfinishedStatus):
            raise ValueError(f"status must be failed or timed_out, got {status!r}")
        with self.transaction() as c:
            c.execute("UPDATE runs SET status = ?, worker = ?, started_at = ?, finished_at = ?, wall_s = ?, "
                      "error = ?, termination = NULL, collided = NULL, high_risk = NULL, min_ttc_s = NULL, "
                      "min_distance_m = NULL, impact_speed_mps = NULL, collision_partner = NULL, "
                      "duration_s = NULL, result_json = NULL WHERE id = ?",
                      (status, worker, started_at, finished_at, wall_s, error, run_id))

    # ---- reading --------------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for r in self.conn.execute("SELECT status, COUNT(*) AS n FROM runs GROUP BY status"):
            out[r["status"]] = r["n"]
        return out

    def run(self, run_id: int) -> dict[str, Any] | None:
        r = self.conn.execute("SELECT r.*, s.name AS scenario_name, s.spec_json FROM runs r "
                              "JOIN scenarios s ON s.hash = r.scenario_hash WHERE r.id = ?", (run_id,)).fetchone()
        return dict(r) if r is not None else None

    def runs_table(self) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Every run joined with its scenario's name, seed family and factors (no spec, no RunResult JSON):
        (column names, rows)."""
        have = self._run_columns()  # a read-only older database lacks the label columns: NULL
        cols = ", ".join(f"r.{c}" if c in have else f"NULL AS {c}" for c in RUN_COLUMNS if c != "result_json")
        q = (f"SELECT {cols}, s.name AS scenario_name, s.seed_family, {', '.join('s.' + f for f in FACTORS)} "
             f"FROM runs r JOIN scenarios s ON s.hash = r.scenario_hash ORDER BY r.id")
        cur = self.conn.execute(q)
        return [d[0] for d in cur.description], [tuple(r) for r in cur.fetchall()]
