"""The 2027 job and batch surface through the official SDKs: pause/resume, metadata filters,
models that cannot be fine-tuned, the catalogue in /v1/models, Zhipu batches, batch lines
split on "\\n" only, and a training failure that fails the job."""
import json

import openai
import pytest
from sandbox_batches import finished_batch, output_rows
from zhipuai.core._errors import APIRequestFailedError
from zhipuai.types.batch import Batch as ZhipuBatch

from helpers import clients, prompts
from helpers.sandbox import batches, catalog, synthetic, training
from helpers.sandbox.errors import TrainingFailed

LABELS = list(synthetic.WORDS)
FINAL = ("succeeded", "failed", "cancelled")


pytestmark = pytest.mark.usefixtures("poll_progression")  # statuses one by one


@pytest.fixture
def client(settings):
    # Not strict: openai 3.51's FineTuningJob.status does not list "paused" yet.
    return clients.openai_client(settings, max_retries=0)


def training_file(client, n=20):
    data = synthetic.chat_jsonl(synthetic.headlines(n), LABELS)
    return client.files.create(file=("t.jsonl", data), purpose="fine-tune")


def test_pause_holds_a_job_and_resume_returns_it_where_it_was(client):
    job = client.fine_tuning.jobs.create(model=catalog.BASE_MODEL,
                                         training_file=training_file(client).id)
    assert client.fine_tuning.jobs.retrieve(job.id).status == "queued"
    paused = client.fine_tuning.jobs.pause(job.id)
    assert paused.status == "paused"
    for _ in range(3):  # polls do not advance a paused job
        assert client.fine_tuning.jobs.retrieve(job.id).status == "paused"
    with pytest.raises(openai.BadRequestError, match="only a job that is validating"):
        client.fine_tuning.jobs.pause(job.id)
    assert client.fine_tuning.jobs.resume(job.id).status == "queued"
    with pytest.raises(openai.BadRequestError, match="only a paused job can be resumed"):
        client.fine_tuning.jobs.resume(job.id)
    statuses = []
    while job.status not in FINAL:
        job = client.fine_tuning.jobs.retrieve(job.id)
        statuses.append(job.status)
    assert statuses == ["running", "succeeded"]
    messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id, limit=500)]
    assert messages.index("Fine-tuning job resumed") < messages.index("Fine-tuning job paused")
    with pytest.raises(openai.BadRequestError, match="is succeeded; only a job"):
        client.fine_tuning.jobs.pause(job.id)


def test_list_filters_on_metadata(client, settings):
    f = training_file(client)
    a = client.fine_tuning.jobs.create(model=catalog.BASE_MODEL, training_file=f.id,
                                       metadata={"run": "a", "team": "x"})
    b = client.fine_tuning.jobs.create(model=catalog.BASE_MODEL, training_file=f.id,
                                       metadata={"run": "b", "team": "x"})
    plain = client.fine_tuning.jobs.create(model=catalog.BASE_MODEL, training_file=f.id)
    listed = lambda **kw: [j.id for j in client.fine_tuning.jobs.list(**kw)]  # noqa: E731
    assert listed(metadata={"team": "x"}) == [b.id, a.id]
    assert listed(metadata={"team": "x", "run": "a"}) == [a.id]
    assert listed(metadata={"run": "c"}) == []
    assert listed() == [plain.id, b.id, a.id]
    http = client.with_options(max_retries=0)
    nulls = http.get("/fine_tuning/jobs?metadata=null", cast_to=object)
    assert [j["id"] for j in nulls["data"]] == [plain.id]
    with pytest.raises(openai.BadRequestError, match="Do not combine"):
        http.get("/fine_tuning/jobs?metadata=null&metadata[run]=a", cast_to=object)


def test_models_list_every_catalogue_model_first(client):
    ids = [m.id for m in client.models.list()]
    assert ids == ["sandbox-base", "sandbox-reasoning", "sandbox-embed"]
    assert client.models.retrieve("sandbox-embed").owned_by == "sandbox"
    for model in ids:
        with pytest.raises(openai.PermissionDeniedError, match="is a base model"):
            client.models.delete(model)


def test_a_model_that_cannot_be_fine_tuned_is_refused_like_openai(client):
    f = training_file(client)
    for model in ("sandbox-reasoning", "sandbox-embed"):
        with pytest.raises(openai.BadRequestError) as err:
            client.fine_tuning.jobs.create(model=model, training_file=f.id)
        assert err.value.status_code == 400
        assert err.value.body == {
            "message": f"Model {model} is not available for fine-tuning or does not exist.",
            "type": "invalid_request_error", "param": "model", "code": "model_not_available"}
    assert list(client.fine_tuning.jobs.list()) == []


def test_a_model_that_cannot_be_fine_tuned_is_refused_on_the_zhipu_paths(zclient):
    data = synthetic.chat_jsonl(synthetic.headlines(20), LABELS)
    f = zclient.files.create(file=("t.jsonl", data), purpose="fine-tune")
    with pytest.raises(APIRequestFailedError) as err:
        zclient.fine_tuning.jobs.create(model="sandbox-reasoning", training_file=f.id)
    assert err.value.status_code == 400
    body = json.loads(err.value.response.text)["error"]
    assert body["code"] == "1214" and "sandbox-reasoning 不支持微调" in body["message"]


def test_a_training_failure_fails_the_job_with_its_error(client, monkeypatch):
    def diverged(*args, **kwargs):
        raise TrainingFailed("The training loss became NaN at step 3.", code="training_diverged")

    monkeypatch.setattr(training, "run", diverged)
    job = client.fine_tuning.jobs.create(model=catalog.BASE_MODEL,
                                         training_file=training_file(client).id)
    while job.status not in FINAL:
        job = client.fine_tuning.jobs.retrieve(job.id)
    assert job.status == "failed" and job.fine_tuned_model is None
    assert (job.error.code, job.error.message, job.error.param) == (
        "training_diverged", "The training loss became NaN at step 3.", None)
    events = client.fine_tuning.jobs.list_events(job.id, limit=100).data
    errors = [e.message for e in events if e.level == "error"]
    assert "The training loss became NaN at step 3." in errors
    assert not any("successfully" in e.message for e in events)
    assert [m.id for m in client.models.list()] == [m.id for m in catalog.BASE_MODELS]


def _batch_line(custom_id, text, url="/v1/chat/completions"):
    body = {"model": catalog.BASE_MODEL, "messages": prompts.messages(text, LABELS)}
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": url, "body": body},
                      ensure_ascii=False)


def test_a_batch_line_with_a_line_separator_inside_a_string_stays_one_line(client):
    texts = ["国足晋级决赛\u2028今晚开打", "央行宣布降息\x85市场上涨"]
    data = "\n".join(_batch_line(f"r{i}", t) for i, t in enumerate(texts)) + "\n"
    assert len(data.splitlines()) > 2  # what str.splitlines would have made of it
    batch = finished_batch(client, data.encode(), "/v1/chat/completions")
    assert batch.status == "completed" and batch.request_counts.completed == 2
    rows = output_rows(client, batch)  # split on "\n" only
    assert sorted(r["custom_id"] for r in rows) == ["r0", "r1"]


def test_batches_dispatch_through_the_endpoint_registry(client, monkeypatch):
    calls = []

    def fake(sandbox, body, provider):
        calls.append((body["input"], provider))
        return {"object": "list", "data": [], "model": body["model"]}

    monkeypatch.setitem(batches.ENDPOINTS, "/v1/embeddings", fake)
    line = json.dumps({"custom_id": "e1", "method": "POST", "url": "/v1/embeddings",
                       "body": {"model": "sandbox-embed", "input": "你好"}}, ensure_ascii=False)
    batch = finished_batch(client, line.encode(), "/v1/embeddings")
    assert batch.status == "completed" and calls == [("你好", "openai")]
    row = json.loads(client.files.content(batch.output_file_id).text)
    assert row["response"]["body"] == {"object": "list", "data": [], "model": "sandbox-embed"}
    with pytest.raises(ValueError, match="OpenAI paths under /v1/"):
        batches.register_endpoint("/v4/embeddings", fake)


def test_an_endpoint_nobody_registered_is_refused(client):
    f = client.files.create(file=("b.jsonl", _batch_line("r0", "x").encode()), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="runs batches for") as err:
        client.batches.create(input_file_id=f.id, endpoint="/v1/moderations",
                              completion_window="24h")
    assert err.value.body["param"] == "endpoint"


def test_zhipu_batches_create_retrieve_list_cancel(zclient):
    texts = ["国足两球击败对手晋级决赛", "央行宣布下调存款准备金率", "新款手机搭载自研芯片发布"]
    data = "".join(_batch_line(f"z{i}", t, url="/v4/chat/completions") + "\n"
                   for i, t in enumerate(texts))
    f = zclient.files.create(file=("b.jsonl", data.encode()), purpose="batch")
    batch = zclient.batches.create(input_file_id=f.id, endpoint="/v4/chat/completions",
                                   completion_window="24h", metadata={"lesson": "07"})
    assert isinstance(batch, ZhipuBatch)
    assert batch.status == "validating" and batch.metadata == {"lesson": "07"}
    other = zclient.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                                   completion_window="24h")  # zhipuai's own endpoint string
    while batch.status not in ("completed", "failed"):
        batch = zclient.batches.retrieve(batch.id)
    assert batch.status == "completed"
    assert (batch.request_counts.total, batch.request_counts.completed) == (3, 3)
    output = zclient.files.content(batch.output_file_id).content.decode()
    rows = [json.loads(x) for x in output.split("\n") if x]
    assert sorted(r["custom_id"] for r in rows) == ["z0", "z1", "z2"]
    assert all(r["response"]["status_code"] == 200 for r in rows)
    for row in rows:  # each answer in Zhipu's completion shape, echoing the line's request id
        body = row["response"]["body"]
        assert body["request_id"] == row["response"]["request_id"] and "object" not in body
        assert body["choices"][0]["message"]["content"] in LABELS

    assert f.id not in [x.id for x in zclient.files.list().data]  # auto_delete_input_file
    assert [b.id for b in zclient.batches.list()] == [other.id, batch.id]
    assert zclient.batches.cancel(other.id).status == "cancelling"
    assert zclient.batches.retrieve(other.id).status == "cancelled"
    with pytest.raises(APIRequestFailedError, match="cannot be cancelled"):
        zclient.batches.cancel(batch.id)
    kept = zclient.files.create(file=("b.jsonl", data.encode()), purpose="batch")
    with pytest.raises(APIRequestFailedError, match="runs batches for"):
        zclient.batches.create(input_file_id=kept.id, endpoint="/v4/images/generations",
                               completion_window="24h")


def test_a_paused_job_waits_under_time_progression_too(settings, monkeypatch):
    monkeypatch.setenv("COURSE_SANDBOX_PROGRESSION", "time")
    monkeypatch.setenv("COURSE_SANDBOX_STAGE_SECONDS", "0")  # every stage is due at once
    timed = clients.openai_client(settings, max_retries=0)
    job = timed.fine_tuning.jobs.create(model=catalog.BASE_MODEL,
                                        training_file=training_file(timed).id)
    assert timed.fine_tuning.jobs.pause(job.id).status == "paused"
    assert timed.fine_tuning.jobs.retrieve(job.id).status == "paused"
    assert [j.status for j in timed.fine_tuning.jobs.list()] == ["paused"]
    assert timed.fine_tuning.jobs.resume(job.id).status == "validating_files"
    assert timed.fine_tuning.jobs.retrieve(job.id).status == "succeeded"
