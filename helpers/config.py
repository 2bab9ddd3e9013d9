"""One place that decides backend, mode, base URL, sandbox directory and API keys.

Precedence, highest first: explicit arguments (notebook / papermill
parameters), environment variables, a ``.env`` file, built-in defaults.
Keys are looked up but never printed: ``Settings`` does not hold them and
``repr`` of anything here shows no key.

``resolve()`` is pure: it reads settings and creates nothing. Record and
replay runs use temporary directories that are named once per process
(``process_temp_dir``), so every ``resolve()`` and ``work_dir()`` of one
notebook kernel agree, and a second kernel gets its own.
"""
from __future__ import annotations

import os
import secrets
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

BACKENDS = ("sandbox", "openai", "zhipu", "compatible")
MODES = ("replay", "record", "live")
DEFAULT_BACKEND = "sandbox"
DEFAULT_MODE = "live"
KEY_VARS = {"openai": "OPENAI_API_KEY", "zhipu": "ZHIPUAI_API_KEY",
            "compatible": "COURSE_API_KEY"}
OPTIONAL_KEY = {"compatible"}  # many local servers (Ollama, llama.cpp) need no key
BASE_URL_VAR = "COURSE_BASE_URL"
# The SDKs' own variables, honoured below COURSE_BASE_URL (the SDKs read them too).
SDK_BASE_URL_VARS = {"openai": "OPENAI_BASE_URL", "zhipu": "ZHIPUAI_BASE_URL"}
DEFAULT_BASE_URLS = {"openai": "https://api.openai.com/v1",
                     "zhipu": "https://open.bigmodel.cn/api/paas/v4"}
SANDBOX_HOST = "http://sandbox.local"  # the in-process sandbox's host (no socket behind it)
SERVER_EXAMPLES = ("http://localhost:11434/v1 (Ollama), http://localhost:8000/v1 (vLLM) or "
                   "http://localhost:8080/v1 (llama.cpp's llama-server)")

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A setting is missing or has a value the course does not know."""


class MissingKeyError(RuntimeError):
    """A live or record run needs an API key that is not set."""


@dataclass(frozen=True)
class Settings:
    backend: str
    mode: str
    sandbox_dir: Path
    base_url: str | None = None  # None: the in-process sandbox

    @property
    def needs_key(self) -> bool:
        return (self.backend != "sandbox" and self.backend not in OPTIONAL_KEY
                and self.mode != "replay")

    @property
    def identity(self) -> str:
        """Which backend instance answers: provider, base URL and, for the sandbox, its id.

        Everything stored about a backend (cached responses, jobs, uploads,
        batches) is keyed on this, so nothing recorded against one instance is
        used with another: a deleted and re-created sandbox directory gets a
        new instance id. Replay is its own instance (the recordings), and asks
        no sandbox. The URL keeps scheme, host, port and path only. Reading it
        has no side effect: the sandbox's id is read, never made (a client makes
        the sandbox; before that it has no identity, a ``ConfigError``).
        """
        url = public_url(self.base_url or SANDBOX_HOST)
        name = f"{self.backend}@{url}"
        if self.mode == "replay":
            return f"replay:{name}"
        if self.backend == "sandbox":
            # Imported here for speed: the sandbox is the heaviest import of the course and
            # only a sandbox identity needs it (and the sandbox never imports config).
            from . import sandbox

            instance = sandbox.read_instance_id(self.sandbox_dir)  # read only: makes nothing
            if instance is None:
                raise ConfigError(
                    f"No sandbox in {self.sandbox_dir} yet, so it has no identity: it gets its "
                    "instance id when a client first opens it (clients.openai_client(settings)).")
            name += "#" + instance
        return name


def public_url(url: str) -> str:
    """scheme://host[:port]/path of a URL: no credentials, query or fragment."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return f"{parts.scheme}://{host}{parts.path.rstrip('/')}"


_process = {"pid": None, "token": None}


def process_temp_dir(kind: str) -> Path:
    """A temporary path named once per process (same on every call; not created here)."""
    if _process["pid"] != os.getpid():  # a forked child gets its own
        _process.update(pid=os.getpid(), token=secrets.token_hex(4))
    return Path(tempfile.gettempdir()) / f"course-{kind}-{os.getpid()}-{_process['token']}"


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


def _base_url(backend: str, explicit: str | None, env_file: Path | None) -> str | None:
    if backend == "sandbox":
        if explicit:
            raise ConfigError(
                f"base_url={explicit!r} was given, but COURSE_BACKEND=sandbox runs in-process "
                f"and has no URL; to use a served sandbox (python -m helpers.sandbox serve) set "
                f"COURSE_BACKEND=compatible and {BASE_URL_VAR}=http://127.0.0.1:8000/v1")
        return None  # COURSE_BASE_URL in the environment is meant for the other backends
    url = _pick(BASE_URL_VAR, explicit, env_file, None)
    if not url and backend in SDK_BASE_URL_VARS:
        url = _pick(SDK_BASE_URL_VARS[backend], None, env_file, DEFAULT_BASE_URLS[backend])
    if not url:
        raise ConfigError(
            f"COURSE_BACKEND={backend} needs {BASE_URL_VAR}, the server's OpenAI-compatible base "
            f"URL: set it in your shell (export {BASE_URL_VAR}=...) or in .env, for example "
            f"{SERVER_EXAMPLES}.")
    url = str(url).strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{BASE_URL_VAR}={public_url(url)!r} is not an http(s) URL with a "
                          f"host; set it to the server's base URL, for example {SERVER_EXAMPLES}.")
    return url


def resolve(backend: str | None = None, mode: str | None = None,
            sandbox_dir: str | Path | None = None, env_file: Path | None = None,
            base_url: str | None = None) -> Settings:
    """Settings from arguments, then ``COURSE_*`` variables, then ``.env``, then defaults.

    Reads only: no directory is created (see ``work_dir`` and the sandbox).
    """
    backend = str(_pick("COURSE_BACKEND", backend, env_file, DEFAULT_BACKEND)).strip().lower()
    mode = str(_pick("COURSE_MODE", mode, env_file, DEFAULT_MODE)).strip().lower()
    if backend not in BACKENDS:
        raise ConfigError(f"COURSE_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}; "
                          "set COURSE_BACKEND (or the notebook's BACKEND parameter) to one of them")
    if mode not in MODES:
        raise ConfigError(f"COURSE_MODE={mode!r} is not one of {', '.join(MODES)}; "
                          "set COURSE_MODE (or the notebook's MODE parameter) to one of them")
    url = _base_url(backend, base_url, env_file)
    default_dir = REPO_ROOT / ".sandbox"
    if mode == "record" and backend == "sandbox":
        # A fresh sandbox per recording process keeps cassettes reproducible.
        default_dir = process_temp_dir("record-sandbox")
    sdir = Path(_pick("COURSE_SANDBOX_DIR", sandbox_dir, env_file, default_dir))
    return Settings(backend=backend, mode=mode, sandbox_dir=sdir.expanduser().resolve(),
                    base_url=url)


def api_key(backend: str, env_file: Path | None = None) -> str | None:
    """The key for ``backend`` from the environment or ``.env``; None if unset."""
    var = KEY_VARS.get(backend)
    if var is None:
        return None
    return os.environ.get(var) or _dotenv(env_file).get(var) or None


def configured_keys(env_file: Path | None = None) -> list[str]:
    """Every key set for any backend (to mask them wherever text leaves the process)."""
    return [key for backend in KEY_VARS if (key := api_key(backend, env_file))]


def require_key(settings: Settings, env_file: Path | None = None) -> str | None:
    """Return the key a live/record run needs, or fail with how to set it.

    ``compatible`` servers often need none: its key is returned if set, else None.
    """
    key = api_key(settings.backend, env_file)
    if key or settings.backend in OPTIONAL_KEY:
        return key
    var = KEY_VARS[settings.backend]
    raise MissingKeyError(
        f"COURSE_BACKEND={settings.backend} in {settings.mode} mode needs {var}, which is not set. "
        f"Set it in your shell (export {var}=...) or in a .env file at the repository root "
        f"({var}=...), or run without a key: COURSE_BACKEND=sandbox (the free local API) "
        f"or COURSE_MODE=replay (recorded responses)."
    )


def work_dir(settings: Settings, path: str | Path | None = None) -> Path:
    """Where a run keeps its artifacts (data splits, JSONL, job store, plots); created.

    Live runs share ``COURSE_WORK_DIR`` (default ``work/`` at the repo root) so
    later notebooks reuse earlier results and jobs. Replay and record runs use
    a temporary directory made once per process unless one is given, so every
    notebook starts empty, makes the same requests each time (its cassette is
    reproducible), and finds again within the kernel what it stored there.
    """
    chosen = path or os.environ.get("COURSE_WORK_DIR")
    if not chosen:
        chosen = REPO_ROOT / "work" if settings.mode == "live" else \
            process_temp_dir(f"{settings.mode}-work")
    out = Path(chosen).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    return out
