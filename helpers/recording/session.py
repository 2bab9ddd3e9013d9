"""A process's cassettes: opened once, replayed in order, saved as they grow.

One cassette per notebook and backend, ``notebooks/cassettes/<name>.<backend>.json``
(or ``COURSE_CASSETTE_DIR``). A notebook kernel has no natural "end of test"
to save at, so a recording is written (atomically, ``helpers.atomic``) at
most every ``SAVE_EVERY_SECONDS`` as interactions arrive, after every
notebook cell that recorded something, and at interpreter exit. Replay plays
each recording once, in recorded order among identical requests (polling
replays as it happened); recordings are looked up by ``matching.signature``.
"""
from __future__ import annotations

import atexit
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import atomic
from ..config import REPO_ROOT, Settings
from . import serialising
from .explanation import CassetteMiss, explain
from .matching import signature

CASSETTE_DIR = REPO_ROOT / "notebooks" / "cassettes"
SAVE_EVERY_SECONDS = 2.0


@dataclass(eq=False)
class Session:
    """One open cassette: its interactions, which were played, and whether it records."""

    path: Path
    recording: bool
    interactions: list = field(default_factory=list)   # (vcrpy Request, response data)
    played: list[int] = field(default_factory=list)     # per interaction
    index: dict = field(default_factory=dict)           # signature -> interaction numbers
    unsaved: bool = False
    last_save: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, path: Path, recording: bool) -> Session:
        session = cls(path, recording)
        if not recording:
            session.interactions = serialising.loads(path.read_text(encoding="utf-8"))
            session.played = [0] * len(session.interactions)
            for i, (stored, _response) in enumerate(session.interactions):
                session.index.setdefault(signature(stored), []).append(i)
        return session

    def play(self, request) -> dict:
        """The first unplayed recording of ``request``, or ``CassetteMiss`` saying why not."""
        numbers = self.index.get(signature(request), ())
        with self.lock:
            for i in numbers:
                if not self.played[i]:
                    self.played[i] += 1
                    return self.interactions[i][1]
        raise CassetteMiss(explain(request, [r for r, _ in self.interactions], self.path,
                                   all_used=bool(numbers)))

    def record(self, request, response: dict) -> None:
        with self.lock:
            self.interactions.append((request, response))
            self.unsaved = True
            due = time.monotonic() - self.last_save >= SAVE_EVERY_SECONDS
        if due:
            self.save()

    def save(self) -> None:
        """Write the recording (whole or not at all) if something is not on disk yet."""
        with self.lock:
            if not (self.recording and self.unsaved):
                return
            text = serialising.dumps(self.interactions)
            atomic.write_text(self.path, text)
            self.unsaved, self.last_save = False, time.monotonic()


_active: dict[Path, Session] = {}
_lock = threading.Lock()


def cassette_dir() -> Path:
    """``notebooks/cassettes``, or ``COURSE_CASSETTE_DIR`` (tests re-record into a temp dir)."""
    return Path(os.environ.get("COURSE_CASSETTE_DIR") or CASSETTE_DIR)


def cassette_path(name: str | Path, settings: Settings | None = None) -> Path:
    """``<cassette dir>/<name>.<backend>.json``, or ``name`` itself if it is a ``.json`` path."""
    p = Path(name)
    if p.suffix == serialising.SUFFIX:
        return p.resolve()
    if settings is None:
        raise ValueError(f"cassette {name!r} is a notebook name: its settings say which backend")
    return cassette_dir() / f"{p.stem}.{settings.backend}{serialising.SUFFIX}"


def activate(name: str | Path, settings: Settings) -> Path:
    """Open the cassette for this process (once): replay needs the file, record starts anew."""
    path = cassette_path(name, settings)
    with _lock:
        if path in _active:
            return path
        if settings.mode == "replay":
            if not path.is_file():
                raise FileNotFoundError(
                    f"replay mode needs the recording {path}, which does not exist; record it "
                    f"with COURSE_MODE=record (or use COURSE_MODE=live)")
            session = Session.open(path, recording=False)
        elif settings.mode == "record":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
            session = Session.open(path, recording=True)
            _save_after_each_cell()
        else:
            raise ValueError(f"no cassette is used in {settings.mode} mode")
        _active[path] = session
    return path


def current() -> Session | None:
    """The cassette course clients use now: the one opened last, if any is open."""
    with _lock:
        return next(reversed(_active.values()), None)


def session_for(name: str | Path, settings: Settings | None = None) -> Session | None:
    """The open session of a cassette (None if it is not open)."""
    with _lock:
        return _active.get(cassette_path(name, settings))


def any_active() -> bool:
    """Whether this process has a cassette open (record or replay)."""
    with _lock:
        return bool(_active)


def save_all() -> None:
    """Write every cassette being recorded (also runs at interpreter exit)."""
    with _lock:
        sessions = list(_active.values())
    for session in sessions:
        session.save()


def deactivate(name: str | Path | None = None, settings: Settings | None = None) -> None:
    """Close one cassette (or all), saving recordings; mainly for tests."""
    save_all()
    with _lock:
        paths = list(_active) if name is None else [cassette_path(name, settings)]
        for path in paths:
            _active.pop(path, None)


def _save_after_each_cell() -> None:
    """In a notebook kernel, also save after every cell that recorded something.

    The throttled saves can leave a cell's last interactions unsaved, and the
    exit-time save may not finish: a kernel asked to shut down is killed after
    a few seconds.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or getattr(_save_after_each_cell, "registered", False):
        return
    shell.events.register("post_run_cell", lambda *_: save_all())
    _save_after_each_cell.registered = True


atexit.register(save_all)
