"""A tiny HTTP server on 127.0.0.1 for tests: answers every request with ``answer(handler)``."""
from __future__ import annotations

import http.server
import json
import threading
from contextlib import contextmanager


@contextmanager
def loopback(answer):
    """Serve on a free loopback port; ``answer(handler, body)`` gives (status, JSON payload).

    Yields the base URL; ``server.requests`` lists (method, path) seen, in order.
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

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        server.url = f"http://127.0.0.1:{server.server_address[1]}"
        server.requests = seen
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
