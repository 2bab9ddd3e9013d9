"""One owner for the job-create rules: ``schemas`` turns each provider's body into a
``JobRequest``; ``Jobs.create`` takes only that record and checks only what needs state."""
import dataclasses
import inspect

import openai
import pytest
from zhipuai.core._errors import APIRequestFailedError

from helpers import clients, config
from helpers.sandbox import catalog, dialects, schemas, synthetic, training
from helpers.sandbox.errors import ApiError
from helpers.sandbox.jobs import Jobs

BASE = catalog.BASE_MODEL
BODY = {"model": BASE, "training_file": "file-abc"}


@pytest.fixture(autouse=True)
def _poll(monkeypatch):
    monkeypatch.setenv("COURSE_SANDBOX_PROGRESSION", "poll")


@pytest.fixture
def settings(tmp_path):
    return config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sbx")


def upload(client):
    data = synthetic.chat_jsonl(synthetic.headlines(20), list(synthetic.WORDS))
    return client.files.create(file=("t.jsonl", data), purpose="fine-tune")


@pytest.mark.parametrize("dialect", [dialects.OPENAI, dialects.ZHIPU], ids=lambda d: d.name)
@pytest.mark.parametrize("extra, message, param", [
    ({"suffix": "a:b"}, "suffix must be at most 64 characters without ':' or spaces.", "suffix"),
    ({"suffix": "a b"}, "suffix must be at most 64 characters without ':' or spaces.", "suffix"),
    ({"model": ""}, "Missing required parameter: 'model'.", "model"),
    ({"hyperparameters": {"n_epochs": 51}}, "expected an integer between 1 and 50",
     "hyperparameters.n_epochs"),
])
def test_both_providers_meet_the_same_body_rules(dialect, extra, message, param):
    with pytest.raises(ApiError, match=message) as info:
        dialect.job_request({**BODY, **extra})
    assert (info.value.status, info.value.param) == (400, param)


def test_a_body_becomes_a_frozen_request_record():
    request = dialects.OPENAI.job_request({
        **BODY, "validation_file": "file-v", "suffix": "news", "seed": 7,
        "metadata": {"k": "v"},
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}}})
    assert request == schemas.JobRequest(model=BASE, training_file="file-abc", seed=7,
                                         validation_file="file-v", suffix="news",
                                         hyperparameters={"n_epochs": 2},
                                         metadata={"k": "v"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.seed = 8  # type: ignore[misc]
    zhipu = dialects.ZHIPU.job_request({**BODY, "request_id": "r-1"})
    assert zhipu.request_id == "r-1" and zhipu.suffix == "" and zhipu.hyperparameters == {}


def test_without_a_seed_the_training_files_bytes_pick_it(tmp_path):
    """Two fresh sandboxes (other instance ids, so other file ids) give the same data the
    same seed, so a recording made twice trains and validates the same way."""
    def seeds(directory, data):
        settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=directory)
        oc, zc = clients.openai_client(settings, max_retries=0), clients.zhipu_client(settings)
        f = oc.files.create(file=("t.jsonl", data), purpose="fine-tune")
        return (f.id, oc.fine_tuning.jobs.create(model=BASE, training_file=f.id).seed,
                zc.fine_tuning.jobs.create(model=BASE, training_file=f.id).id)

    data = synthetic.chat_jsonl(synthetic.headlines(20), list(synthetic.WORDS))
    other = synthetic.chat_jsonl(synthetic.headlines(21), list(synthetic.WORDS))
    (id_a, seed_a, zjob), (id_b, seed_b, _) = seeds(tmp_path / "a", data), seeds(
        tmp_path / "b", data)
    assert id_a != id_b and seed_a == seed_b
    assert seeds(tmp_path / "c", other)[1] != seed_a
    from helpers.sandbox.core import Sandbox  # the Zhipu job (no seed on its wire) got it too
    assert Sandbox(tmp_path / "a").jobs.get(zjob).seed == seed_a
    assert dialects.OPENAI.job_request(dict(BODY)).seed is None
    assert dialects.OPENAI.job_request({**BODY, "seed": 0}).seed == 0


def test_deprecated_hyperparameters_count_beside_a_method_without_any(settings):
    """Before, a ``method`` without hyperparameters silently dropped the top-level ones."""
    client = clients.openai_client(settings, max_retries=0)
    job = client.fine_tuning.jobs.create(model=BASE, training_file=upload(client).id,
                                         method={"type": "supervised"},
                                         hyperparameters={"n_epochs": 2})
    assert job.hyperparameters.n_epochs == 2
    while job.status != "succeeded":
        job = client.fine_tuning.jobs.retrieve(job.id)
    assert job.hyperparameters.n_epochs == 2


def test_body_rules_are_checked_before_any_state_on_both_paths(settings):
    """A bad suffix is named even when the file does not exist (the body is checked first)."""
    client = clients.openai_client(settings, max_retries=0)
    with pytest.raises(openai.BadRequestError, match="without ':' or spaces") as info:
        client.fine_tuning.jobs.create(model=BASE, training_file="file-missing", suffix="a b")
    assert info.value.body["param"] == "suffix"
    zclient = clients.zhipu_client(settings, max_retries=0)
    with pytest.raises(APIRequestFailedError, match="without ':' or spaces"):
        zclient.fine_tuning.jobs.create(model=BASE, training_file="file-missing",
                                        suffix="a b")
    with pytest.raises(openai.NotFoundError, match="No such file: file-missing"):
        client.fine_tuning.jobs.create(model=BASE, training_file="file-missing")


def test_jobs_create_takes_the_record_not_a_body():
    assert inspect.signature(Jobs.create).parameters["request"].annotation == "JobRequest"
    source = inspect.getsource(Jobs.create)
    for rule in ("suffix must", "only runs supervised", "resolve_hyperparameters", "randrange"):
        assert rule not in source, rule


def test_the_learning_rate_rule_is_the_documented_one_only():
    """Above 0 and at most 10 (schemas); no second, stricter bound at creation or training."""
    tiny = dialects.OPENAI.job_request({**BODY, "hyperparameters": {
        "learning_rate_multiplier": 1e-10}})
    assert training.resolve_hyperparameters(tiny.hyperparameters, 100)[
        "learning_rate_multiplier"] == 1e-10
    with pytest.raises(ApiError, match="expected a number above 0 and at most 10"):
        dialects.OPENAI.job_request({**BODY, "hyperparameters": {"learning_rate_multiplier": 0}})
