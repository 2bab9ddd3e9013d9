"""Upload with reuse, and idempotent job creation behind a cost guard.

The idempotency key is a sha256 over backend, SDK, base model, training-file
hash, validation-file hash, hyperparameters, suffix and seed. A second job for
the same key needs ``force=True``. Before creating, the local store is asked,
then the API (OpenAI: ``jobs.list(metadata={"course_key": key})``; Zhipu: the
job's ``request_id``), so a new work directory still finds a job made earlier.

"Look up, else create" runs under the job store's claim (``JobStore.lock``),
so two threads or processes sharing a work directory make one upload and one
job between them: the second waits, then attaches to what the first made.
Local records are keyed on the backend's identity (``Settings.identity``).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

from .. import chat_format, clients, config, prices, tokens
from . import sdk
from .errors import CostLimitError, NotFoundError
from .store import JobRecord, JobStore

DEFAULT_MAX_COST_USD = 1.0
# Where no training price is published (Zhipu), a budget in billed tokens guards a run
# instead: 2M tokens is ~6,000 course-sized examples for 3 epochs, 10x the course's run.
DEFAULT_MAX_TRAINED_TOKENS = 2_000_000
PURPOSE = "fine-tune"


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def backend_id(settings: config.Settings) -> str:
    """The store's name for a backend: its identity (provider, URL, sandbox instance id).

    A record made against another sandbox instance or server must never match.
    """
    return settings.identity


def settings_for(client, settings: config.Settings | None) -> config.Settings:
    """``settings`` if given, else those the client was made with, else ``config.resolve()``."""
    return settings or clients.settings_of(client) or config.resolve()


def identity_for(client, settings: config.Settings | None) -> str:
    """The backend identity records are keyed on: the given settings', else the client's.

    A client made outside ``helpers.clients`` is named by its base URL.
    """
    return backend_id(settings) if settings is not None else clients.identity_of(client)


def idempotency_key(backend: str, sdk_name: str, model: str, training_sha256: str,
                    validation_sha256: str | None, params: dict) -> str:
    blob = json.dumps({"backend": backend, "sdk": sdk_name, "model": model,
                       "training": training_sha256, "validation": validation_sha256,
                       "params": params}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _params(n_epochs, batch_size, learning_rate_multiplier, suffix, seed) -> dict:
    return {"n_epochs": n_epochs, "batch_size": batch_size,
            "learning_rate_multiplier": learning_rate_multiplier, "suffix": suffix, "seed": seed}


def job_key(client, training_file: str | Path, *, model: str,
            validation_file: str | Path | None = None, n_epochs="auto", batch_size="auto",
            learning_rate_multiplier="auto", suffix: str | None = None, seed: int | None = None,
            settings: config.Settings | None = None) -> str:
    """The idempotency key ``submit`` sends for these inputs (metadata ``course_key`` / request_id).

    A job created by hand with this key in its metadata (OpenAI) or request_id
    (Zhipu, ``request_id(key)``) is the job ``submit`` attaches to.
    """
    valid_sha = file_sha256(validation_file) if validation_file else None
    return _key(client, settings_for(client, settings), model, file_sha256(training_file),
                valid_sha, _params(n_epochs, batch_size, learning_rate_multiplier, suffix, seed))


def _key(client, resolved: config.Settings, model: str, train_sha: str, valid_sha: str | None,
         params: dict) -> str:
    # The key travels to the API, so it names the backend, not a local path:
    # recorded requests then replay byte-for-byte from another sandbox dir.
    return idempotency_key(resolved.backend, sdk.sdk_name(client), model, train_sha, valid_sha,
                           params)


def find_jobs(client, key: str) -> list:
    """The SDK jobs already created for ``key`` (by any run, any process), latest attempt first.

    OpenAI: ``jobs.list(metadata={"course_key": key})``; Zhipu: the jobs whose
    request_id carries the key. Filtered here too, for servers that ignore the filter.
    """
    return sorted(sdk.list_jobs(client, key=key), key=sdk.job_attempt, reverse=True)


def request_id(key: str, attempt: int = 1) -> str:
    """The Zhipu ``request_id`` that carries ``key`` (OpenAI carries it in metadata)."""
    return sdk.request_id(key, attempt)


def estimate_cost(training_file: str | Path, model: str, n_epochs="auto",
                  ) -> tuple[tokens.TrainingEstimate, float | None]:
    """Billed tokens the file should cost on ``model`` (``helpers.tokens``), and the USD price.

    The price is None where the course knows none (never guessed), e.g. Zhipu.
    """
    return _estimate(tokens.load_chat_jsonl(training_file), model, n_epochs)


def open_store(settings: config.Settings | None = None, work_dir: str | Path | None = None,
               ) -> JobStore:
    """The job store ``<work_dir>/jobs.sqlite`` (default: ``config.work_dir(settings)``)."""
    return store_for(None, settings, work_dir)


def store_for(client, settings: config.Settings | None, work_dir) -> JobStore:
    """``open_store``, resolving settings (the client's, else ``config``) only if needed."""
    if work_dir:
        return JobStore(Path(work_dir))
    return JobStore(config.work_dir(settings_for(client, settings)))


def upload(client, path: str | Path, *, settings: config.Settings | None = None,
           work_dir: str | Path | None = None, purpose: str = PURPOSE) -> str:
    """Upload ``path`` unless a file with the same content is already there; its id.

    The uploaded name carries the first 12 hex digits of the content hash, so
    the file is also recognised from ``files.list`` (by name and size) when
    the local store does not know it.
    """
    path = Path(path)
    return upload_bytes(client, path, path.read_bytes(), settings=settings, work_dir=work_dir,
                        purpose=purpose)


def upload_bytes(client, path: str | Path, data: bytes, *,
                 settings: config.Settings | None = None, work_dir: str | Path | None = None,
                 purpose: str = PURPOSE) -> str:
    """``upload`` of ``data`` already read from ``path``: the bytes hashed are the bytes sent."""
    backend, sdk_name = identity_for(client, settings), sdk.sdk_name(client)
    store = store_for(client, settings, work_dir)
    path = Path(path)
    sha = hashlib.sha256(data).hexdigest()
    with store.lock("file", backend, sdk_name, sha, purpose):
        return _upload(client, store, backend, sdk_name, path, data, sha, purpose)


def _upload(client, store: JobStore, backend: str, sdk_name: str, path: Path, data: bytes,
            sha: str, purpose: str) -> str:
    name = f"{path.stem}-{sha[:12]}{path.suffix}"
    remote = {f.id: f for f in sdk.list_files(client, purpose)}
    known = store.file_id(backend, sdk_name, sha, purpose)
    if known and known in remote and sdk.same_file(remote[known], name, len(data)):
        return known
    for file in remote.values():
        if sdk.same_file(file, name, len(data)):
            store.save_file(backend, sdk_name, sha, purpose, file.id, name, len(data))
            return file.id
    created = sdk.upload_file(client, name, data, purpose)
    store.save_file(backend, sdk_name, sha, purpose, created.id, name, len(data))
    return created.id


def _estimate(examples, model: str, n_epochs) -> tuple[tokens.TrainingEstimate, float | None]:
    try:
        estimate = tokens.estimate_training(examples, model, n_epochs)
    except KeyError:  # no tokenizer known (e.g. chatglm3-6b): Zhipu's chars/1.6 estimate
        per_epoch = tokens.zhipu_estimated_tokens(examples)
        epochs = (chat_format.auto_epochs(len(examples)) if n_epochs in (None, "auto")
                  else int(n_epochs))
        estimate = tokens.TrainingEstimate(model, len(examples), epochs, None, per_epoch,
                                           per_epoch * epochs)
    return estimate, prices.training_cost(estimate.billed_tokens, model)


def check_cost(estimate: tokens.TrainingEstimate, cost_usd: float | None,
               max_cost_usd: float | None, max_trained_tokens: int | None = None) -> None:
    """Refuse when the estimate is over ``max_cost_usd``, or unknown while a cap is set,
    or over ``max_trained_tokens`` (billed tokens) when that is set.

    ``max_cost_usd=None`` means "no money cap": it is the explicit way to submit to a
    backend whose training price nobody could confirm (Zhipu); there the token
    budget ``max_trained_tokens`` still guards the run.
    """
    what = (f"{estimate.billed_tokens:,} billed tokens ({estimate.tokens_per_epoch:,} per epoch "
            f"× {estimate.epochs} epochs) on {estimate.model}")
    if max_trained_tokens is not None and estimate.billed_tokens > max_trained_tokens:
        price = ("" if cost_usd is not None else
                 f" (no published training price for {estimate.model}, so a token budget "
                 f"guards the run)")
        raise CostLimitError(
            f"Not submitted: the estimate is {what}, over max_trained_tokens="
            f"{max_trained_tokens:,}{price}; raise max_trained_tokens or use fewer "
            f"examples/epochs.")
    if max_cost_usd is None:
        return
    if cost_usd is None:
        raise CostLimitError(
            f"Not submitted: the training price of {estimate.model} is unknown (never guessed), "
            f"so the estimate of {what} cannot be checked against max_cost_usd={max_cost_usd}; "
            "pass max_cost_usd=None to submit anyway.")
    if cost_usd > max_cost_usd:
        raise CostLimitError(
            f"Not submitted: the estimated cost is ${cost_usd:.2f} for {what}, over "
            f"max_cost_usd=${max_cost_usd:.2f}; raise max_cost_usd or use fewer examples/epochs.")


def _attach(client, store: JobStore, record: JobRecord) -> JobRecord | None:
    """The stored record refreshed from the API; None if the API no longer has it."""
    try:
        job = sdk.retrieve(client, record.job_id)
    except NotFoundError:
        store.forget_job(record.backend, record.sdk, record.job_id)
        return None
    if getattr(job, "training_file", None) not in (record.training_file, None):
        store.forget_job(record.backend, record.sdk, record.job_id)
        return None
    record = store.update_job(record.backend, record.sdk, record.job_id, status=job.status,
                              fine_tuned_model=job.fine_tuned_model)
    record.attached = True
    return record


def submit(client, training_file: str | Path, *, model: str,
           settings: config.Settings | None = None, work_dir: str | Path | None = None,
           validation_file: str | Path | None = None, n_epochs="auto", batch_size="auto",
           learning_rate_multiplier="auto", suffix: str | None = None, seed: int | None = None,
           metadata: dict | None = None, max_cost_usd: float | None = DEFAULT_MAX_COST_USD,
           force: bool = False, verbose: bool = True,
           max_trained_tokens: int | None = None) -> JobRecord:
    """Create a supervised fine-tuning job once; later calls attach to it.

    Returns the store's ``JobRecord`` (``.attached`` is True when an existing
    job was found). ``force=True`` creates another job for the same inputs.
    The cost guard runs only when a new job would be created: ``max_cost_usd``
    where the price is known, ``max_trained_tokens`` (billed tokens) where set.
    """
    backend, sdk_name = identity_for(client, settings), sdk.sdk_name(client)
    resolved = settings_for(client, settings)
    store = store_for(client, resolved, work_dir)
    # Each file is read once: the bytes checked and hashed are the bytes uploaded, even if
    # a notebook rewrites the file meanwhile.
    train = _Read.of(training_file)
    valid = _Read.of(validation_file) if validation_file else None
    examples = tokens.chat_examples(train.data, train.path)
    if valid is not None:
        tokens.chat_examples(valid.data, valid.path)  # fail early, with file and line
    train_sha, valid_sha = train.sha256, valid.sha256 if valid else None
    params = _params(n_epochs, batch_size, learning_rate_multiplier, suffix, seed)
    key = _key(client, resolved, model, train_sha, valid_sha, params)

    estimate, cost = _estimate(examples, model, n_epochs)
    new = JobRecord(backend=backend, sdk=sdk_name, job_id="", key=key, attempt=0, model=model,
                    training_file="", training_sha256=train_sha, validation_sha256=valid_sha,
                    params=params, estimated_tokens=estimate.billed_tokens,
                    estimated_cost_usd=cost)
    with store.lock("job", backend, sdk_name, key):
        if not force:
            found = _find_existing(client, store, new)
            if found is not None:
                if verbose:
                    print(f"Attached to existing job {found.job_id} ({found.status}); "
                          "no new job created. Pass force=True to start another one.")
                return found
        record = _create(client, store, settings, new, train, valid, estimate, cost,
                         max_cost_usd, metadata, verbose, max_trained_tokens)
    if verbose:
        price = "unknown price" if cost is None else f"≈ ${cost:.2f}"
        print(f"Created job {record.job_id}: {estimate.billed_tokens:,} estimated billed tokens, "
              f"{price}.")
    return record


@dataclass(frozen=True)
class _Read:
    """A file's bytes read once, with their hash."""

    path: Path
    data: bytes
    sha256: str

    @classmethod
    def of(cls, path) -> _Read:
        path = Path(path)
        data = path.read_bytes()
        return cls(path, data, hashlib.sha256(data).hexdigest())


def _create(client, store: JobStore, settings, new: JobRecord, train: _Read,
            valid: _Read | None, estimate, cost, max_cost_usd, metadata,
            verbose: bool = True, max_trained_tokens: int | None = None) -> JobRecord:
    """Upload the files and create the job (the caller holds the claim)."""
    backend, sdk_name, key, params = new.backend, new.sdk, new.key, new.params
    check_cost(estimate, cost, max_cost_usd, max_trained_tokens)
    work = store.path.parent
    train_id = upload_bytes(client, train.path, train.data, settings=settings, work_dir=work)
    valid_id = (upload_bytes(client, valid.path, valid.data, settings=settings, work_dir=work)
                if valid is not None else None)
    attempt = store.attempts(backend, sdk_name, key) + 1
    hyper = sdk.hyperparameters(params["n_epochs"], params["batch_size"],
                                params["learning_rate_multiplier"])
    job = sdk.create_job(client, model=new.model, training_file=train_id,
                         validation_file=valid_id, hyper=hyper, suffix=params["suffix"],
                         seed=params["seed"], metadata=metadata, key=key, attempt=attempt,
                         verbose=verbose)
    return store.save_job(replace(new, job_id=job.id, attempt=attempt, training_file=train_id,
                                  validation_file=valid_id, status=job.status), new=True)


def _find_existing(client, store: JobStore, new: JobRecord) -> JobRecord | None:
    """The job already made for ``new.key``: from the store, else from the API."""
    record = store.latest_for_key(new.backend, new.sdk, new.key)
    if record is not None:
        record = _attach(client, store, record)
        if record is not None:
            return record
    remote = find_jobs(client, new.key)
    if not remote:
        return None
    job = remote[0]
    record = store.save_job(replace(
        new, job_id=job.id, attempt=sdk.job_attempt(job), training_file=job.training_file,
        validation_file=job.validation_file, status=job.status,
        fine_tuned_model=job.fine_tuned_model))
    record.attached = True
    return record
