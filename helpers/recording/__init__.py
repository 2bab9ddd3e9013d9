"""Recorded API responses (cassettes) for the replay, record and live modes.

One concern per module:

* ``session`` — a process's cassettes (``notebooks/cassettes/<name>.<backend>.json``):
  ``activate`` / ``deactivate``, replay in recorded order, saving as it records;
* ``transport`` — the transport of every client ``helpers.clients`` makes, the
  only way into a cassette (nothing is patched process-wide, so other clients
  are neither recorded nor blocked);
* ``matching`` — strict matching on a canonical body;
* ``scrubbing`` — credentials and configured keys never stored;
* ``serialising`` — the readable JSON file;
* ``explanation`` — a replay miss names the closest recording and its first difference;
* ``vcr_adapter`` — the one module that touches vcrpy (and its private parts).
"""
from .explanation import (
           CassetteMiss,
           closest_recording,
           count_differences,
           first_difference,
           request_difference,
)
from .matching import canonical_body, multipart_summary, signature
from .serialising import load, normalise, sort_key
from .session import (
           CASSETTE_DIR,
           Session,
           activate,
           any_active,
           cassette_dir,
           cassette_path,
           current,
           deactivate,
           save_all,
           session_for,
)
from .transport import (
           CourseTransport,
           CourseTransport2,
           ReplayTransport,
           ReplayTransport2,
           course_transport,
           network_transport,
           replay_transport,
)

__all__ = ["CASSETTE_DIR", "CassetteMiss", "CourseTransport", "CourseTransport2",
           "ReplayTransport", "ReplayTransport2", "Session", "activate", "any_active",
           "canonical_body", "cassette_dir", "cassette_path", "closest_recording",
           "count_differences", "course_transport", "current", "deactivate", "first_difference",
           "load", "multipart_summary", "network_transport", "normalise", "replay_transport",
           "request_difference", "save_all", "session_for", "signature", "sort_key"]
