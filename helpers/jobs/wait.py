"""Wait for a job with a progress bar, backoff and an overall timeout.

The bar is ``helpers.progress.progress_bar``: in a notebook the stored output
is its final line (status, steps, last loss), never a bar at 0% or a timing.

validating_files, queued, running (and any other non-final status such as
Zhipu's "create" or OpenAI's "paused") count as in progress. ``succeeded``
returns the job and writes its ledger; ``failed`` and ``cancelled`` raise.
"""
from __future__ import annotations

from pathlib import Path

from .. import config
from ..polling import default_sleep, poll
from ..progress import progress_bar
from . import sdk
from .accounting import record_ledger
from .errors import JobCancelledError, JobFailedError, JobTimeoutError
from .store import JobRecord, JobStore
from .submit import identity_for, settings_for

FINAL = ("succeeded", "failed", "cancelled")
DEFAULT_TIMEOUT = 6 * 3600.0


def default_interval(settings: config.Settings) -> float:
    """First poll interval: short for the sandbox (it advances per poll), 10 s otherwise."""
    return 0.05 if settings.backend == "sandbox" else 10.0


def latest_metrics(client, job_id: str) -> dict:
    """The metrics event with the highest step so far (empty dict when none yet)."""
    limit = 20 if sdk.sdk_name(client) == "openai" else sdk.PAGE_LIMIT  # OpenAI: newest first
    rows = [sdk.normalise_event(e)
            for e in sdk.raw_events(client, job_id, limit=limit, all_pages=False)]
    rows = [r for r in rows if r["step"] is not None]
    return max(rows, key=lambda r: int(r["step"])) if rows else {}


def _describe_error(job) -> str:
    error = getattr(job, "error", None)
    if error is None:
        return "the API gave no reason"
    parts = [getattr(error, "code", None), getattr(error, "message", None)]
    param = getattr(error, "param", None)
    text = ": ".join(str(p) for p in parts if p) or "the API gave no reason"
    return text + (f" (parameter {param})" if param else "")


def _finish(job, record: JobRecord | None, store: JobStore | None):
    if record is not None and store is not None:
        store.update_job(record.backend, record.sdk, record.job_id, status=job.status,
                         fine_tuned_model=job.fine_tuned_model)
    if job.status == "failed":
        raise JobFailedError(f"Job {job.id} failed: {_describe_error(job)}. Fix the cause, then "
                             "submit again with force=True to start a new job.")
    if job.status == "cancelled":
        raise JobCancelledError(f"Job {job.id} was cancelled, so there is no fine-tuned model; "
                                "submit again with force=True to start a new job.")
    if record is not None and store is not None:
        record_ledger(store, record, job)
    return job


def wait(client, job, *, settings: config.Settings | None = None,
         work_dir: str | Path | None = None, timeout: float = DEFAULT_TIMEOUT,
         poll_interval: float | None = None, max_interval: float = 60.0, backoff: float = 1.5,
         sleep=None, progress: bool = True):
    """Poll until the job is final; return the SDK job object on success.

    ``job`` is a ``JobRecord`` from ``submit`` (its ledger is then written), an
    SDK job or a job id (pass ``work_dir`` to find its record in the store;
    without ``settings`` the client's own settings name the backend).

    ``timeout`` counts the seconds spent sleeping between polls (``helpers.polling``),
    so it behaves the same when ``sleep`` is skipped (replay mode) or injected
    (tests). On timeout the job keeps running remotely; calling ``wait`` again resumes.
    """
    backend = identity_for(client, settings)
    settings = settings_for(client, settings)
    record = job if isinstance(job, JobRecord) else None
    job_id = record.job_id if record else str(getattr(job, "id", job))
    store = None
    if record is not None and record.store_path is not None:
        store = JobStore(record.store_path)
    elif work_dir is not None:
        store = JobStore(Path(work_dir))
        record = store.job(backend, sdk.sdk_name(client), job_id)
    sleep = sleep or default_sleep(settings)
    interval = poll_interval if poll_interval is not None else default_interval(settings)
    bar = progress_bar(desc=f"{job_id}", unit="step", disable=not progress, leave=True)

    def fetch():
        current = sdk.retrieve(client, job_id)
        metrics = latest_metrics(client, job_id) if progress else {}
        _show(bar, job_id, current.status, metrics)
        return current

    def timed_out(current, waited: float) -> JobTimeoutError:
        return JobTimeoutError(
            f"Job {job_id} is still {current.status} after waiting {waited:.0f} s "
            f"(timeout={timeout:.0f} s); it keeps running, so call wait() again later "
            "or cancel it.")

    try:
        current = poll(fetch, lambda job: job.status in FINAL, interval=interval, sleep=sleep,
                       timed_out=timed_out, timeout=timeout, backoff=backoff,
                       max_interval=max_interval)
        return _finish(current, record, store)
    finally:
        bar.close()


def _show(bar, job_id: str, status: str, metrics: dict) -> None:
    if bar.disable:
        return
    total, step = metrics.get("total_steps"), metrics.get("step")
    if total and bar.total != total:
        bar.total = int(total)
    if step is not None:
        bar.n = int(step)
    bar.desc = f"{job_id} {status}"
    loss = metrics.get("train_loss")
    if loss is not None:
        bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
    bar.refresh()
