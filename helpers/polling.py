"""Poll until an object is final: one timeout meaning and replay-aware sleeping.

Fine-tuning jobs (``helpers.jobs.wait``) and batches (``helpers.batch.wait_for_batch``)
both wait this way. ``timeout`` counts the seconds spent sleeping between polls,
not wall-clock time, so it means the same when sleeping is skipped (replay mode:
the recorded answers need no waiting) or injected (tests), and a replayed run
times out after exactly the polls its recording made.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

from .config import Settings

T = TypeVar("T")
Sleep = Callable[[float], object]


def no_sleep(_seconds: float) -> None:
    """The sleep of replay mode: recorded answers need no waiting."""
    return None


def default_sleep(settings: Settings | None) -> Sleep:
    """``time.sleep``, except in replay mode (``no_sleep``)."""
    return no_sleep if settings is not None and settings.mode == "replay" else time.sleep


def poll(fetch: Callable[[], T], is_final: Callable[[T], bool], *, interval: float,
         sleep: Sleep, timed_out: Callable[[T, float], Exception],
         timeout: float | None = None, backoff: float = 1.0,
         max_interval: float = math.inf) -> T:
    """``fetch()`` until ``is_final`` holds for what it returns; return that.

    Between polls sleeps ``interval`` seconds, growing by ``backoff`` up to
    ``max_interval``; the last sleep is shortened so the total never exceeds
    ``timeout``. When ``timeout`` seconds have been slept and the object is
    still not final, raises ``timed_out(last_object, seconds_slept)``.
    ``timeout=None`` waits for ever.
    """
    limit = math.inf if timeout is None else timeout
    waited = 0.0
    while True:
        current = fetch()
        if is_final(current):
            return current
        if waited >= limit:
            raise timed_out(current, waited)
        step = min(interval, max(limit - waited, 0.0))
        sleep(step)
        waited += step
        interval = min(interval * backoff, max_interval)
