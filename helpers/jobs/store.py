"""The local job store: SQLite in the run's work directory.

It remembers which files were uploaded (by content hash), which jobs and
batches were created for which idempotency key, so re-running a notebook,
restarting the kernel or running the course again attaches to what already
exists instead of paying again. It also keeps each job's cost ledger.

Every row is keyed on the backend's identity (``Settings.identity``), so a
record made against another sandbox instance or server is never used.
``lock()`` is the claim that makes "look up, else create" atomic across
threads and processes sharing the work directory (a file lock, released even
if the holder dies); the unique index on (backend, sdk, key, attempt) refuses a
second row for the same attempt should anything bypass it.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path

import filelock

from ..state import StateFileError, open_sqlite, reset_command, sqlite_errors
from .errors import StoreLockTimeout

STORE_NAME = "jobs.sqlite"
LOCK_DIR = "locks"
LOCK_TIMEOUT = 15 * 60.0  # an upload of a large file to a slow service can take minutes

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    backend TEXT NOT NULL, sdk TEXT NOT NULL, sha256 TEXT NOT NULL, purpose TEXT NOT NULL,
    file_id TEXT NOT NULL, filename TEXT, bytes INTEGER, created_at REAL,
    PRIMARY KEY (backend, sdk, sha256, purpose));
CREATE TABLE IF NOT EXISTS jobs (
    backend TEXT NOT NULL, sdk TEXT NOT NULL, job_id TEXT NOT NULL, key TEXT NOT NULL,
    attempt INTEGER NOT NULL, model TEXT, training_file TEXT, training_sha256 TEXT,
    validation_file TEXT, validation_sha256 TEXT, params TEXT, status TEXT,
    fine_tuned_model TEXT, estimated_tokens INTEGER, estimated_cost_usd REAL,
    billed_tokens INTEGER, billed_cost_usd REAL, tokens_diff_pct REAL, cost_diff_pct REAL,
    created_at REAL, updated_at REAL,
    PRIMARY KEY (backend, sdk, job_id));
CREATE INDEX IF NOT EXISTS jobs_by_key ON jobs (backend, sdk, key, attempt);
CREATE TABLE IF NOT EXISTS batches (
    backend TEXT NOT NULL, sdk TEXT NOT NULL, batch_id TEXT NOT NULL, key TEXT NOT NULL,
    attempt INTEGER NOT NULL, input_file TEXT, input_sha256 TEXT, endpoint TEXT, status TEXT,
    created_at REAL, updated_at REAL,
    PRIMARY KEY (backend, sdk, batch_id));
CREATE UNIQUE INDEX IF NOT EXISTS batches_by_key ON batches (backend, sdk, key, attempt);
"""
# Separate: a store written before this index existed may hold a duplicate it would refuse.
_UNIQUE_JOBS = ("CREATE UNIQUE INDEX IF NOT EXISTS jobs_unique_attempt "
                "ON jobs (backend, sdk, key, attempt)")



@dataclass
class JobRecord:
    """One job as the store knows it (``params`` are the submitted hyperparameters etc.)."""
    backend: str
    sdk: str
    job_id: str
    key: str
    attempt: int
    model: str
    training_file: str
    training_sha256: str
    validation_file: str | None = None
    validation_sha256: str | None = None
    params: dict = field(default_factory=dict)
    status: str | None = None
    fine_tuned_model: str | None = None
    estimated_tokens: int | None = None
    estimated_cost_usd: float | None = None
    billed_tokens: int | None = None
    billed_cost_usd: float | None = None
    tokens_diff_pct: float | None = None
    cost_diff_pct: float | None = None
    created_at: float | None = None
    updated_at: float | None = None
    # Not stored: where the record came from and whether submit() attached to it.
    store_path: Path | None = field(default=None, compare=False)
    attached: bool = field(default=False, compare=False)

    @property
    def id(self) -> str:
        return self.job_id


_COLUMNS = [f.name for f in fields(JobRecord) if f.name not in ("store_path", "attached")]


@dataclass
class BatchRecord:
    """One batch as the store knows it."""
    backend: str
    sdk: str
    batch_id: str
    key: str
    attempt: int
    input_file: str | None = None
    input_sha256: str | None = None
    endpoint: str | None = None
    status: str | None = None
    created_at: float | None = None
    updated_at: float | None = None


_BATCH_COLUMNS = [f.name for f in fields(BatchRecord)]


def store_file(path: str | Path) -> Path:
    """The store's SQLite file for a work directory (or the file itself if named).

    A work directory that does not exist yet is still a directory: the store is
    always ``<work_dir>/jobs.sqlite``, never a file at the directory's own path.
    """
    path = Path(path)
    if path.suffix in (".sqlite", ".sqlite3", ".db") or path.is_file():
        return path
    return path / STORE_NAME


SCHEMA_VERSION = 1  # PRAGMA user_version; 0 = a store from before versions (same tables)


def _upgrade(conn: sqlite3.Connection, found: int) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    with contextlib.suppress(sqlite3.IntegrityError):
        conn.execute(_UNIQUE_JOBS)  # an old store with a duplicate: the lock still guards


class JobStore:
    """Files, jobs and batches of one work directory (``<work_dir>/jobs.sqlite``).

    An unreadable or newer store stops with one line (``helpers.state.StateFileError``)
    naming the file and its reset: deleting it loses nothing that costs money, since
    ``submit`` finds its jobs, files and batches again from the API by their keys.
    """

    def __init__(self, path: str | Path):
        self.path = store_file(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.reset = reset_command(self.path, "jobs and files are found again from the API")
        self._connect().close()

    @contextmanager
    def lock(self, kind: str, *parts: str, timeout: float = LOCK_TIMEOUT):
        """Hold the claim on one thing to create (``kind`` and its key parts).

        Threads and processes using this work directory wait for each other;
        the holder then finds what the first one made. The OS releases the lock
        if the holder dies.
        """
        folder = self.path.parent / LOCK_DIR
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256("|".join((kind, *parts)).encode()).hexdigest()[:32]
        lock = filelock.FileLock(folder / f"{kind}-{digest}.lock", timeout=timeout)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise StoreLockTimeout(
                f"Another process has been creating this {kind} for over {timeout:.0f} s "
                f"(lock {lock.lock_file}); wait for it to finish, or end it and run again."
            ) from None
        try:
            yield
        finally:
            lock.release()

    def _connect(self) -> sqlite3.Connection:
        conn = open_sqlite(self.path, version=SCHEMA_VERSION, upgrade=_upgrade, reset=self.reset)
        conn.row_factory = sqlite3.Row
        return conn

    def _run(self, sql: str, args=()) -> list[sqlite3.Row]:
        conn = self._connect()
        try:
            with sqlite_errors(self.path, self.reset), conn:
                return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    # files -----------------------------------------------------------------
    def file_id(self, backend: str, sdk: str, sha256: str, purpose: str) -> str | None:
        rows = self._run("SELECT file_id FROM files WHERE backend=? AND sdk=? AND sha256=? "
                         "AND purpose=?", (backend, sdk, sha256, purpose))
        return rows[0]["file_id"] if rows else None

    def save_file(self, backend: str, sdk: str, sha256: str, purpose: str, file_id: str,
                  filename: str, size: int) -> None:
        self._run("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?,?,?)",
                  (backend, sdk, sha256, purpose, file_id, filename, size, time.time()))

    def forget_file(self, backend: str, sdk: str, sha256: str, purpose: str) -> None:
        self._run("DELETE FROM files WHERE backend=? AND sdk=? AND sha256=? AND purpose=?",
                  (backend, sdk, sha256, purpose))

    # jobs ------------------------------------------------------------------
    def _record(self, row: sqlite3.Row) -> JobRecord:
        values = dict(row)
        try:
            values["params"] = json.loads(values["params"] or "{}")
        except ValueError:
            raise StateFileError(self.path, f"job {values['job_id']} has unreadable params "
                                 f"({values['params'][:40]!r})", self.reset) from None
        return JobRecord(**values, store_path=self.path)

    def save_job(self, record: JobRecord, *, new: bool = False) -> JobRecord:
        """Insert or update ``record``; ``new=True`` refuses a second row for its key and
        attempt."""
        record.updated_at = time.time()
        record.created_at = record.created_at or record.updated_at
        values = [json.dumps(record.params, sort_keys=True) if c == "params" else
                  getattr(record, c) for c in _COLUMNS]
        verb = "INSERT" if new else "INSERT OR REPLACE"
        self._run(f"{verb} INTO jobs ({', '.join(_COLUMNS)}) "
                  f"VALUES ({', '.join('?' * len(_COLUMNS))})", values)
        record.store_path = self.path
        return record

    def update_job(self, backend: str, sdk: str, job_id: str, **changes) -> JobRecord | None:
        record = self.job(backend, sdk, job_id)
        if record is None:
            return None
        for name, value in changes.items():
            setattr(record, name, value)
        return self.save_job(record)

    def job(self, backend: str, sdk: str, job_id: str) -> JobRecord | None:
        rows = self._run("SELECT * FROM jobs WHERE backend=? AND sdk=? AND job_id=?",
                         (backend, sdk, job_id))
        return self._record(rows[0]) if rows else None

    def latest_for_key(self, backend: str, sdk: str, key: str) -> JobRecord | None:
        rows = self._run("SELECT * FROM jobs WHERE backend=? AND sdk=? AND key=? "
                         "ORDER BY attempt DESC LIMIT 1", (backend, sdk, key))
        return self._record(rows[0]) if rows else None

    def attempts(self, backend: str, sdk: str, key: str) -> int:
        rows = self._run("SELECT MAX(attempt) AS n FROM jobs WHERE backend=? AND sdk=? AND key=?",
                         (backend, sdk, key))
        return rows[0]["n"] or 0

    def forget_job(self, backend: str, sdk: str, job_id: str) -> None:
        self._run("DELETE FROM jobs WHERE backend=? AND sdk=? AND job_id=?",
                  (backend, sdk, job_id))

    def jobs(self) -> list[JobRecord]:
        return [self._record(r) for r in self._run("SELECT * FROM jobs ORDER BY created_at")]

    # batches ---------------------------------------------------------------
    def save_batch(self, record: BatchRecord, *, new: bool = False) -> BatchRecord:
        record.updated_at = time.time()
        record.created_at = record.created_at or record.updated_at
        verb = "INSERT" if new else "INSERT OR REPLACE"
        self._run(f"{verb} INTO batches ({', '.join(_BATCH_COLUMNS)}) "
                  f"VALUES ({', '.join('?' * len(_BATCH_COLUMNS))})",
                  [getattr(record, c) for c in _BATCH_COLUMNS])
        return record

    def latest_batch(self, backend: str, sdk: str, key: str) -> BatchRecord | None:
        rows = self._run("SELECT * FROM batches WHERE backend=? AND sdk=? AND key=? "
                         "ORDER BY attempt DESC LIMIT 1", (backend, sdk, key))
        return BatchRecord(**dict(rows[0])) if rows else None

    def batch_attempts(self, backend: str, sdk: str, key: str) -> int:
        rows = self._run("SELECT MAX(attempt) AS n FROM batches WHERE backend=? AND sdk=? "
                         "AND key=?", (backend, sdk, key))
        return rows[0]["n"] or 0

    def forget_batch(self, backend: str, sdk: str, batch_id: str) -> None:
        self._run("DELETE FROM batches WHERE backend=? AND sdk=? AND batch_id=?",
                  (backend, sdk, batch_id))

    def batches(self) -> list[BatchRecord]:
        return [BatchRecord(**dict(r))
                for r in self._run("SELECT * FROM batches ORDER BY created_at")]
