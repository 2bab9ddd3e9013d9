"""A loopback HTTP proxy that loses the answer to chosen requests, for create-once tests.

It forwards every request to ``upstream`` and relays the answer, except for
the first request whose method and path match a rule: that one is forwarded
(so the service acts on it) and its answer read, then the client's connection
is closed without a byte sent back, as when a network drops a response.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from urllib.parse import urlsplit

from loopback import Relay, serving


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


@contextmanager
def dropping_proxy(upstream: str, rules: DropRules):
    """Yield ``http://127.0.0.1:<port>`` proxying to ``upstream`` under ``rules``."""

    class Dropping(Relay):
        def respond(self):
            answer = self.forward(self.read_body())
            if rules.take(self.command, self.path):
                self.close_connection = True  # the service acted; the client hears nothing
                return
            self.send(answer)

    Dropping.upstream = upstream
    with serving(Dropping) as server:
        yield server.url
