"""Client factory: the official SDK clients, wired to the chosen backend and mode.

* ``sandbox`` — the embedded local API (``helpers.sandbox``), called in-process
  through a WSGI transport: no port, no thread, no key.
* ``openai`` / ``zhipu`` — the real services; live and record need a key.
* ``replay`` / ``record`` — a per-notebook cassette (``helpers.recording``)
  answers or captures every request; replay needs no key and no network, and
  its transport can only answer from the cassette (never a socket).
"""
from __future__ import annotations

from pathlib import Path

import httpx
import httpx2
import openai
import zhipuai

from . import config
from .config import Settings

SANDBOX_HOST = "http://sandbox.local"
SANDBOX_OPENAI_URL = f"{SANDBOX_HOST}/v1"
SANDBOX_ZHIPU_URL = f"{SANDBOX_HOST}/api/paas/v4"
# Placeholders the SDKs need when no real key is involved; not secrets.
SANDBOX_KEY = "sandbox-no-key-needed"
REPLAY_KEY = "replay-no-key-needed"


def _settings(settings: Settings | None, **kw) -> Settings:
    return settings if settings is not None else config.resolve(**kw)


def _key(settings: Settings) -> str:
    if settings.backend == "sandbox":
        return SANDBOX_KEY
    if settings.mode == "replay":
        return REPLAY_KEY
    return config.require_key(settings)


def _activate_cassette(settings: Settings, cassette: str | Path | None) -> None:
    if settings.mode == "live":
        return
    if cassette is None:
        raise config.ConfigError(
            f"COURSE_MODE={settings.mode} needs a cassette name (the notebook's name)")
    from . import recording

    recording.activate(cassette, settings)


def _sandbox_app(settings: Settings, faults):
    from . import sandbox

    return sandbox.app_for(settings.sandbox_dir, faults=faults)


def _http_client(lib, settings: Settings, faults):
    """The SDK's HTTP client: cassette-only in replay, in-process sandbox, or None (default).

    ``lib`` is the HTTP library the SDK is built on: httpx2 (openai) or httpx (zhipuai).
    """
    if settings.mode == "replay":
        from . import recording

        return lib.Client(transport=recording.replay_transport(lib.__name__))
    if settings.backend == "sandbox":
        return lib.Client(transport=lib.WSGITransport(app=_sandbox_app(settings, faults)))
    return None


def _common(settings: Settings, cassette, other: str, this: str) -> str:
    if settings.backend == other:
        raise config.ConfigError(f"backend '{other}' uses {other}_client(), not {this}_client()")
    key = _key(settings)  # fail fast on a missing key, before anything else
    _activate_cassette(settings, cassette)
    return key


def openai_client(settings: Settings | None = None, *, cassette: str | Path | None = None,
                  faults=None, max_retries: int = 2, timeout: float = 60.0,
                  strict: bool = False, **resolve_kw) -> openai.OpenAI:
    """An ``openai.OpenAI`` client for the configured backend and mode."""
    settings = _settings(settings, **resolve_kw)
    key = _common(settings, cassette, "zhipu", "openai")
    return openai.OpenAI(api_key=key, max_retries=max_retries, timeout=timeout,
                         _strict_response_validation=strict,
                         base_url=SANDBOX_OPENAI_URL if settings.backend == "sandbox" else None,
                         http_client=_http_client(httpx2, settings, faults))


def zhipu_client(settings: Settings | None = None, *, cassette: str | Path | None = None,
                 faults=None, max_retries: int = 2, timeout: float = 60.0,
                 **resolve_kw) -> zhipuai.ZhipuAI:
    """A ``zhipuai.ZhipuAI`` client for the configured backend and mode."""
    settings = _settings(settings, **resolve_kw)
    key = _common(settings, cassette, "openai", "zhipu")
    return zhipuai.ZhipuAI(api_key=key, max_retries=max_retries, timeout=timeout,
                           base_url=SANDBOX_ZHIPU_URL if settings.backend == "sandbox" else None,
                           http_client=_http_client(httpx, settings, faults))


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
