"""Recorded API responses (cassettes) for replay, record and live modes.

Built on vcrpy, which patches the transports of both httpx (zhipuai) and httpx2
(openai 3.x). What this module adds, and why:

* one cassette per notebook and backend, ``notebooks/cassettes/<name>.<backend>.json``,
  opened once per process and saved as interactions arrive (a notebook kernel
  has no natural "end of test" to save at);
* strict matching on method, host, path, query and a *canonical* body: JSON
  compared as data (key order ignored), multipart uploads compared by their
  fields and file contents (boundaries ignored), so swapping two prompts can
  never swap their answers; ``allow_playback_repeats`` stays off so identical
  polling requests replay in recorded order;
* request headers are dropped except ``content-type``, response headers except
  ``content-type`` and ``retry-after``: credentials (Authorization, api-key,
  cookies, organisation/project ids) are never written; any configured key
  (``helpers.secrets``: OpenAI, Zhipu, ``COURSE_API_KEY``) that a URL or a body
  carries is masked before a recording is kept;
* a readable, diff-friendly JSON file, one field per line: JSON bodies stored
  as data (not as escaped strings), Unicode kept, interactions sorted stably
  by request so concurrent calls do not reorder the file between recordings.
  JSON rather than vcrpy's YAML because a notebook's cassette is a few MB and
  libyaml takes about a second to read one, the json module 0.03 s; a YAML
  cassette recorded by an earlier version (``.yaml``) is still read in replay;
* a cassette miss in replay raises ``CassetteMiss`` naming the cassette, the
  method and path, and the closest recording of the same method and path (the
  one with the fewest differing fields) with its first difference; vcrpy's own
  "most similar" counts matchers, so it can name a request to another path.
  ``CassetteMiss`` derives from ``BaseException`` on
  purpose: zhipuai catches any ``Exception`` from its transport, retries it
  with backoff and re-raises it as a vague "Connection error" (openai 3.x
  does so for transport errors); a missing recording is a bug to report at
  once, not a network fault to retry.
"""
from __future__ import annotations

import atexit
import email.parser
import email.policy
import hashlib
import json
import os
import re
import threading
import time
import urllib.parse
from pathlib import Path

import httpx
import httpx2
import vcr
import yaml
from vcr.errors import CannotOverwriteExistingCassetteException

from .config import REPO_ROOT, Settings
from .secrets import redact_exact

CASSETTE_DIR = REPO_ROOT / "notebooks" / "cassettes"
KEEP_REQUEST_HEADERS = {"content-type"}
KEEP_RESPONSE_HEADERS = {"content-type", "retry-after"}
SAVE_EVERY_SECONDS = 2.0

_active: dict[Path, tuple] = {}
_lock = threading.Lock()


class CassetteMiss(BaseException):
    """A replayed request has no recording (see the module docstring for the base class)."""


# ---------------------------------------------------------------- canonical bodies

def _content_type(headers) -> str:
    for key, value in (headers or {}).items():
        if key.lower() == "content-type":
            return value[0] if isinstance(value, list) else value
    return ""


MULTIPART_KEY = "__multipart__"


def multipart_summary(body: bytes, content_type: str) -> list[dict]:
    """The fields of a multipart body: small values verbatim, files by size and sha256."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields = []
    for part in msg.iter_parts():
        payload = part.get_payload(decode=True) or b""
        field = {"name": part.get_param("name", header="content-disposition") or ""}
        if part.get_filename() is None:
            field["value"] = payload.decode("utf-8", "replace")
        else:
            field.update(filename=part.get_filename(), bytes=len(payload),
                         sha256=hashlib.sha256(payload).hexdigest(),
                         head=payload[:120].decode("utf-8", "replace"))
        fields.append(field)
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
        ctype = _content_type(request.headers)
        if ctype.startswith("multipart/form-data"):
            return ("multipart", _multipart_canonical(multipart_summary(body, ctype)))
        return ("bytes", hashlib.sha256(body).hexdigest())
    if isinstance(data, dict) and MULTIPART_KEY in data:  # a recorded upload, see _readable
        return ("multipart", _multipart_canonical(data[MULTIPART_KEY]))
    return ("json", data)


def _canon(request):
    # matching runs for every recorded request on every call: compute once per object
    cached = getattr(request, "_course_canon", None)
    if cached is None:
        cached = canonical_body(request)
        try:
            request._course_canon = cached
        except AttributeError:
            pass
    return cached


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
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{where}[{i}]")
            if found:
                return found
    return f"{where}: now {_short(a)!s}, recorded {_short(b)!s}"


def body_matcher(r1, r2):
    """vcrpy matcher: bodies equal as data (raises AssertionError saying where they differ)."""
    diff = first_difference(_canon(r1), _canon(r2))
    if diff:
        raise AssertionError(diff)


# ---------------------------------------------------------------- filtering

def _keep_headers(headers, keep):
    return {k: v for k, v in headers.items() if k.lower() in keep}


def _scrub_request(request):
    request.headers = _keep_headers(request.headers, KEEP_REQUEST_HEADERS)
    return request


def _scrub_response(response):
    response["headers"] = _keep_headers(response.get("headers", {}), KEEP_RESPONSE_HEADERS)
    return response


def _mask_request(request):
    """Configured keys out of a request's URL and body (recording only; vcrpy copied it)."""
    masked = redact_exact(request.uri)
    if masked != request.uri:
        request.uri = masked
    body = request.body
    if isinstance(body, (bytes, str)) and body:
        request.body = redact_exact(body)
    return request


def _mask_response(response):
    body = response.get("body") or {}
    if isinstance(body.get("string"), (bytes, str)):
        body["string"] = redact_exact(body["string"])
    return response


# ---------------------------------------------------------------- serializer

# libyaml's C loader/dumper: the pure-Python ones take seconds per cassette.
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(_BaseDumper):
    pass


def _str_representer(dumper, data):
    style = "|" if "\n" in data and not re.search(r"[ \t]\n|[\x00-\x08\x0b-\x1f\x7f]", data) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_representer)


def _to_readable(body):
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": __import__("base64").b64encode(body).decode()}
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
        return __import__("base64").b64decode(body["base64"])
    return body


def _sort_key(interaction):
    req = interaction["request"]
    return (req["uri"], req["method"], json.dumps(req.get("body"), ensure_ascii=False, sort_keys=True))


def _readable(data) -> dict:
    """vcrpy's cassette data with bodies as data, uploads summarised, interactions sorted."""
    interactions = []
    for item in data["interactions"]:
        req = dict(item["request"])
        ctype = _content_type(req.get("headers"))
        if ctype.startswith("multipart/form-data") and req.get("body"):
            # Uploads are matched by their files' sha256, so the cassette keeps
            # a summary instead of a second copy of every training file.
            body = req["body"] if isinstance(req["body"], bytes) else req["body"].encode()
            req["body"] = {MULTIPART_KEY: multipart_summary(body, ctype)}
        else:
            req["body"] = _to_readable(req.get("body"))
        resp = dict(item["response"])
        resp["body"] = {"string": _to_readable(resp["body"]["string"])}
        interactions.append({"request": req, "response": resp})
    interactions.sort(key=_sort_key)  # stable: identical polls keep their order
    return dict(data, interactions=interactions)


def _from_readable_data(data) -> dict:
    data = data or {"version": 1, "interactions": []}
    for item in data["interactions"]:
        body = item["request"].get("body")
        if isinstance(body, dict) and MULTIPART_KEY in body:
            item["request"]["body"] = json.dumps(body, ensure_ascii=False)
        else:
            item["request"]["body"] = _from_readable(body)
        item["response"]["body"]["string"] = _from_readable(item["response"]["body"]["string"])
    return data


class ReadableJson:
    """vcrpy serializer: the course's cassettes (``.json``)."""

    @staticmethod
    def serialize(data):
        return json.dumps(_readable(data), ensure_ascii=False, indent=1) + "\n"

    @staticmethod
    def deserialize(text):
        return _from_readable_data(json.loads(text) if text.strip() else None)


class ReadableYaml:
    """vcrpy serializer: the same data as YAML (``.yaml``, cassettes of earlier versions)."""

    @staticmethod
    def serialize(data):
        return yaml.dump(_readable(data), Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                         width=100)

    @staticmethod
    def deserialize(text):
        return _from_readable_data(yaml.load(text, Loader=_Loader))


SERIALIZERS = {".json": ("course-json", ReadableJson), ".yaml": ("readable-yaml", ReadableYaml),
               ".yml": ("readable-yaml", ReadableYaml)}


def _vcr(recording: bool = False, suffix: str = ".json") -> vcr.VCR:
    """vcrpy set up for the course; ``recording`` adds the key masks (replay has no keys)."""
    name, serializer = SERIALIZERS[suffix]
    v = vcr.VCR(
        serializer=name,
        match_on=["method", "scheme", "host", "port", "path", "query", "course_body"],
        before_record_request=[_scrub_request] + ([_mask_request] if recording else []),
        before_record_response=[_scrub_response] + ([_mask_response] if recording else []),
        decode_compressed_response=True,
    )
    v.register_serializer(name, serializer)
    v.register_matcher("course_body", body_matcher)
    return v


# ---------------------------------------------------------------- activation

def cassette_dir() -> Path:
    """``notebooks/cassettes``, or ``COURSE_CASSETTE_DIR`` (tests re-record into a temp dir)."""
    return Path(os.environ.get("COURSE_CASSETTE_DIR") or CASSETTE_DIR)


def cassette_path(name: str | Path, settings: Settings) -> Path:
    """``<cassette dir>/<name>.<backend>.json``, or ``name`` itself if it is a cassette path.

    In replay, an older ``<name>.<backend>.yaml`` is used when there is no ``.json``.
    """
    p = Path(name)
    if p.suffix in SERIALIZERS:
        return p.resolve()
    path = cassette_dir() / f"{p.stem}.{settings.backend}.json"
    older = path.with_suffix(".yaml")
    if settings.mode == "replay" and not path.is_file() and older.is_file():
        return older
    return path


def activate(name: str | Path, settings: Settings) -> Path:
    """Open the cassette for this process (once); replay needs it to exist, record starts it anew."""
    path = cassette_path(name, settings)
    with _lock:
        if path in _active:
            return path
        if settings.mode == "replay":
            if not path.is_file():
                raise FileNotFoundError(
                    f"replay mode needs the recording {path}, which does not exist; record it "
                    f"with COURSE_MODE=record (or use COURSE_MODE=live)")
            record_mode = "none"
        elif settings.mode == "record":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
            record_mode = "all"
        else:
            raise ValueError(f"no cassette is used in {settings.mode} mode")
        context = _vcr(recording=record_mode == "all", suffix=path.suffix).use_cassette(
            str(path), record_mode=record_mode, allow_playback_repeats=False)
        cassette = context.__enter__()
        if record_mode == "all":
            _save_as_we_go(cassette)
        else:
            _index(cassette)
        _active[path] = (context, cassette)
    return path


def any_active() -> bool:
    """Whether this process has a cassette open (record or replay)."""
    with _lock:
        return bool(_active)


def signature(request) -> tuple:
    """Everything the matchers compare, as one hashable value."""
    url = urllib.parse.urlsplit(request.uri)
    query = tuple(sorted(urllib.parse.parse_qsl(url.query, keep_blank_values=True)))
    body = json.dumps(_canon(request), sort_keys=True, ensure_ascii=False)
    return (request.method, url.scheme, url.hostname, url.port, url.path, query, body)


def _index(cassette):
    """Look recordings up by signature instead of running every matcher on every one.

    vcrpy scans all interactions with all matchers for each request, which makes
    replaying a notebook with a few hundred calls take tens of seconds. The
    matchers here amount to equality of ``signature``, so a dict gives the same
    answers; on a miss vcrpy's own scan still explains what differs.
    """
    index: dict[tuple, list[int]] = {}
    for i, (stored, _response) in enumerate(cassette.data):
        index.setdefault(signature(stored), []).append(i)

    def responses(request):
        request = cassette._before_record_request(request)
        for i in index.get(signature(request), ()):
            yield i, cassette.data[i][1]

    def can_play_response_for(request):
        return any(cassette.play_counts[i] == 0 for i, _ in responses(request))

    cassette._responses = responses
    cassette.can_play_response_for = can_play_response_for


_unsaved: set = set()  # ids of recording cassettes with interactions not yet on disk


def _save_as_we_go(cassette):
    original = cassette.append
    last = [0.0]

    def append(request, response):
        original(request, response)
        now = time.monotonic()
        if now - last[0] >= SAVE_EVERY_SECONDS:
            last[0] = now
            with _lock:
                cassette._save(force=True)
                _unsaved.discard(id(cassette))
        else:
            _unsaved.add(id(cassette))

    cassette.append = append
    _save_after_each_cell()


def _save_after_each_cell() -> None:
    """In a notebook kernel, also save after every cell that recorded something.

    The throttled saves above can leave a cell's last interactions unsaved, and
    the exit-time save may not finish: a kernel asked to shut down is killed
    after a few seconds, which a large cassette's YAML dump can exceed.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or getattr(_save_after_each_cell, "registered", False):
        return

    def saved(*_):
        if _unsaved:
            save_all()

    shell.events.register("post_run_cell", saved)
    _save_after_each_cell.registered = True


def save_all() -> None:
    """Write every cassette being recorded (also runs at interpreter exit)."""
    with _lock:
        for _context, cassette in _active.values():
            if cassette.record_mode == "all" and cassette.data:
                cassette._save(force=True)
        _unsaved.clear()


def deactivate(name: str | Path | None = None, settings: Settings | None = None) -> None:
    """Close one cassette (or all), saving recordings; mainly for tests."""
    save_all()
    with _lock:
        paths = list(_active) if name is None else [cassette_path(name, settings)]
        for path in paths:
            context, _ = _active.pop(path, (None, None))
            if context is not None:
                context.__exit__(None, None, None)


atexit.register(save_all)


# ---------------------------------------------------------------- replay transports

def count_differences(a, b) -> int:
    """How many fields (leaves, keys present on one side, extra list items) differ."""
    if a == b:
        return 0
    if isinstance(a, dict) and isinstance(b, dict):
        return sum(count_differences(a[k], b[k]) if k in a and k in b else 1
                   for k in set(a) | set(b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return abs(len(a) - len(b)) + sum(count_differences(x, y) for x, y in zip(a, b))
    return 1


def _parts(request) -> dict:
    """What the matchers compare besides method and path, as data to diff."""
    url = urllib.parse.urlsplit(request.uri)
    query = {}
    for key, value in urllib.parse.parse_qsl(url.query, keep_blank_values=True):
        query.setdefault(key, []).append(value)
    canon = _canon(request)
    kind, body = canon if canon is not None else (None, None)
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


def _explain(miss: CannotOverwriteExistingCassetteException) -> str:
    req = miss.failed_request
    lines = [f"replay: {req.method} {req.path} has no recorded response in {miss.cassette._path}."]
    recorded = [stored for stored, _response in miss.cassette.data]
    closest = closest_recording(miss.cassette._before_record_request(req), recorded)
    if closest is None:
        paths = sorted({f"{r.method} {urllib.parse.urlsplit(r.uri).path}" for r in recorded})
        lines.append("No recorded request has this method and path"
                     + (f"; recorded: {', '.join(paths[:8])}" + (" …" if len(paths) > 8 else "")
                        if paths else "; the recording is empty") + ".")
    elif closest[1] == 0 or miss.reason == "already_played":
        lines.append("Every matching recording was already used: this run makes the request more "
                     "often than the recorded run did.")
    else:
        index, n, first = closest
        lines.append(f"Closest recording (interaction {index + 1} of {len(recorded)} in the file, "
                     f"same method and path) differs in {n} field{'s' if n != 1 else ''}; "
                     f"first: {first}")
    lines.append("Re-record the notebook with COURSE_MODE=record if the change is intended.")
    return "\n".join(lines)


def _replay_guard(cls):
    class Guarded(cls):
        def handle_request(self, request):
            try:
                return super().handle_request(request)
            except CannotOverwriteExistingCassetteException as miss:
                raise CassetteMiss(_explain(miss)) from None

    Guarded.__name__ = f"Replay{cls.__name__}"
    return Guarded


def _refuse(request):
    raise CassetteMiss(f"replay: {request.method} {request.url.path} reached the network layer; "
                       "replay mode never opens a socket")


ReplayTransport2 = _replay_guard(httpx2.MockTransport)
ReplayTransport = _replay_guard(httpx.MockTransport)


def replay_transport(lib: str):
    """A transport that answers only from the active cassette (``lib`` is 'httpx' or 'httpx2')."""
    return (ReplayTransport2 if lib == "httpx2" else ReplayTransport)(_refuse)


# ---------------------------------------------------------------- comparison

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


def load(path: str | Path) -> dict:
    """A cassette file's data (bodies decoded)."""
    return SERIALIZERS[Path(path).suffix][1].deserialize(Path(path).read_text(encoding="utf-8"))
