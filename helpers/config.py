"""One place that decides backend, mode, sandbox directory and API keys.

Precedence, highest first: explicit arguments (notebook / papermill
parameters), environment variables, a ``.env`` file, built-in defaults.
Keys are looked up but never printed: ``Settings`` does not hold them and
``repr`` of anything here shows no key.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

BACKENDS = ("sandbox", "openai", "zhipu")
MODES = ("replay", "record", "live")
DEFAULT_BACKEND = "sandbox"
DEFAULT_MODE = "live"
KEY_VARS = {"openai": "OPENAI_API_KEY", "zhipu": "ZHIPUAI_API_KEY"}

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A setting has a value the course does not know."""


class MissingKeyError(RuntimeError):
    """A live or record run needs an API key that is not set."""


@dataclass(frozen=True)
class Settings:
    backend: str
    mode: str
    sandbox_dir: Path

    @property
    def needs_key(self) -> bool:
        return self.backend != "sandbox" and self.mode != "replay"


def _dotenv(env_file: Path | None = None) -> dict[str, str]:
    """Values from ``.env`` (repo root, then the working directory).

    ``COURSE_ENV_FILE`` names another file, or ``none`` to read none (the test
    suite sets it, so a developer's real keys never reach a test or a kernel).
    """
    values: dict[str, str] = {}
    override = os.environ.get("COURSE_ENV_FILE")
    if env_file is None and override:
        if override.lower() == "none":
            return values
        env_file = Path(override)
    for path in [env_file] if env_file else [REPO_ROOT / ".env", Path.cwd() / ".env"]:
        if path and path.is_file():
            values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    return values


def _pick(name: str, explicit, env_file: Path | None, default):
    if explicit not in (None, ""):
        return explicit
    if os.environ.get(name):
        return os.environ[name]
    return _dotenv(env_file).get(name) or default


def resolve(backend: str | None = None, mode: str | None = None,
            sandbox_dir: str | Path | None = None, env_file: Path | None = None) -> Settings:
    """Settings from arguments, then ``COURSE_*`` variables, then ``.env``, then defaults."""
    backend = str(_pick("COURSE_BACKEND", backend, env_file, DEFAULT_BACKEND)).strip().lower()
    mode = str(_pick("COURSE_MODE", mode, env_file, DEFAULT_MODE)).strip().lower()
    if backend not in BACKENDS:
        raise ConfigError(f"COURSE_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}")
    if mode not in MODES:
        raise ConfigError(f"COURSE_MODE={mode!r} is not one of {', '.join(MODES)}")
    default_dir = REPO_ROOT / ".sandbox"
    if mode == "record" and backend == "sandbox":
        # A fresh sandbox per recording keeps cassettes reproducible.
        import tempfile

        default_dir = Path(tempfile.mkdtemp(prefix="course-sandbox-"))
    sdir = Path(_pick("COURSE_SANDBOX_DIR", sandbox_dir, env_file, default_dir))
    return Settings(backend=backend, mode=mode, sandbox_dir=sdir.expanduser().resolve())


def api_key(backend: str, env_file: Path | None = None) -> str | None:
    """The key for ``backend`` from the environment or ``.env``; None if unset."""
    var = KEY_VARS.get(backend)
    if var is None:
        return None
    return os.environ.get(var) or _dotenv(env_file).get(var) or None


def require_key(settings: Settings, env_file: Path | None = None) -> str:
    """Return the key a live/record run needs, or fail with how to set it."""
    key = api_key(settings.backend, env_file)
    if key:
        return key
    var = KEY_VARS[settings.backend]
    raise MissingKeyError(
        f"COURSE_BACKEND={settings.backend} in {settings.mode} mode needs {var}, which is not set. "
        f"Set it in your shell (export {var}=...) or in a .env file at the repository root "
        f"({var}=...), or run without a key: COURSE_BACKEND=sandbox (the free local API) "
        f"or COURSE_MODE=replay (recorded responses)."
    )


def work_dir(settings: Settings, path: str | Path | None = None) -> Path:
    """Where a run keeps its artifacts (data splits, JSONL, job store, plots).

    Live runs share ``COURSE_WORK_DIR`` (default ``work/`` at the repo root) so
    later notebooks reuse earlier results and jobs. Replay and record runs start
    from an empty temporary directory unless one is given, so every notebook
    makes the same requests each time and its cassette is reproducible.
    """
    chosen = path or os.environ.get("COURSE_WORK_DIR")
    if not chosen:
        if settings.mode == "live":
            chosen = REPO_ROOT / "work"
        else:
            import tempfile

            chosen = tempfile.mkdtemp(prefix=f"course-{settings.mode}-")
    out = Path(chosen).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    return out
