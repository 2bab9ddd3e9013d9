"""The sandbox's stored objects as typed records.

Each record's public fields are the API object's fields (``public()`` is what
``views`` validates through the SDKs' types); fields declared with
``private()`` are the sandbox's own bookkeeping and never leave it. Records
are stored as JSON (``to_row``); ``from_row`` also reads rows written before
records were typed, whose private keys started with ``_``.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar


def now() -> int:
    return int(time.time())


def metric(value) -> float | None:
    """A metric as the API shows it: 6 decimals, so recordings do not depend on the CPU's
    floating-point code paths (numpy's SIMD log/exp differ in the last bits); None if not finite."""
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None


def private(default: Any = None, **kw):
    """A field that is stored but never shown to a client."""
    return field(default=default, metadata={"private": True}, **kw)


@dataclass
class Record:
    LEGACY: ClassVar[dict[str, str]] = {}  # old row key -> field, where stripping '_' is wrong

    def public(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if not f.metadata.get("private")}

    def to_row(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_row(cls, row: dict):
        names = {f.name for f in dataclasses.fields(cls)}
        values = {}
        for key, value in row.items():
            name = cls.LEGACY.get(key, key.lstrip("_"))
            if name in names:
                values[name] = value
        return cls(**values)

    def but(self, **changes):
        """A copy with ``changes`` (records are replaced whole, never edited in place)."""
        return dataclasses.replace(self, **changes)


@dataclass
class FileRecord(Record):
    id: str
    bytes: int
    created_at: int
    filename: str
    purpose: str
    object: str = "file"
    status: str = "processed"


@dataclass
class Event(Record):
    id: str
    created_at: int
    level: str
    message: str
    data: dict = field(default_factory=dict)
    type: str = "message"
    object: str = "fine_tuning.job.event"


@dataclass
class Checkpoint(Record):
    id: str
    created_at: int
    fine_tuned_model_checkpoint: str
    fine_tuning_job_id: str
    step_number: int
    metrics: dict
    object: str = "fine_tuning.job.checkpoint"


@dataclass
class TunedModel(Record):
    """A fine-tuned model or checkpoint (base models live in ``catalog``)."""
    id: str
    created: int
    owned_by: str
    object: str = "model"
    blob: str = private("")
    job: str = private("")
    hidden: bool = private(False)  # a checkpoint: usable, not listed


@dataclass
class Job(Record):
    LEGACY: ClassVar[dict[str, str]] = {"_model": "tuned_model", "_results": "results_file",
                                        "_trained_tokens": "pending_tokens"}
    id: str
    created_at: int
    model: str
    training_file: str
    hyperparameters: dict
    method: dict
    seed: int
    status: str = "validating_files"
    object: str = "fine_tuning.job"
    organization_id: str = ""
    error: dict | None = None
    fine_tuned_model: str | None = None
    finished_at: int | None = None
    result_files: list = field(default_factory=list)
    trained_tokens: int | None = None
    validation_file: str | None = None
    estimated_finish: int | None = None
    integrations: list = field(default_factory=list)
    metadata: dict | None = None
    provider: str = private("openai")
    suffix: str = private("")
    seq: int = private(0)
    fail: bool = private(False)            # the fail_jobs fault: fail when training ends
    requested: dict = private(None)        # hyperparameters as asked ('auto' left out)
    stage_at: float = private(0.0)         # when the current stage began (time progression)
    parent: str | None = private(None)     # a fine-tuned model this job continues from
    request_id: str | None = private(None)  # Zhipu echoes the caller's request_id
    n_train: int | None = private(None)
    tuned_model: str | None = private(None)  # the model id, published when the job succeeds
    model_blob: str | None = private(None)
    pending_tokens: int | None = private(None)
    results_file: str | None = private(None)
    paused_from: str | None = private(None)  # the status a paused job resumes to


@dataclass
class Batch(Record):
    LEGACY: ClassVar[dict[str, str]] = {"_output": "pending_output", "_errors": "pending_errors"}
    id: str
    created_at: int
    endpoint: str
    input_file_id: str
    completion_window: str = "24h"
    status: str = "validating"
    object: str = "batch"
    errors: dict | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    in_progress_at: int | None = None
    expires_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    expired_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    request_counts: dict = field(default_factory=lambda: {"total": 0, "completed": 0,
                                                          "failed": 0})
    metadata: dict | None = None
    seq: int = private(0)
    stage_at: float = private(0.0)
    provider: str = private("openai")
    delete_input: bool = private(False)  # Zhipu's auto_delete_input_file: gone once completed
    pending_output: str | None = private(None)
    pending_errors: str | None = private(None)


def public(record) -> dict:
    """The API fields of a record (a typed record, or a plain dict such as a chat completion)."""
    if isinstance(record, Record):
        return record.public()
    return {k: v for k, v in record.items() if not k.startswith("_")}
