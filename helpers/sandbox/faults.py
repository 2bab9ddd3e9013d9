"""Injected faults: latency, 429 / 500 replies, timeouts, failing jobs, 403 on training.

A ``Faults`` value is set per client (``app_for(dir, faults)``) or per server
(CLI flags). Each draw is a hash of the seed, the request (method, path, query
and body; an upload by its size, since its multipart boundary is random) and how
many times that request came before, so the same requests meet the same faults
in any order and at any concurrency: a recording made twice fails the same rows
(an arrival-order generator gave each row a different fault on every run with
threads). A retry is the same request seen once more, so it draws again.
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

import httpx
import httpx2


@dataclass(frozen=True)
class Faults:
    latency: float = 0.0
    rate_429: float = 0.0
    rate_500: float = 0.0
    retry_after: float = 1.0
    rate_timeout: float = 0.0
    fail_jobs: bool = False
    training_not_available: bool = False
    seed: int = 0

    def __post_init__(self):
        for name in ("latency", "retry_after"):
            if getattr(self, name) < 0:
                raise ValueError(f"Faults.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("rate_429", "rate_500", "rate_timeout"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Faults.{name} must be between 0 and 1, got {value}")
        if self.rate_429 + self.rate_500 + self.rate_timeout > 1.0:
            raise ValueError("Faults: rate_429 + rate_500 + rate_timeout must not exceed 1")


class SandboxTimeout(httpx.ReadTimeout, httpx2.ReadTimeout):
    """Raised inside the in-process transport: both SDKs treat it as a read timeout."""


class FaultDice:
    """Thread-safe draws keyed by the request: which fault (if any) hits it."""

    def __init__(self, faults: Faults):
        self.faults = faults
        self._seen: dict[bytes, int] = {}
        self._lock = threading.Lock()

    def draw(self, request_key: bytes = b"") -> str | None:
        f = self.faults
        if not (f.rate_429 or f.rate_500 or f.rate_timeout):
            return None
        key = hashlib.sha256(request_key).digest()
        with self._lock:
            attempt = self._seen.get(key, 0)
            self._seen[key] = attempt + 1
        digest = hashlib.sha256(b"%d:%d:" % (f.seed, attempt) + key).digest()
        x = int.from_bytes(digest[:8], "big") / 2 ** 64
        if x < f.rate_429:
            return "429"
        if x < f.rate_429 + f.rate_500:
            return "500"
        if x < f.rate_429 + f.rate_500 + f.rate_timeout:
            return "timeout"
        return None

    def delay(self) -> None:
        # Sleep without holding any lock so concurrent requests overlap.
        if self.faults.latency:
            time.sleep(self.faults.latency)
