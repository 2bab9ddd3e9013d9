"""The sandbox on a production WSGI server (waitress): real backlog, timeouts, chunked bodies.

waitress buffers each request body (spilling to a temporary file past 512 KB)
before calling the app, de-chunks ``Transfer-Encoding: chunked`` bodies, and
answers malformed requests itself (a negative Content-Length, a body over the
limit) at once; ``JsonErrorTask`` makes those answers JSON in the provider's
error shape too.
"""
from __future__ import annotations

import ipaddress
import json

from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

from .app import MULTIPART_SLACK, ZHIPU_PREFIX
from .errors import ApiError, render

BACKLOG = 1024
THREADS = 8
CHANNEL_TIMEOUT = 60  # seconds an idle or stalled connection is kept
CONNECTION_LIMIT = 1000


class JsonErrorTask(ErrorTask):
    """waitress's own 4xx/5xx answers (bad framing, too large) in the provider's JSON shape."""

    def execute(self):
        e = self.request.error
        path = getattr(self.request, "path", "") or ""
        provider = "zhipu" if path.startswith(ZHIPU_PREFIX) else "openai"
        code = {400: "invalid_request", 413: "request_too_large", 431: "headers_too_large",
                501: "not_implemented"}.get(e.code, "server_error")
        _, payload = render(ApiError(e.code, f"{e.reason}: {e.body}", code=code), provider)
        body = json.dumps(payload).encode()
        self.status = f"{e.code} {e.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class SandboxChannel(HTTPChannel):
    error_task_class = JsonErrorTask


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(app, host: str = "127.0.0.1", port: int = 8000, *, threads: int = THREADS):
    """A waitress server for ``app`` (not started); ``server.effective_port`` is the real port."""
    server = create_server(app, host=host, port=port, threads=threads, backlog=BACKLOG,
                           channel_timeout=CHANNEL_TIMEOUT, connection_limit=CONNECTION_LIMIT,
                           max_request_body_size=app.max_upload_bytes + MULTIPART_SLACK,
                           asyncore_use_poll=True, ident="sandbox", expose_tracebacks=False,
                           clear_untrusted_proxy_headers=True)
    server.channel_class = SandboxChannel
    return server
