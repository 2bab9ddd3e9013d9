"""On-disk cache of API responses, so rerunning an evaluation costs nothing.

Keys are sha256 of the backend's identity (``clients.cache_namespace``: SDK,
provider, base URL and, for the sandbox, its instance id, so a re-created
sandbox never gets another instance's answers) + model + the full request
JSON. Values are small JSON documents. Storage is SQLite in WAL mode, one
connection per thread, which makes the cache safe for the worker threads of
``helpers.classify`` and for several processes sharing a work directory.
Commits do not wait for the disk (``synchronous=NORMAL``, SQLite's advice for
WAL): a crashed process loses nothing, a power cut can lose the last few
answers (asked again next run), and a 200-request evaluation no longer spends
most of its time in fsync.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path

from .sqlite_wal import enable_wal

CACHE_DIR_NAME = "cache"
CACHE_FILE_NAME = "responses.sqlite"


def cache_key(backend: str, model: str, request: dict) -> str:
    """sha256 hex digest of backend (its identity), model and the request (canonical JSON)."""
    doc = json.dumps({"backend": backend, "model": model, "request": request},
                     sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


class ResponseCache:
    """A key → JSON store in one SQLite file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        with self._connection() as conn:
            enable_wal(conn)
            conn.execute("CREATE TABLE IF NOT EXISTS responses "
                         "(key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0)
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def get(self, key: str) -> dict | None:
        row = self._connection().execute(
            "SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        with self._lock:
            if row is None:
                self.misses += 1
            else:
                self.hits += 1
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: dict) -> None:
        text = json.dumps(value, ensure_ascii=False)
        with self._connection() as conn:
            conn.execute("INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)",
                         (key, text))

    def __len__(self) -> int:
        return self._connection().execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def clear(self) -> None:
        with self._connection() as conn:
            conn.execute("DELETE FROM responses")


def open_cache(work_dir: str | Path) -> ResponseCache:
    """The response cache under ``work_dir/cache/``."""
    return ResponseCache(Path(work_dir) / CACHE_DIR_NAME / CACHE_FILE_NAME)
