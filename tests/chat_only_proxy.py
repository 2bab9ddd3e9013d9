"""A loopback chat-only server: the served sandbox's chat paths and nothing else.

It stands in for Ollama, vLLM or llama.cpp's server on the ``compatible``
backend: ``/v1/chat/completions`` and ``/v1/models`` are relayed to
``upstream`` (the served sandbox); every other path (files, fine-tuning,
batches, embeddings, responses) gets Ollama's plain-text ``404 page not found``.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

from dropping_proxy import DropRules
from dropping_proxy import _handler as relaying_handler

CHAT_PATHS = ("/v1/chat/completions", "/v1/models")
NOT_FOUND = b"404 page not found"


def _handler(upstream: str, seen: list):
    relay = relaying_handler(upstream, DropRules())  # no rule: every request is relayed

    class Handler(relay):
        def _forward(self):
            path = urlsplit(self.path).path
            seen.append((self.command, path))
            if path == CHAT_PATHS[0] or path == CHAT_PATHS[1] or path.startswith("/v1/models/"):
                return super()._forward()
            self._body()
            self.send_response(404, "Not Found")
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(NOT_FOUND)))
            self.end_headers()
            self.wfile.write(NOT_FOUND)

        do_GET = do_POST = do_DELETE = _forward

    return Handler


@contextmanager
def chat_only(upstream: str, seen: list | None = None):
    """Yield ``http://127.0.0.1:<port>``; ``seen`` collects (method, path) of every request."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream, [] if seen is None else seen))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
