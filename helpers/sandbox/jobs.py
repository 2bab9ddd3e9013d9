"""Fine-tuning jobs: creation, the stage machine, pause/resume, cancel, events, checkpoints.

Stages: validating_files -> queued -> running -> succeeded (or failed). The
queued -> running stage trains (``training.run``, no lock held); its commit
writes metrics events, checkpoints and the results file. A paused job does not
advance; resuming returns it to the status it was paused in.
"""
from __future__ import annotations

import threading
import time

from . import catalog, dialects, training
from .classifier import SoftmaxModel
from .errors import TrainingFailed, bad_request, not_found
from .files import Files
from .models import ORG, Models
from .records import Checkpoint, Event, Job, metric, now
from .schemas import JobRequest
from .stages import StagedObjects
from .store import StateError
from .validation import InvalidFileError, parse_examples

JOB_TERMINAL = ("succeeded", "failed", "cancelled")
JOB_ACTIVE = ("validating_files", "queued", "running")  # the statuses a job can be paused in
METRIC_EVENTS = 100  # at most this many "Step i/N" events per job
PARSED_FILES_KEPT = 8


class Jobs(StagedObjects):
    kind, table, record_type = "job", "jobs", Job
    terminal = JOB_TERMINAL
    waiting = ("paused",)

    def __init__(self, store, files: Files, models: Models, encoding):
        super().__init__(store)
        self.files, self.models, self.encoding = files, models, encoding
        # A job reads its files at validation and again at training, and the course trains
        # several jobs on one file: files never change, so their parsed examples are kept.
        self._parsed: dict[tuple, list] = {}
        self._parsed_lock = threading.Lock()

    # ------------------------------------------------------------- requests
    def create(self, request: JobRequest, provider: str = "openai", fail: bool = False) -> Job:
        """A new job for a request whose body rules ``schemas`` checked; here only what needs
        state: the model can be fine-tuned (or continued), the files exist."""
        parent = self._parent_model(request.model, dialects.get(provider))
        self.files.get(request.training_file, param="training_file")
        if request.validation_file is not None:
            self.files.get(request.validation_file, param="validation_file")
        seed = request.seed
        if seed is None:  # the same data gives the same seed, in any sandbox directory
            seed = int(self.store.blob_sha256(request.training_file)[:8], 16) % 2 ** 31
        requested = dict(request.hyperparameters)
        shown = {k: requested.get(k, "auto") for k in
                 ("n_epochs", "batch_size", "learning_rate_multiplier")}
        with self.store.transaction():
            seq = self.store.next_seq("job")
            job = Job(id="ftjob-" + self.store.hex_id("job", seq), created_at=now(),
                      model=request.model, training_file=request.training_file,
                      hyperparameters=shown,
                      method={"type": "supervised", "supervised": {"hyperparameters": shown}},
                      seed=int(seed), organization_id=ORG,
                      validation_file=request.validation_file, metadata=request.metadata,
                      provider=provider, suffix=request.suffix, seq=seq, fail=bool(fail),
                      requested=requested, stage_at=time.time(), parent=parent,
                      request_id=request.request_id)
            self.store.put("jobs", job.id, seq, job.to_row())
            self.event(job.id, f"Created fine-tuning job: {job.id}")
            self.event(job.id, f"Validating training file: {job.training_file}"
                       + (f" and validation file: {job.validation_file}"
                          if job.validation_file else ""))
        return job

    def _parent_model(self, model: str, dialect) -> str | None:
        """None to start from the base model, or the fine-tuned model to continue training."""
        spec = catalog.spec(model)
        if spec is not None:
            if not spec.fine_tunable:
                raise dialect.not_fine_tunable(model)
            return None
        record = self.models.tuned(model)
        if record is None:
            raise dialect.unknown_model(model)
        if not dialect.fine_tunes_fine_tunes():
            raise dialect.cannot_continue(model, catalog.BASE_MODEL)
        if record.hidden:  # checkpoints are not accepted as a base
            raise dialect.not_fine_tunable(model)
        return model

    def load(self, job_id: str) -> Job:
        row = self.store.get("jobs", job_id)
        if row is None:
            raise not_found("fine_tuning_job", job_id, "fine_tuning_job_id")
        return Job.from_row(row)

    def get(self, job_id: str, progression: str = "poll", advance: bool = True) -> Job:
        """The job; under 'poll' a retrieve advances it one stage, 'time'/'instant' catch up."""
        job = self.load(job_id)
        if not advance or not self.runnable(job.status):
            return job
        self.progress(job_id, progression, listing=False)
        return self.load(job_id)

    def list(self, progression: str = "poll", metadata: dict | None = None,
             null_metadata: bool = False) -> list[Job]:
        """All jobs, newest first, those whose metadata has every given key=value (or none
        when ``null_metadata``); under 'time'/'instant' what is due advances first."""
        for job in self._all():
            if self.runnable(job.status):
                self.progress_listed(job.id, progression)
        jobs = self._all()
        if null_metadata:
            return [j for j in jobs if not j.metadata]
        if metadata:
            jobs = [j for j in jobs
                    if all((j.metadata or {}).get(k) == v for k, v in metadata.items())]
        return jobs

    def _all(self) -> list[Job]:
        return [Job.from_row(r) for r in self.store.all("jobs")]

    def cancel(self, job_id: str) -> Job:
        with self.store.transaction():
            job = self.load(job_id)
            if job.status in JOB_TERMINAL:
                raise bad_request(f"Job {job_id} has already {job.status}; it cannot be "
                                  "cancelled.", param="fine_tuning_job_id")
            self.store.release(job_id)  # a stage in flight will find its claim gone
            self.event(job_id, "Fine-tuning job cancelled")
            return self.save(job, status="cancelled", finished_at=now(), estimated_finish=None,
                             paused_from=None)

    def pause(self, job_id: str) -> Job:
        with self.store.transaction():
            job = self.load(job_id)
            if job.status not in JOB_ACTIVE:
                raise bad_request(f"Job {job_id} is {job.status}; only a job that is validating "
                                  "files, queued or running can be paused.",
                                  param="fine_tuning_job_id", code="invalid_job_status")
            self.store.release(job_id)  # a stage in flight is redone after the resume
            self.event(job_id, "Fine-tuning job paused")
            return self.save(job, status="paused", paused_from=job.status)

    def resume(self, job_id: str) -> Job:
        with self.store.transaction():
            job = self.load(job_id)
            if job.status != "paused":
                raise bad_request(f"Job {job_id} is {job.status}; only a paused job can be "
                                  "resumed.", param="fine_tuning_job_id",
                                  code="invalid_job_status")
            self.event(job_id, "Fine-tuning job resumed")
            return self.save(job, status=job.paused_from or "running", paused_from=None)

    def delete(self, job_id: str) -> Job:
        with self.store.transaction():
            job = self.load(job_id)
            if job.status not in JOB_TERMINAL:
                raise bad_request(f"Job {job_id} is {job.status}; cancel it before deleting "
                                  "it.", param="fine_tuning_job_id")
            self.store.mark_deleted("jobs", job_id)
        return job

    def events(self, job_id: str, progression: str = "poll") -> list[Event]:
        self.load(job_id)
        self.progress_listed(job_id, progression)
        return [Event.from_row(r) for r in self.store.all("events", "job_id = ?", (job_id,))]

    def checkpoints(self, job_id: str, progression: str = "poll") -> list[Checkpoint]:
        self.load(job_id)
        self.progress_listed(job_id, progression)
        return [Checkpoint.from_row(r)
                for r in self.store.all("checkpoints", "job_id = ?", (job_id,))]

    def event(self, job_id: str, message: str, level: str = "info", data=None,
              kind: str = "message") -> None:
        seq = self.store.next_seq("event")
        event = Event(id="ftevent-" + self.store.hex_id("event", seq), created_at=now(),
                      level=level, message=message, data=data or {}, type=kind)
        self.store.put("events", event.id, seq, event.to_row(), job_id=job_id)

    # --------------------------------------------------------------- stages
    def work(self, job: Job, token: str, blobs: list[str]):
        if job.status == "validating_files":
            return self._validate(job)
        if job.status == "queued":
            try:
                return self._start(job, token, blobs)
            except TrainingFailed as exc:  # e.g. the loss became NaN: the job fails, cleanly
                self._discard(blobs)
                blobs.clear()
                code, message, param = exc.code, exc.message, exc.param
                return lambda j: self.fail(j, code, message, param)
        return self._finish(job)

    def crashed(self, exc: Exception):
        # a damaged state file's message names the file and how to reset: keep it whole
        detail = str(exc) if isinstance(exc, StateError) else f"{type(exc).__name__}: {exc}"[:300]
        message = f"The job failed due to an internal error in the sandbox ({detail})."
        return lambda job: self.fail(job, "server_error", message, None)

    def fail(self, job: Job, code: str, message: str, param: str | None) -> Job:
        self.event(job.id, message, level="error")
        self.event(job.id, "The job failed", level="error")
        return self.save(job, status="failed", finished_at=now(), estimated_finish=None,
                         error={"code": code, "message": message, "param": param})

    def examples(self, job: Job):
        train = self._parsed_file(job.training_file, "training_file")
        valid = []
        if job.validation_file:
            valid = self._parsed_file(job.validation_file, "validation_file", minimum=1)
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

    def _validate(self, job: Job):
        try:
            train, _ = self.examples(job)
            hp = training.resolve_hyperparameters(job.requested or {}, len(train))
        except InvalidFileError as exc:
            code, message, param = exc.code, exc.message, exc.param
            return lambda j: self.fail(j, code, message, param)

        def commit(j: Job):
            self.event(j.id, "Files validated, moving job to queued state")
            self.save(j, status="queued", hyperparameters=dict(hp), n_train=len(train),
                      method={"type": "supervised", "supervised": {"hyperparameters": dict(hp)}})
        return commit

    def _start(self, job: Job, token: str, blobs: list[str]):
        """Enter 'running': train now (no lock held), then commit weights, metrics, checkpoints."""
        if job.fail:
            def started(j: Job):
                self.event(j.id, "Fine-tuning job started")
                self.save(j, status="running", estimated_finish=now() + 1)
            return started
        extra = {}
        if job.parent:
            record = self.models.tuned(job.parent)
            if record is None:
                message = f"Model {job.parent} was deleted before the job could start."
                return lambda j: self.fail(j, "model_not_available", message, "model")
            extra["parent"] = SoftmaxModel.from_bytes(self.store.read_blob(record.blob))
        train, valid = self.examples(job)
        outcome = training.run(train, valid, job.hyperparameters, job.seed, **extra)
        short = self.store.hex_id("model", job.seq, 8)
        model_id = dialects.get(job.provider).model_name(catalog.BASE_MODEL, job.suffix, short)
        tag = f"{job.id}-{token[:8]}"  # per claim: a discarded run never touches a kept one
        model_blob = f"{tag}.npz"
        blobs.append(model_blob)
        self.store.write_blob(model_blob, outcome.model_bytes)
        for ck in outcome.checkpoints:
            blobs.append(f"{tag}-step{ck.step}.npz")
            self.store.write_blob(blobs[-1], ck.model_bytes)
        steps, total = outcome.steps, len(outcome.steps)
        every = max(1, total // METRIC_EVENTS)

        def commit(j: Job):
            self.event(j.id, "Fine-tuning job started")
            ckpt_steps = {ck.step: ck for ck in outcome.checkpoints}
            for s in steps:
                if s.step % every == 0 or s.step == total:
                    self._metrics_event(j, s, total)
                if s.step in ckpt_steps:
                    self._checkpoint(j, model_id, ckpt_steps[s.step], f"{tag}-step{s.step}.npz")
            results = self.files.add("step_metrics.csv", outcome.results_csv, "fine-tune-results")
            self.save(j, status="running", estimated_finish=now() + 1, tuned_model=model_id,
                      model_blob=model_blob, pending_tokens=outcome.trained_tokens,
                      results_file=results.id)
        return commit

    def _metrics_event(self, job: Job, s, total: int) -> None:
        data = {"step": s.step, "total_steps": total, "epoch": s.epoch,
                "train_loss": metric(s.train_loss),
                "train_mean_token_accuracy": metric(s.train_accuracy)}
        message = f"Step {s.step}/{total}: training loss={s.train_loss:.2f}"
        if s.valid_loss is not None:
            data["valid_loss"] = metric(s.valid_loss)
            data["valid_mean_token_accuracy"] = metric(s.valid_accuracy)
            message += f", validation loss={s.valid_loss:.2f}"
        data["learning_rate_multiplier"] = job.hyperparameters["learning_rate_multiplier"]
        self.event(job.id, message, data=data, kind="metrics")

    def _checkpoint(self, job: Job, model_id: str, ck, blob: str) -> None:
        seq = self.store.next_seq("checkpoint")
        ckpt_model = f"{model_id}:ckpt-step-{ck.step}"
        record = Checkpoint(id="ftckpt-" + self.store.hex_id("checkpoint", seq),
                            created_at=now(), fine_tuned_model_checkpoint=ckpt_model,
                            fine_tuning_job_id=job.id, step_number=ck.step,
                            metrics={k: metric(v) for k, v in ck.metrics.items()
                                     if v is not None})
        self.store.put("checkpoints", record.id, seq, record.to_row(), job_id=job.id,
                       model=ckpt_model)
        self.models.register(ckpt_model, blob, job.id, hidden=True)
        self.event(job.id, f"Checkpoint created at step {ck.step}")

    def _finish(self, job: Job):
        if job.fail:
            return lambda j: self.fail(
                j, "server_error", "The job failed due to an internal error (injected fault).",
                None)

        def commit(j: Job):
            self.models.register(j.tuned_model, j.model_blob or f"{j.id}.npz", j.id,
                                 hidden=False)
            self.event(j.id, f"New fine-tuned model created: {j.tuned_model}")
            self.event(j.id, "The job has successfully completed")
            self.save(j, status="succeeded", finished_at=now(), fine_tuned_model=j.tuned_model,
                      estimated_finish=None, trained_tokens=j.pending_tokens,
                      result_files=[j.results_file])
        return commit

