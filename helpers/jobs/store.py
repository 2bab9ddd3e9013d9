"""The local job store: SQLite in the run's work directory.

It remembers which files were uploaded (by content hash) and which jobs were
created for which idempotency key, so re-running a notebook, restarting the
kernel or running the course again attaches to the job that already exists
instead of paying for a new one. It also keeps each job's cost ledger.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

STORE_NAME = "jobs.sqlite"

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
"""


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


class JobStore:
    """Files and jobs of one work directory (``<work_dir>/jobs.sqlite``)."""

    def __init__(self, path: str | Path):
        path = Path(path)
        self.path = path / STORE_NAME if path.is_dir() else path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30)
        conn.row_factory = sqlite3.Row
        return conn

    def _run(self, sql: str, args=()) -> list[sqlite3.Row]:
        conn = self._connect()
        try:
            with conn:
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
        values["params"] = json.loads(values["params"] or "{}")
        return JobRecord(**values, store_path=self.path)

    def save_job(self, record: JobRecord) -> JobRecord:
        record.updated_at = time.time()
        record.created_at = record.created_at or record.updated_at
        values = [json.dumps(record.params, sort_keys=True) if c == "params" else
                  getattr(record, c) for c in _COLUMNS]
        self._run(f"INSERT OR REPLACE INTO jobs ({', '.join(_COLUMNS)}) "
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
