"""Large evaluations through the Batch API, the providers' own engine for scale.

Steps: build one JSONL request per text (``custom_id`` = ``req-<index>``),
upload it with purpose "batch", create the batch, poll until it ends, download
the output and error files, and join by ``custom_id`` (output order is not
guaranteed). Every input gets exactly one prediction: a request that failed,
or that appears in neither file, becomes an error prediction and is listed in
``BatchResults.failures``; lines that cannot be read or belong to no request
are listed in ``BatchResults.problems``. Nothing is dropped silently.

Replies are read as ``helpers.classify`` reads them: free text by
``answers.parse_label`` with the classified text (``texts=``, so echoes of it
don't count) and ``aliases``, structured replies by ``helpers.structured``
(``structured=``, the mode the requests were built with).

A batch is paid for, so ``submit_batch`` creates it once: its idempotency key
(backend, SDK, endpoint, the request file's sha256, window and metadata)
travels in the batch's metadata, the job store remembers it (keyed on the
backend's identity), and "look up, else create" runs under the store's claim
(``JobStore.lock``), so reruns and concurrent processes attach to the batch
already made. ``force=True`` is the only way to a second one. SDK errors
become ``helpers.jobs`` errors with keys redacted.
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import chat_format, prompts
from .answers import UNKNOWN
from .classify import Prediction, build_request, make_prediction, normalize_completion
from .clients import sdk_of
from .jobs import sdk as jobs_sdk
from .jobs.errors import NotFoundError, api_call
from .jobs.once import create_once
from .jobs.store import BatchRecord
from .jobs.submit import identity_for, settings_for, store_for, upload_bytes
from .manifest import jsonl_bytes, write_if_changed
from .polling import default_sleep, poll
from .progress import progress_bar

ENDPOINTS = {"openai": "/v1/chat/completions", "zhipu": "/v4/chat/completions"}
TERMINAL = {"completed", "failed", "expired", "cancelled"}
ID_PREFIX = "req-"
COMPLETION_WINDOW = "24h"
PURPOSE = "batch"
KEY_METADATA = jobs_sdk.KEY_METADATA
ATTEMPT_METADATA = jobs_sdk.ATTEMPT_METADATA


def custom_id(index: int) -> str:
    return f"{ID_PREFIX}{index}"


def index_of(cid: str, n: int | None = None) -> int | None:
    """The input index in a ``custom_id`` made by ``custom_id`` (``req-12`` -> 12), or None
    when it is not of that form (or, with ``n``, not below ``n``). The one parser of ids."""
    cid = str(cid)
    digits = cid[len(ID_PREFIX):] if cid.startswith(ID_PREFIX) else ""
    if not (digits.isascii() and digits.isdigit()):
        return None
    index = int(digits)
    return index if n is None or index < n else None


def build_batch_requests(texts, labels, model: str, *, sdk: str = "openai",
                         lang: str | None = None, examples=None, **request_options) -> list[dict]:
    """One Batch API line per text, in input order."""
    texts = list(texts)
    lang = lang or prompts.detect_language(texts)
    if examples is not None and hasattr(examples, "examples_for"):
        examples = examples.examples_for(texts)
    shots = list(examples) if examples is not None else [()] * len(texts)
    if len(shots) != len(texts):
        raise ValueError(f"examples has {len(shots)} entries for {len(texts)} texts")
    url = ENDPOINTS[sdk]
    return [{"custom_id": custom_id(i), "method": "POST", "url": url,
             "body": build_request(text, labels, model, lang=lang, examples=ex, **request_options)}
            for i, (text, ex) in enumerate(zip(texts, shots, strict=True))]


def write_jsonl(lines, path: str | Path) -> Path:
    """The batch request file, written atomically and only if its bytes change (a rerun
    leaves the file ``submit_batch`` hashed and uploaded as it was)."""
    path = Path(path)
    write_if_changed(path, jsonl_bytes(lines))
    return path


def batch_key(backend: str, sdk_name: str, endpoint: str, input_sha256: str,
              metadata: dict | None) -> str:
    """The idempotency key of a batch (names the backend, not a local path or instance)."""
    blob = json.dumps({"backend": backend, "sdk": sdk_name, "endpoint": endpoint,
                       "input": input_sha256, "window": COMPLETION_WINDOW,
                       "metadata": metadata or {}}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _retrieve(client, batch_id: str):
    with api_call(f"Reading batch {batch_id}", client):
        return client.batches.retrieve(batch_id)


def _attempt(batch) -> int:
    meta = getattr(batch, "metadata", None) or {}
    value = str(meta.get(ATTEMPT_METADATA, "1"))
    return int(value) if value.isdigit() else 1


def _existing_batch(client, store, backend: str, sdk_name: str, key: str, sha: str):
    """The batch already made for ``key``: from the store, else from the API's list."""
    record = store.latest_batch(backend, sdk_name, key)
    if record is not None:
        try:
            batch = _retrieve(client, record.batch_id)
        except NotFoundError:
            batch = None
        if batch is not None and (batch.metadata or {}).get(KEY_METADATA) == key:
            store.save_batch(BatchRecord(**{**record.__dict__, "status": batch.status}))
            return batch
        store.forget_batch(backend, sdk_name, record.batch_id)
    mine = [b for b in _listed_batches(client)
            if (getattr(b, "metadata", None) or {}).get(KEY_METADATA) == key]
    if not mine:
        return None
    batch = max(mine, key=_attempt)
    store.save_batch(BatchRecord(backend, sdk_name, batch.id, key, _attempt(batch),
                                 batch.input_file_id, sha, batch.endpoint, batch.status))
    return batch


def _listed_batches(client) -> list:
    with api_call("Listing batches", client, "batch"):
        return list(client.batches.list(limit=jobs_sdk.PAGE_LIMIT).data)


def _create_batch(client, file_id: str, endpoint: str, key: str, attempt: int,
                  metadata: dict | None):
    """``batches.create`` sent without SDK retries; after a lost answer, the batch made
    from this input file with this key and attempt (if the service made it)."""
    meta = {**(metadata or {}), KEY_METADATA: key, ATTEMPT_METADATA: str(attempt)}

    def find():
        return next((b for b in _listed_batches(client)
                     if b.input_file_id == file_id and _attempt(b) == attempt
                     and (getattr(b, "metadata", None) or {}).get(KEY_METADATA) == key), None)

    return create_once("Creating the batch", client,
                       lambda api: api.batches.create(input_file_id=file_id, endpoint=endpoint,
                                                      completion_window=COMPLETION_WINDOW,
                                                      metadata=meta), find, feature="batch")


def submit_batch(client, path: str | Path, metadata: dict | None = None, *, settings=None,
                 work_dir: str | Path | None = None, force: bool = False,
                 verbose: bool = True):
    """Upload the request file and create the batch once; returns the Batch object.

    Later calls with the same file and metadata return the batch made before
    (whatever its status; ``force=True`` creates another). The store is
    ``work_dir``'s (default ``config.work_dir(settings)``).
    """
    sdk_name, backend = sdk_of(client), identity_for(client, settings)
    resolved = settings_for(client, settings)
    store = store_for(client, resolved, work_dir)
    endpoint = ENDPOINTS[sdk_name]
    data = Path(path).read_bytes()  # read once: the bytes hashed are the bytes uploaded
    sha = hashlib.sha256(data).hexdigest()
    key = batch_key(resolved.backend, sdk_name, endpoint, sha, metadata)
    with store.lock("batch", backend, sdk_name, key):
        if not force:
            found = _existing_batch(client, store, backend, sdk_name, key, sha)
            if found is not None:
                if verbose:
                    print(f"Attached to existing batch {found.id} ({found.status}); no new "
                          "batch created. Pass force=True to run another one.")
                return found
        file_id = upload_bytes(client, path, data, settings=settings,
                               work_dir=store.path.parent, purpose=PURPOSE)
        attempt = store.batch_attempts(backend, sdk_name, key) + 1
        batch = _create_batch(client, file_id, endpoint, key, attempt, metadata)
        store.save_batch(BatchRecord(backend, sdk_name, batch.id, key, attempt, file_id, sha,
                                     endpoint, batch.status), new=True)
    return batch


def wait_for_batch(client, batch_id: str, *, poll_seconds: float = 5.0,
                   timeout: float | None = None, progress: bool = True, sleep=None,
                   settings=None):
    """Poll until the batch reaches a terminal status; returns the final Batch.

    Polls as ``jobs.wait`` does (``helpers.polling``): ``timeout`` counts the
    seconds slept between polls (``None``: no limit), and ``sleep`` defaults to
    ``time.sleep``, or to no sleeping at all in replay mode (the client's
    settings, or ``settings``), where the recorded answers need no waiting.
    """
    sleep = sleep or default_sleep(settings_for(client, settings))
    bar = progress_bar(desc=f"batch {batch_id}", total=None, disable=not progress)

    def fetch():
        batch = _retrieve(client, batch_id)
        counts = getattr(batch, "request_counts", None)
        if counts is not None and counts.total:
            bar.total = counts.total
            bar.n = (counts.completed or 0) + (counts.failed or 0)
        bar.set_postfix(status=batch.status)
        bar.refresh()
        return batch

    def timed_out(batch, waited: float) -> TimeoutError:
        return TimeoutError(f"batch {batch_id} still {batch.status} after waiting {waited:.0f} s "
                            f"(timeout={timeout:.0f} s); call wait_for_batch again later, "
                            "it keeps running")

    try:
        return poll(fetch, lambda batch: batch.status in TERMINAL, interval=poll_seconds,
                    sleep=sleep, timed_out=timed_out, timeout=timeout)
    finally:
        bar.close()


def read_jsonl_text(text: str, source: str) -> tuple[list[dict], list[str]]:
    """Records of a JSONL text, and one problem line per unreadable line."""
    records, problems = [], []
    for number, record in chat_format.json_lines(text):  # "\n" only: U+2028 is not a break
        if chat_format.is_blank(record):
            continue
        if isinstance(record, chat_format.LineError):
            problems.append(f"{source}:{number}: invalid JSON: {record.problem.message}")
            continue
        if not isinstance(record, dict) or "custom_id" not in record:
            problems.append(f"{source}:{number}: no custom_id")
            continue
        records.append(record)
    return records, problems


def download_results(client, batch) -> tuple[list[dict], list[dict], list[str]]:
    """Output records, error records and problems from a batch's files."""
    output: list[dict] = []
    errors: list[dict] = []
    problems: list[str] = []
    for attr, bucket in (("output_file_id", output), ("error_file_id", errors)):
        file_id = getattr(batch, attr, None)
        if not file_id:
            continue
        # zhipuai's content response has ``text()`` (a method), openai's ``.text``: read bytes
        data = jobs_sdk.file_bytes(client, file_id)
        text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
        records, bad = read_jsonl_text(text, f"{attr} {file_id}")
        bucket.extend(records)
        problems.extend(bad)
    return output, errors, problems


@dataclass
class BatchResults:
    predictions: list[Prediction]
    failures: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    batch: object = None

    @property
    def labels(self) -> list[str]:
        return [p.label for p in self.predictions]

    def summary(self) -> dict:
        return {"n": len(self.predictions), "failed": len(self.failures),
                "problems": len(self.problems),
                "unparseable": sum(p.label == UNKNOWN and not p.error for p in self.predictions),
                "status": getattr(self.batch, "status", None)}


def _failure_reason(record: dict) -> str | None:
    """None for a successful record, else why it failed."""
    response = record.get("response") or {}
    error = record.get("error")
    status = response.get("status_code")
    if error:
        if isinstance(error, dict):
            return f"{error.get('code') or 'error'}: {error.get('message') or ''}".strip()
        return str(error)
    if status != 200:
        body = response.get("body") or {}
        message = (body.get("error") or {}).get("message") if isinstance(body, dict) else None
        return f"HTTP {status}" + (f": {message}" if message else "")
    if not isinstance(response.get("body"), dict):
        return "response has no body"
    return None


def join_results(n: int, labels, output, errors, problems=(), top_logprobs=None, *,
                 texts=None, aliases=None, structured: str | None = None) -> BatchResults:
    """One prediction per input index from output and error records, joined by custom_id.

    ``texts`` (the classified texts, in input order), ``aliases`` and
    ``structured`` read the replies as ``helpers.classify`` does.
    """
    labels = list(labels)
    problems = list(problems)
    texts = list(texts) if texts is not None else None
    if texts is not None and len(texts) != n:
        raise ValueError(f"{len(texts)} texts for {n} requests")
    seen: dict[int, dict] = {}
    for record in list(output) + list(errors):
        cid = str(record.get("custom_id"))
        index = index_of(cid, n)
        if index is None:
            problems.append(f"custom_id {cid!r} matches no request")
            continue
        if index in seen:
            # Keep a success over a failure; report the repeat either way.
            problems.append(f"custom_id {cid!r} appears more than once")
            if _failure_reason(seen[index]) is None:
                continue
        seen[index] = record
    predictions, failures = [], []
    for i in range(n):
        record = seen.get(i)
        reason = "missing from both the output and the error file" if record is None \
            else _failure_reason(record)
        if reason is not None:
            failures.append({"custom_id": custom_id(i), "index": i, "reason": reason})
            predictions.append(make_prediction(i, labels, error=reason))
            continue
        response = normalize_completion(record["response"]["body"])
        predictions.append(make_prediction(i, labels, response, top_logprobs=top_logprobs,
                                           text=texts[i] if texts is not None else None,
                                           aliases=aliases, structured=structured))
    return BatchResults(predictions, failures, problems)


def run_batch(client, texts, labels, model: str, work_dir: str | Path, *, name: str = "eval",
              poll_seconds: float = 5.0, timeout: float | None = None, progress: bool = True,
              lang: str | None = None, examples=None, settings=None, force: bool = False,
              aliases=None, sleep=None, **request_options) -> BatchResults:
    """Build, submit (once: see ``submit_batch``), wait for, download and join a batch.

    ``request_options`` go to ``classify.build_request`` (``structured=``,
    ``logprobs=``...); ``sleep`` is the wait between polls (default: none in
    replay mode, ``time.sleep`` otherwise; see ``wait_for_batch``).
    """
    texts = list(texts)
    sdk = sdk_of(client)
    lines = build_batch_requests(texts, labels, model, sdk=sdk, lang=lang, examples=examples,
                                 **request_options)
    path = write_jsonl(lines, Path(work_dir) / "batches" / f"{name}.requests.jsonl")
    batch = submit_batch(client, path, metadata={"name": name}, settings=settings,
                         work_dir=work_dir, force=force, verbose=progress)
    batch = wait_for_batch(client, batch.id, poll_seconds=poll_seconds, timeout=timeout,
                           progress=progress, sleep=sleep, settings=settings)
    output, errors, problems = download_results(client, batch)
    if batch.status != "completed":
        problems.append(f"batch {batch.id} ended {batch.status}: {getattr(batch, 'errors', None)}")
    results = join_results(len(texts), labels, output, errors, problems,
                           top_logprobs=request_options.get("top_logprobs"), texts=texts,
                           aliases=aliases, structured=request_options.get("structured"))
    results.batch = batch
    if results.failures or results.problems:
        print(f"batch {batch.id}: {len(results.failures)} of {len(texts)} requests failed, "
              f"{len(results.problems)} problems; see .failures and .problems", file=sys.stderr)
    return results
