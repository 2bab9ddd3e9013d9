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

Each entry stores the key it was written for next to the answer and is checked
on read: an answer found under another key (rows shuffled or copied by hand, a
damaged file) is never used. It is discarded, counted in ``rejected``, asked
again, and one line on stderr names the file. The file carries its schema
version (``PRAGMA user_version``); entries from before versions cannot be
checked and are dropped on upgrade. An unreadable file stops with one line
naming it and the command that resets it (``helpers.state``).
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
import threading
from pathlib import Path

from .sqlite_wal import enable_wal
from .state import open_sqlite, reset_command, sqlite_errors

CACHE_DIR_NAME = "cache"
CACHE_FILE_NAME = "responses.sqlite"
SCHEMA_VERSION = 1  # 1: each value is {"key": <its key>, "response": <the answer>}


def cache_key(backend: str, model: str, request: dict) -> str:
    """sha256 hex digest of backend (its identity), model and the request (canonical JSON)."""
    doc = json.dumps({"backend": backend, "model": model, "request": request},
                     sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


def _upgrade(conn: sqlite3.Connection, found: int) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS responses "
                 "(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    if found == 0:
        conn.execute("DELETE FROM responses")  # unversioned entries carry no key to check


class ResponseCache:
    """A key → JSON store in one SQLite file, each value checked against its key on read."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.reset = reset_command(self.path, "cached answers are asked again")
        self._local = threading.local()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.rejected = 0
        with sqlite_errors(self.path, self.reset):
            enable_wal(self._connection())

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_sqlite(self.path, version=SCHEMA_VERSION, upgrade=_upgrade,
                               reset=self.reset)
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def _checked(self, key: str, text: str) -> dict | None:
        """The answer stored under ``key``, or None when the entry is not ``key``'s."""
        try:
            doc = json.loads(text)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and doc.get("key") == key and isinstance(doc.get("response"),
                                                                          dict):
            return doc["response"]
        with self._lock:
            self.rejected += 1
            first = self.rejected == 1
        with sqlite_errors(self.path, self.reset), self._connection() as conn:
            conn.execute("DELETE FROM responses WHERE key = ?", (key,))
        if first:
            print(f"{self.path}: an entry did not belong to its request key (hand-edited or "
                  "damaged file); it was discarded and the request is sent again",
                  file=sys.stderr)
        return None

    def get(self, key: str) -> dict | None:
        with sqlite_errors(self.path, self.reset):
            row = self._connection().execute(
                "SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        value = None if row is None else self._checked(key, row[0])
        with self._lock:
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
        return value

    def put(self, key: str, value: dict) -> None:
        text = json.dumps({"key": key, "response": value}, ensure_ascii=False)
        with sqlite_errors(self.path, self.reset), self._connection() as conn:
            conn.execute("INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)",
                         (key, text))

    def __len__(self) -> int:
        with sqlite_errors(self.path, self.reset):
            return self._connection().execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def clear(self) -> None:
        with sqlite_errors(self.path, self.reset), self._connection() as conn:
            conn.execute("DELETE FROM responses")


def open_cache(work_dir: str | Path) -> ResponseCache:
    """The response cache under ``work_dir/cache/``."""
    return ResponseCache(Path(work_dir) / CACHE_DIR_NAME / CACHE_FILE_NAME)
