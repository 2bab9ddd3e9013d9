"""Requests per second of ``helpers.classify`` at several concurrencies, measured now.

Timing is the one thing a cassette cannot replay, so the measurement always
talks to a fresh sandbox of its own that waits a fixed latency per request
(``Faults(latency=...)``). ``measure`` takes a client factory, so the loop does
not care where its client comes from; ``measure_in_fresh_sandbox`` supplies a
throw-away sandbox. ``measure_apart`` is what notebook 07 calls (through
``helpers.lessons.scale_report``): while a cassette is open (record or replay
mode) the cassette is active for every HTTP client of the process, so it runs
in a child process (``python -m helpers.throughput``); in live mode it runs in
the calling process, which saves a Python start and its imports.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from . import clients, config, recording
from .classify import classify
from .sandbox import Faults

LATENCY = 0.05
CONCURRENCY = (1, 2, 4, 8, 16)
MODEL = "sandbox-base"

# latency in seconds -> a client whose server waits that long before each answer
ClientFactory = Callable[[float], Any]


@dataclass(frozen=True)
class ThroughputRow:
    """One concurrency's run: how fast, against the no-overhead ideal, and how complete."""

    concurrency: int
    requests: int
    seconds: float
    requests_per_s: float
    ideal_requests_per_s: float  # concurrency / latency: no overhead at all
    lost: int
    duplicated: int
    misordered: int


def completeness(predictions, n: int) -> dict[str, int]:
    """How many inputs are lost, duplicated or out of place among ``predictions``.

    ``lost``: indices below ``n`` with no prediction, or whose prediction is an
    error; ``duplicated``: extra predictions for an index; ``misordered``:
    predictions whose index differs from their position.
    """
    predictions = list(predictions)
    counts = Counter(p.index for p in predictions)
    return {"n": n,
            "lost": sum(1 for i in range(n) if i not in counts)
            + sum(1 for p in predictions if p.error),
            "duplicated": sum(c - 1 for c in counts.values() if c > 1),
            "misordered": sum(1 for pos, p in enumerate(predictions) if p.index != pos)}


def _distinct(texts: Iterable[str]) -> list[str]:
    texts = list(texts)
    if len(set(texts)) != len(texts):
        raise ValueError("measure_throughput needs distinct texts (repeats are sent once)")
    return texts


def measure(make_client: ClientFactory, texts: Sequence[str], labels: Sequence[str],
            lang: str | None = None, concurrencies: Iterable[int] = CONCURRENCY,
            latency: float = LATENCY, model: str = MODEL) -> list[ThroughputRow]:
    """Classify ``texts`` once per concurrency with one client from ``make_client(latency)``."""
    texts = _distinct(texts)
    client = make_client(latency)
    rows = []
    for concurrency in concurrencies:
        started = time.perf_counter()
        results = classify(client, texts, list(labels), model, lang=lang,
                           concurrency=concurrency, progress=False)
        seconds = time.perf_counter() - started
        counts = completeness(results, len(texts))
        rows.append(ThroughputRow(concurrency, results.requests, seconds,
                                  results.requests / seconds, concurrency / latency,
                                  counts["lost"], counts["duplicated"], counts["misordered"]))
    return rows


def measure_in_fresh_sandbox(texts, labels, lang: str | None = None,
                             concurrencies: Iterable[int] = CONCURRENCY,
                             latency: float = LATENCY) -> list[ThroughputRow]:
    """``measure`` against a throw-away in-process sandbox (live mode: no cassette)."""
    with tempfile.TemporaryDirectory(prefix="course-throughput-") as sandbox_dir:
        settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=sandbox_dir)

        def make_client(latency: float):
            return clients.openai_client(settings, faults=Faults(latency=latency))

        return measure(make_client, texts, labels, lang, concurrencies, latency)


def measure_apart(texts, labels, lang: str | None = None,
                  concurrencies: Iterable[int] = CONCURRENCY,
                  latency: float = LATENCY) -> list[ThroughputRow]:
    """``measure_in_fresh_sandbox``, in a child process while a cassette is open."""
    texts = _distinct(texts)
    if not recording.any_active():
        return measure_in_fresh_sandbox(texts, labels, lang, concurrencies, latency)
    job = {"texts": texts, "labels": list(labels), "lang": lang,
           "concurrencies": list(concurrencies), "latency": latency}
    done = subprocess.run([sys.executable, "-m", "helpers.throughput"],
                          input=json.dumps(job, ensure_ascii=False), capture_output=True,
                          text=True, cwd=str(config.REPO_ROOT), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the throughput measurement failed: {done.stderr.strip()[-2000:]}")
    return [ThroughputRow(**row) for row in json.loads(done.stdout)]


def _main() -> int:
    """The child process: a JSON job on stdin, the rows as JSON on stdout."""
    job = json.loads(sys.stdin.read())
    rows = measure_in_fresh_sandbox(job["texts"], job["labels"], job["lang"],
                                    job["concurrencies"], job["latency"])
    print(json.dumps([asdict(row) for row in rows]))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
