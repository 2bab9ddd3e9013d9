"""The WSGI application: routing, request reading, provider-specific responses, faults.

Every request gets a JSON answer in the provider's shape: 404 for an unknown
path, 405 for a known path with the wrong method, 411/413/400 for a body
without a length, too large, not UTF-8 or not JSON (read before anything is
parsed or saved), 400 for a body that fails its schema (``schemas``), and a
JSON 500 ``server_error`` with the request id for anything unexpected, logged
with its traceback on the ``helpers.sandbox`` logger. Text that is not valid Unicode
anywhere in a request (a lone surrogate such as ``"\\ud800"`` in JSON, bytes that
are not UTF-8 in the path, query or a form field) is a 400 naming where it is
(``textcheck``), and a response that cannot be encoded is an error in the same
shape, never a traceback from the WSGI server.
"""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, parse_qsl, unquote

from ..chat_format import LineError, loads
from . import chat as chat_logic
from . import (
    dialects,
    embeddings,
    responses,
    responses_stream,
    schemas,
    streaming,
    textcheck,
    views,
)
from .core import Sandbox
from .errors import REASONS, ApiError, bad_request, render, server_error
from .faults import FaultDice, Faults, SandboxTimeout
from .multipart import CHUNK, parse_upload
from .settings import max_body_bytes, max_upload_bytes
from .store import StateError

OPENAI_PREFIX = dialects.OPENAI.prefix
ZHIPU_PREFIX = dialects.ZHIPU.prefix
MULTIPART_SLACK = 1024 * 1024  # form headers and fields around the file in an upload body
# environ key a server sets when the URL it received is not UTF-8 (``server.text_environ``)
UNDECODABLE = "helpers.sandbox.undecodable"
log = logging.getLogger("helpers.sandbox")


def parse_json(data: bytes) -> dict:
    """A JSON object from a request body: strict UTF-8, no NaN/Infinity, finite numbers."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request(f"The request body is not valid UTF-8 ({exc.reason} at byte "
                          f"{exc.start}).") from None
    try:
        value = loads(text or "{}")  # the course's one strict-JSON parser (no NaN, no Infinity)
    except LineError as exc:
        raise bad_request(f"We could not parse the JSON body of your request. ({exc})") from None
    if not isinstance(value, dict):
        raise bad_request("The request body must be a JSON object.")
    found = textcheck.find_surrogate(value)
    if found:
        raise bad_request(textcheck.describe(*found), param=found[0], code="invalid_unicode")
    return value


def unicode_error(exc: UnicodeError, where: str | None = None) -> ApiError:
    """A 400 for text that is not valid Unicode, wherever in a request it was met."""
    reason = getattr(exc, "reason", None) or str(exc)
    place = f"'{where}'" if where else "the request"
    return ApiError(400, f"Invalid text in {place}: it is not valid Unicode ({reason}). Send "
                    "text as valid UTF-8, without lone surrogates.", param=where,
                    code="invalid_unicode")


@dataclass
class Request:
    method: str
    path: str
    query: dict
    content_type: str
    body: bytes
    provider: str
    environ: dict
    length: int | None = None

    def json(self) -> dict:
        return parse_json(self.body)

    def arg(self, name: str, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def dialect(self):
        return dialects.get(self.provider)


@dataclass(frozen=True)
class Route:
    """A path pattern and its handler, with what the handler needs read from the request."""
    method: str
    pattern: re.Pattern
    handler: object
    body: bool = False    # a JSON body (411 without a length)
    upload: bool = False  # a multipart upload, streamed by the handler itself


class Stream:
    """A handler's answer that is sent as server-sent events."""

    def __init__(self, events):
        self.events = events


def _page(records: list, request: Request, default_limit: int = 20):
    """Cursor pagination over newest-first records: (page, has_more)."""
    after = request.arg("after")
    if after:
        ids = [r.id for r in records]
        records = records[ids.index(after) + 1:] if after in ids else []
    raw = request.arg("limit", str(default_limit))
    if not re.fullmatch(r"[0-9]{1,9}", raw) or int(raw) < 1:
        raise bad_request(f"Invalid 'limit': expected a positive integer, but got {raw!r}.",
                          param="limit")
    limit = int(raw)
    return records[:limit], len(records) > limit


class SandboxApp:
    """One client's view of a shared ``Sandbox``: its progression mode and faults."""

    def __init__(self, core: Sandbox, faults: Faults | None = None, progression: str = "poll",
                 stall_on_timeout: float | None = None):
        self.core, self.faults, self.progression = core, faults or Faults(), progression
        self.dice = FaultDice(self.faults)
        self.stall_on_timeout = stall_on_timeout  # server mode: stall, then answer 504
        self.max_upload_bytes = max_upload_bytes()
        self.max_body_bytes = max_body_bytes()
        self.routes = self._routes()

    def limit_for(self, path: str) -> int:
        """The largest body a request to ``path`` may send: uploads go to ``/files``."""
        upload = path.rstrip("/") in (OPENAI_PREFIX + "/files", ZHIPU_PREFIX + "/files")
        return self.max_upload_bytes + MULTIPART_SLACK if upload else self.max_body_bytes

    # ------------------------------------------------------------ WSGI entry
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        provider = dialects.for_path(path).name
        request_id = "req_" + uuid.uuid4().hex
        headers: dict = {}
        try:
            self.dice.delay()
            route, args = self._route(environ, provider)
            request = self._read(environ, provider, route)
            self._inject(request)
            result = route.handler(request, request_id, *args)
            status, payload = 200, result
        except SandboxTimeout:
            raise  # the in-process transport turns it into the SDK's read timeout
        except ApiError as exc:
            status, payload = render(exc, provider)
            headers = exc.headers
        except StateError as exc:  # the sandbox's own files are damaged: say which, and how
            log.error("request %s: %s", request_id, exc)
            status, payload = render(ApiError(500, str(exc), type="server_error",
                                              code="sandbox_state_damaged"), provider)
        except UnicodeError as exc:  # undecodable text the checks above did not name
            log.warning("undecodable text in %s (request id %s): %s",
                        environ.get("REQUEST_METHOD"), request_id, exc)
            status, payload = render(unicode_error(exc), provider)
        except Exception:
            log.exception("unexpected error in %s %s (request id %s)",
                          environ.get("REQUEST_METHOD"), path, request_id)
            status, payload = render(server_error(request_id), provider)
        return self._respond(start_response, status, payload, headers, request_id, provider)

    def _inject(self, request: Request) -> None:
        """An injected fault for this request, if the dice say so (after it was read, since
        the draw is keyed by the request itself)."""
        body = (b"upload:%d" % (request.length or 0) if not request.body and request.length
                else request.body)
        fault = self.dice.draw(b"\n".join([request.method.encode(), request.path.encode(),
                                           request.environ.get("QUERY_STRING", "").encode(),
                                           body]))
        if fault == "429":
            raise ApiError(429, "Rate limit reached for requests (injected fault). Please retry "
                           "after a short wait.", type="requests", code="rate_limit_exceeded",
                           headers={"Retry-After": f"{self.faults.retry_after:g}",
                                    "retry-after-ms": f"{self.faults.retry_after * 1000:.0f}"})
        if fault == "500":
            raise ApiError(500, "The server had an error while processing your request "
                           "(injected fault).", type="server_error", code="server_error")
        if fault == "timeout":
            if self.stall_on_timeout is None:
                raise SandboxTimeout("injected timeout: the sandbox did not answer in time")
            time.sleep(self.stall_on_timeout)
            raise ApiError(504, "Gateway timeout (injected fault).", type="server_error",
                           code="timeout")

    def _route(self, environ, provider: str):
        path = environ.get("PATH_INFO", "")
        if environ.get(UNDECODABLE):
            raise unicode_error(UnicodeError(environ[UNDECODABLE]), "url")
        bad = textcheck.surrogate_in(path)
        if bad:
            raise ApiError(400, textcheck.describe("url", bad), param="url",
                           code="invalid_unicode")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        prefix = dialects.get(provider).prefix
        if not path.startswith(prefix):
            raise ApiError(404, f"Unknown path {path}: the sandbox serves {OPENAI_PREFIX}/... and "
                           f"{ZHIPU_PREFIX}/...", code="unknown_url")
        sub = path[len(prefix):].rstrip("/") or "/"
        allowed = []
        for route in self.routes[provider]:
            m = route.pattern.fullmatch(sub)
            if m and route.method == method:
                return route, [self._segment(g) for g in m.groups()]
            if m:
                allowed.append(route.method)
        if allowed:
            raise ApiError(405, f"Method {method} is not allowed on {path}; use "
                           f"{' or '.join(sorted(set(allowed)))}.", code="method_not_allowed",
                           headers={"Allow": ", ".join(sorted(set(allowed)))})
        raise ApiError(404, f"Invalid URL ({method} {path})", code="unknown_url")

    @staticmethod
    def _segment(raw: str) -> str:
        try:
            return unquote(raw, errors="strict")
        except UnicodeDecodeError as exc:
            raise unicode_error(exc, "url") from None

    @staticmethod
    def _query(environ) -> dict:
        try:
            query = parse_qs(environ.get("QUERY_STRING", ""), errors="strict")
        except UnicodeDecodeError as exc:
            raise unicode_error(exc, "query") from None
        for key, values in query.items():
            for value in [key, *values]:
                bad = textcheck.surrogate_in(value)
                if bad:
                    raise ApiError(400, textcheck.describe(f"query.{key}", bad),
                                   param="query", code="invalid_unicode")
        return query

    def _length(self, environ, needs_body: bool, limit: int) -> int | None:
        """The declared body length; None means 'read to the end' (a chunked body)."""
        raw = (environ.get("CONTENT_LENGTH") or "").strip()
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not raw:
            if chunked:
                return None
            if needs_body:
                raise ApiError(411, "This endpoint needs a request body with a Content-Length "
                               "header (or Transfer-Encoding: chunked).", code="length_required")
            return 0
        if not re.fullmatch(r"[0-9]{1,15}", raw):
            raise ApiError(400, f"Invalid Content-Length header: {raw!r}.",
                           code="invalid_content_length")
        length = int(raw)
        if length > limit:
            raise ApiError(413, f"The request body ({length} bytes) is larger than the limit "
                           f"of {limit} bytes.", code="request_too_large")
        return length

    def _read(self, environ, provider: str, route: Route) -> Request:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        upload = route.upload
        needs_body = route.body or route.upload
        limit = self.max_upload_bytes + MULTIPART_SLACK if upload else self.max_body_bytes
        length = self._length(environ, needs_body, limit)
        stream = environ["wsgi.input"]
        body = b""
        if not upload and length != 0:
            parts, size = [], 0
            while length is None or size < length:
                data = stream.read(CHUNK if length is None else min(CHUNK, length - size))
                if not data:
                    if length is not None:
                        raise bad_request(f"The request body ended after {size} of {length} "
                                          "bytes.")
                    break
                size += len(data)
                if size > limit:
                    raise ApiError(413, f"The request body is larger than the limit of {limit} "
                                   "bytes.", code="request_too_large")
                parts.append(data)
            body = b"".join(parts)
        path = environ.get("PATH_INFO", "")
        prefix = dialects.get(provider).prefix
        return Request(method, path[len(prefix):].rstrip("/") or "/",
                       self._query(environ),
                       environ.get("CONTENT_TYPE", ""), body, provider, environ, length)

    @staticmethod
    def _encode(status: int, payload, headers: dict, request_id: str, provider: str):
        """(status, body bytes, headers) of a response; an error in its shape if it cannot be."""
        headers = dict(headers)
        if isinstance(payload, bytes):
            headers.setdefault("Content-Type", "application/octet-stream")
            return status, payload, headers
        headers = {"Content-Type": "application/json", **headers}
        try:
            return status, json.dumps(payload, ensure_ascii=False, allow_nan=False).encode(), \
                headers
        except UnicodeEncodeError as exc:
            found = textcheck.find_surrogate(payload)
            error = unicode_error(exc, found[0] if found else None)
            log.warning("response of request %s holds text that is not valid Unicode: %s",
                        request_id, exc)
        except Exception:
            log.exception("could not encode the response of request %s", request_id)
            error = server_error(request_id)
        status, payload = render(error, provider)
        return status, json.dumps(payload, ensure_ascii=True).encode(), \
            {"Content-Type": "application/json"}

    def _respond(self, start_response, status: int, payload, headers: dict, request_id: str,
                 provider: str = "openai"):
        if isinstance(payload, Stream):
            out = [("Content-Type", "text/event-stream; charset=utf-8"),
                   ("Cache-Control", "no-cache"), ("x-request-id", request_id)]
            start_response(f"{status} {REASONS.get(status, 'Error')}", out)
            return streaming.guarded(payload.events, request_id, provider)
        status, data, headers = self._encode(status, payload, headers, request_id, provider)
        out = [(k, str(v)) for k, v in headers.items()]
        out += [("Content-Length", str(len(data))), ("x-request-id", request_id)]
        start_response(f"{status} {REASONS.get(status, 'Error')}", out)
        return [data]

    # --------------------------------------------------------------- routes
    def _routes(self):
        def r(method, pattern, handler, **needs):
            return Route(method, re.compile(pattern), handler, **needs)

        ident = r"/([^/]+)"
        shared = [
            r("POST", "/files", self.file_create, upload=True),
            r("GET", "/files/([^/]+)/content", self.file_content),
            r("POST", "/fine_tuning/jobs", self.job_create, body=True),
            r("GET", "/fine_tuning/jobs", self.job_list),
            r("GET", f"/fine_tuning/jobs{ident}", self.job_get),
            r("GET", f"/fine_tuning/jobs{ident}/events", self.job_events),
            r("POST", f"/fine_tuning/jobs{ident}/cancel", self.job_cancel),
            r("DELETE", f"/files{ident}", self.file_delete),
            r("POST", "/chat/completions", self.chat, body=True),
            r("POST", "/batches", self.batch_create, body=True),
            r("GET", "/batches", self.batch_list),
            r("GET", f"/batches{ident}", self.batch_get),
            r("POST", f"/batches{ident}/cancel", self.batch_cancel),
            r("POST", "/embeddings", self.embeddings, body=True),
        ]
        openai_routes = shared + [
            r("GET", "/files", self.file_list),
            r("GET", f"/files{ident}", self.file_get),
            r("GET", f"/fine_tuning/jobs{ident}/checkpoints", self.job_checkpoints),
            r("POST", f"/fine_tuning/jobs{ident}/pause", self.job_pause),
            r("POST", f"/fine_tuning/jobs{ident}/resume", self.job_resume),
            r("GET", "/models", self.model_list),
            r("GET", f"/models{ident}", self.model_get),
            r("DELETE", f"/models{ident}", self.model_delete),
            r("POST", "/responses", self.response_create, body=True),
            r("GET", f"/responses{ident}", self.response_get),
            r("DELETE", f"/responses{ident}", self.response_delete),
        ]
        zhipu_routes = shared + [
            r("GET", "/files", self.zhipu_file_list),
            r("DELETE", f"/fine_tuning/jobs{ident}", self.zhipu_job_delete),
            r("DELETE", f"/fine_tuning/fine_tuned_models{ident}", self.model_delete),
        ]
        return {"openai": openai_routes, "zhipu": zhipu_routes}

    # files
    def file_create(self, request: Request, request_id: str):
        upload = parse_upload(request.content_type, request.environ["wsgi.input"],
                              request.length, self.core.store.blobs, self.max_upload_bytes)
        try:
            purpose = schemas.upload_fields(upload.fields, request.provider)
            record = self.core.create_file(upload.filename or "upload", upload.path, purpose)
        finally:
            upload.discard()  # moved into the store on success; removed on any failure
        return request.dialect.file(record)

    def file_list(self, request: Request, request_id: str):
        records = self.core.list_files(request.arg("purpose"))
        if request.arg("order") == "asc":
            records = records[::-1]
        page, more = _page(records, request, default_limit=10000)
        return views.openai_page("file", page, more)

    def zhipu_file_list(self, request: Request, request_id: str):
        records = self.core.list_files(request.arg("purpose"))
        page, more = _page(records, request, default_limit=10000)
        return request.dialect.page(request.dialect.file, page, more)

    def file_get(self, request: Request, request_id: str, file_id: str):
        return request.dialect.file(self.core.get_file(file_id))

    def file_content(self, request: Request, request_id: str, file_id: str) -> bytes:
        return self.core.file_content(file_id)

    def file_delete(self, request: Request, request_id: str, file_id: str):
        return views.openai("file_deleted", self.core.delete_file(file_id))

    # jobs
    def job_create(self, request: Request, request_id: str):
        if request.dialect.fine_tuning_wound_down and self.faults.training_not_available:
            raise ApiError(403, "Fine-tuning is not available for your organization: new "
                           "fine-tuning jobs can no longer be created (injected fault).",
                           code="training_not_available")
        job = self.core.create_job(request.json(), provider=request.provider,
                                   fail=self.faults.fail_jobs, progression=self.progression)
        return request.dialect.job(job, job.request_id or request_id)

    def job_list(self, request: Request, request_id: str):
        metadata, null = _metadata_filter(request.environ.get("QUERY_STRING", ""))
        jobs = self.core.list_jobs(self.progression, metadata=metadata, null_metadata=null)
        page, more = _page(jobs, request)
        return request.dialect.page(request.dialect.job, page, more)

    def job_get(self, request: Request, request_id: str, job_id: str):
        return request.dialect.job(self.core.get_job(job_id, self.progression))

    def job_cancel(self, request: Request, request_id: str, job_id: str):
        return request.dialect.job(self.core.cancel_job(job_id))

    def job_pause(self, request: Request, request_id: str, job_id: str):
        return request.dialect.job(self.core.pause_job(job_id))

    def job_resume(self, request: Request, request_id: str, job_id: str):
        return request.dialect.job(self.core.resume_job(job_id))

    def job_events(self, request: Request, request_id: str, job_id: str):
        page, more = _page(self.core.job_events(job_id, self.progression), request)
        return request.dialect.page(request.dialect.event, page, more)

    def job_checkpoints(self, request: Request, request_id: str, job_id: str):
        page, more = _page(self.core.job_checkpoints(job_id, self.progression), request,
                           default_limit=10)
        return views.openai_page("checkpoint", page, more)

    def zhipu_job_delete(self, request: Request, request_id: str, job_id: str):
        return request.dialect.job(self.core.delete_job(job_id))

    # models
    def model_list(self, request: Request, request_id: str):
        return {"object": "list", "data": [views.openai("model", m)
                                           for m in self.core.list_models()]}

    def model_get(self, request: Request, request_id: str, model_id: str):
        return views.openai("model", self.core.get_model(model_id))

    def model_delete(self, request: Request, request_id: str, model_id: str):
        self.core.delete_model(model_id)
        return request.dialect.model_deleted(model_id, request_id)

    # chat
    def chat(self, request: Request, request_id: str):
        body = request.json()
        zhipu_id = body.get("request_id") if isinstance(body.get("request_id"), str) else None
        if body.get("stream") is True:
            reply = chat_logic.reply(self.core, body, request.provider)
            return Stream(request.dialect.stream(reply, body, zhipu_id or request_id))
        record = self.core.chat(body, provider=request.provider)
        return request.dialect.chat(record, zhipu_id or request_id)

    # responses
    def response_create(self, request: Request, request_id: str):
        body = request.json()
        if body.get("stream") is True:
            return Stream(responses_stream.events(responses.run(self.core, body)))
        return responses.create(self.core, body)

    def response_get(self, request: Request, request_id: str, response_id: str):
        return responses.get(self.core, response_id)

    def response_delete(self, request: Request, request_id: str, response_id: str):
        return responses.delete(self.core, response_id)

    def embeddings(self, request: Request, request_id: str):
        return embeddings.create(self.core, request.json(), request.provider)

    # batches
    def batch_create(self, request: Request, request_id: str):
        body = request.dialect.batch_body(request.json())
        batch = self.core.create_batch(body, self.progression, provider=request.provider)
        return request.dialect.batch(batch)

    def batch_list(self, request: Request, request_id: str):
        page, more = _page(self.core.list_batches(self.progression), request)
        return request.dialect.page(request.dialect.batch, page, more)

    def batch_get(self, request: Request, request_id: str, batch_id: str):
        return request.dialect.batch(self.core.get_batch(batch_id, self.progression))

    def batch_cancel(self, request: Request, request_id: str, batch_id: str):
        return request.dialect.batch(self.core.cancel_batch(batch_id))


def _metadata_filter(query: str) -> tuple[dict[str, str], bool]:
    """``metadata[k]=v`` pairs (an empty v filters for ''), and whether ``metadata=null`` asks
    for jobs without metadata; the two forms together are a 400."""
    wanted, null = {}, False
    for key, value in parse_qsl(query, keep_blank_values=True):
        m = re.fullmatch(r"metadata\[(.+)\]", key)
        if m:
            wanted[m.group(1)] = value
        elif key == "metadata":
            if value != "null":
                raise bad_request("Invalid 'metadata': filter with metadata[key]=value, or "
                                  "metadata=null for jobs without metadata.", param="metadata")
            null = True
    if wanted and null:
        raise bad_request("Do not combine metadata=null with metadata[key]=value filters.",
                          param="metadata")
    return wanted, null
