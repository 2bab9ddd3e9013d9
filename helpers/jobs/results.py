"""What a job leaves behind: events, checkpoints, the result file, the job list."""
from __future__ import annotations

import base64
import binascii
import io

import pandas as pd

from . import sdk
from .errors import CourseJobError, NotAvailableError

RESULT_COLUMNS = ["step", "train_loss", "train_accuracy", "valid_loss",
                  "valid_mean_token_accuracy"]


def events(client, job_id: str) -> pd.DataFrame:
    """The job's events, oldest first, with metrics in the same columns for both SDKs."""
    rows = [sdk.normalise_event(e) for e in sdk.raw_events(client, job_id)]
    frame = pd.DataFrame(rows, columns=sdk.EVENT_COLUMNS)
    return _whole(frame, "created_at", "step", "total_steps", "epoch")


def _whole(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Counts as nullable integers, so a table shows ``1200`` and ``<NA>``, not
    ``1200.0``/``NaN``."""
    for name in columns:
        values = pd.to_numeric(frame[name], errors="coerce")
        if values.dropna().mod(1).eq(0).all():
            frame[name] = values.round().astype("Int64")
    return frame


CHECKPOINT_COLUMNS = ["id", "step", "fine_tuned_model_checkpoint", "created_at"]


def checkpoints(client, job_id: str, *, quiet: bool = False) -> pd.DataFrame:
    """Checkpoints: id, step, model id and their metrics, by step.

    Where the provider has no checkpoints endpoint (Zhipu), the frame is empty
    (same columns), ``frame.attrs["not_available"]`` holds the sentence saying
    so, and it is printed unless ``quiet``.
    """
    try:
        found = sdk.raw_checkpoints(client, job_id)
    except NotAvailableError as missing:
        frame = pd.DataFrame(columns=CHECKPOINT_COLUMNS)
        frame.attrs["not_available"] = str(missing)
        if not quiet:
            print(missing)
        return frame
    rows = []
    for cp in found:
        metrics = cp.metrics.model_dump() if cp.metrics is not None else {}
        rows.append({"id": cp.id, "step": cp.step_number,
                     "fine_tuned_model_checkpoint": cp.fine_tuned_model_checkpoint,
                     "created_at": cp.created_at,
                     **{k: v for k, v in metrics.items() if k != "step"}})
    if not rows:
        return pd.DataFrame(columns=CHECKPOINT_COLUMNS)
    return pd.DataFrame(rows).sort_values("step", ignore_index=True)


def decode_result_text(content: bytes | str, where: str = "result file") -> str:
    """CSV text of a result file, given plain CSV or its base64 encoding."""
    raw = content.encode() if isinstance(content, str) else bytes(content)
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    if text.lstrip().startswith("step"):
        return text
    try:
        decoded = base64.b64decode(b"".join(raw.split()), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    if decoded.lstrip("\ufeff").lstrip().startswith("step"):
        return decoded.lstrip("\ufeff")
    raise CourseJobError(f"{where}: neither a CSV starting with a 'step' header nor base64 "
                         f"of one (starts with {text[:30]!r})")


def result_frame_from_bytes(content: bytes | str, where: str = "result file") -> pd.DataFrame:
    """Result CSV → DataFrame with step, train_loss, train_accuracy, valid_loss, ..."""
    frame = pd.read_csv(io.StringIO(decode_result_text(content, where)))
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in RESULT_COLUMNS if c not in frame.columns]
    if missing:
        raise CourseJobError(f"{where}: missing column(s) {', '.join(missing)}; "
                             f"found {', '.join(frame.columns)}")
    return frame


def result_frame(client, job) -> pd.DataFrame:
    """The first result file of a job (an SDK job, a JobRecord or an id) as a DataFrame."""
    if isinstance(job, str) or not hasattr(job, "result_files"):
        job = sdk.retrieve(client, getattr(job, "job_id", job))
    if not job.result_files:
        raise CourseJobError(f"Job {job.id} has no result file yet (status {job.status}).")
    file_id = job.result_files[0]
    return result_frame_from_bytes(sdk.file_bytes(client, file_id), f"result file {file_id}")


def list_jobs(client, limit: int = 20) -> pd.DataFrame:
    """Recent jobs: id, status, model, fine-tuned model, trained tokens, created_at."""
    rows = [{"id": j.id, "status": j.status, "model": j.model,
             "fine_tuned_model": j.fine_tuned_model, "trained_tokens": j.trained_tokens,
             "created_at": j.created_at} for j in sdk.list_jobs(client, limit=limit)]
    frame = pd.DataFrame(rows, columns=["id", "status", "model", "fine_tuned_model",
                                        "trained_tokens", "created_at"])
    frame["fine_tuned_model"] = frame["fine_tuned_model"].astype("string")  # one marker: <NA>
    return _whole(frame, "trained_tokens", "created_at")


def cancel(client, job_id: str):
    """Cancel a job; returns the SDK job."""
    return sdk.cancel(client, job_id)


def delete_model(client, model: str):
    """Delete a fine-tuned model (OpenAI models.delete / Zhipu fine_tuning.models.delete)."""
    return sdk.delete_model(client, model)
