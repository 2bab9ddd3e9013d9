"""A loopback chat-only server: the served sandbox's chat paths and nothing else.

It stands in for Ollama, vLLM or llama.cpp's server on the ``compatible``
backend: ``/v1/chat/completions`` and ``/v1/models`` are relayed to
``upstream`` (the served sandbox); every other path (files, fine-tuning,
batches, embeddings, responses) gets Ollama's plain-text ``404 page not found``.
"""
from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import urlsplit

from loopback import Answer, Relay, serving

CHAT_PATHS = ("/v1/chat/completions", "/v1/models")
NOT_FOUND = Answer(404, "Not Found", [("Content-Type", "text/plain; charset=utf-8")],
                   b"404 page not found")


@contextmanager
def chat_only(upstream: str, seen: list | None = None):
    """Yield ``http://127.0.0.1:<port>``; ``seen`` collects (method, path) of every request."""
    requests = [] if seen is None else seen

    class ChatOnly(Relay):
        def respond(self):
            path = urlsplit(self.path).path
            requests.append((self.command, path))
            if path in CHAT_PATHS or path.startswith("/v1/models/"):
                return super().respond()
            self.read_body()
            self.send(NOT_FOUND)

    ChatOnly.upstream = upstream
    with serving(ChatOnly) as server:
        yield server.url
