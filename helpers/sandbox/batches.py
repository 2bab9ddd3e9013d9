"""Batches: input lines answered through one endpoint registry, output files, cancel.

Stages: validating -> in_progress -> finalizing -> completed (a cancel goes
cancelling -> cancelled). Each input line's ``url`` is looked up in
``ENDPOINTS`` (url -> function(sandbox, body, provider) -> dict): chat,
responses and embeddings are registered here; other endpoints register themselves
with ``register_endpoint``
(e.g. ``register_endpoint("/v1/embeddings", embeddings.create)``).
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from ..chat_format import LineError, dumps_json_lines, is_blank, json_lines
from . import chat, dialects, embeddings, responses, textcheck
from .errors import ApiError, bad_request, not_found
from .files import Files
from .records import Batch, now
from .stages import StagedObjects
from .store import StateError

BATCH_TERMINAL = ("completed", "failed", "expired", "cancelled")
log = logging.getLogger("helpers.sandbox")

Endpoint = Callable[..., dict]  # (sandbox, body: dict, provider: str) -> response body
ENDPOINTS: dict[str, Endpoint] = {dialects.CHAT_URL: chat.complete,
                                  "/v1/responses": responses.create,
                                  "/v1/embeddings": embeddings.create}


def register_endpoint(url: str, function: Endpoint) -> None:
    """Let batches answer lines whose ``url`` is ``url`` (an OpenAI path such as /v1/...)."""
    if not url.startswith("/v1/"):
        raise ValueError(f"batch endpoints are OpenAI paths under /v1/, not {url!r}")
    ENDPOINTS[url] = function


class Batches(StagedObjects):
    kind, table, record_type = "batch", "batches", Batch
    terminal = BATCH_TERMINAL

    def __init__(self, store, files: Files, sandbox):
        super().__init__(store)
        self.files, self.sandbox = files, sandbox

    def create(self, body: dict, provider: str = "openai") -> Batch:
        dialect = dialects.get(provider)
        file_id = body.get("input_file_id")
        if not file_id:
            raise bad_request("Missing required parameter: 'input_file_id'.", param="input_file_id")
        record = self.files.get(file_id, param="input_file_id")
        if record.purpose != "batch":
            raise bad_request(f"File {file_id} has purpose {record.purpose!r}; batches need "
                              "purpose 'batch'.", param="input_file_id")
        endpoint = body.get("endpoint")
        if dialect.batch_url(endpoint) not in ENDPOINTS:
            raise bad_request(f"The sandbox runs batches for {', '.join(sorted(ENDPOINTS))} "
                              f"only, not {endpoint!r}.", param="endpoint")
        if (body.get("completion_window") or "24h") != "24h":
            raise bad_request("completion_window must be '24h'.", param="completion_window")
        with self.store.transaction():
            seq = self.store.next_seq("batch")
            created = now()
            batch = Batch(id="batch_" + self.store.hex_id("batch", seq), created_at=created,
                          endpoint=endpoint, input_file_id=file_id, expires_at=created + 86400,
                          metadata=body.get("metadata"), seq=seq, stage_at=time.time(),
                          provider=provider,
                          delete_input=bool(body.get("auto_delete_input_file")))
            self.store.put("batches", batch.id, seq, batch.to_row())
        return batch

    def load(self, batch_id: str) -> Batch:
        row = self.store.get("batches", batch_id)
        if row is None:
            raise not_found("batch", batch_id, "batch_id")
        return Batch.from_row(row)

    def due_now(self, batch: Batch) -> bool:
        return batch.status == "cancelling"

    def get(self, batch_id: str, progression: str = "poll", advance: bool = True) -> Batch:
        batch = self.load(batch_id)
        if not advance or batch.status in BATCH_TERMINAL:
            return batch
        # A cancelling batch finishes cancelling at the next look, whatever the progression.
        self.progress(batch_id, "instant" if batch.status == "cancelling" else progression,
                      listing=False)
        return self.load(batch_id)

    def list(self, progression: str = "poll") -> list[Batch]:
        """All batches, newest first; under 'time' (and 'instant') what is due advances first."""
        for batch in self._all():
            if batch.status not in BATCH_TERMINAL:
                self.progress_listed(batch.id, progression)
        return self._all()

    def _all(self) -> list[Batch]:
        return [Batch.from_row(r) for r in self.store.all("batches")]

    def cancel(self, batch_id: str) -> Batch:
        with self.store.transaction():
            batch = self.load(batch_id)
            if batch.status in BATCH_TERMINAL or batch.status == "cancelling":
                raise bad_request(f"Batch {batch_id} is {batch.status} and cannot be cancelled.",
                                  param="batch_id")
            self.store.release(batch_id)  # a run in flight will find its claim gone
            return self.save(batch, status="cancelling", cancelling_at=now())

    # --------------------------------------------------------------- stages
    def work(self, batch: Batch, token: str, blobs: list[str]):
        status = batch.status
        if status == "validating":
            lines, errors = self._lines(batch)
            if errors:
                return lambda b: self.save(b, status="failed", failed_at=now(),
                                           errors={"object": "list", "data": errors})
            return lambda b: self.save(b, status="in_progress", in_progress_at=now(),
                                       request_counts={"total": len(lines), "completed": 0,
                                                       "failed": 0})
        if status == "in_progress":
            return self._run(batch)
        if status == "cancelling":
            return lambda b: self.save(b, status="cancelled", cancelled_at=now())
        return self._complete

    def _complete(self, batch: Batch) -> None:
        if batch.delete_input:
            self.store.mark_deleted("files", batch.input_file_id)
        self.save(batch, status="completed", completed_at=now(),
                  output_file_id=batch.pending_output, error_file_id=batch.pending_errors)

    def crashed(self, exc: Exception):
        # a damaged state file's message names the file and how to reset: keep it whole
        detail = str(exc) if isinstance(exc, StateError) else f"{type(exc).__name__}: {exc}"[:300]
        message = f"The batch failed due to an internal error in the sandbox ({detail})."
        return lambda batch: self.save(batch, status="failed", failed_at=now(), errors={
            "object": "list", "data": [{"code": "server_error", "line": None, "param": None,
                                        "message": message}]})

    def _lines(self, batch: Batch) -> tuple[list[dict], list[dict]]:
        dialect = dialects.get(batch.provider)
        endpoint = dialect.batch_url(batch.endpoint)
        lines, errors, seen = [], [], set()
        raw = self.store.read_blob(batch.input_file_id)
        # the course's one JSON-lines reader: split on "\n" only, so a U+2028 or U+0085
        # inside a JSON string stays inside its line
        for n, obj in json_lines(raw.decode("utf-8", errors="replace")):
            if is_blank(obj):
                continue
            if isinstance(obj, LineError):
                errors.append({"code": "invalid_json_line", "line": n, "param": None,
                               "message": f"Line {n} is not valid JSON ({obj})."})
                continue
            problem = None
            if not isinstance(obj, dict) or not isinstance(obj.get("custom_id"), str):
                problem = ("missing_required_parameter", "custom_id", "needs a string custom_id")
            elif obj["custom_id"] in seen:
                problem = ("duplicate_custom_id", "custom_id",
                           f"repeats custom_id {obj['custom_id']!r}")
            elif obj.get("method") != "POST":
                problem = ("invalid_method", "method", "needs method 'POST'")
            elif dialect.batch_url(obj.get("url")) != endpoint:
                problem = ("invalid_url", "url", f"needs url {batch.endpoint!r}")
            elif not isinstance(obj.get("body"), dict):
                problem = ("missing_required_parameter", "body", "needs a JSON object body")
            elif found := textcheck.find_surrogate(obj):  # not valid Unicode
                problem = ("invalid_unicode", found[0], f"holds a lone UTF-16 surrogate "
                           f"({found[1]}) at {found[0]}")
            if problem:
                errors.append({"code": problem[0], "line": n, "param": problem[1],
                               "message": f"Line {n} {problem[2]}."})
                continue
            seen.add(obj["custom_id"])
            lines.append(obj)
        if not lines and not errors:
            errors.append({"code": "empty_file", "line": None, "param": None,
                           "message": "The input file has no requests."})
        return lines, errors

    def _answer(self, batch: Batch, line: dict, i: int) -> tuple[bool, dict]:
        request_id = "req_" + self.store.hex_id(f"{batch.id}:req", i, 32)
        dialect = dialects.get(batch.provider)
        url = dialect.batch_url(line["url"])
        try:
            body = ENDPOINTS[url](self.sandbox, line["body"], batch.provider)
            return True, {"status_code": 200, "request_id": request_id,
                          "body": dialect.batch_result(url, body, request_id)}
        except ApiError as exc:
            status, error = dialect.render_error(exc)
            return False, {"status_code": status, "request_id": request_id, "body": error}
        except Exception:  # one request's crash fails that request, not the batch
            log.exception("sandbox batch %s: request %s failed", batch.id, i)
            exc = ApiError(500, "The server had an error while processing this request.",
                           type="server_error", code="server_error")
            status, error = dialect.render_error(exc)
            return False, {"status_code": status, "request_id": request_id, "body": error}

    def _run(self, batch: Batch):
        """Answer every request (no lock held); the commit writes the output files."""
        lines, _ = self._lines(batch)
        done, failed = [], []
        for i, line in enumerate(lines):
            ok, result = self._answer(batch, line, i)
            (done if ok else failed).append({
                "id": "batch_req_" + self.store.hex_id(f"{batch.id}:line", i),
                "custom_id": line["custom_id"], "response": result, "error": None})
        # Completion order is not input order: callers must join on custom_id.
        random.Random(batch.seq).shuffle(done)

        def to_jsonl(rows):
            return dumps_json_lines(rows).encode()

        def commit(b: Batch):
            out = self.files.add(f"{b.id}_output.jsonl", to_jsonl(done), "batch_output")
            err = (self.files.add(f"{b.id}_error.jsonl", to_jsonl(failed), "batch_output")
                   if failed else None)
            self.save(b, status="finalizing", finalizing_at=now(), pending_output=out.id,
                      pending_errors=err.id if err else None,
                      request_counts={"total": len(lines), "completed": len(done),
                                      "failed": len(failed)})
        return commit
