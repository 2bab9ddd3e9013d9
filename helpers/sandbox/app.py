"""The WSGI application: routing, request parsing, provider-specific responses, faults."""
from __future__ import annotations

import hashlib
import itertools
import json
import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from . import views
from .core import Sandbox
from .errors import ApiError, bad_request
from .faults import FaultDice, Faults, SandboxTimeout
from .multipart import parse_form

OPENAI_PREFIX = "/v1"
ZHIPU_PREFIX = "/api/paas/v4"
ZHIPU_CODES = {"model_not_found": "1211", 429: "1302", 500: "500", 403: "1220", 401: "1000"}
_request_counter = itertools.count(1)


@dataclass
class Request:
    method: str
    path: str
    query: dict
    content_type: str
    body: bytes
    provider: str

    def json(self) -> dict:
        try:
            data = json.loads(self.body or b"{}")
        except json.JSONDecodeError as exc:
            raise bad_request(f"We could not parse the JSON body of your request ({exc}).")
        if not isinstance(data, dict):
            raise bad_request("The request body must be a JSON object.")
        return data

    def arg(self, name: str, default=None):
        values = self.query.get(name)
        return values[0] if values else default


def _page(records: list[dict], request: Request, default_limit: int = 20):
    """Cursor pagination over newest-first records: (page, has_more)."""
    after = request.arg("after")
    if after:
        ids = [r["id"] for r in records]
        records = records[ids.index(after) + 1:] if after in ids else []
    try:
        limit = int(request.arg("limit", default_limit))
    except ValueError:
        raise bad_request("limit must be an integer.", param="limit") from None
    return records[:limit], len(records) > limit


class SandboxApp:
    """One client's view of a shared ``Sandbox``: its progression mode and faults."""

    def __init__(self, core: Sandbox, faults: Faults | None = None, progression: str = "poll",
                 stall_on_timeout: float | None = None):
        self.core, self.faults, self.progression = core, faults or Faults(), progression
        self.dice = FaultDice(self.faults)
        self.stall_on_timeout = stall_on_timeout  # server mode: stall, then answer 504
        self.routes = self._routes()

    # ------------------------------------------------------------ WSGI entry
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        provider = "zhipu" if path.startswith(ZHIPU_PREFIX) else "openai"
        request_id = f"req_{next(_request_counter):08d}{hashlib.sha1(path.encode()).hexdigest()[:8]}"
        try:
            self.dice.delay()
            self._inject(provider)
            request = self._read(environ, provider)
            status, payload, headers = self._dispatch(request, request_id)
        except ApiError as exc:
            status, payload, headers = exc.status, self._error_body(exc, provider), exc.headers
            if provider == "zhipu" and exc.code == "model_not_found":
                status = 400  # Zhipu answers an unknown model with 400 and code 1211
        return self._respond(start_response, status, payload, headers, request_id)

    def _inject(self, provider: str) -> None:
        fault = self.dice.draw()
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

    def _read(self, environ, provider: str) -> Request:
        path = environ.get("PATH_INFO", "")
        prefix = ZHIPU_PREFIX if provider == "zhipu" else OPENAI_PREFIX
        if not path.startswith(prefix):
            raise ApiError(404, f"Unknown path {path}: the sandbox serves {OPENAI_PREFIX}/... and "
                           f"{ZHIPU_PREFIX}/...", code="unknown_url")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length else b""
        return Request(environ.get("REQUEST_METHOD", "GET").upper(),
                       path[len(prefix):].rstrip("/") or "/",
                       parse_qs(environ.get("QUERY_STRING", "")),
                       environ.get("CONTENT_TYPE", ""), body, provider)

    def _dispatch(self, request: Request, request_id: str):
        for method, pattern, handler in self.routes[request.provider]:
            m = pattern.fullmatch(request.path)
            if m and method == request.method:
                args = [unquote(g) for g in m.groups()]
                result = handler(request, request_id, *args)
                if isinstance(result, bytes):
                    return 200, result, {"Content-Type": "application/octet-stream"}
                return 200, result, {}
        raise ApiError(404, f"Invalid URL ({request.method} {request.path})", code="unknown_url")

    def _error_body(self, exc: ApiError, provider: str) -> dict:
        if provider == "zhipu":
            code = ZHIPU_CODES.get(exc.code) or ZHIPU_CODES.get(exc.status) or "1214"
            return {"error": {"code": code, "message": exc.message}}
        return {"error": {"message": exc.message, "type": exc.type, "param": exc.param,
                          "code": exc.code}}

    @staticmethod
    def _respond(start_response, status: int, payload, headers: dict, request_id: str):
        if isinstance(payload, bytes):
            data = payload
        else:
            data = json.dumps(payload, ensure_ascii=False).encode()
            headers = {"Content-Type": "application/json", **headers}
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
                  429: "Too Many Requests", 500: "Internal Server Error",
                  504: "Gateway Timeout"}.get(status, "Error")
        out = [(k, str(v)) for k, v in headers.items()]
        out += [("Content-Length", str(len(data))), ("x-request-id", request_id)]
        start_response(f"{status} {reason}", out)
        return [data]

    # --------------------------------------------------------------- routes
    def _routes(self):
        r = lambda method, pattern, handler: (method, re.compile(pattern), handler)
        ident = r"/([^/]+)"
        shared = [
            r("POST", "/files", self.file_create),
            r("GET", "/files/([^/]+)/content", self.file_content),
            r("POST", "/fine_tuning/jobs", self.job_create),
            r("GET", "/fine_tuning/jobs", self.job_list),
            r("POST", f"/fine_tuning/jobs{ident}/cancel", self.job_cancel),
            r("POST", "/chat/completions", self.chat),
        ]
        openai_routes = shared + [
            r("GET", "/files", self.file_list),
            r("GET", f"/files{ident}", self.file_get),
            r("DELETE", f"/files{ident}", self.file_delete),
            r("GET", f"/fine_tuning/jobs{ident}", self.job_get),
            r("GET", f"/fine_tuning/jobs{ident}/events", self.job_events),
            r("GET", f"/fine_tuning/jobs{ident}/checkpoints", self.job_checkpoints),
            r("GET", "/models", self.model_list),
            r("GET", f"/models{ident}", self.model_get),
            r("DELETE", f"/models{ident}", self.model_delete),
            r("POST", "/batches", self.batch_create),
            r("GET", "/batches", self.batch_list),
            r("GET", f"/batches{ident}", self.batch_get),
            r("POST", f"/batches{ident}/cancel", self.batch_cancel),
        ]
        zhipu_routes = shared + [
            r("GET", "/files", self.zhipu_file_list),
            r("DELETE", f"/files{ident}", self.file_delete),
            r("GET", f"/fine_tuning/jobs{ident}", self.job_get),
            r("GET", f"/fine_tuning/jobs{ident}/events", self.job_events),
            r("DELETE", f"/fine_tuning/jobs{ident}", self.zhipu_job_delete),
            r("DELETE", f"/fine_tuning/fine_tuned_models{ident}", self.zhipu_model_delete),
        ]
        return {"openai": openai_routes, "zhipu": zhipu_routes}

    def _job_view(self, request: Request, job: dict) -> dict:
        if request.provider == "zhipu":
            return views.zhipu_job(job)
        return views.openai("job", job)

    # files
    def file_create(self, request: Request, request_id: str):
        if not request.content_type.startswith("multipart/form-data"):
            raise bad_request("Files must be uploaded as multipart/form-data.", param="file")
        try:
            fields, files = parse_form(request.content_type, request.body)
        except ValueError as exc:
            raise bad_request(f"Could not parse the upload: {exc}", param="file") from None
        if "file" not in files:
            raise bad_request("Missing required parameter: 'file'.", param="file")
        if "purpose" not in fields:
            raise bad_request("Missing required parameter: 'purpose'.", param="purpose")
        filename, data = files["file"]
        record = self.core.create_file(filename or "upload", data, fields["purpose"])
        return views.zhipu_file(record) if request.provider == "zhipu" else views.openai("file", record)

    def file_list(self, request: Request, request_id: str):
        records = self.core.list_files(request.arg("purpose"))
        if request.arg("order") == "asc":
            records = records[::-1]
        page, more = _page(records, request, default_limit=10000)
        return views.openai_page("file", page, more)

    def zhipu_file_list(self, request: Request, request_id: str):
        records = self.core.list_files(request.arg("purpose"))
        page, more = _page(records, request, default_limit=10000)
        return {"object": "list", "data": [views.zhipu_file(f) for f in page], "has_more": more}

    def file_get(self, request: Request, request_id: str, file_id: str):
        return views.openai("file", self.core.get_file(file_id))

    def file_content(self, request: Request, request_id: str, file_id: str) -> bytes:
        return self.core.file_content(file_id)

    def file_delete(self, request: Request, request_id: str, file_id: str):
        return views.openai("file_deleted", self.core.delete_file(file_id))

    # jobs
    def job_create(self, request: Request, request_id: str):
        if request.provider == "openai" and self.faults.training_not_available:
            raise ApiError(403, "Fine-tuning is not available for your organization: new "
                           "fine-tuning jobs can no longer be created (injected fault).",
                           code="training_not_available")
        body = request.json()
        job = self.core.create_job(body, provider=request.provider, fail=self.faults.fail_jobs,
                                   progression=self.progression)
        if request.provider == "zhipu":
            job = {**job, "request_id": body.get("request_id") or request_id}
        return self._job_view(request, job)

    def job_list(self, request: Request, request_id: str):
        page, more = _page(self.core.list_jobs(self.progression), request)
        if request.provider == "zhipu":
            return {"object": "list", "data": [views.zhipu_job(j) for j in page], "has_more": more}
        return views.openai_page("job", page, more)

    def job_get(self, request: Request, request_id: str, job_id: str):
        return self._job_view(request, self.core.get_job(job_id, self.progression))

    def job_cancel(self, request: Request, request_id: str, job_id: str):
        return self._job_view(request, self.core.cancel_job(job_id))

    def job_events(self, request: Request, request_id: str, job_id: str):
        page, more = _page(self.core.job_events(job_id), request)
        if request.provider == "zhipu":
            return {"object": "list", "data": [views.zhipu_event(e) for e in page],
                    "has_more": more}
        return views.openai_page("event", page, more)

    def job_checkpoints(self, request: Request, request_id: str, job_id: str):
        page, more = _page(self.core.job_checkpoints(job_id), request, default_limit=10)
        return views.openai_page("checkpoint", page, more)

    def zhipu_job_delete(self, request: Request, request_id: str, job_id: str):
        return views.zhipu_job(self.core.delete_job(job_id))

    # models
    def model_list(self, request: Request, request_id: str):
        return {"object": "list", "data": [views.openai("model", m)
                                           for m in self.core.list_models()]}

    def model_get(self, request: Request, request_id: str, model_id: str):
        return views.openai("model", self.core.get_model(model_id))

    def model_delete(self, request: Request, request_id: str, model_id: str):
        self.core.delete_model(model_id)
        return views.openai("model_deleted", {"id": model_id, "object": "model", "deleted": True})

    def zhipu_model_delete(self, request: Request, request_id: str, model_id: str):
        self.core.delete_model(model_id)
        return views.zhipu_model_deleted(model_id, request_id)

    # chat
    def chat(self, request: Request, request_id: str):
        body = request.json()
        if body.get("stream"):
            raise bad_request("The sandbox does not stream; call without stream=True.",
                              param="stream")
        record = self.core.chat(body)
        if request.provider == "zhipu":
            return views.zhipu_chat(record, body.get("request_id") or request_id)
        return views.openai("chat", record)

    # batches
    def batch_create(self, request: Request, request_id: str):
        return views.openai("batch", self.core.create_batch(request.json(), self.progression))

    def batch_list(self, request: Request, request_id: str):
        page, more = _page(self.core.list_batches(), request)
        return views.openai_page("batch", page, more)

    def batch_get(self, request: Request, request_id: str, batch_id: str):
        return views.openai("batch", self.core.get_batch(batch_id, self.progression))

    def batch_cancel(self, request: Request, request_id: str, batch_id: str):
        return views.openai("batch", self.core.cancel_batch(batch_id))
