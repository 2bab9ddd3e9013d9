"""The cassette file: readable, diff-friendly JSON, one field per line.

JSON bodies are stored as data (not as escaped strings), Unicode is kept,
uploads are stored as a summary of their fields (files by size and sha256,
not a second copy of every training file), and interactions are sorted
stably by request so concurrent calls do not reorder the file between
recordings (identical polls keep their recorded order). JSON, not vcrpy's
YAML: a notebook's cassette is a few MB, which libyaml takes about a second
to read and the json module 0.03 s.
"""
from __future__ import annotations

import base64
import contextlib
import json
import re
from pathlib import Path

from . import vcr_adapter
from .matching import MULTIPART_KEY, content_type, multipart_summary

SUFFIX = ".json"


def _to_readable(body):
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(body).decode()}
    if isinstance(body, str) and body[:1] in "{[":
        try:
            return {"json": json.loads(body)}
        except ValueError:
            pass
    return body


def _from_readable(body):
    if isinstance(body, dict) and "json" in body:
        return json.dumps(body["json"], ensure_ascii=False, separators=(",", ":"))
    if isinstance(body, dict) and "base64" in body:
        return base64.b64decode(body["base64"])
    return body


def sort_key(interaction: dict):
    """The order of interactions in a file: by URI, method and body (stable for repeats)."""
    req = interaction["request"]
    return (req["uri"], req["method"], json.dumps(req.get("body"), ensure_ascii=False,
                                                  sort_keys=True))


def readable(data: dict) -> dict:
    """Plain cassette data with bodies as data, uploads summarised, interactions sorted."""
    interactions = []
    for item in data["interactions"]:
        req = dict(item["request"])
        ctype = content_type(req.get("headers"))
        req["body"] = _to_readable(req.get("body"))
        if ctype.startswith("multipart/form-data") and req.get("body"):
            body = item["request"]["body"]
            with contextlib.suppress(ValueError):  # not well-formed: kept readable as it is
                req["body"] = {MULTIPART_KEY: multipart_summary(
                    body if isinstance(body, bytes) else body.encode(), ctype)}
        resp = dict(item["response"])
        resp["body"] = {"string": _to_readable(resp["body"]["string"])}
        interactions.append({"request": req, "response": resp})
    interactions.sort(key=sort_key)
    return dict(data, interactions=interactions)


def plain(data: dict | None) -> dict:
    """The inverse of ``readable`` (bodies back to strings or bytes; order kept)."""
    data = data or {"version": 1, "interactions": []}
    for item in data["interactions"]:
        body = item["request"].get("body")
        if isinstance(body, dict) and MULTIPART_KEY in body:
            item["request"]["body"] = json.dumps(body, ensure_ascii=False)
        else:
            item["request"]["body"] = _from_readable(body)
        item["response"]["body"]["string"] = _from_readable(item["response"]["body"]["string"])
    return data


def dumps(interactions) -> str:
    """The file text for a list of (request, response data) interactions."""
    return json.dumps(readable(vcr_adapter.to_plain(interactions)), ensure_ascii=False,
                      indent=1) + "\n"


def loads(text: str) -> list:
    """The (request, response data) interactions in a cassette file's text."""
    return vcr_adapter.from_plain(plain(json.loads(text) if text.strip() else None))


def load(path: str | Path) -> dict:
    """A cassette file's data (bodies decoded to strings), for reading and comparing."""
    text = Path(path).read_text(encoding="utf-8")
    return plain(json.loads(text) if text.strip() else None)


_VOLATILE_KEYS = re.compile(r"(^|_)(at|created|timestamp|elapsed_time|remaining_time|finish)$")


def normalise(data):
    """A cassette's data with timestamps zeroed and multipart boundaries masked, for comparing."""
    if isinstance(data, dict):
        return {k: (0 if _VOLATILE_KEYS.search(k) and isinstance(v, (int, float)) else normalise(v))
                for k, v in data.items()}
    if isinstance(data, list):
        return [normalise(v) for v in data]
    if isinstance(data, str) and "boundary=" in data:  # multipart boundaries are random
        return re.sub(r"boundary=[\w'()+,./:=?-]+", "boundary=BOUNDARY", data)
    if isinstance(data, str) and data[:1] in "{[":
        try:
            return json.dumps(normalise(json.loads(data)), sort_keys=True, ensure_ascii=False)
        except ValueError:
            return data
    return data
