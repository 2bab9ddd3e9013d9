"""One sandbox directory's operations, independent of HTTP and of the provider's wire format.

``Sandbox`` ties the concerns together: ``files``, ``jobs`` (with the stage
machine, ``stages``), ``batches`` and ``models``; each keeps typed records
(``records``) in the one ``Store``. ``views``/``dialects`` turn records into
each SDK's types.
"""
from __future__ import annotations

from pathlib import Path

import tiktoken

from .. import tokenizers
from . import chat, dialects, settings
from .batches import BATCH_TERMINAL, Batches
from .catalog import BASE_MODEL
from .classifier import SoftmaxModel
from .files import Files
from .jobs import JOB_TERMINAL, Jobs
from .models import Models
from .records import Batch, FileRecord, Job, public
from .store import Store

ENCODING = "o200k_base"  # the sandbox's tokenizer, for billing and chat token counts
__all__ = ["BASE_MODEL", "BATCH_TERMINAL", "JOB_TERMINAL", "Sandbox", "public",
           "resolve_progression"]


def resolve_progression(progression: str | None) -> str:
    return settings.progression(progression)


def encoding() -> tiktoken.Encoding:
    """o200k_base, made available offline first (no reliance on ``helpers``' import)."""
    tokenizers.install((ENCODING,))
    return tiktoken.get_encoding(ENCODING)


class Sandbox:
    """All state of one sandbox directory, shared by every client of it in this process."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.store = Store(self.root)
        self.encoding = encoding()
        self.files = Files(self.store)
        self.models = Models(self.store)
        self.jobs = Jobs(self.store, self.files, self.models, self.encoding)
        self.batches = Batches(self.store, self.files, self)

    # files
    def create_file(self, filename: str, data: bytes | Path, purpose: str) -> FileRecord:
        return self.files.create(filename, data, purpose)

    def get_file(self, file_id: str, param: str | None = None) -> FileRecord:
        return self.files.get(file_id, param)

    def list_files(self, purpose: str | None = None) -> list[FileRecord]:
        return self.files.list(purpose)

    def file_content(self, file_id: str) -> bytes:
        return self.files.content(file_id)

    def delete_file(self, file_id: str) -> dict:
        return self.files.delete(file_id)

    # jobs
    def create_job(self, body: dict, provider: str = "openai", fail: bool = False,
                   progression: str = "poll") -> Job:
        """A job for a create body of ``provider``'s shape: its dialect checks the body
        (``schemas``), then ``Jobs.create`` what needs state."""
        job = self.jobs.create(dialects.get(provider).job_request(body), provider, fail)
        return self.jobs.get(job.id, progression) if progression == "instant" else job

    def get_job(self, job_id: str, progression: str = "poll", advance: bool = True) -> Job:
        return self.jobs.get(job_id, progression, advance)

    def list_jobs(self, progression: str = "poll", metadata: dict | None = None,
                  null_metadata: bool = False) -> list[Job]:
        return self.jobs.list(progression, metadata, null_metadata)

    def cancel_job(self, job_id: str) -> Job:
        return self.jobs.cancel(job_id)

    def pause_job(self, job_id: str) -> Job:
        return self.jobs.pause(job_id)

    def resume_job(self, job_id: str) -> Job:
        return self.jobs.resume(job_id)

    def delete_job(self, job_id: str) -> Job:
        return self.jobs.delete(job_id)

    def job_events(self, job_id: str, progression: str = "poll") -> list:
        return self.jobs.events(job_id, progression)

    def job_checkpoints(self, job_id: str, progression: str = "poll") -> list:
        return self.jobs.checkpoints(job_id, progression)

    # models
    def list_models(self) -> list[dict]:
        return self.models.list()

    def get_model(self, model_id: str) -> dict:
        return self.models.get(model_id)

    def delete_model(self, model_id: str) -> dict:
        return self.models.delete(model_id)

    def _classifier(self, record: dict) -> SoftmaxModel:
        """The fine-tuned classifier of a model record from ``get_model`` (used by ``chat``)."""
        return self.models.classifier(record["id"])

    # chat
    def chat(self, body: dict, provider: str = "openai") -> dict:
        """A ChatCompletion-shaped dict for a chat request (no state is written)."""
        return chat.complete(self, body, provider)

    # batches
    def create_batch(self, body: dict, progression: str = "poll",
                     provider: str = "openai") -> Batch:
        batch = self.batches.create(body, provider)
        return self.batches.get(batch.id, progression) if progression == "instant" else batch

    def get_batch(self, batch_id: str, progression: str = "poll", advance: bool = True) -> Batch:
        return self.batches.get(batch_id, progression, advance)

    def list_batches(self, progression: str = "poll") -> list[Batch]:
        return self.batches.list(progression)

    def cancel_batch(self, batch_id: str) -> Batch:
        return self.batches.cancel(batch_id)
