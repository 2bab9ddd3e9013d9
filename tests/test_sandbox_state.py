"""Persistence, deterministic ids, transactions, progression modes and the HTTP server."""
import json
import os
import subprocess
import sys

import openai
import pytest

from helpers import clients, config, prompts
from helpers import sandbox as sandbox_pkg
from helpers.sandbox import core as core_mod
from helpers.sandbox import synthetic
from helpers.sandbox.core import BASE_MODEL

LABELS = list(synthetic.WORDS)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def client_for(path, progression=None, monkeypatch=None):
    if progression:
        monkeypatch.setenv("COURSE_SANDBOX_PROGRESSION", progression)
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=path)
    return clients.openai_client(settings, strict=True, max_retries=0)


def train_job(c, n=40, **kw):
    f = c.files.create(file=("t.jsonl", synthetic.chat_jsonl(synthetic.headlines(n), LABELS)),
                       purpose="fine-tune")
    job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id, **kw)
    while job.status not in ("succeeded", "failed", "cancelled"):
        job = c.fine_tuning.jobs.retrieve(job.id)
    return f, job


def test_fresh_sandboxes_hand_out_the_same_ids(tmp_path, monkeypatch):
    a = client_for(tmp_path / "a", "poll", monkeypatch)
    b = client_for(tmp_path / "b", "poll", monkeypatch)
    fa, ja = train_job(a, seed=1)
    fb, jb = train_job(b, seed=1)
    assert (fa.id, ja.id, ja.fine_tuned_model) == (fb.id, jb.id, jb.fine_tuned_model)
    assert ja.trained_tokens == jb.trained_tokens
    ea = [e.message for e in a.fine_tuning.jobs.list_events(ja.id, limit=200)]
    eb = [e.message for e in b.fine_tuning.jobs.list_events(jb.id, limit=200)]
    assert ea == eb  # same seed, same losses


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
    f = c.files.create(file=("t.jsonl", synthetic.chat_jsonl(synthetic.headlines(30), LABELS)),
                       purpose="fine-tune")
    job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
    assert c.fine_tuning.jobs.retrieve(job.id).status == "queued"
    n_events = len(c.fine_tuning.jobs.list_events(job.id, limit=500).data)

    def boom(*a, **k):
        raise KeyboardInterrupt("killed while writing checkpoints")

    with monkeypatch.context() as m:
        m.setattr(core_mod.Sandbox, "_checkpoint", boom)
        with pytest.raises(KeyboardInterrupt):
            c.fine_tuning.jobs.retrieve(job.id)
    assert c.fine_tuning.jobs.retrieve(job.id).status == "running"  # redone cleanly
    events = c.fine_tuning.jobs.list_events(job.id, limit=500).data
    assert len([e for e in events if e.message == "Fine-tuning job started"]) == 1
    assert len(events) > n_events
    assert len(c.fine_tuning.jobs.checkpoints.list(job.id).data) == 3


def test_instant_and_time_progression(tmp_path, monkeypatch):
    c = client_for(tmp_path / "i", "instant", monkeypatch)
    f = c.files.create(file=("t.jsonl", synthetic.chat_jsonl(synthetic.headlines(20), LABELS)),
                       purpose="fine-tune")
    assert c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id).status == "succeeded"

    monkeypatch.setattr(core_mod, "STAGE_SECONDS", 0.0)
    t = client_for(tmp_path / "t", "time", monkeypatch)
    f = t.files.create(file=("t.jsonl", synthetic.chat_jsonl(synthetic.headlines(20), LABELS)),
                       purpose="fine-tune")
    job = t.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
    assert job.status == "validating_files"
    assert t.fine_tuning.jobs.retrieve(job.id).status == "succeeded"
    monkeypatch.setattr(core_mod, "STAGE_SECONDS", 3600.0)
    slow = t.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
    assert t.fine_tuning.jobs.retrieve(slow.id).status == "validating_files"
    with pytest.raises(ValueError):
        sandbox_pkg.app_for(tmp_path / "x", progression="sometimes")


def test_server_answers_an_ordinary_client(tmp_path):
    env = {**os.environ, "PYTHONPATH": REPO}
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpers.sandbox", "serve", "--port", "0", "--data-dir",
         str(tmp_path / "srv"), "--progression", "instant"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        line = proc.stdout.readline()
        url = line.split(" at ")[1].split(" ")[0]
        c = openai.OpenAI(api_key="sandbox", base_url=url + "/v1", max_retries=0,
                          _strict_response_validation=True, timeout=10)
        assert c.models.list().data[0].id == BASE_MODEL
        f = c.files.create(file=("t.jsonl", synthetic.chat_jsonl(synthetic.headlines(15), LABELS)),
                           purpose="fine-tune")
        job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
        assert job.status == "succeeded"
        reply = c.chat.completions.create(model=job.fine_tuned_model,
                                          messages=prompts.messages("主场绝杀卫冕", LABELS))
        assert reply.choices[0].message.content in LABELS
        import httpx
        raw = httpx.get(url + "/v1/models/nope")
        assert raw.status_code == 404 and json.loads(raw.text)["error"]["code"] == "model_not_found"
    finally:
        proc.kill()
        proc.wait(timeout=10)


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
    at_kill = sandbox_pkg.core_for(sbx).get_job(job_id, advance=False)["status"]
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
