"""helpers.polling: jobs and batches wait alike (timeout = seconds slept; no sleep in replay)."""
import time
from types import SimpleNamespace

import pytest

from helpers import batch, config, polling


class Timeout(Exception):
    pass


def _statuses(*seq):
    it = iter(seq)
    return lambda: SimpleNamespace(status=next(it))


def test_poll_returns_the_first_final_object_and_sleeps_between_polls_with_backoff():
    slept = []
    got = polling.poll(_statuses("queued", "running", "running", "done"),
                       lambda o: o.status == "done", interval=1.0, backoff=2.0, max_interval=3.0,
                       sleep=slept.append, timed_out=lambda o, w: Timeout())
    assert got.status == "done" and slept == [1.0, 2.0, 3.0]


def test_timeout_counts_seconds_slept_and_the_last_sleep_is_cut_to_fit():
    slept = []
    with pytest.raises(Timeout, match=r"running after 2\.5"):
        polling.poll(_statuses(*["running"] * 10), lambda o: False, interval=1.0,
                     timeout=2.5, sleep=slept.append,
                     timed_out=lambda o, w: Timeout(f"{o.status} after {w}"))
    assert slept == [1.0, 1.0, 0.5]


def test_replay_settings_never_sleep_for_real(tmp_path):
    replay = config.resolve(backend="sandbox", mode="replay", sandbox_dir=tmp_path)
    live = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path)
    assert polling.default_sleep(replay) is polling.no_sleep
    assert polling.default_sleep(live) is time.sleep and polling.default_sleep(None) is time.sleep


class _Batches:
    """A client whose batch stays in_progress for ``polls`` retrievals."""

    def __init__(self, polls):
        self.polls, self.retrieved = polls, 0
        self.batches = self

    def retrieve(self, batch_id):
        self.retrieved += 1
        status = "completed" if self.retrieved > self.polls else "in_progress"
        return SimpleNamespace(id=batch_id, status=status, request_counts=None)


def test_wait_for_batch_in_replay_mode_does_not_sleep_and_times_out_on_slept_seconds(
        tmp_path, monkeypatch):
    replay = config.resolve(backend="sandbox", mode="replay", sandbox_dir=tmp_path)
    monkeypatch.setattr(polling.time, "sleep", lambda s: pytest.fail("slept for real"))
    client = _Batches(polls=3)
    done = batch.wait_for_batch(client, "b1", poll_seconds=60.0, progress=False, settings=replay)
    assert done.status == "completed" and client.retrieved == 4
    with pytest.raises(TimeoutError, match=r"batch b2 still in_progress after waiting 120 s"):
        batch.wait_for_batch(_Batches(polls=100), "b2", poll_seconds=60.0, timeout=120,
                             progress=False, settings=replay)
