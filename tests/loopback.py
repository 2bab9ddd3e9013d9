"""Tiny HTTP servers on 127.0.0.1 for tests.

``serving(handler)`` runs any request handler on a free loopback port;
``loopback(answer)`` answers every request with JSON from a function; ``Relay``
is the base of the test proxies (``dropping_proxy``, ``chat_only_proxy``): it
forwards a request to ``upstream`` and relays the answer, and each proxy
overrides ``respond`` only for what it does differently.
"""
from __future__ import annotations

import http.client
import http.server
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host",
               "proxy-connection", "upgrade", "te", "trailer"}


@contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]):
    """Serve ``handler`` on a free loopback port; yield the server, its base URL as ``.url``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        server.url = f"http://127.0.0.1:{server.server_address[1]}"
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def loopback(answer):
    """Serve on a free loopback port; ``answer(handler, body)`` gives (status, JSON payload).

    Yields the server (``server.url``); ``server.requests`` lists (method, path) seen, in order.
    """
    seen: list[tuple[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _any(self):
            size = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(size) if size else b""
            seen.append((self.command, self.path))
            status, payload = answer(self, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _any

        def log_message(self, *args):  # quiet
            pass

    with serving(Handler) as server:
        server.requests = seen
        yield server


@dataclass(frozen=True)
class Answer:
    """What the upstream server sent back to a forwarded request."""
    status: int
    reason: str
    headers: list[tuple[str, str]]
    data: bytes


class Relay(http.server.BaseHTTPRequestHandler):
    """Forwards each request to ``upstream`` (set by a subclass) and relays the answer."""

    upstream = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def forward(self, body: bytes) -> Answer:
        target = urlsplit(self.upstream)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            answer = conn.getresponse()
            return Answer(answer.status, answer.reason, answer.getheaders(), answer.read())
        finally:
            conn.close()

    def send(self, answer: Answer) -> None:
        self.send_response(answer.status, answer.reason)
        for name, value in answer.headers:
            if name.lower() not in HOP_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.data)))
        self.end_headers()
        self.wfile.write(answer.data)

    def respond(self) -> None:
        """What this proxy does with one request: here, relay it."""
        self.send(self.forward(self.read_body()))

    def _any(self):
        self.respond()

    do_GET = do_POST = do_DELETE = _any
