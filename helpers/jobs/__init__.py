"""Fine-tuning jobs that never charge twice, for the OpenAI and Zhipu SDKs.

    record = jobs.submit(client, "train.jsonl", model="gpt-4o-mini-2024-07-18",
                         settings=settings, work_dir=work, max_cost_usd=1.0)
    job = jobs.wait(client, record, settings=settings)
    jobs.result_frame(client, job); jobs.events(client, job.id); jobs.ledger(record)

A job created by hand (``client.fine_tuning.jobs.create``) with
``metadata={"course_key": jobs.job_key(...), ...}`` (Zhipu: ``request_id=
jobs.request_id(key)``) is the job ``submit`` attaches to; ``find_jobs`` lists
the jobs already made for a key, ``estimate_cost`` prices a file before any call.

Modules: ``store`` (SQLite job store), ``submit`` (upload reuse, idempotent
create, cost guard), ``wait`` (progress, backoff, timeout), ``results``
(events, checkpoints, result file, list, cancel, delete), ``accounting``
(the ledger: estimated vs billed), ``sdk`` (the two SDKs' differences, and
``not_available`` for endpoints a provider lacks), ``errors``.
"""
from . import sdk
from . import wait as wait_module
from .accounting import ledger
from .errors import (
                     APICallError,
                     CostLimitError,
                     CourseJobError,
                     JobCancelledError,
                     JobFailedError,
                     JobTimeoutError,
                     NotAvailableError,
                     NotFoundError,
                     StoreLockTimeout,
                     TrainingNotAvailableError,
)
from .results import (
                     cancel,
                     checkpoints,
                     delete_model,
                     events,
                     list_jobs,
                     result_frame,
                     result_frame_from_bytes,
)
from .sdk import not_available
from .store import BatchRecord, JobRecord, JobStore
from .submit import (
                     DEFAULT_MAX_COST_USD,
                     DEFAULT_MAX_TRAINED_TOKENS,
                     check_cost,
                     estimate_cost,
                     find_jobs,
                     idempotency_key,
                     job_key,
                     open_store,
                     request_id,
                     submit,
                     upload,
)
from .wait import latest_metrics, wait

__all__ = [
    "APICallError", "CostLimitError", "CourseJobError", "JobCancelledError", "JobFailedError",
    "JobTimeoutError", "NotAvailableError", "NotFoundError", "StoreLockTimeout",
    "TrainingNotAvailableError", "BatchRecord", "not_available", "ledger", "cancel",
    "checkpoints", "delete_model", "events", "list_jobs", "result_frame",
    "result_frame_from_bytes", "JobRecord", "JobStore", "DEFAULT_MAX_COST_USD", "check_cost",
    "DEFAULT_MAX_TRAINED_TOKENS",
    "idempotency_key", "open_store", "submit", "upload", "latest_metrics", "wait",
    "estimate_cost", "find_jobs", "job_key", "request_id", "sdk", "wait_module",
]
