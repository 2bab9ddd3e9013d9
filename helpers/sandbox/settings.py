"""Every COURSE_SANDBOX_* variable the sandbox reads, read here and only when asked.

Nothing is read at import time, so a test or a server that sets a variable
after importing the sandbox is obeyed (``tests/test_sandbox_settings.py`` fails
if another sandbox module reads ``os.environ``).
"""
from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values

PROGRESSIONS = ("poll", "instant", "time")
DEFAULT_STAGE_SECONDS = 2.0
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024  # OpenAI's file limit
REPO_ROOT = Path(__file__).resolve().parents[2]


def _raw(name: str) -> str:
    return os.environ.get(name, "").strip()


def _number(name: str, default, kind):
    raw = _raw(name)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r} must not be negative")
    return value


def stage_seconds() -> float:
    """Wall time a job or batch stage lasts under the 'time' progression (default 2 s)."""
    return _number("COURSE_SANDBOX_STAGE_SECONDS", DEFAULT_STAGE_SECONDS, float)


def progression(explicit: str | None = None, default: str = "poll") -> str:
    """How jobs and batches advance: the argument, else COURSE_SANDBOX_PROGRESSION, else default."""
    value = (explicit or _raw("COURSE_SANDBOX_PROGRESSION") or default).strip().lower()
    if value not in PROGRESSIONS:
        raise ValueError(f"sandbox progression {value!r} is not one of {', '.join(PROGRESSIONS)}")
    return value


def max_body_bytes() -> int:
    """The JSON body limit: COURSE_SANDBOX_MAX_BODY_BYTES, default 64 MiB."""
    return _number("COURSE_SANDBOX_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, int)


def max_upload_bytes() -> int:
    """The upload size limit: COURSE_SANDBOX_MAX_UPLOAD_BYTES, default 512 MB."""
    return _number("COURSE_SANDBOX_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES, int)


def data_dir() -> Path:
    """COURSE_SANDBOX_DIR from the environment, else from ``.env`` as the course reads it
    (``COURSE_ENV_FILE`` names the file or ``none``; else the repo root's, then the working
    directory's), else ``.sandbox/`` at the repo root."""
    value = _raw("COURSE_SANDBOX_DIR")
    if not value:
        override = _raw("COURSE_ENV_FILE")
        if override.lower() == "none":
            paths = []
        else:
            paths = [Path(override)] if override else [REPO_ROOT / ".env", Path.cwd() / ".env"]
        for path in paths:
            if path.is_file():
                value = dotenv_values(path).get("COURSE_SANDBOX_DIR") or value
    return Path(value or REPO_ROOT / ".sandbox").expanduser().resolve()
