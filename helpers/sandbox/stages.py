"""The stage machine jobs and batches share: claim a stage, work unlocked, commit if still ours.

Each stage is claimed in one transaction that re-checks the object's status
(``Store.claim``), worked on with no lock held (the work returns a ``commit``
function), and committed in a transaction that checks the claim is still its
own. So two processes (or threads) polling one object never run a stage twice;
a cancel (or a pause) in between wins and the stage's results are thrown
away; a crash or a kill before the commit leaves the old state, redone at the
next poll.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from . import pacing, settings
from .errors import ApiError
from .records import Record
from .store import Store

log = logging.getLogger("helpers.sandbox")
Commit = Callable[[Record], object]


class StagedObjects:
    """Objects that advance through stages: subclasses say what each stage does."""

    kind = ""            # "job" or "batch", for logs
    table = ""
    record_type: type[Record] = Record
    terminal: tuple[str, ...] = ()
    waiting: tuple[str, ...] = ()  # statuses that do not advance by themselves (paused)

    def __init__(self, store: Store):
        self.store = store

    # subclasses
    def load(self, obj_id: str):
        raise NotImplementedError

    def work(self, record, token: str, blobs: list[str]) -> Commit:
        raise NotImplementedError

    def crashed(self, exc: Exception) -> Commit:
        raise NotImplementedError

    def due_now(self, record) -> bool:
        """Whether a stage is due regardless of elapsed time (a cancelling batch)."""
        return False

    # the machine
    def runnable(self, status: str) -> bool:
        return status not in self.terminal and status not in self.waiting

    def progress(self, obj_id: str, progression: str, listing: bool) -> None:
        """Advance as ``progression`` says: 'poll' one stage per look (never for a listing),
        'time' the stages due by wall time, 'instant' all of them."""
        if progression == "poll":
            if not listing:
                self.run_stage(obj_id)
            return
        record = self.load(obj_id)
        # serve's --pace sets the stage length; a late poll catches up on every stage due
        clock = pacing.StageClock(record.stage_at, pacing.stage_seconds(settings.stage_seconds()))
        while self.runnable(record.status) and (
                progression == "instant" or self.due_now(record) or clock.due()):
            if not self.run_stage(obj_id):
                return  # someone else holds this stage
            clock.advance()
            record = self.load(obj_id)

    def progress_listed(self, obj_id: str, progression: str) -> None:
        """Advance an object a listing shows; a failure must not fail the listing."""
        try:
            self.progress(obj_id, progression, listing=True)
        except ApiError:
            pass  # deleted meanwhile
        except Exception:
            log.exception("sandbox %s %s: could not advance it for a listing", self.kind, obj_id)

    def run_stage(self, obj_id: str) -> bool:
        """Run the current stage once if no live claim holds it; False if it was held."""
        with self.store.transaction():
            row = self.store.get(self.table, obj_id)
            if row is None:
                return False
            record = self.record_type.from_row(row)
            if not self.runnable(record.status):
                return False
            token = self.store.claim(obj_id, record.status)
        if token is None:
            return False
        stage, blobs = record.status, []
        try:
            try:
                commit = self.work(record, token, blobs)
            except Exception as exc:  # a bug or a file the checks missed: fail, never wedge
                log.exception("sandbox %s %s: stage %s failed", self.kind, obj_id, stage)
                commit = self.crashed(exc)
            try:
                self._commit(obj_id, stage, token, commit, blobs)
            except Exception as exc:
                log.exception("sandbox %s %s: committing stage %s failed", self.kind, obj_id,
                              stage)
                self._discard(blobs)
                self._commit(obj_id, stage, token, self.crashed(exc), [])
        except BaseException:  # interrupted (KeyboardInterrupt...): the next poll redoes it
            self._discard(blobs)
            with self.store.transaction():
                self.store.release(obj_id, token)
            raise
        finally:
            self.store.forget(token)
        return True

    def _commit(self, obj_id: str, stage: str, token: str, commit: Commit, blobs) -> None:
        with self.store.transaction():
            row = self.store.get(self.table, obj_id)
            record = self.record_type.from_row(row) if row is not None else None
            current = (record is not None and record.status == stage
                       and self.store.holds(obj_id, token))
            if current:
                commit(record)
            self.store.release(obj_id, token)
        if not current:  # cancelled, paused or deleted meanwhile: its results go nowhere
            self._discard(blobs)

    def _discard(self, blobs: list[str]) -> None:
        for name in blobs:
            self.store.delete_blob(name)

    def save(self, record, **changes):
        """Store a changed record; a new status starts its stage's clock."""
        record = record.but(**changes, stage_at=time.time())
        self.store.put(self.table, record.id, record.seq, record.to_row())
        return record
