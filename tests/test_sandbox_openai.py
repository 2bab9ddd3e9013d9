"""The sandbox through the official OpenAI SDK (strict response validation)."""
import csv
import io
import json
import math

import openai
import pytest

from helpers import prompts
from helpers.chat_format import example_tokens
from helpers.sandbox import catalog, synthetic
from helpers.sandbox.core import BASE_MODEL
from helpers.tokens import encoding_for

LABELS = list(synthetic.WORDS)
FINAL = ("succeeded", "failed", "cancelled")


pytestmark = pytest.mark.usefixtures("poll_progression")  # statuses one by one


def upload(client, pairs, purpose="fine-tune", name="train.jsonl"):
    return client.files.create(file=(name, synthetic.chat_jsonl(pairs, LABELS)), purpose=purpose)


def poll(client, job):
    seen = [job.status]
    while job.status not in FINAL:
        job = client.fine_tuning.jobs.retrieve(job.id)
        seen.append(job.status)
    return job, seen


def test_files_create_list_retrieve_content_delete(client):
    pairs = synthetic.headlines(12)
    f = upload(client, pairs)
    assert f.id.startswith("file-") and len(f.id) == 29 and f.purpose == "fine-tune"
    assert client.files.retrieve(f.id).bytes == len(synthetic.chat_jsonl(pairs, LABELS))
    assert client.files.content(f.id).content == synthetic.chat_jsonl(pairs, LABELS)
    assert [x.id for x in client.files.list()] == [f.id]
    assert client.files.delete(f.id).deleted is True
    with pytest.raises(openai.NotFoundError, match="No such file: file-"):
        client.files.retrieve(f.id)
    with pytest.raises(openai.BadRequestError, match="'nonsense' is not one of"):
        client.files.create(file=("x.jsonl", b"{}"), purpose="nonsense")


def test_job_lifecycle_per_poll_with_real_training(client):
    train, valid = synthetic.headlines(240, seed=1), synthetic.headlines(60, seed=2)
    tf, vf = upload(client, train), upload(client, valid, name="valid.jsonl")
    job = client.fine_tuning.jobs.create(
        model=BASE_MODEL, training_file=tf.id, validation_file=vf.id, suffix="news", seed=3,
        metadata={"course": "test"},
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": "auto"}}})
    job, seen = poll(client, job)
    assert seen == ["validating_files", "queued", "running", "succeeded"]
    assert job.fine_tuned_model.startswith("ft:sandbox-base:sandbox-org:news:")
    assert job.hyperparameters.n_epochs == 3 and job.hyperparameters.batch_size == 1
    enc = encoding_for(BASE_MODEL)
    expected = sum(example_tokens(json.loads(line), enc)
                   for line in synthetic.chat_jsonl(train, LABELS).decode().splitlines()) * 3
    assert job.trained_tokens == expected
    assert job.metadata == {"course": "test"}

    events = list(client.fine_tuning.jobs.list_events(job.id, limit=1000))[::-1]
    messages = [e.message for e in events if e.type == "message"]
    assert messages[:4] == [f"Created fine-tuning job: {job.id}",
                            f"Validating training file: {tf.id} and validation file: {vf.id}",
                            "Files validated, moving job to queued state",
                            "Fine-tuning job started"]
    assert messages[-2:] == [f"New fine-tuned model created: {job.fine_tuned_model}",
                             "The job has successfully completed"]
    metrics = [e for e in events if e.type == "metrics"]
    assert metrics[-1].message.startswith("Step 720/720: training loss=")
    assert "validation loss=" in metrics[-1].message
    assert metrics[-1].data["step"] == 720 and "valid_loss" in metrics[-1].data

    ckpts = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert [c.step_number for c in ckpts] == [720, 480, 240]
    assert ckpts[0].fine_tuned_model_checkpoint == f"{job.fine_tuned_model}:ckpt-step-720"
    assert ckpts[0].metrics.full_valid_mean_token_accuracy > 0.5

    rows = list(csv.DictReader(io.StringIO(client.files.content(job.result_files[0]).text)))
    assert list(rows[0]) == ["step", "train_loss", "train_accuracy", "valid_loss",
                             "valid_mean_token_accuracy"]
    assert len(rows) == 720
    first = sum(float(r["train_loss"]) for r in rows[:50]) / 50
    last = sum(float(r["train_loss"]) for r in rows[-50:]) / 50
    assert last < first / 2  # it really learns

    listed = client.fine_tuning.jobs.list()
    assert [j.id for j in listed] == [job.id]
    # a checkpoint answers too
    reply = client.chat.completions.create(
        model=ckpts[1].fine_tuned_model_checkpoint,
        messages=prompts.messages("主场绝杀卫冕", LABELS))
    assert reply.choices[0].message.content in LABELS


def test_fine_tuned_beats_zero_shot_and_reports_probabilities(client):
    tf = upload(client, synthetic.headlines(300, seed=4))
    job, _ = poll(client, client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=tf.id,
                                                         seed=1))
    test = synthetic.headlines(90, seed=99)
    acc = {}
    for model in (BASE_MODEL, job.fine_tuned_model):
        hits = 0
        for text, label in test:
            r = client.chat.completions.create(model=model, messages=prompts.messages(text, LABELS))
            hits += r.choices[0].message.content == label
        acc[model] = hits / len(test)
    zero, tuned = acc[BASE_MODEL], acc[job.fine_tuned_model]
    assert 1 / len(LABELS) < zero < tuned - 0.1, acc

    r = client.chat.completions.create(model=job.fine_tuned_model, logprobs=True, top_logprobs=6,
                                       messages=prompts.messages(test[0][0], LABELS))
    first = r.choices[0].logprobs.content[0]
    answer = r.choices[0].message.content
    probs = [math.exp(t.logprob) for t in first.top_logprobs]
    assert first.top_logprobs[0].token == first.token and first.bytes == list(first.token.encode())
    assert answer.startswith(first.token)
    assert 0.99 < sum(probs) < 1.01 and probs == sorted(probs, reverse=True)
    enc = encoding_for(BASE_MODEL)
    assert r.usage.prompt_tokens == example_tokens(
        {"messages": prompts.messages(test[0][0], LABELS)}, enc)
    assert r.usage.completion_tokens == len(enc.encode(answer))


def test_base_model_reads_labels_and_falls_back(client):
    def ask(content, **kw):
        return client.chat.completions.create(
            model=BASE_MODEL, messages=[{"role": "user", "content": content}], **kw)

    zh = prompts.classification_prompt("国足主场迎战日本队，主教练公布首发名单",
                                       ["财经", "体育", "科技"])
    assert ask(zh).choices[0].message.content == "体育"
    en = prompts.classification_prompt("Terrible product, it broke after two days. Waste of money.",
                                       ["1", "2", "3", "4", "5"], lang="en")
    assert ask(en).choices[0].message.content == "1"
    hockey = prompts.classification_prompt("The goalie stopped 40 shots and the NHL playoffs go on",
                                           ["baseball", "hockey"], lang="en")
    assert ask(hockey).choices[0].message.content == "hockey"
    free = ask("Hello, who are you?")
    assert "sandbox" in free.choices[0].message.content
    cut = ask(zh, max_tokens=1)
    assert cut.choices[0].finish_reason in ("stop", "length")


def test_invalid_training_files_fail_the_job(client):
    few = upload(client, synthetic.headlines(5))
    job, seen = poll(client, client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=few.id))
    assert seen[-1] == "failed" and job.error.code == "invalid_n_examples"
    assert "at least 10" in job.error.message
    broken = client.files.create(file=("bad.jsonl", b'{"messages": []}\nnot json\n'),
                                 purpose="fine-tune")
    job, _ = poll(client, client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=broken.id))
    assert job.status == "failed" and "Line 1" in job.error.message
    no_reply = client.files.create(
        file=("r.jsonl", b'{"messages": [{"role": "user", "content": "x"}]}\n' * 12),
        purpose="fine-tune")
    job, _ = poll(client,
                  client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=no_reply.id))
    assert "assistant" in job.error.message
    with pytest.raises(openai.BadRequestError, match="not available for fine-tuning"):
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=few.id)
    with pytest.raises(openai.NotFoundError, match="No such file: file-missing"):
        client.fine_tuning.jobs.create(model=BASE_MODEL, training_file="file-missing")


def test_legacy_prompt_completion_file_trains(client):
    lines = [json.dumps({"prompt": t + " ->", "completion": " " + lab}, ensure_ascii=False)
             for t, lab in synthetic.headlines(30)]
    f = client.files.create(file=("legacy.jsonl", "\n".join(lines).encode()), purpose="fine-tune")
    job, _ = poll(client, client.fine_tuning.jobs.create(
        model=BASE_MODEL, training_file=f.id, hyperparameters={"n_epochs": 2}))
    enc = encoding_for(BASE_MODEL)
    billed = sum(len(enc.encode(json.loads(x)["prompt"]))
                 + len(enc.encode(json.loads(x)["completion"])) for x in lines)
    assert job.status == "succeeded" and job.trained_tokens == billed * 2
    assert job.hyperparameters.n_epochs == 2


def test_cancel_and_models(client):
    f = upload(client, synthetic.headlines(20))
    job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    assert client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="it cannot be cancelled"):
        client.fine_tuning.jobs.cancel(job.id)

    done, _ = poll(client, client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id,
                                                          suffix="m"))
    ids = [m.id for m in client.models.list()]
    assert ids == [m.id for m in catalog.BASE_MODELS] + [done.fine_tuned_model]
    assert client.models.retrieve(BASE_MODEL).owned_by == "sandbox"
    assert client.models.delete(done.fine_tuned_model).deleted is True
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model=done.fine_tuned_model,
                                       messages=[{"role": "user", "content": "hi"}])
    assert err.value.code == "model_not_found"
    with pytest.raises(openai.PermissionDeniedError, match="sandbox-base is a base model"):
        client.models.delete(BASE_MODEL)


def test_batch_lifecycle_with_output_and_error_files(client):
    tests = synthetic.headlines(12, seed=5)
    lines = [{"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
              "body": {"model": BASE_MODEL, "messages": prompts.messages(t, LABELS)}}
             for i, (t, _) in enumerate(tests)]
    lines.append({"custom_id": "bad", "method": "POST", "url": "/v1/chat/completions",
                  "body": {"model": "no-such-model",
                           "messages": [{"role": "user", "content": "x"}]}})
    data = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()
    f = client.files.create(file=("batch.jsonl", data), purpose="batch")
    batch = client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                                  completion_window="24h")
    seen = [batch.status]
    while batch.status not in ("completed", "failed", "cancelled"):
        batch = client.batches.retrieve(batch.id)
        seen.append(batch.status)
    assert seen == ["validating", "in_progress", "finalizing", "completed"]
    assert (batch.request_counts.total, batch.request_counts.completed,
            batch.request_counts.failed) == (13, 12, 1)
    out = [json.loads(x) for x in client.files.content(batch.output_file_id).text.splitlines()]
    ids = [o["custom_id"] for o in out]
    assert sorted(ids) == sorted(f"r{i}" for i in range(12)) and ids != [f"r{i}" for i in range(12)]
    assert all(o["response"]["status_code"] == 200 and o["error"] is None for o in out)
    assert out[0]["response"]["body"]["object"] == "chat.completion"
    err = [json.loads(x) for x in client.files.content(batch.error_file_id).text.splitlines()]
    assert err[0]["custom_id"] == "bad" and err[0]["response"]["status_code"] == 404
    assert err[0]["response"]["body"]["error"]["code"] == "model_not_found"
    assert [b.id for b in client.batches.list()] == [batch.id]

    second = client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                                   completion_window="24h")
    assert client.batches.cancel(second.id).status == "cancelling"
    assert client.batches.retrieve(second.id).status == "cancelled"
    bad = client.files.create(file=("b.jsonl", b'{"custom_id": "a"}\nnope\n'), purpose="batch")
    failed = client.batches.create(input_file_id=bad.id, endpoint="/v1/chat/completions",
                                   completion_window="24h")
    failed = client.batches.retrieve(failed.id)
    assert failed.status == "failed" and [e.line for e in failed.errors.data] == [1, 2]
