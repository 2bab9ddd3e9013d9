"""Client factory: the official SDK clients, wired to the chosen backend and mode.

* ``sandbox`` — the embedded local API (``helpers.sandbox``), called in-process
  through a WSGI transport: no port, no thread, no key.
* ``openai`` / ``zhipu`` — the real services (or another server at
  ``COURSE_BASE_URL``); live and record need a key.
* ``compatible`` — any OpenAI-compatible chat server at ``COURSE_BASE_URL``
  (Ollama, vLLM, llama.cpp's server...), through the OpenAI SDK, with
  ``COURSE_API_KEY`` if the server wants one. Such servers rarely have
  fine-tuning endpoints: ``supports_fine_tuning(client)`` tells.
* ``replay`` / ``record`` — a per-notebook cassette (``helpers.recording``)
  answers or captures every request of the clients made here (and only
  theirs); replay needs no key and no network, and its transport can only
  answer from the cassette (never a socket).

Every client made here remembers its ``Settings`` (``settings_of``), so helpers
given only a client still key their caches and stores on the backend's identity.
"""
from __future__ import annotations

import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path

import httpx
import httpx2
import openai
import zhipuai

from . import config, recording
from .config import Settings

SANDBOX_HOST = config.SANDBOX_HOST
SANDBOX_OPENAI_URL = f"{SANDBOX_HOST}/v1"
SANDBOX_ZHIPU_URL = f"{SANDBOX_HOST}/api/paas/v4"
# Placeholders the SDKs need when no real key is involved; not secrets.
SANDBOX_KEY = "sandbox-no-key-needed"
REPLAY_KEY = "replay-no-key-needed"
NO_KEY = "no-key-set"  # a compatible server without COURSE_API_KEY (never another backend's key)

_settings_of: weakref.WeakKeyDictionary[object, Settings] = weakref.WeakKeyDictionary()
_fine_tuning: weakref.WeakKeyDictionary[object, FineTuningSupport] = weakref.WeakKeyDictionary()
# A client made with faults= demonstrates retries: its answers are cached under its own session.
_fault_session: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()


def _settings(settings: Settings | None, **kw) -> Settings:
    return settings if settings is not None else config.resolve(**kw)


def _key(settings: Settings) -> str:
    if settings.backend == "sandbox":
        return SANDBOX_KEY
    if settings.mode == "replay":
        return REPLAY_KEY
    return config.require_key(settings) or NO_KEY


def _activate_cassette(settings: Settings, cassette: str | Path | None) -> None:
    if settings.mode == "live":
        return
    if cassette is None:
        raise config.ConfigError(
            f"COURSE_MODE={settings.mode} needs a cassette name (the notebook's name)")
    recording.activate(cassette, settings)


def _sandbox_app(settings: Settings, faults):
    # Imported here for speed: the sandbox is the heaviest import of the course, and replay
    # or a real backend never needs it (every notebook's first cell makes a client).
    from . import sandbox

    return sandbox.app_for(settings.sandbox_dir, faults=faults)


def _http_client(lib, settings: Settings, faults):
    """The SDK's HTTP client, always on the course's transport (``recording.transport``).

    Cassette-only in replay; else around the in-process sandbox or the network
    (faults= only exist in the sandbox; a real server has its own). Only clients
    made here are recorded, replayed and have keys masked in what they receive.
    ``lib`` is the HTTP library the SDK is built on: httpx2 (openai) or httpx (zhipuai).
    """
    if settings.mode == "replay":
        return lib.Client(transport=recording.replay_transport(lib.__name__))
    recorded = settings.mode == "record"
    if settings.backend == "sandbox":
        inner = lib.WSGITransport(app=_sandbox_app(settings, faults))
        return lib.Client(transport=recording.course_transport(lib, inner, uses_cassette=recorded))
    inner = recording.network_transport(lib, settings.base_url)
    return lib.Client(transport=recording.course_transport(lib, inner, uses_cassette=recorded),
                      follow_redirects=True)


def course_http_client(settings: Settings, sdk: str = "openai", *,
                       cassette: str | Path | None = None, faults=None):
    """The HTTP client ``client()`` hands to the SDK constructor, for a lesson to show that call.

    Opens the cassette in record/replay (as ``client()`` does) and returns an
    ``httpx2.Client`` (openai) or ``httpx.Client`` (zhipuai) on the course transport.
    """
    _activate_cassette(settings, cassette)
    return _http_client(httpx2 if sdk == "openai" else httpx, settings, faults)


_SDK_OF_BACKEND = {"sandbox": None, "openai": "openai", "zhipu": "zhipu", "compatible": "openai"}


def _common(settings: Settings, cassette, this: str) -> str:
    wanted = _SDK_OF_BACKEND[settings.backend]
    if wanted not in (None, this):
        raise config.ConfigError(f"COURSE_BACKEND={settings.backend} uses {wanted}_client() "
                                 f"(sdk='{wanted}'), not {this}_client()")
    key = _key(settings)  # fail fast on a missing key, before anything else
    _activate_cassette(settings, cassette)
    return key


def _remember(client, settings: Settings, faults=None):
    _settings_of[client] = settings
    if faults is not None:
        _fault_session[client] = uuid.uuid4().hex
    return client


def openai_client(settings: Settings | None = None, *, cassette: str | Path | None = None,
                  faults=None, max_retries: int = 2, timeout: float = 60.0,
                  strict: bool = False, **resolve_kw) -> openai.OpenAI:
    """An ``openai.OpenAI`` client for the configured backend and mode."""
    settings = _settings(settings, **resolve_kw)
    key = _common(settings, cassette, "openai")
    return _remember(openai.OpenAI(
        api_key=key, max_retries=max_retries, timeout=timeout,
        _strict_response_validation=strict,
        base_url=SANDBOX_OPENAI_URL if settings.backend == "sandbox" else settings.base_url,
        http_client=_http_client(httpx2, settings, faults)), settings, faults)


def zhipu_client(settings: Settings | None = None, *, cassette: str | Path | None = None,
                 faults=None, max_retries: int = 2, timeout: float = 60.0,
                 **resolve_kw) -> zhipuai.ZhipuAI:
    """A ``zhipuai.ZhipuAI`` client for the configured backend and mode."""
    settings = _settings(settings, **resolve_kw)
    key = _common(settings, cassette, "zhipu")
    return _remember(zhipuai.ZhipuAI(
        api_key=key, max_retries=max_retries, timeout=timeout,
        base_url=SANDBOX_ZHIPU_URL if settings.backend == "sandbox" else settings.base_url,
        http_client=_http_client(httpx, settings, faults)), settings, faults)


def default_sdk(settings: Settings) -> str:
    """Which SDK a backend is taught with: zhipuai for Zhipu, openai otherwise."""
    return "zhipu" if settings.backend == "zhipu" else "openai"


def client(settings: Settings | None = None, *, sdk: str | None = None, **kw):
    """The SDK client a notebook uses: ``sdk`` is 'openai' or 'zhipu' (default by backend)."""
    settings = _settings(settings)
    sdk = sdk or default_sdk(settings)
    if sdk == "openai":
        return openai_client(settings, **kw)
    if sdk == "zhipu":
        return zhipu_client(settings, **kw)
    raise config.ConfigError(f"sdk={sdk!r} is not 'openai' or 'zhipu'")


def sdk_of(client_obj) -> str:
    """'openai' or 'zhipu' for a client made here."""
    return "zhipu" if isinstance(client_obj, zhipuai.ZhipuAI) else "openai"


def settings_of(client_obj) -> Settings | None:
    """The settings a client was made with here (None for a client made elsewhere)."""
    try:
        return _settings_of.get(client_obj)
    except TypeError:  # not weak-referenceable: not one of ours
        return None


def base_url_of(client_obj) -> str:
    # openai exposes base_url; zhipuai keeps it in _base_url
    return str(getattr(client_obj, "base_url", None) or getattr(client_obj, "_base_url", ""))


def identity_of(client_obj) -> str:
    """The backend identity behind a client (``Settings.identity``), or its base URL."""
    settings = settings_of(client_obj)
    return settings.identity if settings is not None else base_url_of(client_obj)


def cache_namespace(client_obj) -> str:
    """What the response cache keys on besides the request: SDK and backend identity.

    A client made with ``faults=`` is there to show retries, faults and timing,
    so it never reads answers cached by another client (another notebook, an
    earlier run): its namespace carries a session of its own, and only its own
    second pass over the same requests comes from the cache.
    """
    base = f"{sdk_of(client_obj)}:{identity_of(client_obj)}"
    try:
        session = _fault_session.get(client_obj)
    except TypeError:  # not weak-referenceable: not one of ours
        session = None
    return base if session is None else f"{base}:faults-{session}"


# ---------------------------------------------------------------- fine-tuning support

@dataclass(frozen=True)
class FineTuningSupport:
    """Whether a backend has fine-tuning endpoints; ``reason`` is one sentence when not."""

    available: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.available


NO_ENDPOINT_STATUS = (404, 405, 501)


def _server(settings: Settings | None, client_obj) -> str:
    url = settings.base_url if settings is not None else base_url_of(client_obj)
    return f"the server at {config.public_url(str(url))}"


def supports_fine_tuning(client_obj) -> FineTuningSupport:
    """Whether this client's backend offers fine-tuning endpoints (asked once per client).

    The sandbox, OpenAI and Zhipu at their own URLs have them (OpenAI may still
    refuse an account: ``jobs.TrainingNotAvailableError``). Any other server is
    asked with one ``GET fine_tuning/jobs?limit=1``: 404, 405 or 501 means it
    has none, which most OpenAI-compatible chat servers answer.
    """
    settings = settings_of(client_obj)
    if settings is not None and (settings.backend == "sandbox" or (
            settings.backend in config.DEFAULT_BASE_URLS
            and settings.base_url == config.DEFAULT_BASE_URLS[settings.backend])):
        return FineTuningSupport(True)
    cached = _fine_tuning.get(client_obj)
    if cached is not None:
        return cached
    where = _server(settings, client_obj)
    try:
        client_obj.fine_tuning.jobs.list(limit=1)
        found = FineTuningSupport(True)
    except (openai.APIStatusError, zhipuai.core._errors.APIStatusError) as err:
        status = getattr(err, "status_code", None)
        if status in NO_ENDPOINT_STATUS:
            found = FineTuningSupport(False, f"{where} has no fine-tuning endpoints (HTTP {status} "
                                             "on fine_tuning/jobs), so the fine-tuning steps are "
                                             "skipped here; run them with COURSE_BACKEND=sandbox "
                                             "or zhipu.")
        else:
            found = FineTuningSupport(False, f"{where} refused to list fine-tuning jobs (HTTP "
                                             f"{status}), so the fine-tuning steps are skipped "
                                             "here; check COURSE_API_KEY or use "
                                             "COURSE_BACKEND=sandbox.")
    except (openai.APIConnectionError, zhipuai.core._errors.APIConnectionError):
        found = FineTuningSupport(False, f"{where} could not be reached, so whether it can "
                                         "fine-tune is unknown; check COURSE_BASE_URL.")
        return found  # not cached: the server may come up
    _fine_tuning[client_obj] = found
    return found
