"""When a request is "the same" as a recorded one: strict, but blind to what is random.

Two requests match when method, scheme, host, port, path, query and a
*canonical* body are equal: JSON compared as data (key order ignored),
multipart uploads by their fields and file contents (boundaries ignored), so
swapping two prompts can never swap their answers. ``signature`` is all of
that as one hashable value, so a replay looks recordings up in a dict.
Requests are vcrpy ``Request`` objects (``method``, ``uri``, ``body``, ``headers``).
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import urllib.parse

from multipart import MultipartError, MultipartParser, parse_options_header

MULTIPART_KEY = "__multipart__"  # how a cassette stores an upload's summary (``serialising``)


def content_type(headers) -> str:
    for key, value in (headers or {}).items():
        if key.lower() == "content-type":
            return value[0] if isinstance(value, list) else value
    return ""


def multipart_summary(body: bytes, ctype: str) -> list[dict]:
    """The fields of a multipart body: small values verbatim, files by size and sha256.

    Parsed with the ``multipart`` package, as the sandbox parses uploads
    (``helpers.sandbox.multipart``). A body that is not well-formed multipart
    raises ``ValueError`` (callers then compare or store its bytes instead).
    """
    _, options = parse_options_header(ctype)
    if not options.get("boundary"):
        raise ValueError(f"multipart body without a boundary in its Content-Type {ctype!r}")
    limit = max(len(body) + 1, 8 * 2**20)  # the body is in memory already: parse it there
    fields = []
    try:
        for part in MultipartParser(io.BytesIO(body), options["boundary"], len(body),
                                    spool_limit=limit, memory_limit=limit):
            payload = part.raw
            field = {"name": part.name or ""}
            if part.filename is None:
                field["value"] = payload.decode("utf-8", "replace")
            else:
                field.update(filename=part.filename, bytes=len(payload),
                             sha256=hashlib.sha256(payload).hexdigest(),
                             head=payload[:120].decode("utf-8", "replace"))
            fields.append(field)
    except MultipartError as err:
        raise ValueError(f"not a well-formed multipart body: {err}") from None
    return sorted(fields, key=lambda f: f["name"])


def _multipart_canonical(fields: list[dict]) -> list:
    return [(f["name"], f.get("filename", ""), f.get("sha256") or f.get("value")) for f in fields]


def canonical_body(request):
    """A comparable form of a request body that ignores what is random."""
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not body:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        ctype = content_type(request.headers)
        if ctype.startswith("multipart/form-data"):
            with contextlib.suppress(ValueError):  # not well-formed: compared as bytes below
                return ("multipart", _multipart_canonical(multipart_summary(body, ctype)))
        return ("bytes", hashlib.sha256(body).hexdigest())
    if isinstance(data, dict) and MULTIPART_KEY in data:  # a recorded upload's summary
        return ("multipart", _multipart_canonical(data[MULTIPART_KEY]))
    return ("json", data)


def canon(request):
    """``canonical_body``, computed once per request object (misses compare many times)."""
    cached = getattr(request, "_course_canon", None)
    if cached is None:
        cached = canonical_body(request)
        with contextlib.suppress(AttributeError):
            request._course_canon = cached
    return cached


def signature(request) -> tuple:
    """Everything two matching requests have equal, as one hashable value."""
    url = urllib.parse.urlsplit(request.uri)
    query = tuple(sorted(urllib.parse.parse_qsl(url.query, keep_blank_values=True)))
    body = json.dumps(canon(request), sort_keys=True, ensure_ascii=False)
    return (request.method, url.scheme, url.hostname, url.port, url.path, query, body)
