"""The sandbox on a production WSGI server (waitress): real backlog, timeouts, chunked bodies.

waitress buffers each request body (spilling to a temporary file past 512 KB)
before calling the app, de-chunks ``Transfer-Encoding: chunked`` bodies, and
answers malformed requests itself (a negative Content-Length, a body over the
limit) at once; ``JsonErrorTask`` makes those answers JSON in the provider's
error shape too.

Bodies over the limit of their path (``SandboxApp.limit_for``: the JSON limit,
or the upload limit for ``POST /files``) are refused from the Content-Length
alone, as soon as the headers are read (``LimitedParser``); waitress's own
``max_request_body_size`` only knows one limit, the largest, so a JSON body
over its own limit used to be read in full before the app could answer 413.
URL paths and query strings are decoded as UTF-8 before the app sees them
(``text_environ``); ones that are not UTF-8 become a 400 there.
"""
from __future__ import annotations

import ipaddress
import json
import uuid

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import create_server
from waitress.task import ErrorTask
from waitress.utilities import RequestEntityTooLarge

from . import dialects, textcheck
from .app import MULTIPART_SLACK, UNDECODABLE
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
        provider = dialects.for_path(path).name
        code = {400: "invalid_request", 413: "request_too_large", 431: "headers_too_large",
                501: "not_implemented"}.get(e.code, "server_error")
        message, param = f"{e.reason}: {e.body}", None
        if e.body == "Bad URI":  # raw bytes outside ASCII in the request line
            message, param = ("Bad Request: the URL is not valid; it may only hold ASCII, with "
                              "anything else percent-encoded as UTF-8."), "url"
        _, payload = render(ApiError(e.code, message, code=code, param=param), provider)
        body = json.dumps(payload).encode()
        self.status = f"{e.code} {e.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.response_headers.append(("x-request-id", "req_" + uuid.uuid4().hex))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class LimitedParser(HTTPRequestParser):
    """waitress's request parser, with the body limit of each request's path.

    ``limit_for(path)`` is the app's; a request whose Content-Length (or
    de-chunked body so far) exceeds it is finished at once with a 413, so the
    rest of its body is never read.
    """

    limit_for = staticmethod(lambda path: None)

    def received(self, data):
        consumed = super().received(data)
        too_large = self.error is None or isinstance(self.error, RequestEntityTooLarge)
        if self.headers_finished and too_large and (self.error or not self.completed):
            limit = self.limit_for(getattr(self, "path", "") or "")
            size = max(self.content_length, self.body_bytes_received)
            if limit is not None and size > limit:
                self.error = RequestEntityTooLarge(
                    f"the request body ({size} bytes) is larger than the limit of {limit} "
                    "bytes for this path")
                self.completed = True
        return consumed


class SandboxChannel(HTTPChannel):
    error_task_class = JsonErrorTask


def text_environ(app):
    """``app`` behind a WSGI layer that decodes the URL path and query string as UTF-8.

    PEP 3333 hands them over as bytes in latin-1 characters; the app wants
    text. What is not UTF-8 is left as it came and flagged for a 400.
    """
    def wsgi(environ, start_response):
        for key, what in (("PATH_INFO", "URL path"), ("QUERY_STRING", "query string")):
            try:
                environ[key] = textcheck.decode_wsgi(environ.get(key, ""))
            except UnicodeError as exc:
                environ[UNDECODABLE] = f"the {what} is not UTF-8: {exc}"
        return app(environ, start_response)

    return wsgi


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(app, host: str = "127.0.0.1", port: int = 8000, *, threads: int = THREADS):
    """A waitress server for ``app`` (not started); ``server.effective_port`` is the real port."""
    parser = type("AppLimitedParser", (LimitedParser,), {"limit_for": staticmethod(app.limit_for)})
    channel = type("AppChannel", (SandboxChannel,), {"parser_class": parser})
    server = create_server(text_environ(app), host=host, port=port, threads=threads,
                           backlog=BACKLOG,
                           channel_timeout=CHANNEL_TIMEOUT, connection_limit=CONNECTION_LIMIT,
                           max_request_body_size=max(app.max_upload_bytes + MULTIPART_SLACK,
                                                     app.max_body_bytes) + 1,
                           asyncore_use_poll=True, ident="sandbox", expose_tracebacks=False,
                           clear_untrusted_proxy_headers=True)
    server.channel_class = channel
    return server
