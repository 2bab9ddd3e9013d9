"""The embedded sandbox: a local OpenAI- and Zhipu-compatible API that really fine-tunes.

``app_for(data_dir, faults=None)`` returns a WSGI app over the state in
``data_dir`` (one shared core per directory in a process). See README.md.
"""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from . import settings
from .app import SandboxApp
from .catalog import BASE_MODEL
from .core import Sandbox
from .faults import Faults, SandboxTimeout
from .store import DB_NAME, StateError

__all__ = ["app_for", "core_for", "instance_id", "read_instance_id", "Faults", "SandboxTimeout",
           "BASE_MODEL", "StateError"]

_cores: dict[Path, Sandbox] = {}
_cores_lock = threading.Lock()


def core_for(data_dir) -> Sandbox:
    """The one ``Sandbox`` object for a directory in this process.

    A directory deleted since it was opened (a reset sandbox) is opened afresh,
    so new clients get a new instance id rather than the deleted database.
    """
    path = Path(data_dir).expanduser().resolve()
    with _cores_lock:
        core = _cores.get(path)
        if core is None or not core.store.exists():
            core = _cores[path] = Sandbox(path)
        return core


def instance_id(data_dir) -> str:
    """The random id this sandbox directory got when it was created (made now if new).

    Every id the sandbox hands out derives from it, so clients can tell a reset
    sandbox from the one they talked to before (``helpers.config`` keys caches on it).
    """
    return core_for(data_dir).store.instance_id


def read_instance_id(data_dir) -> str | None:
    """The instance id of a sandbox already made in ``data_dir``, or None if there is none.

    Creates and changes nothing (the database is opened read-only), so a caller
    can name the sandbox it would talk to without making one.
    """
    path = Path(data_dir).expanduser().resolve()
    with _cores_lock:
        core = _cores.get(path)
    if core is not None and core.store.exists():
        return core.store.instance_id
    db = path / DB_NAME
    if not db.is_file():
        return None
    con = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'instance_id'").fetchone()
    except sqlite3.Error:
        return None  # a directory being created right now: not a sandbox yet
    finally:
        con.close()
    return row[0] if row else None


def app_for(data_dir, faults: Faults | None = None, *, progression: str | None = None,
            stall_on_timeout: float | None = None) -> SandboxApp:
    """A WSGI callable over ``data_dir``.

    ``progression`` is 'poll' (default; each retrieve advances a job or batch one
    stage), 'instant' or 'time'; the COURSE_SANDBOX_PROGRESSION variable sets the default.
    """
    if faults is not None and not isinstance(faults, Faults):
        raise TypeError(f"faults must be a helpers.sandbox.Faults, got {type(faults).__name__}")
    return SandboxApp(core_for(data_dir), faults, settings.progression(progression),
                      stall_on_timeout)
