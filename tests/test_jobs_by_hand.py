"""A job created by hand with the official SDK is the job ``jobs.submit`` attaches to (notebook 04).

Notebook 04 calls ``client.fine_tuning.jobs.create`` itself, with the course's
idempotency key (``jobs.job_key``) in ``metadata`` (OpenAI) or ``request_id``
(Zhipu), after ``jobs.find_jobs`` found none. ``jobs.submit`` — and so
``pipeline.fine_tune`` in 05 and 06 — must then attach to that job, never
create a second one.
"""
import pytest
from test_jobs_sandbox import write_training

from helpers import clients, config, jobs, tokens


@pytest.fixture
def env(tmp_path):
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sandbox")
    train = write_training(tmp_path / "train.jsonl", n=12)
    valid = write_training(tmp_path / "valid.jsonl", n=6, tag="验证")
    return settings, tmp_path / "work", train, valid


SPEC = dict(model="sandbox-base", n_epochs=2, suffix="course", seed=7)


def _by_hand(client, sdk, train, valid, key):
    with open(train, "rb") as f:
        train_id = client.files.create(file=f, purpose="fine-tune").id
    with open(valid, "rb") as f:
        valid_id = client.files.create(file=f, purpose="fine-tune").id
    if sdk == "openai":
        return client.fine_tuning.jobs.create(
            model="sandbox-base", training_file=train_id, validation_file=valid_id,
            method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}},
            suffix="course", seed=7, metadata={"course_key": key, "course_attempt": "1"})
    return client.fine_tuning.jobs.create(
        model="sandbox-base", training_file=train_id, validation_file=valid_id,
        hyperparameters={"n_epochs": 2}, suffix="course", request_id=jobs.request_id(key))


@pytest.mark.parametrize("sdk", ["openai", "zhipu"])
def test_submit_attaches_to_a_job_created_by_hand(env, sdk, capsys):
    settings, work, train, valid = env
    client = clients.client(settings, sdk=sdk)
    key = jobs.job_key(client, train, validation_file=valid, settings=settings, **SPEC)
    assert jobs.find_jobs(client, key) == []
    made = _by_hand(client, sdk, train, valid, key)
    assert [j.id for j in jobs.find_jobs(client, key)] == [made.id]
    record = jobs.submit(client, train, validation_file=valid, settings=settings, work_dir=work,
                         verbose=False, **SPEC)
    assert record.job_id == made.id and record.attached and record.key == key
    assert record.training_file == made.training_file
    job = jobs.wait(client, record, settings=settings, progress=False)
    assert job.status == "succeeded"
    assert jobs.ledger(record)["billed_tokens"] == job.trained_tokens == record.estimated_tokens
    # a fresh work directory (another machine, a deleted store) finds it through the API
    again = jobs.submit(client, train, validation_file=valid, settings=settings,
                        work_dir=work.parent / "other-work", verbose=False, **SPEC)
    assert again.job_id == made.id and again.attached
    assert len(jobs.list_jobs(client)) == 1
    # a changed input is another key, so another job; metadata is not part of the key
    assert jobs.job_key(client, train, validation_file=valid, settings=settings,
                        **{**SPEC, "seed": 8}) != key
    assert jobs.submit(client, train, validation_file=valid, settings=settings, work_dir=work,
                       metadata={"note": "x"}, verbose=False, **SPEC).job_id == made.id
    assert "Zhipu" not in capsys.readouterr().out  # nothing was created, so nothing was dropped


def test_the_key_depends_on_the_sdk_and_the_backend_not_on_a_directory(env, tmp_path):
    settings, _, train, valid = env
    openai_key = jobs.job_key(clients.client(settings, sdk="openai"), train, validation_file=valid,
                              settings=settings, **SPEC)
    zhipu_key = jobs.job_key(clients.client(settings, sdk="zhipu"), train, validation_file=valid,
                             settings=settings, **SPEC)
    assert openai_key != zhipu_key
    other = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "other-sandbox")
    assert jobs.job_key(clients.client(other, sdk="openai"), train, validation_file=valid,
                        settings=other, **SPEC) == openai_key  # replays from any sandbox dir
    assert jobs.request_id(openai_key) == f"course-{openai_key[:32]}-1"


def test_estimate_cost_is_the_estimate_submit_guards_with(env):
    _, _, train, _ = env
    estimate, usd = jobs.estimate_cost(train, "gpt-4o-mini-2024-07-18", 3)
    expected = tokens.estimate_training(tokens.load_chat_jsonl(train), "gpt-4o-mini-2024-07-18", 3)
    assert estimate.billed_tokens == expected.billed_tokens == 3 * expected.tokens_per_epoch
    assert usd == pytest.approx(estimate.billed_tokens * 3.0 / 1e6)
    with pytest.raises(jobs.CostLimitError, match="over max_cost_usd"):
        jobs.check_cost(estimate, usd, 0.0)
    _, unknown = jobs.estimate_cost(train, "glm-4-flash")
    assert unknown is None  # never guessed


def test_zhipu_says_in_one_sentence_what_it_did_not_send(env, capsys):
    settings, work, train, _ = env
    client = clients.client(settings, sdk="zhipu")
    jobs.submit(client, train, model="sandbox-base", seed=1, metadata={"a": "b"},
                settings=settings, work_dir=work, max_cost_usd=None)
    out = capsys.readouterr().out
    assert ("Zhipu's fine-tuning API has no seed or metadata parameter, "
            "so they were not sent.") in out


def test_events_and_job_lists_show_counts_as_integers(env):
    settings, work, train, _ = env
    client = clients.client(settings, sdk="openai")
    record = jobs.submit(client, train, model="sandbox-base", n_epochs=1, settings=settings,
                         work_dir=work, verbose=False)
    job = jobs.wait(client, record, settings=settings, progress=False)
    events = jobs.events(client, job.id)
    assert str(events["step"].dtype) == "Int64" and str(events["total_steps"].dtype) == "Int64"
    assert events["step"].isna().any()  # message events have no step: <NA>, not NaN
    other = jobs.submit(client, train, model="sandbox-base", n_epochs=2, settings=settings,
                        work_dir=work, verbose=False)
    jobs.cancel(client, other.job_id)
    listed = jobs.list_jobs(client)
    assert str(listed["trained_tokens"].dtype) == "Int64"
    assert (listed["trained_tokens"].isna().sum() == 1
            and listed["fine_tuned_model"].isna().sum() == 1)
    assert "nan" not in listed.to_string().lower()
