"""Persistence, deterministic ids, transactions, progression modes and the HTTP server."""
import json
import os
import subprocess
import sys

import openai
import pytest
from served_sandbox import served_sandbox

from helpers import clients, config, prompts
from helpers import sandbox as sandbox_pkg
from helpers.sandbox import batches as batches_mod
from helpers.sandbox import catalog, synthetic
from helpers.sandbox import jobs as jobs_mod
from helpers.sandbox.core import BASE_MODEL

LABELS = list(synthetic.WORDS)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def client_for(path, progression=None, monkeypatch=None):
    if progression:
        monkeypatch.setenv("COURSE_SANDBOX_PROGRESSION", progression)
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=path)
    return clients.openai_client(settings, strict=True, max_retries=0)


def training_file(c, n):
    return c.files.create(file=("t.jsonl", synthetic.chat_jsonl(synthetic.headlines(n), LABELS)),
                          purpose="fine-tune")


def train_job(c, n=40, model=BASE_MODEL, **kw):
    f = training_file(c, n)
    job = c.fine_tuning.jobs.create(model=model, training_file=f.id, **kw)
    while job.status not in ("succeeded", "failed", "cancelled"):
        job = c.fine_tuning.jobs.retrieve(job.id)
    return f, job


def test_fresh_sandboxes_train_alike_but_hand_out_their_own_ids(tmp_path, monkeypatch):
    a = client_for(tmp_path / "a", "poll", monkeypatch)
    b = client_for(tmp_path / "b", "poll", monkeypatch)
    fa, ja = train_job(a, seed=1)
    fb, jb = train_job(b, seed=1)
    assert sandbox_pkg.instance_id(tmp_path / "a") != sandbox_pkg.instance_id(tmp_path / "b")
    assert fa.id != fb.id and ja.id != jb.id and ja.fine_tuned_model != jb.fine_tuned_model
    assert ja.trained_tokens == jb.trained_tokens
    def losses(c, j):
        return [e.message for e in c.fine_tuning.jobs.list_events(j.id, limit=200)
                if e.type == "metrics"]

    assert losses(a, ja) == losses(b, jb) and losses(a, ja)  # same seed, same losses


def every_id(c, sbx):
    """Every id a sandbox has handed out: files, jobs, events, checkpoints, models, batches..."""
    ids = set()
    for f in c.files.list().data:
        ids.add(f.id)
        if f.purpose == "batch_output":
            for line in c.files.content(f.id).text.splitlines():
                row = json.loads(line)
                ids |= {row["id"], row["response"]["request_id"], row["response"]["body"]["id"]}
    for job in c.fine_tuning.jobs.list(limit=100).data:
        ids |= {job.id, job.fine_tuned_model, *job.result_files}
        ids |= {e.id for e in c.fine_tuning.jobs.list_events(job.id, limit=1000).data}
        for ck in c.fine_tuning.jobs.checkpoints.list(job.id, limit=100).data:
            ids |= {ck.id, ck.fine_tuned_model_checkpoint}
    ids |= {m.id for m in c.models.list().data if catalog.spec(m.id) is None}
    ids |= {b.id for b in c.batches.list(limit=100).data}
    return ids


def use_sandbox(c, model=None):
    f, job = train_job(c, seed=5)
    batch_file = c.files.create(file=("b.jsonl", "".join(json.dumps({
        "custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": job.fine_tuned_model, "messages": prompts.messages(text, LABELS)}},
        ensure_ascii=False) + "\n" for i, (text, _) in enumerate(synthetic.headlines(5))).encode()),
        purpose="batch")
    batch = c.batches.create(input_file_id=batch_file.id, endpoint="/v1/chat/completions",
                             completion_window="24h")
    while batch.status != "completed":
        batch = c.batches.retrieve(batch.id)
    return job


def test_a_reset_sandbox_hands_out_new_ids(tmp_path, monkeypatch):
    """Delete the directory, open it again: nothing it hands out repeats an old id."""
    import shutil

    sbx = tmp_path / "sbx"
    before_instance = sandbox_pkg.instance_id(sbx)
    use_sandbox(client_for(sbx, "poll", monkeypatch))
    before = every_id(client_for(sbx), sbx)
    shutil.rmtree(sbx)  # a reset, while this process still has the old sandbox open
    c = client_for(sbx)
    assert sandbox_pkg.instance_id(sbx) != before_instance
    assert c.files.list().data == [] and c.fine_tuning.jobs.list().data == []
    use_sandbox(c)
    after = every_id(c, sbx)
    prefixes = ("file-", "ftjob-", "ftevent-", "ftckpt-", "ft:", "batch_", "batch_req_", "req_",
                "chatcmpl-")
    assert all(any(i.startswith(p) for i in before) for p in prefixes)
    assert len(after) == len(before) > 100
    assert not before & after, sorted(before & after)[:5]


def test_state_survives_a_restart(tmp_path, monkeypatch):
    path = tmp_path / "sbx"
    c = client_for(path, "instant", monkeypatch)
    f, job = train_job(c)
    ask = dict(model=job.fine_tuned_model, logprobs=True, top_logprobs=3,
               messages=prompts.messages("新能源车企召回", LABELS))
    before = c.chat.completions.create(**ask)
    sandbox_pkg._cores.clear()  # a new kernel: nothing cached in memory
    c2 = client_for(path)
    assert c2.fine_tuning.jobs.retrieve(job.id).fine_tuned_model == job.fine_tuned_model
    after = c2.chat.completions.create(**ask)
    assert after.choices[0].message.content == before.choices[0].message.content
    assert after.choices[0].logprobs.content[0].logprob == pytest.approx(
        before.choices[0].logprobs.content[0].logprob, abs=1e-6)
    assert c2.files.retrieve(f.id).filename == "t.jsonl"


def test_crash_mid_transaction_leaves_consistent_state(tmp_path, monkeypatch):
    c = client_for(tmp_path / "sbx", "poll", monkeypatch)
    f = training_file(c, 30)
    job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
    assert c.fine_tuning.jobs.retrieve(job.id).status == "queued"
    n_events = len(c.fine_tuning.jobs.list_events(job.id, limit=500).data)

    def boom(*a, **k):
        raise KeyboardInterrupt("killed while writing checkpoints")

    with monkeypatch.context() as m:
        m.setattr(jobs_mod.Jobs, "_checkpoint", boom)
        with pytest.raises(KeyboardInterrupt):
            c.fine_tuning.jobs.retrieve(job.id)
    assert c.fine_tuning.jobs.retrieve(job.id).status == "running"  # redone cleanly
    events = c.fine_tuning.jobs.list_events(job.id, limit=500).data
    assert len([e for e in events if e.message == "Fine-tuning job started"]) == 1
    assert len(events) > n_events
    assert len(c.fine_tuning.jobs.checkpoints.list(job.id).data) == 3


def test_instant_and_time_progression(tmp_path, monkeypatch):
    c = client_for(tmp_path / "i", "instant", monkeypatch)
    f = training_file(c, 20)
    assert c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id).status == "succeeded"

    monkeypatch.setenv("COURSE_SANDBOX_STAGE_SECONDS", "0")
    t = client_for(tmp_path / "t", "time", monkeypatch)
    f = training_file(t, 20)
    job = t.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
    assert job.status == "validating_files"
    assert t.fine_tuning.jobs.retrieve(job.id).status == "succeeded"
    monkeypatch.setenv("COURSE_SANDBOX_STAGE_SECONDS", "3600")
    slow = t.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
    assert t.fine_tuning.jobs.retrieve(slow.id).status == "validating_files"
    with pytest.raises(ValueError, match="progression 'sometimes' is not one of"):
        sandbox_pkg.app_for(tmp_path / "x", progression="sometimes")


@pytest.mark.slow
def test_server_answers_an_ordinary_client(tmp_path):
    with served_sandbox(tmp_path / "srv", "--progression", "instant") as url:
        c = openai.OpenAI(api_key="sandbox", base_url=url + "/v1", max_retries=0,
                          _strict_response_validation=True, timeout=10)
        assert c.models.list().data[0].id == BASE_MODEL
        f = training_file(c, 15)
        job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
        assert job.status == "succeeded"
        reply = c.chat.completions.create(model=job.fine_tuned_model,
                                          messages=prompts.messages("主场绝杀卫冕", LABELS))
        assert reply.choices[0].message.content in LABELS
        import httpx
        raw = httpx.get(url + "/v1/models/nope")
        assert raw.status_code == 404 and json.loads(raw.text)["error"]["code"] == "model_not_found"


KILL_SCRIPT = """
import sys
from helpers import clients, config
from helpers.sandbox import synthetic
from helpers.sandbox.core import BASE_MODEL
labels = list(synthetic.WORDS)
c = clients.openai_client(config.resolve(backend="sandbox", mode="live", sandbox_dir=sys.argv[1]))
f = c.files.create(file=("t.jsonl", synthetic.chat_jsonl(synthetic.headlines(20000), labels)),
                   purpose="fine-tune")
job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id, seed=3, method={
    "type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}})
print(job.id, flush=True)
while job.status != "queued":
    job = c.fine_tuning.jobs.retrieve(job.id)
print("training", flush=True)
c.fine_tuning.jobs.retrieve(job.id)  # this poll moves the job to running and trains it
"""


@pytest.mark.slow
def test_kill_9_during_training_leaves_a_job_that_finishes(tmp_path, monkeypatch):
    """A real SIGKILL while the job trains: the store stays consistent and the job completes."""
    import signal
    import time

    monkeypatch.setenv("COURSE_SANDBOX_PROGRESSION", "poll")
    sbx = tmp_path / "sbx"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(sbx)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    job_id = proc.stdout.readline().strip()
    assert job_id.startswith("ftjob-")
    assert proc.stdout.readline().strip() == "training"
    time.sleep(0.5)  # training 20,000 examples x 3 epochs takes several seconds
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    # "running" is committed with the trained model, so mid-training the store still says queued
    at_kill = sandbox_pkg.core_for(sbx).get_job(job_id, advance=False).status
    assert at_kill == "queued", "killed while training, before anything was committed"
    c = client_for(sbx, "poll", monkeypatch)
    job = c.fine_tuning.jobs.retrieve(job_id)
    for _ in range(10):
        if job.status == "succeeded":
            break
        job = c.fine_tuning.jobs.retrieve(job_id)
    assert job.status == "succeeded" and job.fine_tuned_model
    events = c.fine_tuning.jobs.list_events(job_id, limit=1000).data
    messages = [e.message for e in events if e.type == "message"]
    assert len(messages) == len(set(messages)), "no stage was logged twice"
    steps = [e.data["step"] for e in events if e.type == "metrics"]
    assert len(steps) == len(set(steps)), "no training step was logged twice"
    assert len(c.fine_tuning.jobs.checkpoints.list(job_id).data) == 3


# ------------------------------------------------------------------ continued training
def test_continued_training_starts_from_the_parent_model(tmp_path, monkeypatch):
    from helpers.sandbox import classifier, training

    c = client_for(tmp_path / "sbx", "poll", monkeypatch)
    _, first = train_job(c, suffix="one")
    parents = []
    real_run = training.run

    def recording_run(train, valid, hp, seed, parent=None):
        parents.append(parent)
        if parent is None or "parent" not in real_run.__code__.co_varnames:
            return real_run(train, valid, hp, seed)
        return real_run(train, valid, hp, seed, parent=parent)

    monkeypatch.setattr(training, "run", recording_run)
    _, second = train_job(c, n=30, model=first.fine_tuned_model, suffix="two")
    assert second.status == "succeeded" and second.model == first.fine_tuned_model
    assert second.fine_tuned_model.startswith(f"ft:{BASE_MODEL}:sandbox-org:two:")
    assert second.fine_tuned_model != first.fine_tuned_model
    assert c.models.retrieve(second.fine_tuned_model).owned_by == "sandbox-org"
    assert c.models.retrieve(first.fine_tuned_model).id == first.fine_tuned_model  # kept
    (parent,) = parents
    assert isinstance(parent, classifier.SoftmaxModel) and parent.classes == sorted(LABELS)
    stored = sandbox_pkg.core_for(tmp_path / "sbx")._classifier(
        sandbox_pkg.core_for(tmp_path / "sbx").get_model(first.fine_tuned_model))
    assert parent is not stored and (parent.weights == stored.weights).all()  # a copy


def test_continued_training_refuses_unknown_deleted_and_checkpoint_models(tmp_path, monkeypatch):
    c = client_for(tmp_path / "sbx", "poll", monkeypatch)
    f, job = train_job(c)
    ckpt = c.fine_tuning.jobs.checkpoints.list(job.id).data[0].fine_tuned_model_checkpoint
    c.models.delete(job.fine_tuned_model)
    for model in ("ft:sandbox-base:sandbox-org::nope", job.fine_tuned_model, ckpt, "gpt-4o-mini"):
        with pytest.raises(openai.BadRequestError) as err:
            c.fine_tuning.jobs.create(model=model, training_file=f.id)
        body = err.value.response.json()["error"]
        assert body["code"] == "model_not_available" and body["param"] == "model"
        assert body["message"] == (f"Model {model} is not available for fine-tuning or does "
                                   "not exist.")
    assert len(c.fine_tuning.jobs.list().data) == 1  # nothing saved


def test_a_parent_deleted_before_training_fails_the_job(tmp_path, monkeypatch):
    c = client_for(tmp_path / "sbx", "poll", monkeypatch)
    f, first = train_job(c)
    job = c.fine_tuning.jobs.create(model=first.fine_tuned_model, training_file=f.id)
    assert c.fine_tuning.jobs.retrieve(job.id).status == "queued"
    c.models.delete(first.fine_tuned_model)
    failed = c.fine_tuning.jobs.retrieve(job.id)
    assert failed.status == "failed" and failed.error.code == "model_not_available"
    assert first.fine_tuned_model in failed.error.message


def test_zhipu_paths_fine_tune_the_base_model_only(tmp_path, monkeypatch):
    from zhipuai.core._errors import APIRequestFailedError

    monkeypatch.setenv("COURSE_SANDBOX_PROGRESSION", "instant")
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sbx")
    z = clients.zhipu_client(settings, max_retries=0)
    f = training_file(z, 20)
    tuned = z.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id).fine_tuned_model
    assert tuned
    for model, code in ((tuned, "1214"), ("glm-nope", "1211")):
        with pytest.raises(APIRequestFailedError) as err:
            z.fine_tuning.jobs.create(model=model, training_file=f.id)
        assert err.value.response.status_code == 400
        assert err.value.response.json()["error"]["code"] == code


# ------------------------------------------------------------------ failures never wedge
def bad_file(c, line3):
    lines = synthetic.chat_jsonl(synthetic.headlines(12), LABELS).decode().splitlines()
    lines[2] = json.dumps(line3, ensure_ascii=False)
    return c.files.create(file=("bad.jsonl", ("\n".join(lines) + "\n").encode()),
                          purpose="fine-tune")


@pytest.mark.parametrize("line3", [
    {"messages": [{"role": ["user"], "content": "x"}, {"role": "assistant", "content": "体育"}]},
    {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": {"a": 1}}]},
    {"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": 7}]},
    {"messages": "not a list"},
])
def test_a_malformed_training_file_fails_the_job(tmp_path, monkeypatch, line3):
    c = client_for(tmp_path / "sbx", "poll", monkeypatch)
    job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=bad_file(c, line3).id)
    job = c.fine_tuning.jobs.retrieve(job.id)
    assert job.status == "failed" and job.error.code == "invalid_training_file"
    assert "line 3" in job.error.message.lower() and job.error.param == "training_file"
    events = c.fine_tuning.jobs.list_events(job.id).data
    assert events[0].level == "error" and events[0].message == "The job failed"
    assert [j.status for j in c.fine_tuning.jobs.list().data] == ["failed"]


@pytest.mark.parametrize("progression", ["poll", "time"])
def test_an_unexpected_exception_in_a_stage_fails_the_job(tmp_path, monkeypatch, progression):
    from helpers.sandbox import training

    monkeypatch.setenv("COURSE_SANDBOX_STAGE_SECONDS", "0")
    c = client_for(tmp_path / "sbx", progression, monkeypatch)
    f = training_file(c, 20)

    def broken(*a, **k):
        raise RuntimeError("the classifier blew up")

    monkeypatch.setattr(training, "run", broken)
    job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
    listed = [j for j in c.fine_tuning.jobs.list().data]  # the list answers, and (time) advances
    while job.status not in ("succeeded", "failed", "cancelled"):
        job = c.fine_tuning.jobs.retrieve(job.id)
    assert job.status == "failed" and job.error.code == "server_error"
    assert "RuntimeError: the classifier blew up" in job.error.message
    assert listed and c.fine_tuning.jobs.list().data[0].status == "failed"
    assert c.fine_tuning.jobs.list_events(job.id).data[0].level == "error"


def test_an_exception_while_committing_fails_the_job_cleanly(tmp_path, monkeypatch):
    c = client_for(tmp_path / "sbx", "poll", monkeypatch)
    f = training_file(c, 20)
    job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
    c.fine_tuning.jobs.retrieve(job.id)

    def boom(*a, **k):
        raise ValueError("bad checkpoint")

    monkeypatch.setattr(jobs_mod.Jobs, "_checkpoint", boom)
    job = c.fine_tuning.jobs.retrieve(job.id)
    assert job.status == "failed" and "ValueError: bad checkpoint" in job.error.message
    assert c.fine_tuning.jobs.checkpoints.list(job.id).data == []  # the half-commit rolled back
    messages = [e.message for e in c.fine_tuning.jobs.list_events(job.id).data]
    assert "Fine-tuning job started" not in messages and messages[0] == "The job failed"
    assert not list((tmp_path / "sbx" / "files").glob("*.npz"))


def test_an_unexpected_exception_fails_a_batch(tmp_path, monkeypatch):
    c = client_for(tmp_path / "sbx", "poll", monkeypatch)
    f = c.files.create(file=("b.jsonl", b'{"custom_id": "a", "method": "POST", "url": '
                             b'"/v1/chat/completions", "body": {"model": "sandbox-base"}}\n'),
                       purpose="batch")
    monkeypatch.setattr(batches_mod.Batches, "_lines",
                        lambda self, b: (_ for _ in ()).throw(OSError("disk went away")))
    batch = c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                             completion_window="24h")
    batch = c.batches.retrieve(batch.id)
    assert batch.status == "failed" and "OSError: disk went away" in batch.errors.data[0].message
    assert [b.status for b in c.batches.list().data] == ["failed"]


# ------------------------------------------------------------------ pagination, cancel, delete
def test_job_event_and_checkpoint_pages_follow_the_sdk_cursor(tmp_path, monkeypatch):
    c = client_for(tmp_path / "sbx", "instant", monkeypatch)
    f = training_file(c, 20)
    made = [c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id).id for _ in range(5)]
    page = c.fine_tuning.jobs.list(limit=2)
    assert [j.id for j in page.data] == made[::-1][:2] and page.has_more
    assert [j.id for j in c.fine_tuning.jobs.list(limit=2)] == made[::-1]  # auto-paging
    assert [j.id for j in c.fine_tuning.jobs.list(after=made[2], limit=10).data] == made[:2][::-1]
    everything = c.fine_tuning.jobs.list_events(made[0], limit=1000).data
    assert [e.id for e in c.fine_tuning.jobs.list_events(made[0], limit=7)] == [
        e.id for e in everything]
    assert everything[0].message == "The job has successfully completed"  # newest first
    checkpoints = c.fine_tuning.jobs.checkpoints.list(made[0], limit=1)
    assert len(checkpoints.data) == 1 and checkpoints.has_more
    steps = [ck.step_number for ck in c.fine_tuning.jobs.checkpoints.list(made[0], limit=1)]
    assert len(steps) == 3 and steps == sorted(steps, reverse=True)


def test_cancel_and_delete_follow_the_job_state(tmp_path, monkeypatch):
    c = client_for(tmp_path / "sbx", "poll", monkeypatch)
    f = training_file(c, 20)
    job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
    assert c.fine_tuning.jobs.retrieve(job.id).status == "queued"
    cancelled = c.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled" and cancelled.finished_at
    assert c.fine_tuning.jobs.retrieve(job.id).status == "cancelled"  # a poll does not revive it
    with pytest.raises(openai.BadRequestError, match="it cannot be cancelled"):
        c.fine_tuning.jobs.cancel(job.id)
    with pytest.raises(openai.NotFoundError, match="No such fine_tuning_job: ftjob-nope"):
        c.fine_tuning.jobs.cancel("ftjob-nope")

    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sbx")
    z = clients.zhipu_client(settings, max_retries=0)
    running = z.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
    from zhipuai.core._errors import APIRequestFailedError, APIStatusError
    with pytest.raises(APIRequestFailedError, match="cancel it before deleting it"):
        z.fine_tuning.jobs.delete(running.id)  # not finished: cancel first
    assert z.fine_tuning.jobs.delete(job.id).id == job.id
    with pytest.raises(APIStatusError, match="No such fine_tuning_job"):
        z.fine_tuning.jobs.retrieve(job.id)
    assert [j.id for j in c.fine_tuning.jobs.list().data] == [running.id]
