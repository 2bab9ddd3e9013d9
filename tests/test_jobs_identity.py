"""A record from another backend instance is never used.

Two runs share a work directory; between them the sandbox directory is deleted
(a new sandbox instance is made in its place). The second run must give exactly
what a fresh run gives: no cached answer and no job record from the first
instance. A third run on the same instance shows the cache and the job store do
work when the instance is the same.
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from test_jobs_sandbox import LABELS, write_training

from conftest import REPO
from helpers import clients, config

RUN = textwrap.dedent("""
    import json, sys
    from helpers import cache, classify, clients, config, jobs

    sandbox_dir, work, train = sys.argv[1:4]
    texts = json.loads(sys.argv[4])
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=sandbox_dir)
    client = clients.openai_client(settings)
    responses = cache.open_cache(work)
    zero = classify.classify(client, texts, json.loads(sys.argv[5]), "sandbox-base",
                             cache=responses, progress=False)
    record = jobs.submit(client, train, model="sandbox-base", settings=settings, work_dir=work,
                         n_epochs=2, seed=3, verbose=False)
    job = jobs.wait(client, record, settings=settings, progress=False, sleep=lambda s: None)
    tuned = classify.classify(client, texts, json.loads(sys.argv[5]), job.fine_tuned_model,
                              cache=responses, progress=False)
    print(json.dumps({
        "zero": zero.labels, "tuned": tuned.labels,
        "cached": sum(p.cached for p in zero.predictions + tuned.predictions),
        "errors": [p.error for p in zero.predictions + tuned.predictions if p.error],
        "attached": record.attached, "job": record.job_id, "model": job.fine_tuned_model,
        "trained_tokens": job.trained_tokens, "identity": settings.identity}))
""")

TEXTS = ["国足两球击败对手晋级决赛", "央行宣布下调存款准备金率", "新款手机搭载自研芯片发布",
         "篮球联赛总决赛今晚开打", "股市三大指数集体收涨", "人工智能大模型开源新版本"]


def _start(sandbox_dir, work, train):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", RUN, str(sandbox_dir), str(work), str(train),
                             json.dumps(TEXTS, ensure_ascii=False), json.dumps(LABELS)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _result(proc) -> dict:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return json.loads(out.splitlines()[-1])


@pytest.mark.slow
def test_a_deleted_sandbox_gets_exactly_the_results_of_a_fresh_run(tmp_path):
    train = write_training(tmp_path / "train.jsonl", n=24)
    shared_sandbox, shared_work = tmp_path / "sandbox", tmp_path / "work"
    first = _start(shared_sandbox, shared_work, train)
    fresh = _start(tmp_path / "fresh-sandbox", tmp_path / "fresh-work", train)
    first, fresh = _result(first), _result(fresh)
    assert first["errors"] == fresh["errors"] == []  # every answer came from the sandbox

    shutil.rmtree(shared_sandbox)  # the learner resets the sandbox; the work dir stays
    after = _result(_start(shared_sandbox, shared_work, train))
    assert after["identity"] != first["identity"]
    assert after["cached"] == 0  # no answer of the old instance is served
    assert not after["attached"] and after["job"] != first["job"]  # no old job record attaches
    assert after["model"] != first["model"]
    for key in ("zero", "tuned", "cached", "attached", "trained_tokens"):
        assert after[key] == fresh[key], key  # exactly what a fresh run gives

    again = _result(_start(shared_sandbox, shared_work, train))  # same instance: all reused
    assert again["attached"] and again["job"] == after["job"]
    assert again["cached"] == 2 * len(TEXTS)
    assert (again["zero"], again["tuned"]) == (after["zero"], after["tuned"])


def test_identity_names_provider_url_and_sandbox_instance(tmp_path, monkeypatch):
    sandbox = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "a")
    other = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "b")
    with pytest.raises(config.ConfigError, match="No sandbox in .* yet"):
        sandbox.identity  # noqa: B018  (reading it makes nothing)
    assert not (tmp_path / "a").exists()
    clients.openai_client(sandbox), clients.openai_client(other)  # a client makes the sandbox
    before = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert sandbox.identity.startswith("sandbox@http://sandbox.local#")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == before
    assert sandbox.identity == config.resolve(backend="sandbox", mode="live",
                                              sandbox_dir=tmp_path / "a").identity
    assert sandbox.identity != other.identity
    replay = config.resolve(backend="sandbox", mode="replay", sandbox_dir=tmp_path / "c")
    assert replay.identity == "replay:sandbox@http://sandbox.local"
    assert not (tmp_path / "c").exists()  # replay never opens a sandbox
    for var in ("COURSE_BASE_URL", "OPENAI_BASE_URL", "ZHIPUAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    assert config.resolve(backend="openai").identity == "openai@https://api.openai.com/v1"
    assert config.resolve(backend="zhipu").identity == \
        "zhipu@https://open.bigmodel.cn/api/paas/v4"
    monkeypatch.setenv("COURSE_BASE_URL", "http://user:pw@127.0.0.1:8000/v1/?key=x")
    served = config.resolve(backend="openai")
    assert served.identity == "openai@http://127.0.0.1:8000/v1"  # no credentials or query
    assert served.base_url == "http://user:pw@127.0.0.1:8000/v1/?key=x"
    # a client made here carries its settings, so helpers given only the client key on them
    client = clients.openai_client(sandbox)
    assert clients.settings_of(client) == sandbox
    assert clients.cache_namespace(client) == f"openai:{sandbox.identity}"
    assert clients.cache_namespace(clients.zhipu_client(sandbox)) == f"zhipu:{sandbox.identity}"


def test_jobs_wait_by_id_without_settings_finds_the_record(tmp_path):
    from helpers import jobs

    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sb")
    client = clients.openai_client(settings)
    train = write_training(tmp_path / "train.jsonl")
    record = jobs.submit(client, train, model="sandbox-base", settings=settings,
                         work_dir=tmp_path / "work", verbose=False)
    # no settings: the client's own name the backend, so the stored record is found
    jobs.wait(client, record.job_id, work_dir=tmp_path / "work", progress=False,
              sleep=lambda s: None)
    stored = jobs.JobStore(tmp_path / "work").job(settings.identity, "openai", record.job_id)
    assert stored.status == "succeeded" and stored.billed_tokens == record.estimated_tokens


@pytest.mark.parametrize("given", ["jobs.sqlite", None])
def test_the_job_store_is_a_file_inside_the_work_dir_even_before_it_exists(tmp_path, given):
    from helpers import jobs

    work = tmp_path / "not" / "yet"
    store = jobs.JobStore(work / given if given else work)
    assert store.path == work / "jobs.sqlite" and work.is_dir() and store.path.is_file()
