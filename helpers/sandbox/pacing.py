"""How fast jobs and batches advance under ``progression='time'``, and catching up on polls.

Under 'time' a job or batch moves to its next stage once the stage has lasted
``stage_seconds``. A real service advances on its own clock, whether anyone
looks or not; the sandbox advances when it is asked, so a poll runs every
stage that has come due since the last one (``StageClock``): a client polling
once a minute finds a batch that was due three stages ago completed, not one
stage further. ``serve`` picks the pace:

* ``course`` (default): 0.5 s a stage, so a course run against a served
  sandbox keeps the in-process course's timing;
* ``real``: a minute a stage, for trying a client's patience and polling
  against something closer to a hosted service (whose jobs take minutes to
  hours);
* ``--stage-seconds N`` sets any other length.

In-process, nothing is set here and the sandbox's default
(``COURSE_SANDBOX_STAGE_SECONDS``, 2 s) applies.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

PACES = {"course": 0.5, "real": 60.0}


@dataclass(frozen=True)
class Pace:
    name: str
    stage_seconds: float


_pace: Pace | None = None


def set_pace(name: str, stage_seconds: float | None = None) -> Pace:
    """Use this pace in this process (``serve`` calls it once, before serving)."""
    global _pace
    if name not in PACES:
        raise ValueError(f"pace {name!r} is not one of {', '.join(PACES)}")
    seconds = PACES[name] if stage_seconds is None else float(stage_seconds)
    if not seconds >= 0:
        raise ValueError(f"stage seconds must be 0 or more, got {stage_seconds!r}")
    _pace = Pace(name, seconds)
    return _pace


def clear_pace() -> None:
    global _pace
    _pace = None


def stage_seconds(default: float) -> float:
    """The length of a stage: the pace set by ``serve``, else ``default``."""
    return _pace.stage_seconds if _pace is not None else default


class StageClock:
    """When each next stage is due: one stage length after the previous one was due.

    Chaining from due times (not from when a poll happened to run a stage)
    is what lets one late poll catch up on several stages.
    """

    def __init__(self, stage_started: float, seconds: float, now=time.time):
        self.due_at, self.seconds, self.now = stage_started + seconds, seconds, now

    def due(self) -> bool:
        return self.now() >= self.due_at

    def advance(self) -> None:
        self.due_at += self.seconds
