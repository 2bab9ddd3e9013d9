"""Two real processes on one sandbox directory never run a stage twice.

Each test prepares a job or a batch, then starts two Python processes that
wait for the same go signal and poll it at once through the OpenAI SDK, as a
``serve`` and a notebook sharing ``.sandbox/`` would. The overlap is forced,
not left to the OS scheduler: each process's first stage run waits until both
have reached it, and the process that wins the first claim starts its work
only after the other has tried the same claim (and been refused). So every
run really contends, and the store must still end with one set of events,
3 checkpoints and one result file (one output file for a batch).
"""
import collections
import json
import os
import subprocess
import sys
import time

import pytest

from helpers import clients, config, prompts
from helpers.sandbox import core_for, synthetic
from helpers.sandbox.core import BASE_MODEL

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LABELS = list(synthetic.WORDS)
# The rendezvous forces the overlap, so the sizes need not buy time for the pollers to meet.
N_EXAMPLES, N_REQUESTS = 500, 200

POLLER = """
import glob, json, os, sys, time
from helpers import clients, config
from helpers.sandbox import batches, jobs, stages, store
kind, sbx, obj_id, go = sys.argv[1:5]
c = clients.openai_client(config.resolve(backend="sandbox", mode="live", sandbox_dir=sbx),
                          max_retries=0)
first = {"run": True, "claim": True, "work": True}
refused = [0]

def mark(step):
    open(f"{go}.{step}.{os.getpid()}", "w").close()

def wait_both(step):
    while len(glob.glob(f"{go}.{step}.*")) < 2:
        time.sleep(0.002)

def run_stage(self, *args, _real=stages.StagedObjects.run_stage):
    if first["run"]:  # both processes reach the stage claim together
        first["run"] = False
        mark("arrived")
        wait_both("arrived")
    return _real(self, *args)

def claim(self, obj_id, stage, _real=store.Store.claim):
    token = _real(self, obj_id, stage)
    refused[0] += token is None
    if first["claim"]:  # inside the claim's transaction: mark only, never wait here
        first["claim"] = False
        mark("claimed")
    return token

def holding(real):
    def work(self, *args):
        if first["work"]:  # the winner works only once the other has tried this claim too
            first["work"] = False
            wait_both("claimed")
        return real(self, *args)
    return work

stages.StagedObjects.run_stage, store.Store.claim = run_stage, claim
for owner in (jobs.Jobs, batches.Batches):
    owner.work = holding(owner.work)
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.005)
seen = []
for _ in range(100000):
    if kind == "job":
        obj = c.fine_tuning.jobs.retrieve(obj_id)
    elif kind == "batch":
        obj = c.batches.retrieve(obj_id)
    else:  # watch: list jobs and events only, never retrieve
        jobs = {j.id: j for j in c.fine_tuning.jobs.list(limit=100).data}
        c.fine_tuning.jobs.list_events(obj_id, limit=5)
        obj = jobs[obj_id]
    seen.append(obj.status)
    if obj.status in ("succeeded", "failed", "cancelled", "completed", "expired"):
        break
print(json.dumps({"seen": seen, "refused": refused[0]}), flush=True)
"""


def client_for(path):
    return clients.openai_client(config.resolve(backend="sandbox", mode="live", sandbox_dir=path),
                                 strict=True, max_retries=0)


def race(kind, sbx, obj_id, tmp_path, env=None):
    """Two processes poll ``obj_id`` at once; each one's list of statuses seen.

    Also checks that the contention was real: one process was refused a claim.
    """
    go = tmp_path / f"go-{obj_id}"
    env = {**os.environ, "PYTHONPATH": REPO, **(env or {})}
    procs = [subprocess.Popen([sys.executable, "-c", POLLER, kind, str(sbx), obj_id, str(go)],
                              cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        go.write_text("go")
        results = [json.loads(p.stdout.readline()) for p in procs]
        for p in procs:
            assert p.wait(timeout=300) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert sum(r["refused"] for r in results) >= 1, "the two processes never met on a claim"
    return [r["seen"] for r in results]


def job_file(c, n):
    return c.files.create(file=("t.jsonl", synthetic.chat_jsonl(synthetic.headlines(n), LABELS)),
                          purpose="fine-tune")


def three_epoch_job(c, seed):
    """A seeded job on N_EXAMPLES examples for 3 epochs (so 3 checkpoints)."""
    return c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=job_file(c, N_EXAMPLES).id,
                                     seed=seed, method={"type": "supervised", "supervised": {
                                         "hyperparameters": {"n_epochs": 3}}})


def raced_job(kind, tmp_path, monkeypatch, seed, env):
    """A 3-epoch job made here under ``env``'s progression, then raced by two pollers of
    ``kind`` (``env`` is theirs); (client, sandbox dir, job, each poller's statuses)."""
    monkeypatch.setenv("COURSE_SANDBOX_PROGRESSION", env["COURSE_SANDBOX_PROGRESSION"])
    sbx = tmp_path / "sbx"
    c = client_for(sbx)
    job = three_epoch_job(c, seed=seed)
    return c, sbx, job, race(kind, sbx, job.id, tmp_path, env)


def counts(c, sbx, job_id):
    events = c.fine_tuning.jobs.list_events(job_id, limit=10000).data
    files = [f for f in c.files.list().data if f.purpose == "fine-tune-results"]
    blobs = [p.name for p in (sbx / "files").iterdir() if p.suffix == ".npz"]
    return events, files, blobs


def assert_one_run(c, sbx, job_id):
    job = c.fine_tuning.jobs.retrieve(job_id)
    assert job.status == "succeeded" and job.fine_tuned_model
    events, files, blobs = counts(c, sbx, job_id)
    messages = collections.Counter(e.message for e in events if e.type == "message")
    assert messages and max(messages.values()) == 1, f"a stage was logged twice: {messages}"
    steps = [e.data["step"] for e in events if e.type == "metrics"]
    assert steps and len(steps) == len(set(steps)), "a training step was logged twice"
    assert len(c.fine_tuning.jobs.checkpoints.list(job_id, limit=100).data) == 3
    assert [f.id for f in files] == job.result_files  # one result file, the job's
    assert len(blobs) == 1 + 3, f"weights stored once (model + 3 checkpoints): {blobs}"
    return len(events)


@pytest.mark.slow
def test_two_processes_polling_one_job_run_each_stage_once(tmp_path, monkeypatch):
    c, sbx, job, seen = raced_job("job", tmp_path, monkeypatch, 1,
                                  {"COURSE_SANDBOX_PROGRESSION": "poll"})
    assert all(s[-1] == "succeeded" for s in seen)
    # both processes polled before the job had finished (forced by the rendezvous)
    assert all(len(s) >= 2 for s in seen)
    n_events = assert_one_run(c, sbx, job.id)

    # the same job run by one process alone logs exactly as many events
    solo = client_for(tmp_path / "solo")
    again = three_epoch_job(solo, seed=1)
    while again.status != "succeeded":
        again = solo.fine_tuning.jobs.retrieve(again.id)
    assert len(solo.fine_tuning.jobs.list_events(again.id, limit=10000).data) == n_events


@pytest.mark.slow
def test_two_processes_watching_the_job_list_under_time_progression(tmp_path, monkeypatch):
    """Under 'time', listing jobs and events advances what is due, in one process only."""
    c, sbx, job, seen = raced_job("watch", tmp_path, monkeypatch, 2,
                                  {"COURSE_SANDBOX_PROGRESSION": "time",
                                   "COURSE_SANDBOX_STAGE_SECONDS": "0"})
    assert all(s[-1] == "succeeded" for s in seen)
    assert_one_run(c, sbx, job.id)


def batch_input(n):
    lines = [{"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
              "body": {"model": BASE_MODEL, "messages": prompts.messages(text, LABELS)}}
             for i, (text, _) in enumerate(synthetic.headlines(n, seed=4))]
    return "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()


@pytest.mark.slow
def test_two_processes_polling_one_batch_write_one_output_file(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_SANDBOX_PROGRESSION", "poll")
    sbx = tmp_path / "sbx"
    c = client_for(sbx)
    f = c.files.create(file=("b.jsonl", batch_input(N_REQUESTS)), purpose="batch")
    batch = c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                             completion_window="24h")
    seen = race("batch", sbx, batch.id, tmp_path, {"COURSE_SANDBOX_PROGRESSION": "poll"})
    assert all(s[-1] == "completed" for s in seen)
    assert all(len(s) >= 2 for s in seen)  # both met it unfinished (forced by the rendezvous)
    done = c.batches.retrieve(batch.id)
    outputs = [x for x in c.files.list().data if x.purpose == "batch_output"]
    assert [x.id for x in outputs] == [done.output_file_id]
    assert done.error_file_id is None
    rows = c.files.content(done.output_file_id).text.splitlines()
    assert len(rows) == N_REQUESTS and done.request_counts.completed == N_REQUESTS
    assert len({json.loads(r)["custom_id"] for r in rows}) == N_REQUESTS


@pytest.mark.slow
def test_a_claim_left_by_a_live_process_is_respected(tmp_path, monkeypatch):
    """While another live process holds a stage, a poll here does not run it."""
    monkeypatch.setenv("COURSE_SANDBOX_PROGRESSION", "poll")
    sbx = tmp_path / "sbx"
    c = client_for(sbx)
    job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=job_file(c, 30).id)
    store = core_for(sbx).store
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with open(f"/proc/{holder.pid}/stat") as f:
            start = f.read().rsplit(")", 1)[1].split()[19]
        store.execute("INSERT INTO claims VALUES (?, 'validating_files', 'x', ?, ?, ?, ?)",
                      (job.id, __import__("socket").gethostname(), holder.pid, start, time.time()))
        assert c.fine_tuning.jobs.retrieve(job.id).status == "validating_files"
        assert c.fine_tuning.jobs.retrieve(job.id).status == "validating_files"
    finally:
        holder.kill()
        holder.wait(timeout=10)
    # its owner is gone: the next poll takes the stage over
    assert c.fine_tuning.jobs.retrieve(job.id).status == "queued"


@pytest.mark.parametrize("progression", ["poll", "time"])
def test_cancel_while_a_stage_runs_discards_its_results(tmp_path, monkeypatch, progression):
    """A cancel that lands while the job trains wins: nothing of that run is kept."""
    from helpers.sandbox import training

    monkeypatch.setenv("COURSE_SANDBOX_PROGRESSION", progression)
    monkeypatch.setenv("COURSE_SANDBOX_STAGE_SECONDS", "0")
    sbx = tmp_path / "sbx"
    c = client_for(sbx)
    job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=job_file(c, 30).id)
    if progression == "poll":
        c.fine_tuning.jobs.retrieve(job.id)  # -> queued
    real_run = training.run

    def run_then_cancel(*a, **k):
        outcome = real_run(*a, **k)
        c.fine_tuning.jobs.cancel(job.id)  # lands before the training's commit
        return outcome

    monkeypatch.setattr(training, "run", run_then_cancel)
    after = c.fine_tuning.jobs.retrieve(job.id)
    assert after.status == "cancelled" and after.fine_tuned_model is None
    assert c.fine_tuning.jobs.checkpoints.list(job.id).data == []
    messages = [e.message for e in c.fine_tuning.jobs.list_events(job.id, limit=100).data]
    assert "Fine-tuning job started" not in messages and "Fine-tuning job cancelled" in messages
    assert not [p for p in (sbx / "files").iterdir() if p.suffix == ".npz"]
    assert not [f for f in c.files.list().data if f.purpose == "fine-tune-results"]
