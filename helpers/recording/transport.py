"""The transport of every client the course creates: the only way into a cassette.

Nothing is patched process-wide: ``helpers.clients`` gives each SDK client it
makes (openai on httpx2, zhipuai on httpx) a ``CourseTransport`` around the
transport that would otherwise carry the request (the in-process sandbox, or
the network). While a cassette is open it answers from the cassette (replay)
or passes the request on and records the exchange (record); with none open,
or for a client made in live mode, it passes requests on. A client the course
did not create never comes here, so it is neither recorded nor blocked.
Responses a course client receives are masked like the cassette (configured
keys and their fragments, as an error message may echo them), so the SDK's
error text is clean too.

Replay clients have no inner transport at all (``ReplayTransport2`` /
``ReplayTransport``): they can only answer from the cassette, never open a socket.
"""
from __future__ import annotations

import urllib.parse
import urllib.request

import httpx
import httpx2

from . import scrubbing, session, vcr_adapter
from .explanation import CassetteMiss

CONNECTION_LIMITS = {"max_connections": 1000, "max_keepalive_connections": 100}  # as openai's


def _exchange(lib, inner, request, uses_cassette: bool):
    """Handle one request for a course client (see the module docstring)."""
    open_session = session.current() if uses_cassette else None
    if open_session is None:
        if inner is None:
            raise CassetteMiss(f"replay: {request.method} {request.url.path}: no cassette is open "
                               "in this process, and a replay client never opens a socket")
        return _passed_on(lib, inner, request)
    body = request.read()
    stored = scrubbing.request(vcr_adapter.make_request(request.method, str(request.url), body,
                                                        request.headers))
    if not open_session.recording:
        return vcr_adapter.httpx_response(open_session.play(stored), lib)
    if inner is None:
        raise CassetteMiss(f"record: {request.method} {request.url.path}: this client was made "
                           "for replay and cannot reach a server")
    data = _received(inner.handle_request(request))
    open_session.record(scrubbing.mask_request(stored), scrubbing.response(data))
    return vcr_adapter.httpx_response(data, lib)


def _received(response) -> dict:
    """A response read whole, decompressed and masked, as cassette data."""
    try:
        content = b"".join(response.stream)
    finally:
        response.stream.close()
    data = vcr_adapter.decoded(vcr_adapter.response_data(response, content))
    return scrubbing.mask_response(data)


def _passed_on(lib, inner, request):
    """No cassette: the server's answer, error bodies masked (successes stream as they come)."""
    response = inner.handle_request(request)
    if response.status_code < 400:
        return response
    return vcr_adapter.httpx_response(_received(response), lib)


def _transport_class(lib, name: str):
    class Transport(lib.BaseTransport):
        def __init__(self, inner=None, uses_cassette: bool = True):
            self.inner = inner
            self.uses_cassette = uses_cassette

        def handle_request(self, request):
            return _exchange(lib, self.inner, request, self.uses_cassette)

        def close(self):
            if self.inner is not None:
                self.inner.close()

    Transport.__name__ = Transport.__qualname__ = name
    return Transport


CourseTransport = _transport_class(httpx, "CourseTransport")     # zhipuai
CourseTransport2 = _transport_class(httpx2, "CourseTransport2")  # openai 3.x
ReplayTransport = _transport_class(httpx, "ReplayTransport")
ReplayTransport2 = _transport_class(httpx2, "ReplayTransport2")


def _lib(lib):
    return {"httpx": httpx, "httpx2": httpx2}[lib if isinstance(lib, str) else lib.__name__]


def course_transport(lib, inner, *, uses_cassette: bool = True):
    """``inner`` (a transport of ``lib``: httpx or httpx2) as a course client's transport.

    ``uses_cassette=False`` (a live-mode client) never records or replays, even
    while a cassette is open in the process; it only masks keys in errors.
    """
    return (CourseTransport2 if _lib(lib) is httpx2 else CourseTransport)(inner, uses_cassette)


def replay_transport(lib):
    """A transport that answers only from the open cassette (``lib``: 'httpx' or 'httpx2')."""
    return (ReplayTransport2 if _lib(lib) is httpx2 else ReplayTransport)()


def _environment_proxy(url: str) -> str | None:
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname or urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


def network_transport(lib, base_url: str):
    """A ``lib`` transport to a real server, with the SDK's pool limits and the proxy the
    environment names for it (``HTTPS_PROXY``, ``NO_PROXY``...), as the SDK's own client."""
    lib = _lib(lib)
    return lib.HTTPTransport(limits=lib.Limits(**CONNECTION_LIMITS),
                             proxy=_environment_proxy(str(base_url)))
