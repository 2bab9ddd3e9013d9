"""Persistent state of one sandbox directory: SQLite (WAL) plus a file store.

One ``Store`` per resolved directory is shared by every client in the process.
A single connection is guarded by a re-entrant lock; each public change runs in
one transaction (``BEGIN IMMEDIATE``), so a killed process leaves either the
old or the new state. Blobs are written to a temporary name and renamed before
the transaction that refers to them commits.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

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
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
TABLES = ("files", "jobs", "models", "batches")


def hex_id(instance: str, kind: str, n: int, length: int = 24) -> str:
    """Random-looking hex from this sandbox instance's id and a counter value.

    Like a hosted service, a sandbox never hands out an id twice: a directory
    that is deleted and created again gets a new instance id, hence new ids.
    """
    return hashlib.sha256(f"sandbox:{instance}:{kind}:{n}".encode()).hexdigest()[:length]


class Store:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.blobs = self.root / "files"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._db = sqlite3.connect(self.root / "sandbox.sqlite3", isolation_level=None,
                                   check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        # The first process to open a new directory names the instance; later ones read it.
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('instance_id', ?)",
                         (secrets.token_hex(8),))
        self.instance_id = self._db.execute(
            "SELECT value FROM meta WHERE key = 'instance_id'").fetchone()[0]

    def hex_id(self, kind: str, n: int, length: int = 24) -> str:
        return hex_id(self.instance_id, kind, n, length)

    @contextmanager
    def transaction(self):
        """Serialise writers in this process and across processes; roll back on error."""
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def next_seq(self, kind: str) -> int:
        with self.lock:
            self._db.execute("INSERT OR IGNORE INTO counters VALUES (?, 0)", (kind,))
            self._db.execute("UPDATE counters SET n = n + 1 WHERE kind = ?", (kind,))
            return self._db.execute("SELECT n FROM counters WHERE kind = ?", (kind,)).fetchone()[0]

    def put(self, table: str, obj_id: str, seq: int, body: dict, **extra) -> None:
        cols = ["id", "seq", "body", *extra]
        vals = [obj_id, seq, json.dumps(body, ensure_ascii=False), *extra.values()]
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

    # blobs
    def blob_path(self, name: str) -> Path:
        return self.blobs / name

    def write_blob(self, name: str, data: bytes) -> Path:
        path = self.blob_path(name)
        tmp = path.with_name(f".{name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return path

    def read_blob(self, name: str) -> bytes:
        return self.blob_path(name).read_bytes()
