"""Course state files that check themselves: a bad one is named in one line, with its reset.

The course keeps state between runs in SQLite (the job store, the response
cache), JSON (manifest, results) and data files. A file that is cut, garbled
or from another version must stop the run with one line (``StateFileError``):
the file, what is wrong, and the command that resets it; never a traceback
from deep inside sqlite3 or json, never a number computed from the wrong data.

Each course SQLite store carries its schema version in ``PRAGMA user_version``
(``open_sqlite``): an older one is upgraded by the store's own step, a newer
one is refused.
"""
from __future__ import annotations

import shlex
import sqlite3
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from .atomic import DiskFullError


class StateFileError(RuntimeError):
    """A state file the course cannot trust; the message is one line."""

    def __init__(self, path, problem: str, reset: str | None = None):
        self.path, self.problem = Path(path), problem
        self.reset = reset or reset_command(path)
        super().__init__(f"{self.path}: {problem}; reset it with: {self.reset}")


def reset_command(path, then: str = "") -> str:
    """The shell command that removes a state file (the course rebuilds or re-finds it)."""
    return f"rm -f {shlex.quote(str(path))}" + (f"  ({then})" if then else "")


@contextmanager
def sqlite_errors(path, reset: str | None = None):
    """sqlite3's "file is not a database" / "malformed" errors as one named line, and
    "database or disk is full" as ``DiskFullError`` naming the directory."""
    try:
        yield
    except sqlite3.OperationalError as err:
        if "disk is full" in str(err):
            raise DiskFullError(Path(path).parent) from None
        raise  # locked, busy...: not the file's fault
    except sqlite3.DatabaseError as err:
        raise StateFileError(path, f"not a readable SQLite database ({err})", reset) from None


def open_sqlite(path, *, version: int, upgrade: Callable[[sqlite3.Connection, int], None],
                reset: str | None = None, timeout: float = 30.0) -> sqlite3.Connection:
    """A connection to the store at ``path`` at schema ``version`` (``PRAGMA user_version``).

    ``upgrade(conn, found)`` brings a store at an older version (0: new or from
    before versions) to ``version``; a newer store is refused.
    """
    conn = sqlite3.connect(path, timeout=timeout)
    try:
        with sqlite_errors(path, reset):
            found = conn.execute("PRAGMA user_version").fetchone()[0]
            if found > version:
                raise StateFileError(path, f"written by a newer version of the course (schema "
                                     f"version {found}, this one reads up to {version})", reset)
            if found < version:
                with conn:
                    upgrade(conn, found)
                    conn.execute(f"PRAGMA user_version = {int(version)}")
    except BaseException:
        conn.close()
        raise
    return conn
