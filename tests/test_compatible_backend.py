"""COURSE_BACKEND=compatible: any OpenAI-compatible chat server, set by COURSE_BASE_URL.

Configuration errors name the variable to set; the optional COURSE_API_KEY is
sent only to that server and never printed or recorded; a server without
fine-tuning endpoints is told apart in one sentence. The served sandbox stands
in for the server (``python -m helpers.sandbox serve`` on a loopback port).
"""
import json
import traceback

import httpx2
import openai
import pytest
from served_sandbox import served_sandbox
from test_jobs_sandbox import LABELS, write_training

from helpers import classify, clients, config, jobs, recording

# Fake keys are assembled at run time so secret scanners do not flag this file.
PLANTED = "ollama-" + "PLANTEDcompatKEY-0123456789"
OTHER = "sk-" + "PLANTEDopenaiKEY0123456789"


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for var in ("COURSE_BASE_URL", "COURSE_API_KEY", "OPENAI_BASE_URL", "ZHIPUAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with served_sandbox(tmp_path_factory.mktemp("served") / "sandbox") as url:
        yield url


def test_compatible_needs_a_base_url_and_says_which(monkeypatch):
    with pytest.raises(config.ConfigError) as info:
        config.resolve(backend="compatible")
    text = str(info.value)
    assert "COURSE_BASE_URL" in text and "export COURSE_BASE_URL=" in text
    assert "11434" in text and "vLLM" in text and "llama.cpp" in text
    monkeypatch.setenv("COURSE_BASE_URL", "localhost:11434")
    with pytest.raises(config.ConfigError, match="COURSE_BASE_URL.*not an http"):
        config.resolve(backend="compatible")
    monkeypatch.setenv("COURSE_BASE_URL", "http://localhost:11434/v1/")
    settings = config.resolve(backend="compatible", mode="live")
    assert settings.base_url == "http://localhost:11434/v1" and not settings.needs_key
    assert settings.identity == "compatible@http://localhost:11434/v1"
    with pytest.raises(config.ConfigError, match="COURSE_BACKEND=sandbox runs in-process"):
        config.resolve(backend="sandbox", base_url="http://localhost:8000/v1")
    assert config.resolve(backend="sandbox").base_url is None  # the variable is for the others


def test_the_key_is_optional_and_no_other_backend_key_is_sent(monkeypatch):
    monkeypatch.setenv("COURSE_BASE_URL", "http://localhost:11434/v1")
    monkeypatch.setenv("OPENAI_API_KEY", OTHER)
    settings = config.resolve(backend="compatible", mode="live")
    client = clients.client(settings)
    assert isinstance(client, openai.OpenAI) and str(client.base_url).startswith(
        "http://localhost:11434/v1")
    assert client.api_key == clients.NO_KEY  # never OPENAI_API_KEY, meant for OpenAI
    monkeypatch.setenv("COURSE_API_KEY", PLANTED)
    assert clients.client(settings).api_key == PLANTED
    assert PLANTED not in repr(settings) and PLANTED in config.configured_keys()
    with pytest.raises(config.ConfigError, match="compatible uses openai_client"):
        clients.zhipu_client(settings)


def test_openai_and_zhipu_backends_take_another_base_url(monkeypatch):
    monkeypatch.setenv("COURSE_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", OTHER)
    assert str(clients.client(config.resolve(backend="openai")).base_url) == \
        "http://127.0.0.1:9/v1/"
    monkeypatch.delenv("COURSE_BASE_URL")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:10/v1")  # the SDK's own variable
    assert config.resolve(backend="openai").base_url == "http://127.0.0.1:10/v1"


@pytest.mark.slow
def test_zero_shot_classification_on_a_compatible_server(server, monkeypatch):
    monkeypatch.setenv("COURSE_BASE_URL", f"{server}/v1")
    settings = config.resolve(backend="compatible", mode="live")
    client = clients.client(settings)
    texts = ["国足两球击败对手晋级决赛", "央行宣布下调存款准备金率", "新款手机搭载自研芯片发布"]
    results = classify.classify(client, texts, LABELS, "sandbox-base", progress=False)
    assert [p.error for p in results.predictions] == [None] * 3
    assert set(results.labels) <= set(LABELS) and results.labels[0] == "体育"
    assert clients.supports_fine_tuning(client)  # the sandbox has the endpoints


def _server_without_fine_tuning(status, body, calls):
    def handler(request):
        calls.append(request.url.path)
        if isinstance(body, str):
            return httpx2.Response(status, text=body)
        return httpx2.Response(status, json=body)

    return openai.OpenAI(api_key="k", base_url="http://ollama.test/v1", max_retries=0,
                         http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))


@pytest.mark.parametrize("status, body", [
    (404, "404 page not found"),                      # Ollama
    (404, {"detail": "Not Found"}),                   # vLLM (FastAPI)
    (404, {"error": {"code": 404, "message": "File Not Found", "type": "not_found_error"}}),
    (405, {"error": {"message": "Method Not Allowed"}}),
], ids=["ollama", "vllm", "llama.cpp", "405"])
def test_a_server_without_fine_tuning_is_said_in_one_sentence(status, body):
    calls = []
    client = _server_without_fine_tuning(status, body, calls)
    support = clients.supports_fine_tuning(client)
    assert not support and calls == ["/v1/fine_tuning/jobs"]
    assert support.reason.startswith("the server at http://ollama.test/v1 has no fine-tuning "
                                     f"endpoints (HTTP {status}")
    assert support.reason.endswith(".") and ". " not in support.reason
    assert clients.supports_fine_tuning(client) is support and len(calls) == 1  # asked once
    with pytest.raises(jobs.NotAvailableError) as info:
        jobs.list_jobs(client)
    assert "has no fine-tuning endpoint (HTTP" in str(info.value)


def test_submitting_to_a_server_without_fine_tuning_stops_before_uploading(tmp_path):
    calls = []
    client = _server_without_fine_tuning(404, "404 page not found", calls)
    train = write_training(tmp_path / "train.jsonl")
    with pytest.raises(jobs.NotAvailableError, match="no fine-tuning endpoint"):
        jobs.submit(client, train, model="llama3.2", work_dir=tmp_path / "w", max_cost_usd=None,
                    verbose=False)
    assert calls == ["/v1/fine_tuning/jobs"]  # the lookup, then nothing paid or uploaded


def test_a_refusing_server_is_not_called_endpoint_less():
    client = _server_without_fine_tuning(401, {"error": {"message": "bad key"}}, [])
    support = clients.supports_fine_tuning(client)
    assert not support and "HTTP 401" in support.reason and "COURSE_API_KEY" in support.reason


@pytest.mark.slow
def test_a_planted_compatible_key_appears_nowhere(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_BASE_URL", f"{server}/v1")
    monkeypatch.setenv("COURSE_API_KEY", PLANTED)
    monkeypatch.setenv("COURSE_CASSETTE_DIR", str(tmp_path / "cassettes"))
    settings = config.resolve(backend="compatible", mode="record")
    work = tmp_path / "work"
    try:
        client = clients.client(settings, cassette="compat")
        print(settings, clients.settings_of(client))
        # a key pasted into a prompt and into an id still stays out of every record
        results = classify.classify(client, [f"key {PLANTED} 国足获胜"], LABELS, "sandbox-base",
                                    progress=False)
        print(results.summary())
        with pytest.raises(jobs.NotFoundError) as info:
            jobs.wait(client, f"ftjob-{PLANTED}", work_dir=work, progress=False)
        error = "".join(traceback.format_exception(info.value))
        train = write_training(tmp_path / "train.jsonl")
        record = jobs.submit(client, train, model="sandbox-base", work_dir=work,
                             max_cost_usd=None, verbose=True)
        print(record)
    finally:
        recording.deactivate()
    out = capsys.readouterr()
    cassette = (tmp_path / "cassettes" / "compat.compatible.json").read_text(encoding="utf-8")
    assert "chat/completions" in cassette and "fine_tuning/jobs" in cassette  # it really ran
    stored = b"".join(p.read_bytes() for p in work.rglob("*") if p.is_file())
    for text in (cassette, out.out, out.err, error, json.dumps(record.__dict__, default=str)):
        assert PLANTED not in text and PLANTED[-12:] not in text
    assert PLANTED.encode() not in stored and PLANTED[-12:].encode() not in stored
