"""Persistent state of one sandbox directory: SQLite (WAL) plus a file store.

One ``Store`` per resolved directory is shared by every client in the process.
A single connection is guarded by a re-entrant lock; each public change runs in
one transaction (``BEGIN IMMEDIATE``), so a killed process leaves either the
old or the new state, and writers in other processes wait their turn. Blobs are
written to a temporary name and renamed before the transaction that refers to
them commits.

Claims make "this stage runs once" hold across processes: a stage of a job or
batch is claimed in a write transaction (``claim``), worked on with no lock
held, and committed only by the claim's holder (``holds``). A claim whose
process has died (same host: its pid is gone, or now belongs to a process that
started later) is taken over; SQLite's own locks only cover the short
transactions, never the training in between.

The store checks itself: every blob's size and sha256 are recorded when it is
written (table ``blobs``) and checked whenever it is read, so a truncated or
altered file is a ``StateError`` naming it, never silently short data; a
database that is not SQLite, or that a newer sandbox wrote (``PRAGMA
user_version``), is a ``StateError`` too, one line with how to reset. Temporary
files carry their writer's pid and start time; opening a directory removes
those whose writer has died (a killed upload, a failed write).
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from ..sqlite_wal import enable_wal

SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (kind TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL, deleted INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL, deleted INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, job_id TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_job ON events (job_id, seq);
CREATE TABLE IF NOT EXISTS checkpoints (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, job_id TEXT NOT NULL, model TEXT NOT NULL,
    body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL, deleted INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS responses (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS claims (
    obj_id TEXT PRIMARY KEY, stage TEXT NOT NULL, token TEXT NOT NULL, host TEXT NOT NULL,
    pid INTEGER NOT NULL, started TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (name TEXT PRIMARY KEY, size INTEGER NOT NULL,
    sha256 TEXT NOT NULL);
"""
# PRAGMA user_version of the schema above. 0: a database from before versions were kept
# (no ``blobs`` table; upgraded by creating what is missing, its old blobs stay unchecked).
SCHEMA_VERSION = 1
UPGRADABLE_FROM = (0,)
RESET = "to reset the sandbox, delete {root} or set COURSE_SANDBOX_DIR to a new directory"
TEMP_PREFIX = ".tmp-"
LEGACY_TEMP_SECONDS = 3600.0  # temp names without an owner (older sandboxes): removed when older
TABLES = ("files", "jobs", "models", "batches")
DB_NAME = "sandbox.sqlite3"
# A claim made on another host cannot be checked for liveness; it lapses after this long.
FOREIGN_CLAIM_SECONDS = 3600.0

_HOST = socket.gethostname()
_active: set[str] = set()  # tokens of the claims this process is working on right now
_active_lock = threading.Lock()


class StateError(RuntimeError):
    """The sandbox's own state is damaged or from another version: one line, how to reset."""


def _reset(root: Path) -> str:
    return RESET.format(root=root)


def temp_name(label: str) -> str:
    """A temporary file name in the blob directory that records its writer (pid, start)."""
    pid = os.getpid()
    return f"{TEMP_PREFIX}{pid}-{_process_start(pid) or 0}-{label}-{secrets.token_hex(6)}.tmp"


def sweep_temp(blobs: Path) -> list[str]:
    """Remove temporary files whose writer has died; the names removed."""
    removed = []
    for path in blobs.glob(".*.tmp"):
        name = path.name
        if name.startswith(TEMP_PREFIX):
            pid, _, rest = name[len(TEMP_PREFIX):].partition("-")
            started = rest.partition("-")[0]
            if not pid.isdigit() or process_alive(int(pid), "" if started == "0" else started):
                continue
        else:
            try:
                if time.time() - path.stat().st_mtime < LEGACY_TEMP_SECONDS:
                    continue
            except FileNotFoundError:
                continue
        path.unlink(missing_ok=True)
        removed.append(name)
    return removed


def _db_problem(db: Path, exc: sqlite3.DatabaseError) -> str:
    text = str(exc)
    if "not a database" in text:
        what = "is not a SQLite database (its header is damaged or it is another file)"
    elif "malformed" in text or "corrupt" in text:
        what = f"is corrupted ({text})"
    else:
        what = f"cannot be used ({text})"
    return f"sandbox database {db} {what}; {_reset(db.parent)}"


def hex_id(instance: str, kind: str, n: int, length: int = 24) -> str:
    """Random-looking hex from this sandbox instance's id and a counter value.

    Like a hosted service, a sandbox never hands out an id twice: a directory
    that is deleted and created again gets a new instance id, hence new ids.
    """
    return hashlib.sha256(f"sandbox:{instance}:{kind}:{n}".encode()).hexdigest()[:length]


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks (Linux /proc), '' if unknown, None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None if Path("/proc/self/stat").exists() else ""
    except OSError:
        return ""
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):  # a zombie has finished: its claim is dead
        return None
    return fields[19]


def process_alive(pid: int, started: str) -> bool:
    """Whether ``pid`` still runs and is the process that started at ``started``."""
    now_started = _process_start(pid)
    if now_started is None:
        return False
    if now_started == "":  # no /proc: fall back to a signal-0 probe
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return not started or now_started == started


class Store:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.blobs = self.root / "files"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._depth = 0  # transaction nesting, guarded by self.lock
        db = self.root / DB_NAME
        self._db = sqlite3.connect(db, isolation_level=None, check_same_thread=False,
                                   timeout=30)
        try:
            enable_wal(self._db)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._upgrade(db)
                # The first process to open a new directory names the instance; later ones
                # read it.
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('instance_id', ?)",
                                 (secrets.token_hex(8),))
                self.instance_id = self._db.execute(
                    "SELECT value FROM meta WHERE key = 'instance_id'").fetchone()[0]
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                raise
            raise StateError(_db_problem(db, exc)) from None
        except StateError:
            self._db.close()
            raise
        self.swept = sweep_temp(self.blobs)

    def _upgrade(self, db: Path) -> None:
        """Bring the schema to SCHEMA_VERSION (inside the opening transaction), or refuse."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StateError(f"sandbox database {db} has schema version {version}, newer than "
                             f"this sandbox's {SCHEMA_VERSION} (written by a newer course "
                             f"version): update the course code, or {_reset(self.root)}")
        if version == SCHEMA_VERSION:
            return
        if version not in UPGRADABLE_FROM:
            raise StateError(f"sandbox database {db} has schema version {version}, which this "
                             f"sandbox cannot upgrade to {SCHEMA_VERSION}; {_reset(self.root)}")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                self._db.execute(statement)
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def hex_id(self, kind: str, n: int, length: int = 24) -> str:
        return hex_id(self.instance_id, kind, n, length)

    def exists(self) -> bool:
        """False once the directory (or its database) has been deleted under us."""
        return (self.root / DB_NAME).exists()

    def close(self) -> None:
        with self.lock:
            self._db.close()

    @contextmanager
    def transaction(self):
        """Serialise writers in this process and across processes; roll back on error.

        Nested use joins the outer transaction.
        """
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                self._db.execute("ROLLBACK")
                raise
            self._depth = 0
            self._db.execute("COMMIT")

    def next_seq(self, kind: str) -> int:
        with self.lock:
            self._db.execute("INSERT OR IGNORE INTO counters VALUES (?, 0)", (kind,))
            self._db.execute("UPDATE counters SET n = n + 1 WHERE kind = ?", (kind,))
            return self._db.execute("SELECT n FROM counters WHERE kind = ?", (kind,)).fetchone()[0]

    def put(self, table: str, obj_id: str, seq: int, body: dict, **extra) -> None:
        cols = ["id", "seq", "body", *extra]
        vals = [obj_id, seq, json.dumps(body, ensure_ascii=False, allow_nan=False),
                *extra.values()]
        with self.lock:
            self._db.execute(
                f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) "
                f"VALUES ({', '.join('?' * len(cols))})", vals)

    def get(self, table: str, obj_id: str) -> dict | None:
        deleted = " AND deleted = 0" if table in TABLES and table != "batches" else ""
        with self.lock:
            row = self._db.execute(f"SELECT body FROM {table} WHERE id = ?{deleted}",
                                   (obj_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def all(self, table: str, where: str = "", args=(), newest_first: bool = True) -> list[dict]:
        clauses = [where] if where else []
        if table in TABLES and table != "batches":
            clauses.append("deleted = 0")
        sql = f"SELECT body FROM {table}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY seq {'DESC' if newest_first else 'ASC'}"
        with self.lock:
            rows = self._db.execute(sql, args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def mark_deleted(self, table: str, obj_id: str) -> bool:
        with self.lock:
            cur = self._db.execute(f"UPDATE {table} SET deleted = 1 WHERE id = ? AND deleted = 0",
                                   (obj_id,))
        return cur.rowcount > 0

    def execute(self, sql: str, args=()):
        with self.lock:
            return self._db.execute(sql, args).fetchall()

    # claims (call inside a transaction)
    def claim(self, obj_id: str, stage: str) -> str | None:
        """A new claim token on ``obj_id``'s ``stage``, or None while a live claim holds it."""
        with self.lock:
            assert self._depth, "claims are made inside a transaction"
            row = self._db.execute("SELECT token, host, pid, started, at FROM claims "
                                   "WHERE obj_id = ?", (obj_id,)).fetchone()
            if row is not None and self._claim_alive(*row):
                return None
            token = secrets.token_hex(16)
            pid = os.getpid()
            self._db.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (obj_id, stage, token, _HOST, pid, _process_start(pid) or "",
                              time.time()))
        with _active_lock:
            _active.add(token)
        return token

    @staticmethod
    def _claim_alive(token: str, host: str, pid: int, started: str, at: float) -> bool:
        if host != _HOST:
            return time.time() - at < FOREIGN_CLAIM_SECONDS
        if pid == os.getpid():
            with _active_lock:
                return token in _active
        return process_alive(pid, started)

    def holds(self, obj_id: str, token: str) -> bool:
        with self.lock:
            row = self._db.execute("SELECT 1 FROM claims WHERE obj_id = ? AND token = ?",
                                   (obj_id, token)).fetchone()
        return row is not None

    def release(self, obj_id: str, token: str | None = None) -> None:
        """Drop ``token``'s claim on ``obj_id`` (any claim on it when token is None)."""
        with self.lock:
            if token is None:
                self._db.execute("DELETE FROM claims WHERE obj_id = ?", (obj_id,))
            else:
                self._db.execute("DELETE FROM claims WHERE obj_id = ? AND token = ?",
                                 (obj_id, token))

    @staticmethod
    def forget(token: str) -> None:
        """This process no longer works on ``token`` (its claim, if left, is then dead)."""
        with _active_lock:
            _active.discard(token)

    # blobs
    def blob_path(self, name: str) -> Path:
        return self.blobs / name

    def _record_blob(self, name: str, size: int, sha256: str) -> None:
        with self.lock:
            self._db.execute("INSERT OR REPLACE INTO blobs VALUES (?, ?, ?)", (name, size, sha256))

    def write_blob(self, name: str, data: bytes) -> Path:
        path = self.blob_path(name)
        tmp = self.blobs / temp_name("blob")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self._record_blob(name, len(data), hashlib.sha256(data).hexdigest())
        return path

    def adopt_blob(self, name: str, source: Path) -> int:
        """Move a file written elsewhere (an upload's temporary file) in as blob ``name``."""
        digest, size = hashlib.sha256(), 0
        with open(source, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        os.replace(source, self.blob_path(name))
        self._record_blob(name, size, digest.hexdigest())
        return size

    def blob_sha256(self, name: str) -> str:
        """The sha256 recorded when the blob was written (a blob from before digests were
        recorded is hashed now)."""
        with self.lock:
            row = self._db.execute("SELECT sha256 FROM blobs WHERE name = ?", (name,)).fetchone()
        return row[0] if row is not None else hashlib.sha256(self.read_blob(name)).hexdigest()

    def read_blob(self, name: str) -> bytes:
        """A blob's bytes, checked against the size and sha256 recorded when it was written."""
        path = self.blob_path(name)
        with self.lock:
            row = self._db.execute("SELECT size, sha256 FROM blobs WHERE name = ?",
                                   (name,)).fetchone()
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            if row is None:
                raise
            raise StateError(f"sandbox file {path} is missing (recorded {row[0]} bytes); "
                             f"{_reset(self.root)}") from None
        if row is not None:
            if len(data) != row[0]:
                raise StateError(f"sandbox file {path} is {len(data)} bytes, but {row[0]} were "
                                 f"written: it is truncated or was changed; {_reset(self.root)}")
            if hashlib.sha256(data).hexdigest() != row[1]:
                raise StateError(f"sandbox file {path} differs from what was written (sha256 "
                                 f"mismatch): it was altered; {_reset(self.root)}")
        return data

    def delete_blob(self, name: str) -> None:
        self.blob_path(name).unlink(missing_ok=True)
        with self.lock:
            self._db.execute("DELETE FROM blobs WHERE name = ?", (name,))
