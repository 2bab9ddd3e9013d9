"""The sandbox's operations, independent of HTTP and of the provider's wire format.

Records are plain dicts shaped like OpenAI's objects; keys starting with ``_``
are private state and never leave the sandbox. ``views`` turns records into
each SDK's types.
"""
from __future__ import annotations

import json
import logging
import math
import os
import random
import threading
import time
from pathlib import Path

from ..tokens import encoding_for
from . import chat, pacing, textcheck, training
from .classifier import SoftmaxModel
from .catalog import BASE_MODEL
from .errors import ApiError, bad_request, not_found
from .store import StateError, Store
from .validation import InvalidFileError, parse_examples

ORG = "sandbox-org"
ZHIPU_ORG_NUMBER = "100001"
PROGRESSIONS = ("poll", "instant", "time")
STAGE_SECONDS = float(os.environ.get("COURSE_SANDBOX_STAGE_SECONDS", "2"))
PURPOSES = ("fine-tune", "batch", "assistants", "vision", "user_data", "retrieval")
JOB_TERMINAL = ("succeeded", "failed", "cancelled")
PARSED_FILES_KEPT = 8
JOB_NEXT = {"validating_files": "queued", "queued": "running", "running": "succeeded"}
BATCH_NEXT = {"validating": "in_progress", "in_progress": "finalizing",
              "finalizing": "completed", "cancelling": "cancelled"}
BATCH_TERMINAL = ("completed", "failed", "expired", "cancelled")
CHAT_URL = "/v1/chat/completions"
METRIC_EVENTS = 100  # at most this many "Step i/N" events per job
log = logging.getLogger("helpers.sandbox")


def now() -> int:
    return int(time.time())


def metric(value) -> float | None:
    """A metric as the API shows it: 6 decimals, so recordings do not depend on the CPU's
    floating-point code paths (numpy's SIMD log/exp differ in the last bits); None if not finite."""
    value = float(value)
    return round(value, 6) if math.isfinite(value) else None


def public(record: dict) -> dict:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def resolve_progression(progression: str | None) -> str:
    value = (progression or os.environ.get("COURSE_SANDBOX_PROGRESSION") or "poll").strip().lower()
    if value not in PROGRESSIONS:
        raise ValueError(f"sandbox progression {value!r} is not one of {', '.join(PROGRESSIONS)}")
    return value


class Sandbox:
    """All state of one sandbox directory, shared by every client of it in this process."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.store = Store(self.root)
        self.encoding = encoding_for(BASE_MODEL)
        self._models: dict[str, SoftmaxModel] = {}
        self._models_lock = threading.Lock()
        # A job reads its files at validation and again at training, and the course trains
        # several jobs on one file: files never change, so their parsed examples are kept.
        self._parsed: dict[tuple, list] = {}
        self._parsed_lock = threading.Lock()

    # ---------------------------------------------------------------- files
    def create_file(self, filename: str, data: bytes | Path, purpose: str) -> dict:
        if purpose not in PURPOSES:
            raise bad_request(f"'{purpose}' is not one of {list(PURPOSES)} - 'purpose'",
                              param="purpose")
        with self.store.transaction():
            return self._add_file(filename, data, purpose)

    def _add_file(self, filename: str, data: bytes | Path, purpose: str) -> dict:
        seq = self.store.next_seq("file")
        file_id = "file-" + self.store.hex_id("file", seq)
        if isinstance(data, Path):  # an upload already streamed to disk (sandbox.multipart)
            size = self.store.adopt_blob(file_id, data)  # sbrobust: records size and sha256
        else:
            size = len(data)
            self.store.write_blob(file_id, data)
        record = {"id": file_id, "object": "file", "bytes": size, "created_at": now(),
                  "filename": filename, "purpose": purpose, "status": "processed"}
        self.store.put("files", file_id, seq, record)
        return record

    def get_file(self, file_id: str, param: str | None = None) -> dict:
        record = self.store.get("files", file_id)
        if record is None:
            raise not_found("file", file_id, param)
        return record

    def list_files(self, purpose: str | None = None) -> list[dict]:
        files = self.store.all("files")
        return [f for f in files if purpose in (None, f["purpose"])]

    def file_content(self, file_id: str) -> bytes:
        self.get_file(file_id)
        return self.store.read_blob(file_id)

    def delete_file(self, file_id: str) -> dict:
        self.get_file(file_id)
        with self.store.transaction():
            self.store.mark_deleted("files", file_id)
        return {"id": file_id, "object": "file", "deleted": True}

    # ----------------------------------------------------------------- jobs
    def create_job(self, body: dict, provider: str = "openai", fail: bool = False,
                   progression: str = "poll") -> dict:
        model = body.get("model")
        parent = self._parent_model(model, provider)
        for key in ("training_file", "validation_file"):
            if body.get(key) is not None:
                self.get_file(body[key], param=key)
        if not body.get("training_file"):
            raise bad_request("Missing required parameter: 'training_file'.", param="training_file")
        suffix = body.get("suffix") or ""
        if len(suffix) > 64 or any(c in suffix for c in ": "):
            raise bad_request("suffix must be at most 64 characters without ':' or spaces.",
                              param="suffix")
        method = body.get("method") or {"type": "supervised", "supervised": {
            "hyperparameters": body.get("hyperparameters") or {}}}
        if method.get("type") != "supervised":
            raise bad_request("The sandbox only runs supervised fine-tuning.", param="method.type")
        requested = dict((method.get("supervised") or {}).get("hyperparameters") or {})
        try:
            training.resolve_hyperparameters(requested, 100)
        except ValueError as exc:
            raise bad_request(str(exc), param="hyperparameters") from None
        seed = body.get("seed")
        if seed is None:
            seed = random.Random(body["training_file"]).randrange(2 ** 31)
        with self.store.transaction():
            seq = self.store.next_seq("job")
            job_id = "ftjob-" + self.store.hex_id("job", seq)
            shown = {k: requested.get(k, "auto") for k in
                     ("n_epochs", "batch_size", "learning_rate_multiplier")}
            job = {"id": job_id, "object": "fine_tuning.job", "created_at": now(),
                   "error": None, "fine_tuned_model": None, "finished_at": None,
                   "hyperparameters": shown, "model": model, "organization_id": ORG,
                   "result_files": [], "seed": int(seed), "status": "validating_files",
                   "trained_tokens": None, "training_file": body["training_file"],
                   "validation_file": body.get("validation_file"), "estimated_finish": None,
                   "integrations": [], "metadata": body.get("metadata"),
                   "method": {"type": "supervised", "supervised": {"hyperparameters": shown}},
                   "_provider": provider, "_suffix": suffix, "_seq": seq, "_fail": bool(fail),
                   "_requested": requested, "_stage_at": time.time(), "_parent": parent,
                   "_request_id": body.get("request_id")}
            self.store.put("jobs", job_id, seq, job)
            self._event(job_id, f"Created fine-tuning job: {job_id}")
            self._event(job_id, f"Validating training file: {job['training_file']}"
                        + (f" and validation file: {job['validation_file']}"
                           if job["validation_file"] else ""))
        if progression == "instant":
            return self.get_job(job_id, progression)
        return job

    def _parent_model(self, model, provider: str) -> str | None:
        """None to start from the base model, or the fine-tuned model to continue training.

        OpenAI accepts a fine-tuned model as ``model`` (its checkpoints are not
        accepted here); the Zhipu paths fine-tune the base model only.
        """
        if model == BASE_MODEL:
            return None
        if not isinstance(model, str) or not model:
            raise bad_request("Missing required parameter: 'model'.", param="model")
        record = self.store.get("models", model)
        if provider == "zhipu":
            if record is None:
                raise ApiError(400, f"模型不存在: {model} (the sandbox fine-tunes {BASE_MODEL}).",
                               code="model_not_found", param="model")
            raise bad_request(f"Model {model} cannot be fine-tuned again: on the Zhipu paths the "
                              f"sandbox fine-tunes {BASE_MODEL} only.", param="model",
                              code="model_not_available")
        if record is None or record["_hidden"]:
            raise bad_request(f"Model {model} is not available for fine-tuning or does not exist.",
                              param="model", code="model_not_available")
        return model

    def _event(self, job_id: str, message: str, level: str = "info", data=None,
               kind: str = "message") -> None:
        seq = self.store.next_seq("event")
        event_id = "ftevent-" + self.store.hex_id("event", seq)
        self.store.put("events", event_id, seq, {
            "id": event_id, "object": "fine_tuning.job.event", "created_at": now(),
            "level": level, "message": message, "data": data or {}, "type": kind},
            job_id=job_id)

    def _job(self, job_id: str) -> dict:
        job = self.store.get("jobs", job_id)
        if job is None:
            raise not_found("fine_tuning_job", job_id, "fine_tuning_job_id")
        return job

    def get_job(self, job_id: str, progression: str = "poll", advance: bool = True) -> dict:
        """The job; under 'poll' a retrieve advances it one stage, 'time'/'instant' catch up."""
        job = self._job(job_id)
        if not advance or job["status"] in JOB_TERMINAL:
            return job
        self._progress("job", job_id, progression, listing=False)
        return self._job(job_id)

    def list_jobs(self, progression: str = "poll") -> list[dict]:
        """All jobs, newest first; under 'time' (and 'instant') what is due advances first."""
        for job in self.store.all("jobs"):
            if job["status"] not in JOB_TERMINAL:
                self._progress_listed("job", job["id"], progression)
        return self.store.all("jobs")

    # ------------------------------------------------------------ stages
    # Each stage of a job or batch is claimed in one transaction that re-checks
    # its status (``_claim``), worked on with no lock held (the work returns a
    # ``commit`` function), and committed in a transaction that checks the claim
    # is still its own (``_commit``). So two processes (or threads) polling the
    # same job never run a stage twice; a cancel in between wins; a crash or a
    # kill before the commit leaves the old state, redone at the next poll.

    def _progress(self, kind: str, obj_id: str, progression: str, listing: bool) -> None:
        """Advance a job or batch as ``progression`` says (a listing never advances 'poll')."""
        read = self._job if kind == "job" else self._batch
        terminal = JOB_TERMINAL if kind == "job" else BATCH_TERMINAL
        if progression == "poll":
            if not listing:
                self._run_stage(kind, obj_id)
            return
        record = read(obj_id)
        # sbrobust: stage length from pacing (serve's --pace); a poll catches up on every due stage
        clock = pacing.StageClock(record["_stage_at"], pacing.stage_seconds(STAGE_SECONDS))
        while record["status"] not in terminal and (
                progression == "instant" or record["status"] == "cancelling" or clock.due()):
            if not self._run_stage(kind, obj_id):
                return  # someone else holds this stage
            record = read(obj_id)
            clock.advance()

    def _progress_listed(self, kind: str, obj_id: str, progression: str) -> None:
        """Advance a job or batch that a listing shows; a failure must not fail the listing."""
        try:
            self._progress(kind, obj_id, progression, listing=True)
        except ApiError:
            pass  # deleted meanwhile
        except Exception:
            log.exception("sandbox %s %s: could not advance it for a listing", kind, obj_id)

    def _run_stage(self, kind: str, obj_id: str) -> bool:
        """Run the current stage once if no live claim holds it; False if it was held."""
        table = "jobs" if kind == "job" else "batches"
        terminal = JOB_TERMINAL if kind == "job" else BATCH_TERMINAL
        with self.store.transaction():
            record = self.store.get(table, obj_id)
            if record is None or record["status"] in terminal:
                return False
            token = self.store.claim(obj_id, record["status"])
        if token is None:
            return False
        stage, blobs = record["status"], []
        try:
            try:
                work = self._job_stage if kind == "job" else self._batch_stage
                commit = work(record, token, blobs)
            except Exception as exc:  # a bug or a file the checks missed: fail, never wedge
                log.exception("sandbox %s %s: stage %s failed", kind, obj_id, stage)
                commit = self._crashed(kind, exc)
            try:
                self._commit(table, obj_id, stage, token, commit, blobs)
            except Exception as exc:
                log.exception("sandbox %s %s: committing stage %s failed", kind, obj_id, stage)
                self._discard(blobs)
                self._commit(table, obj_id, stage, token, self._crashed(kind, exc), [])
        except BaseException:  # interrupted (KeyboardInterrupt...): the next poll redoes it
            self._discard(blobs)
            with self.store.transaction():
                self.store.release(obj_id, token)
            raise
        finally:
            self.store.forget(token)
        return True

    def _commit(self, table: str, obj_id: str, stage: str, token: str, commit, blobs) -> None:
        with self.store.transaction():
            record = self.store.get(table, obj_id)
            current = (record is not None and record["status"] == stage
                       and self.store.holds(obj_id, token))
            if current:
                commit(record)
            self.store.release(obj_id, token)
        if not current:  # cancelled or deleted meanwhile: its results go nowhere
            self._discard(blobs)

    def _discard(self, blobs: list[str]) -> None:
        for name in blobs:
            self.store.delete_blob(name)

    def _crashed(self, kind: str, exc: Exception):
        detail = f"{type(exc).__name__}: {exc}"[:300]
        if isinstance(exc, StateError):  # sbrobust: names the damaged file and how to reset
            detail = str(exc)
        if kind == "job":
            message = f"The job failed due to an internal error in the sandbox ({detail})."
            return lambda job: self._fail_job(job, "server_error", message, None)
        message = f"The batch failed due to an internal error in the sandbox ({detail})."
        return lambda batch: self._save_batch(batch, status="failed", failed_at=now(), errors={
            "object": "list", "data": [{"code": "server_error", "line": None, "param": None,
                                        "message": message}]})

    def _job_stage(self, job: dict, token: str, blobs: list[str]):
        status = job["status"]
        if status == "validating_files":
            return self._validate_job(job)
        if status == "queued":
            return self._start_job(job, token, blobs)
        return self._finish_job(job)

    def _examples(self, job: dict):
        train = self._parsed_file(job["training_file"], "training_file")
        valid = []
        if job.get("validation_file"):
            valid = self._parsed_file(job["validation_file"], "validation_file", minimum=1)
        return train, valid

    def _parsed_file(self, file_id: str, param: str, **options) -> list:
        data = self.store.read_blob(file_id)  # still read: a deleted file must fail as before
        key = (file_id, param, len(data))
        with self._parsed_lock:
            if key in self._parsed:
                return self._parsed[key]
        examples = parse_examples(data, self.encoding, param=param,
                                  **options)  # an invalid file raises, and is read again next time
        with self._parsed_lock:
            while len(self._parsed) >= PARSED_FILES_KEPT:
                self._parsed.pop(next(iter(self._parsed)))
            self._parsed[key] = examples
        return examples

    def _set(self, job: dict, **changes) -> dict:
        job = {**job, **changes, "_stage_at": time.time()}
        self.store.put("jobs", job["id"], job["_seq"], job)
        return job

    def _fail_job(self, job: dict, code: str, message: str, param: str | None) -> dict:
        self._event(job["id"], message, level="error")
        self._event(job["id"], "The job failed", level="error")
        return self._set(job, status="failed", finished_at=now(), estimated_finish=None,
                         error={"code": code, "message": message, "param": param})

    def _validate_job(self, job: dict):
        try:
            train, _ = self._examples(job)
            hp = training.resolve_hyperparameters(job["_requested"], len(train))
        except InvalidFileError as exc:
            code, message, param = exc.code, exc.message, exc.param
            return lambda j: self._fail_job(j, code, message, param)
        except ValueError as exc:
            message = str(exc)
            return lambda j: self._fail_job(j, "invalid_hyperparameters", message,
                                            "hyperparameters")

        def commit(j):
            self._event(j["id"], "Files validated, moving job to queued state")
            self._set(j, status="queued", hyperparameters=dict(hp), _n_train=len(train),
                      method={"type": "supervised", "supervised": {"hyperparameters": dict(hp)}})
        return commit

    def _start_job(self, job: dict, token: str, blobs: list[str]):
        """Enter 'running': train now (no lock held), then commit weights, metrics, checkpoints."""
        if job["_fail"]:
            def started(j):
                self._event(j["id"], "Fine-tuning job started")
                self._set(j, status="running", estimated_finish=now() + 1)
            return started
        parent = None
        if job.get("_parent"):
            record = self.store.get("models", job["_parent"])
            if record is None:
                message = f"Model {job['_parent']} was deleted before the job could start."
                return lambda j: self._fail_job(j, "model_not_available", message, "model")
            parent = SoftmaxModel.from_bytes(self.store.read_blob(record["_blob"]))
        train, valid = self._examples(job)
        extra = {"parent": parent} if parent is not None else {}
        outcome = training.run(train, valid, job["hyperparameters"], job["seed"], **extra)
        model_id = self._model_name(job)
        tag = f"{job['id']}-{token[:8]}"  # per claim: a discarded run never touches a kept one
        model_blob = f"{tag}.npz"
        blobs.append(model_blob)
        self.store.write_blob(model_blob, outcome.model_bytes)
        for ck in outcome.checkpoints:
            blobs.append(f"{tag}-step{ck.step}.npz")
            self.store.write_blob(blobs[-1], ck.model_bytes)
        steps, total = outcome.steps, len(outcome.steps)
        every = max(1, total // METRIC_EVENTS)

        def commit(j):
            self._event(j["id"], "Fine-tuning job started")
            ckpt_steps = {ck.step: ck for ck in outcome.checkpoints}
            for s in steps:
                if s.step % every == 0 or s.step == total:
                    self._metrics_event(j, s, total)
                if s.step in ckpt_steps:
                    self._checkpoint(j, model_id, ckpt_steps[s.step], f"{tag}-step{s.step}.npz")
            results = self._add_file("step_metrics.csv", outcome.results_csv, "fine-tune-results")
            self._set(j, status="running", estimated_finish=now() + 1, _model=model_id,
                      _model_blob=model_blob, _trained_tokens=outcome.trained_tokens,
                      _results=results["id"])
        return commit

    def _metrics_event(self, job: dict, s, total: int) -> None:
        data = {"step": s.step, "total_steps": total, "epoch": s.epoch,
                "train_loss": metric(s.train_loss),
                "train_mean_token_accuracy": metric(s.train_accuracy)}
        message = f"Step {s.step}/{total}: training loss={s.train_loss:.2f}"
        if s.valid_loss is not None:
            data["valid_loss"] = metric(s.valid_loss)
            data["valid_mean_token_accuracy"] = metric(s.valid_accuracy)
            message += f", validation loss={s.valid_loss:.2f}"
        data["learning_rate_multiplier"] = job["hyperparameters"]["learning_rate_multiplier"]
        self._event(job["id"], message, data=data, kind="metrics")

    def _checkpoint(self, job: dict, model_id: str, ck, blob: str) -> None:
        seq = self.store.next_seq("checkpoint")
        ckpt_model = f"{model_id}:ckpt-step-{ck.step}"
        record = {"id": "ftckpt-" + self.store.hex_id("checkpoint", seq),
                  "object": "fine_tuning.job.checkpoint", "created_at": now(),
                  "fine_tuned_model_checkpoint": ckpt_model, "fine_tuning_job_id": job["id"],
                  "step_number": ck.step,
                  "metrics": {k: metric(v) for k, v in ck.metrics.items() if v is not None}}
        self.store.put("checkpoints", record["id"], seq, record, job_id=job["id"], model=ckpt_model)
        self._register_model(ckpt_model, blob, job, hidden=True)
        self._event(job["id"], f"Checkpoint created at step {ck.step}")

    def _finish_job(self, job: dict):
        if job["_fail"]:
            return lambda j: self._fail_job(
                j, "server_error", "The job failed due to an internal error (injected fault).",
                None)

        def commit(j):
            self._register_model(j["_model"], j.get("_model_blob") or f"{j['id']}.npz", j,
                                 hidden=False)
            self._event(j["id"], f"New fine-tuned model created: {j['_model']}")
            self._event(j["id"], "The job has successfully completed")
            self._set(j, status="succeeded", finished_at=now(), fine_tuned_model=j["_model"],
                      estimated_finish=None, trained_tokens=j["_trained_tokens"],
                      result_files=[j["_results"]])
        return commit

    def _model_name(self, job: dict) -> str:
        short = self.store.hex_id("model", job["_seq"], 8)
        if job["_provider"] == "zhipu":
            return f"{BASE_MODEL}:{ZHIPU_ORG_NUMBER}:{job['_suffix']}:{short}"
        return f"ft:{BASE_MODEL}:{ORG}:{job['_suffix']}:{short}"

    def cancel_job(self, job_id: str) -> dict:
        with self.store.transaction():
            job = self._job(job_id)
            if job["status"] in JOB_TERMINAL:
                raise bad_request(f"Job {job_id} has already {job['status']}; it cannot be "
                                  "cancelled.", param="fine_tuning_job_id")
            self.store.release(job_id)  # a stage in flight will find its claim gone
            self._event(job_id, "Fine-tuning job cancelled")
            return self._set(job, status="cancelled", finished_at=now(), estimated_finish=None)

    def delete_job(self, job_id: str) -> dict:
        with self.store.transaction():
            job = self._job(job_id)
            if job["status"] not in JOB_TERMINAL:
                raise bad_request(f"Job {job_id} is {job['status']}; cancel it before deleting "
                                  "it.", param="fine_tuning_job_id")
            self.store.mark_deleted("jobs", job_id)
        return job

    def job_events(self, job_id: str, progression: str = "poll") -> list[dict]:
        self._job(job_id)
        self._progress_listed("job", job_id, progression)
        return self.store.all("events", "job_id = ?", (job_id,))

    def job_checkpoints(self, job_id: str, progression: str = "poll") -> list[dict]:
        self._job(job_id)
        self._progress_listed("job", job_id, progression)
        return self.store.all("checkpoints", "job_id = ?", (job_id,))

    # --------------------------------------------------------------- models
    def _register_model(self, model_id: str, blob: str, job: dict, hidden: bool) -> None:
        seq = self.store.next_seq("model")
        self.store.put("models", model_id, seq, {
            "id": model_id, "object": "model", "created": now(), "owned_by": ORG,
            "_blob": blob, "_job": job["id"], "_hidden": hidden})

    def base_model(self) -> dict:
        return {"id": BASE_MODEL, "object": "model", "created": 1767225600, "owned_by": "sandbox"}

    def list_models(self) -> list[dict]:
        tuned = [m for m in self.store.all("models", newest_first=False) if not m["_hidden"]]
        return [self.base_model(), *tuned]

    def get_model(self, model_id: str) -> dict:
        if model_id == BASE_MODEL:
            return self.base_model()
        record = self.store.get("models", model_id)
        if record is None:
            raise ApiError(404, f"The model `{model_id}` does not exist or you do not have "
                           "access to it.", code="model_not_found", param="model")
        return record

    def delete_model(self, model_id: str) -> dict:
        record = self.get_model(model_id)
        if model_id == BASE_MODEL:
            raise ApiError(403, "You have insufficient permissions for this operation: "
                           f"{BASE_MODEL} is a base model.", code="insufficient_permissions")
        with self.store.transaction():
            self.store.mark_deleted("models", model_id)
        with self._models_lock:
            self._models.pop(model_id, None)
        return record

    def _classifier(self, record: dict) -> SoftmaxModel:
        with self._models_lock:
            model = self._models.get(record["id"])
        if model is None:
            model = SoftmaxModel.from_bytes(self.store.read_blob(record["_blob"]))
            with self._models_lock:
                self._models[record["id"]] = model
        return model

    # ----------------------------------------------------------------- chat
    def chat(self, body: dict, provider: str = "openai") -> dict:
        """A ChatCompletion-shaped dict for a chat request (no state is written).

        Validation, structured outputs and tools live in ``chat`` (the HTTP layer's).
        """
        return chat.complete(self, body, provider)

    # -------------------------------------------------------------- batches
    def create_batch(self, body: dict, progression: str = "poll") -> dict:
        file_id = body.get("input_file_id")
        if not file_id:
            raise bad_request("Missing required parameter: 'input_file_id'.", param="input_file_id")
        record = self.get_file(file_id, param="input_file_id")
        if record["purpose"] != "batch":
            raise bad_request(f"File {file_id} has purpose {record['purpose']!r}; batches need "
                              "purpose 'batch'.", param="input_file_id")
        if body.get("endpoint") != CHAT_URL:
            raise bad_request(f"The sandbox runs batches for {CHAT_URL} only.", param="endpoint")
        if body.get("completion_window", "24h") != "24h":
            raise bad_request("completion_window must be '24h'.", param="completion_window")
        with self.store.transaction():
            seq = self.store.next_seq("batch")
            batch_id = "batch_" + self.store.hex_id("batch", seq)
            created = now()
            batch = {"id": batch_id, "object": "batch", "endpoint": CHAT_URL, "errors": None,
                     "input_file_id": file_id, "completion_window": "24h",
                     "status": "validating", "output_file_id": None, "error_file_id": None,
                     "created_at": created, "in_progress_at": None,
                     "expires_at": created + 86400, "finalizing_at": None,
                     "completed_at": None, "failed_at": None, "expired_at": None,
                     "cancelling_at": None, "cancelled_at": None,
                     "request_counts": {"total": 0, "completed": 0, "failed": 0},
                     "metadata": body.get("metadata"), "_seq": seq, "_stage_at": time.time()}
            self.store.put("batches", batch_id, seq, batch)
        if progression == "instant":
            return self.get_batch(batch_id, progression)
        return batch

    def _batch(self, batch_id: str) -> dict:
        batch = self.store.get("batches", batch_id)
        if batch is None:
            raise not_found("batch", batch_id, "batch_id")
        return batch

    def get_batch(self, batch_id: str, progression: str = "poll", advance: bool = True) -> dict:
        batch = self._batch(batch_id)
        if not advance or batch["status"] in BATCH_TERMINAL:
            return batch
        # A cancelling batch finishes cancelling at the next look, whatever the progression.
        self._progress("batch", batch_id, "instant" if batch["status"] == "cancelling"
                       else progression, listing=False)
        return self._batch(batch_id)

    def list_batches(self, progression: str = "poll") -> list[dict]:
        """All batches, newest first; under 'time' (and 'instant') what is due advances first."""
        for batch in self.store.all("batches"):
            if batch["status"] not in BATCH_TERMINAL:
                self._progress_listed("batch", batch["id"], progression)
        return self.store.all("batches")

    def _save_batch(self, batch: dict, **changes) -> dict:
        batch = {**batch, **changes, "_stage_at": time.time()}
        self.store.put("batches", batch["id"], batch["_seq"], batch)
        return batch

    def _batch_stage(self, batch: dict, token: str, blobs: list[str]):
        status = batch["status"]
        if status == "validating":
            lines, errors = self._batch_lines(batch)
            if errors:
                return lambda b: self._save_batch(b, status="failed", failed_at=now(),
                                                  errors={"object": "list", "data": errors})
            return lambda b: self._save_batch(b, status="in_progress", in_progress_at=now(),
                                              request_counts={"total": len(lines),
                                                              "completed": 0, "failed": 0})
        if status == "in_progress":
            return self._run_batch(batch)
        if status == "cancelling":
            return lambda b: self._save_batch(b, status="cancelled", cancelled_at=now())
        return lambda b: self._save_batch(b, status="completed", completed_at=now(),
                                          output_file_id=b["_output"], error_file_id=b["_errors"])

    def _batch_lines(self, batch: dict) -> tuple[list[dict], list[dict]]:
        lines, errors, seen = [], [], set()
        raw = self.store.read_blob(batch["input_file_id"]).decode("utf-8", errors="replace")
        for n, text in enumerate(raw.splitlines(), start=1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError:
                errors.append({"code": "invalid_json_line", "line": n, "param": None,
                               "message": f"Line {n} is not valid JSON."})
                continue
            problem = None
            if not isinstance(obj, dict) or not isinstance(obj.get("custom_id"), str):
                problem = ("missing_required_parameter", "custom_id", "needs a string custom_id")
            elif obj["custom_id"] in seen:
                problem = ("duplicate_custom_id", "custom_id",
                           f"repeats custom_id {obj['custom_id']!r}")
            elif obj.get("method") != "POST":
                problem = ("invalid_method", "method", "needs method 'POST'")
            elif obj.get("url") != CHAT_URL:
                problem = ("invalid_url", "url", f"needs url {CHAT_URL!r}")
            elif not isinstance(obj.get("body"), dict):
                problem = ("missing_required_parameter", "body", "needs a JSON object body")
            elif found := textcheck.find_surrogate(obj):  # sbrobust: not valid Unicode
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

    def _run_batch(self, batch: dict):
        """Answer every request (no lock held); the commit writes the output files."""
        lines, _ = self._batch_lines(batch)
        done, failed = [], []
        for i, line in enumerate(lines):
            request_id = "req_" + self.store.hex_id(f"{batch['id']}:req", i, 32)
            try:
                result = {"status_code": 200, "request_id": request_id,
                          "body": self.chat(line["body"])}
                target = done
            except ApiError as exc:
                result = {"status_code": exc.status, "request_id": request_id, "body": {
                    "error": {"message": exc.message, "type": exc.type, "param": exc.param,
                              "code": exc.code}}}
                target = failed
            except Exception:  # one request's crash fails that request, not the batch
                log.exception("sandbox batch %s: request %s failed", batch["id"], i)
                result = {"status_code": 500, "request_id": request_id, "body": {"error": {
                    "message": "The server had an error while processing this request.",
                    "type": "server_error", "param": None, "code": "server_error"}}}
                target = failed
            target.append({"id": "batch_req_" + self.store.hex_id(f"{batch['id']}:line", i),
                           "custom_id": line["custom_id"], "response": result, "error": None})
        # Completion order is not input order: callers must join on custom_id.
        random.Random(batch["_seq"]).shuffle(done)
        to_jsonl = lambda rows: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)

        def commit(b):
            out = self._add_file(f"{b['id']}_output.jsonl", to_jsonl(done).encode(),
                                 "batch_output")
            err = (self._add_file(f"{b['id']}_error.jsonl", to_jsonl(failed).encode(),
                                  "batch_output") if failed else None)
            self._save_batch(b, status="finalizing", finalizing_at=now(), _output=out["id"],
                             _errors=err["id"] if err else None,
                             request_counts={"total": len(lines), "completed": len(done),
                                             "failed": len(failed)})
        return commit

    def cancel_batch(self, batch_id: str) -> dict:
        with self.store.transaction():
            batch = self._batch(batch_id)
            if batch["status"] in BATCH_TERMINAL or batch["status"] == "cancelling":
                raise bad_request(f"Batch {batch_id} is {batch['status']} and cannot be cancelled.",
                                  param="batch_id")
            self.store.release(batch_id)  # a run in flight will find its claim gone
            return self._save_batch(batch, status="cancelling", cancelling_at=now())
