"""What a replay miss says: the cassette, the request, and the closest recording.

vcrpy's own "most similar request" counts matchers, so it can name a request
to another path; here the closest recording is the one of the same method
and path with the fewest differing fields, and its first difference is
spelled out (``body.messages[0].content: now '…', recorded '…'``).
"""
from __future__ import annotations

import json
import urllib.parse

from .matching import canon


class CassetteMiss(BaseException):
    """A replayed request has no recording.

    A ``BaseException`` on purpose: zhipuai catches any ``Exception`` from its
    transport, retries it with backoff and re-raises it as a vague
    "Connection error" (openai 3.x does so for transport errors); a missing
    recording is a bug to report at once, not a network fault to retry.
    """


def _short(value, limit=80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


def first_difference(a, b, where="body"):
    """Where two canonical bodies first differ, as one readable line (None if equal)."""
    if a == b:
        return None
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{where}.{key}: only in {'the recording' if key in b else 'this request'}"
            found = first_difference(a[key], b[key], f"{where}.{key}")
            if found:
                return found
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return f"{where}: {len(a)} items now, {len(b)} recorded"
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = first_difference(x, y, f"{where}[{i}]")
            if found:
                return found
    return f"{where}: now {_short(a)!s}, recorded {_short(b)!s}"


def count_differences(a, b) -> int:
    """How many fields (leaves, keys present on one side, extra list items) differ."""
    if a == b:
        return 0
    if isinstance(a, dict) and isinstance(b, dict):
        return sum(count_differences(a[k], b[k]) if k in a and k in b else 1
                   for k in set(a) | set(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        pairs = zip(a, b, strict=False)
        return abs(len(a) - len(b)) + sum(count_differences(x, y) for x, y in pairs)
    return 1


def _parts(request) -> dict:
    """What matching compares besides method and path, as data to diff."""
    url = urllib.parse.urlsplit(request.uri)
    query: dict[str, list[str]] = {}
    for key, value in urllib.parse.parse_qsl(url.query, keep_blank_values=True):
        query.setdefault(key, []).append(value)
    body = canon(request)
    kind, body = body if body is not None else (None, None)
    return {"server": f"{url.scheme}://{url.netloc.rpartition('@')[2]}", "query": query,
            "body kind": kind, "body": body}


def request_difference(request, recorded) -> tuple[int, str | None]:
    """(number of differing fields, the first difference) between two requests."""
    a, b = _parts(request), _parts(recorded)
    total = sum(count_differences(a[k], b[k]) for k in a)
    first = None
    for key in ("server", "query", "body kind", "body"):
        first = first_difference(a[key], b[key], key)
        if first:
            break
    return total, first


def closest_recording(request, recorded) -> tuple | None:
    """The recording of the same method and path with the fewest differing fields.

    ``recorded`` is a cassette's list of requests. Returns ``(index, number of
    differing fields, first difference)``, or None when no recording has this
    method and path. Ties go to the earliest recording.
    """
    path = urllib.parse.urlsplit(request.uri).path
    best = None
    for i, stored in enumerate(recorded):
        if stored.method != request.method or urllib.parse.urlsplit(stored.uri).path != path:
            continue
        n, first = request_difference(request, stored)
        if best is None or n < best[1]:
            best = (i, n, first)
    return best


def explain(request, recorded, cassette, *, all_used: bool) -> str:
    """The message of a replay miss; ``all_used``: matching recordings exist but were played."""
    path = urllib.parse.urlsplit(request.uri).path
    lines = [f"replay: {request.method} {path} has no recorded response in {cassette}."]
    closest = closest_recording(request, recorded)
    if all_used or (closest is not None and closest[1] == 0):
        lines.append("Every matching recording was already used: this run makes the request more "
                     "often than the recorded run did.")
    elif closest is None:
        paths = sorted({f"{r.method} {urllib.parse.urlsplit(r.uri).path}" for r in recorded})
        lines.append("No recorded request has this method and path"
                     + (f"; recorded: {', '.join(paths[:8])}" + (" …" if len(paths) > 8 else "")
                        if paths else "; the recording is empty") + ".")
    else:
        index, n, first = closest
        lines.append(f"Closest recording (interaction {index + 1} of {len(recorded)} in the file, "
                     f"same method and path) differs in {n} field{'s' if n != 1 else ''}; "
                     f"first: {first}")
    lines.append("Re-record the notebook with COURSE_MODE=record if the change is intended.")
    return "\n".join(lines)
