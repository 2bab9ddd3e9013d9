"""The embedded sandbox: a local OpenAI- and Zhipu-compatible API that really fine-tunes.

``app_for(data_dir, faults=None)`` returns a WSGI app over the state in
``data_dir`` (one shared core per directory in a process). See README.md.
"""
from __future__ import annotations

import threading
from pathlib import Path

from .app import SandboxApp
from .core import BASE_MODEL, Sandbox, resolve_progression
from .faults import Faults, SandboxTimeout
from .store import StateError

__all__ = ["app_for", "core_for", "instance_id", "Faults", "SandboxTimeout", "BASE_MODEL",
           "StateError"]

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


def app_for(data_dir, faults: Faults | None = None, *, progression: str | None = None,
            stall_on_timeout: float | None = None) -> SandboxApp:
    """A WSGI callable over ``data_dir``.

    ``progression`` is 'poll' (default; each retrieve advances a job or batch one
    stage), 'instant' or 'time'; the COURSE_SANDBOX_PROGRESSION variable sets the default.
    """
    if faults is not None and not isinstance(faults, Faults):
        raise TypeError(f"faults must be a helpers.sandbox.Faults, got {type(faults).__name__}")
    return SandboxApp(core_for(data_dir), faults, resolve_progression(progression),
                      stall_on_timeout)
