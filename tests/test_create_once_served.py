"""Creates survive a dropped response: one file, one job, one batch on the service.

A served sandbox sits behind ``dropping_proxy``, which forwards the first
upload, job create and batch create and then closes the connection without
the answer. The SDKs' own retry would send the POST again and make a second
object; the course sends creates without SDK retries, looks the object up by
what identifies it, and attaches to it.
"""
import hashlib
import json

import pytest
from dropping_proxy import DropRules, dropping_proxy
from served_sandbox import served_sandbox
from test_jobs_sandbox import write_training

from helpers import batch, clients, config, jobs

pytestmark = pytest.mark.slow

FAKE_OPENAI = "sk-" + "fake" * 8
FAKE_ZHIPU = "0123abcd" * 4 + "." + "notARealSecret"
PREFIX = {"openai": "/v1", "zhipu": "/api/paas/v4"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with served_sandbox(tmp_path_factory.mktemp("served") / "sandbox") as url:
        yield url


def _client(sdk: str, base: str, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_OPENAI)
    monkeypatch.setenv("ZHIPUAI_API_KEY", FAKE_ZHIPU)
    monkeypatch.setenv("COURSE_BASE_URL", f"{base}{PREFIX[sdk]}")
    settings = config.resolve(backend=sdk, mode="live")
    return settings, clients.client(settings, timeout=30.0)


def _request_file(path, n=3):
    lines = [{"custom_id": batch.custom_id(i), "method": "POST",
              "url": batch.ENDPOINTS["openai"],
              "body": {"model": "sandbox-base", "messages": [{"role": "user", "content": f"t{i}"}]}}
             for i in range(n)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("sdk", ["openai", "zhipu"])
def test_dropped_create_answers_make_one_file_and_one_job(server, tmp_path, monkeypatch, sdk):
    prefix = PREFIX[sdk]
    rules = DropRules(("POST", f"{prefix}/files"), ("POST", f"{prefix}/fine_tuning/jobs"))
    train = write_training(tmp_path / "train.jsonl", n=12, tag=sdk)
    work = tmp_path / "work"
    with dropping_proxy(server, rules) as proxy:
        settings, client = _client(sdk, proxy, monkeypatch)
        file_id = jobs.upload(client, train, settings=settings, work_dir=work)
        record = jobs.submit(client, train, model="sandbox-base", settings=settings,
                             work_dir=work, n_epochs=1, max_cost_usd=None, verbose=False)
    assert rules.dropped == [("POST", f"{prefix}/files"), ("POST", f"{prefix}/fine_tuning/jobs")]
    _, direct = _client(sdk, server, monkeypatch)
    name = f"train-{hashlib.sha256(train.read_bytes()).hexdigest()[:12]}.jsonl"
    stored = [f.id for f in direct.files.list(purpose="fine-tune").data if f.filename == name]
    assert stored == [file_id]
    made = jobs.find_jobs(direct, record.key)
    assert [j.id for j in made] == [record.job_id]
    assert record.training_file == file_id


def test_dropped_batch_create_answer_makes_one_batch(server, tmp_path, monkeypatch):
    rules = DropRules(("POST", "/v1/batches"))
    path = _request_file(tmp_path / "requests.jsonl")
    with dropping_proxy(server, rules) as proxy:
        settings, client = _client("openai", proxy, monkeypatch)
        made = batch.submit_batch(client, path, metadata={"name": "drop"}, settings=settings,
                                  work_dir=tmp_path / "work", verbose=False)
    assert rules.dropped == [("POST", "/v1/batches")]
    _, direct = _client("openai", server, monkeypatch)
    listed = [b for b in direct.batches.list(limit=100).data
              if (b.metadata or {}).get("name") == "drop"]
    assert [b.id for b in listed] == [made.id]
    assert made.input_file_id == listed[0].input_file_id
