"""A loopback HTTP proxy that loses the answer to chosen requests, for create-once tests.

It forwards every request to ``upstream`` and relays the answer, except for
the first request whose method and path match a rule: that one is forwarded
(so the service acts on it) and its answer read, then the client's connection
is closed without a byte sent back, as when a network drops a response.
"""
from __future__ import annotations

import http.client
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host",
               "proxy-connection", "upgrade", "te", "trailer"}


class DropRules:
    """(method, path) pairs whose first request loses its answer; ``dropped`` lists those lost."""

    def __init__(self, *rules: tuple[str, str]):
        self.pending = set(rules)
        self.dropped: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def take(self, method: str, path: str) -> bool:
        key = (method, urlsplit(path).path)
        with self.lock:
            if key in self.pending:
                self.pending.discard(key)
                self.dropped.append(key)
                return True
        return False


def _handler(upstream: str, rules: DropRules):
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _body(self) -> bytes:
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

        def _forward(self):
            body = self._body()
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
            finally:
                conn.close()
            if rules.take(self.command, self.path):
                self.close_connection = True  # the service acted; the client hears nothing
                return
            self.send_response(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in HOP_HEADERS:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _forward

    return Handler


@contextmanager
def dropping_proxy(upstream: str, rules: DropRules):
    """Yield ``http://127.0.0.1:<port>`` proxying to ``upstream`` under ``rules``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream, rules))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
