"""Where the OpenAI and Zhipu SDKs differ, behind one set of small functions.

Both SDKs name the job argument ``fine_tuning_job_id`` and return ``.data``
pages; they differ in create arguments (Zhipu has no ``method``, ``seed`` or
``metadata``; it has ``request_id``), event data shapes, checkpoints, file
content types and model deletion.
"""
from __future__ import annotations

import re

from zhipuai.core import NOT_GIVEN as ZHIPU_NOT_GIVEN

from .. import clients
from .errors import NotAvailableError, api_call
from .once import create_once

KEY_METADATA = "course_key"
ATTEMPT_METADATA = "course_attempt"
PAGE_LIMIT = 100
FT = "fine-tuning"

# Endpoints an SDK's provider lacks, with the sentence a notebook prints instead.
MISSING = {
    ("zhipu", "checkpoints"): (
        "Zhipu's fine-tuning API has no checkpoints endpoint, so there are no checkpoints to "
        "list; the events (jobs.events) carry the per-step metrics instead."),
}


def not_available(client, endpoint: str) -> str | None:
    """The sentence saying this client's provider lacks ``endpoint``; None if it has it."""
    return MISSING.get((sdk_name(client), endpoint))


def sdk_name(client) -> str:
    return clients.sdk_of(client)


def hyperparameters(n_epochs, batch_size, learning_rate_multiplier) -> dict:
    """The hyperparameters the learner set; "auto" ones are left to the service."""
    given = {"n_epochs": n_epochs, "batch_size": batch_size,
             "learning_rate_multiplier": learning_rate_multiplier}
    return {k: v for k, v in given.items() if v not in (None, "auto")}


def request_id(key: str, attempt: int) -> str:
    return f"course-{key[:32]}-{attempt}"


def create_job(client, *, model, training_file, validation_file, hyper, suffix, seed, metadata,
               key, attempt, verbose: bool = True):
    """Create the job; the idempotency key travels with it (metadata or request_id).

    Zhipu has no ``seed`` or ``metadata``: they are not sent, and (``verbose``)
    one sentence says so. A printed sentence, not a warning: a notebook shows
    a warning with the absolute path of the module that raised it.
    """
    if sdk_name(client) == "zhipu":
        dropped = [name for name, value in (("seed", seed), ("metadata", metadata))
                   if value is not None and value != {}]
        if dropped and verbose:
            print(f"Zhipu's fine-tuning API has no {' or '.join(dropped)} parameter, so "
                  f"{'it was' if len(dropped) == 1 else 'they were'} not sent.")
        kw = dict(model=model, training_file=training_file,
                  validation_file=validation_file or ZHIPU_NOT_GIVEN,
                  hyperparameters=hyper or ZHIPU_NOT_GIVEN, suffix=suffix or ZHIPU_NOT_GIVEN,
                  request_id=request_id(key, attempt))
        return _create_job_once(client, kw, key, attempt)
    meta = {**(metadata or {}), KEY_METADATA: key, ATTEMPT_METADATA: str(attempt)}
    kw = dict(model=model, training_file=training_file, metadata=meta,
              method={"type": "supervised", "supervised": {"hyperparameters": hyper}})
    if validation_file:
        kw["validation_file"] = validation_file
    if suffix:
        kw["suffix"] = suffix
    if seed is not None:
        kw["seed"] = seed
    return _create_job_once(client, kw, key, attempt)


def _create_job_once(client, kw: dict, key: str, attempt: int):
    """``jobs.create`` sent without SDK retries; after a lost answer, the job made for
    this key and attempt (if the service made it) instead of a second one."""
    def find():
        return next((j for j in list_jobs(client, key=key) if job_attempt(j) == attempt), None)

    return create_once("Creating the fine-tuning job", client,
                       lambda api: api.fine_tuning.jobs.create(**kw), find, feature=FT)


def retrieve(client, job_id: str):
    with api_call(f"Reading job {job_id}", client):
        return client.fine_tuning.jobs.retrieve(fine_tuning_job_id=job_id)


def list_jobs(client, limit: int = PAGE_LIMIT, key: str | None = None) -> list:
    """Recent jobs; with ``key``, only those created for that idempotency key."""
    with api_call("Listing fine-tuning jobs", client, FT):
        if sdk_name(client) == "openai" and key:
            page = client.fine_tuning.jobs.list(limit=limit, metadata={KEY_METADATA: key})
        else:
            page = client.fine_tuning.jobs.list(limit=limit)
    jobs = list(page.data)
    if key is None:
        return jobs
    # Filter here as well: a server that ignores the metadata filter must not match.
    return [j for j in jobs if job_key(j) == key or (
        getattr(j, "request_id", None) or "").startswith(f"course-{key[:32]}-")]


def job_key(job) -> str | None:
    meta = getattr(job, "metadata", None) or {}
    return meta.get(KEY_METADATA)


def job_attempt(job) -> int:
    meta = getattr(job, "metadata", None) or {}
    if ATTEMPT_METADATA in meta:
        return int(meta[ATTEMPT_METADATA])
    rid = getattr(job, "request_id", None) or ""
    return int(rid.rsplit("-", 1)[1]) if rid.count("-") >= 2 else 1


def cancel(client, job_id: str):
    with api_call(f"Cancelling job {job_id}", client):
        return client.fine_tuning.jobs.cancel(fine_tuning_job_id=job_id)


def delete_model(client, model: str):
    with api_call(f"Deleting model {model}", client):
        if sdk_name(client) == "zhipu":
            return client.fine_tuning.models.delete(fine_tuned_model=model)
        return client.models.delete(model)


def _zhipu_event_pages(client, job_id: str, limit: int, all_pages: bool) -> list:
    """zhipuai has no auto-paging iterator: follow ``after`` while ``has_more``."""
    events, after = [], None
    while True:
        kw: dict[str, str] = {"after": after} if after else {}
        page = client.fine_tuning.jobs.list_events(fine_tuning_job_id=job_id, limit=limit, **kw)
        events.extend(page.data)
        if not (all_pages and page.has_more and page.data):
            return events
        after = page.data[-1].id


def raw_events(client, job_id: str, limit: int = PAGE_LIMIT, all_pages: bool = True) -> list:
    """The job's events, oldest first (every page unless ``all_pages=False``)."""
    with api_call(f"Reading the events of job {job_id}", client):
        if sdk_name(client) == "openai":
            page = client.fine_tuning.jobs.list_events(fine_tuning_job_id=job_id, limit=limit)
            events = list(page) if all_pages else list(page.data)
        else:
            events = _zhipu_event_pages(client, job_id, limit, all_pages)
    events.reverse()  # both APIs list newest first
    # created_at has whole seconds: a stable sort keeps the reversed order within a second
    return sorted(events, key=lambda e: e.created_at or 0)


def raw_checkpoints(client, job_id: str, limit: int = PAGE_LIMIT) -> list:
    """The job's checkpoints; ``NotAvailableError`` where the provider has no such endpoint."""
    missing = not_available(client, "checkpoints")
    if missing:
        raise NotAvailableError(missing)
    with api_call(f"Reading the checkpoints of job {job_id}", client):
        return list(client.fine_tuning.jobs.checkpoints.list(job_id, limit=limit).data)


def file_bytes(client, file_id: str) -> bytes:
    with api_call(f"Downloading file {file_id}", client):
        response = client.files.content(file_id)
    return response.content


def list_files(client, purpose: str) -> list:
    with api_call("Listing uploaded files", client, "files"):
        return list(client.files.list(purpose=purpose).data)


def same_file(file, name: str, size: int) -> bool:
    """Whether an uploaded file is ours: the name carries the content hash, and the size."""
    return file.filename == name and (file.bytes in (None, size))


def upload_file(client, name: str, data: bytes, purpose: str):
    """``files.create`` sent without SDK retries; after a lost answer, the file with this
    name (which carries the content hash) and size, if the service stored it."""
    def find():
        return next((f for f in list_files(client, purpose) if same_file(f, name, len(data))),
                    None)

    return create_once(f"Uploading {name}", client,
                       lambda api: api.files.create(file=(name, data, "application/jsonl"),
                                                    purpose=purpose), find, feature="files")


_STEP = re.compile(r"Step (\d+)/(\d+)")
_LOSS = re.compile(r"(training|validation) loss=([0-9.eE+-]+)")


def _num(value):
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


EVENT_COLUMNS = ["created_at", "level", "type", "message", "step", "total_steps", "epoch",
                 "train_loss", "valid_loss", "train_accuracy", "valid_accuracy"]


def normalise_event(event) -> dict:
    """One event as a flat dict; OpenAI and Zhipu metrics mapped to the same names."""
    data = getattr(event, "data", None)
    data = data.model_dump() if hasattr(data, "model_dump") else (data or {})
    row = dict.fromkeys(EVENT_COLUMNS)
    row.update(created_at=event.created_at, level=event.level, type=event.type,
               message=event.message)
    if data:
        row.update(
            step=data.get("step", data.get("current_steps")),
            total_steps=data.get("total_steps"),
            epoch=_num(data.get("epoch")),
            train_loss=_num(data.get("train_loss", data.get("loss"))),
            valid_loss=_num(data.get("valid_loss", data.get("eval_loss"))),
            train_accuracy=_num(data.get("train_mean_token_accuracy", data.get("acc"))),
            valid_accuracy=_num(data.get("valid_mean_token_accuracy", data.get("eval_acc"))))
    message = event.message or ""
    if row["step"] is None and (m := _STEP.search(message)):
        row["step"], row["total_steps"] = int(m.group(1)), int(m.group(2))
    for kind, value in _LOSS.findall(message):
        name = "train_loss" if kind == "training" else "valid_loss"
        if row[name] is None:
            row[name] = float(value)
    return row
