"""The sandbox through the official zhipuai SDK (Zhipu paths under /api/paas/v4)."""
import pytest
import zhipuai
from zhipuai.core._errors import APIRequestFailedError

from helpers import prompts
from helpers.sandbox import synthetic
from helpers.sandbox.core import BASE_MODEL

LABELS = list(synthetic.WORDS)
pytestmark = pytest.mark.usefixtures("poll_progression")  # statuses one by one


@pytest.fixture
def client(zclient):
    """In this file ``client`` is the zhipuai SDK's (conftest's ``zclient``)."""
    return zclient


def test_zhipu_files_jobs_events_chat_and_deletes(client):
    data = synthetic.chat_jsonl(synthetic.headlines(60, seed=1), LABELS)
    f = client.files.create(file=("train.jsonl", data), purpose="fine-tune")
    assert [x.id for x in client.files.list().data] == [f.id]
    assert client.files.content(f.id).content == data

    job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id, suffix="zh",
                                         request_id="my-req-1")
    assert job.status == "validating_files" and job.request_id == "my-req-1"
    statuses = [job.status]
    while job.status not in ("succeeded", "failed", "cancelled"):
        job = client.fine_tuning.jobs.retrieve(job.id)
        statuses.append(job.status)
    assert statuses == ["validating_files", "queued", "running", "succeeded"]
    assert (job.fine_tuned_model.startswith("sandbox-base:")
            and job.fine_tuned_model.split(":")[2] == "zh")
    assert isinstance(job.hyperparameters.n_epochs, int) and job.trained_tokens > 0

    events = client.fine_tuning.jobs.list_events(job.id, limit=500).data
    metrics = [e for e in events if e.type == "metrics"]
    assert metrics and metrics[0].data.current_steps == metrics[0].data.total_steps
    assert metrics[0].data.loss is not None and metrics[0].data.acc is not None
    assert events[0].message == "The job has successfully completed"
    assert [j.id for j in client.fine_tuning.jobs.list().data] == [job.id]

    reply = client.chat.completions.create(model=job.fine_tuned_model,
                                           messages=prompts.messages("主场绝杀卫冕冠军", LABELS))
    assert reply.choices[0].message.content == "体育" and reply.usage.total_tokens > 0
    base = client.chat.completions.create(
        model=BASE_MODEL, messages=prompts.messages("央行宣布降息，债券上涨", LABELS))
    assert base.choices[0].message.content == "财经"

    deleted = client.fine_tuning.models.delete(job.fine_tuned_model)
    assert deleted.delete_status == "deleted" and deleted.model_name == job.fine_tuned_model
    with pytest.raises(APIRequestFailedError) as err:
        client.chat.completions.create(model=job.fine_tuned_model,
                                       messages=[{"role": "user", "content": "hi"}])
    assert '"1211"' in str(err.value)
    assert client.fine_tuning.jobs.delete(job.id).id == job.id
    assert client.files.delete(f.id).deleted is True


def test_zhipu_cancel_and_error_shape(client):
    f = client.files.create(file=("t.jsonl", synthetic.chat_jsonl(synthetic.headlines(12), LABELS)),
                            purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
    with pytest.raises(APIRequestFailedError, match="cancel it before deleting"):  # still running
        client.fine_tuning.jobs.delete(job.id)
    assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    with pytest.raises(zhipuai.core._errors.APIStatusError) as err:
        client.fine_tuning.jobs.retrieve("ftjob-missing")
    body = err.value.response.json()
    assert set(body["error"]) == {"code", "message"} and "ftjob-missing" in body["error"]["message"]
