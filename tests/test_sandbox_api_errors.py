"""Every bad request is a 4xx in the provider's error shape, before anything is saved."""
import json
import logging
import sqlite3

import httpx
import httpx2
import openai
import pytest
import zhipuai

from helpers import clients, prompts
from helpers.sandbox import app_for, synthetic
from helpers.sandbox.core import BASE_MODEL, Sandbox

LABELS = list(synthetic.WORDS)
MSGS = prompts.messages("国足主场绝杀", LABELS)
CHAT = {"model": BASE_MODEL, "messages": MSGS}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def training_file(client):
    data = synthetic.chat_jsonl(synthetic.headlines(20), LABELS)
    return client.files.create(file=("t.jsonl", data), purpose="fine-tune").id


def job(training_file, **kw):
    return {"model": BASE_MODEL, "training_file": training_file, **kw}


def hp(training_file, **values):
    return job(training_file, method={"type": "supervised",
                                      "supervised": {"hyperparameters": values}})


# (path, body or raw bytes, expected param or None, status). ``F`` stands for a real file id.
F = "<file>"
OPENAI_CASES = [
    ("/chat/completions", {**CHAT, "n": "3"}, "n", 400),
    ("/chat/completions", {**CHAT, "n": 1.5}, "n", 400),
    ("/chat/completions", {**CHAT, "n": -2}, "n", 400),
    ("/chat/completions", {**CHAT, "n": 100000}, "n", 400),
    ("/chat/completions", {**CHAT, "n": True}, "n", 400),
    ("/chat/completions", {**CHAT, "messages": [{"role": "user", "content": 5}]},
     "messages[0].content", 400),
    ("/chat/completions", {**CHAT, "messages": [{"role": "user", "content": "x", "name": 5}]},
     "messages[0].name", 400),
    ("/chat/completions", {**CHAT, "messages": [{"role": "wizard", "content": "x"}]},
     "messages[0].role", 400),
    ("/chat/completions", {**CHAT, "messages": [{"content": "x"}]}, "messages[0].role", 400),
    ("/chat/completions", {**CHAT, "messages": [{"role": "user", "content": [
        {"type": "text", "text": 7}]}]}, "messages[0].content[0].text", 400),
    ("/chat/completions", {**CHAT, "messages": "hello"}, "messages", 400),
    ("/chat/completions", {**CHAT, "messages": []}, "messages", 400),
    ("/chat/completions", {"messages": MSGS}, "model", 400),
    ("/chat/completions", {**CHAT, "model": 5}, "model", 400),
    ("/chat/completions", {**CHAT, "temperature": 2.5}, "temperature", 400),
    ("/chat/completions", {**CHAT, "temperature": "0.5"}, "temperature", 400),
    ("/chat/completions", {**CHAT, "logprobs": True, "top_logprobs": 21}, "top_logprobs", 400),
    ("/chat/completions", {**CHAT, "top_logprobs": 2}, "top_logprobs", 400),
    ("/chat/completions", {**CHAT, "max_tokens": 0}, "max_tokens", 400),
    ("/chat/completions", {**CHAT, "max_completion_tokens": -1}, "max_completion_tokens", 400),
    ("/chat/completions", {**CHAT, "stream": "yes"}, "stream", 400),
    ("/chat/completions", {**CHAT, "stream_options": {"include_usage": True}},
     "stream_options", 400),
    ("/chat/completions", {**CHAT, "logit_bias": {"100": 5}}, "logit_bias", 400),
    ("/chat/completions", {**CHAT, "frequency_penalty": 0.5}, "frequency_penalty", 400),
    ("/chat/completions", {**CHAT, "reasoning_effort": "high"}, "reasoning_effort", 400),
    ("/chat/completions", {**CHAT, "not_a_parameter": 1}, "not_a_parameter", 400),
    ("/chat/completions", {**CHAT, "response_format": {"type": "xml"}},
     "response_format.type", 400),
    ("/chat/completions", {**CHAT, "stop": ["a", "b", "c", "d", "e"]}, "stop", 400),
    ("/chat/completions", {**CHAT, "model": "no-such-model"}, "model", 404),
    ("/fine_tuning/jobs", hp(F, n_epochs=3.7), "method.supervised.hyperparameters.n_epochs", 400),
    ("/fine_tuning/jobs", hp(F, n_epochs=0), "method.supervised.hyperparameters.n_epochs", 400),
    ("/fine_tuning/jobs", hp(F, n_epochs=51), "method.supervised.hyperparameters.n_epochs", 400),
    ("/fine_tuning/jobs", hp(F, batch_size=257),
     "method.supervised.hyperparameters.batch_size", 400),
    ("/fine_tuning/jobs", hp(F, learning_rate_multiplier=-1.0),
     "method.supervised.hyperparameters.learning_rate_multiplier", 400),
    ("/fine_tuning/jobs", hp(F, learning_rate_multiplier="high"),
     "method.supervised.hyperparameters.learning_rate_multiplier", 400),
    ("/fine_tuning/jobs", job(F, hyperparameters={"n_epochs": "3"}),
     "hyperparameters.n_epochs", 400),
    ("/fine_tuning/jobs", job([F]), "training_file", 400),
    ("/fine_tuning/jobs", {"model": BASE_MODEL}, "training_file", 400),
    ("/fine_tuning/jobs", job(F, method="supervised"), "method", 400),
    ("/fine_tuning/jobs", job(F, method={"type": "dpo"}), "method.type", 400),
    ("/fine_tuning/jobs", job(F, seed="abc"), "seed", 400),
    ("/fine_tuning/jobs", job(F, seed=1.5), "seed", 400),
    ("/fine_tuning/jobs", job(F, suffix="x" * 65), "suffix", 400),
    ("/fine_tuning/jobs", job(F, metadata={"course": 1}), "metadata.course", 400),
    ("/fine_tuning/jobs", job(F, metadata=["a"]), "metadata", 400),
    ("/fine_tuning/jobs", job(F, model=5), "model", 400),
    ("/fine_tuning/jobs", job(F, integrations=[{"type": "wandb", "wandb": {"project": "p"}}]),
     "integrations", 400),
    ("/batches", {"input_file_id": F, "endpoint": "/v1/chat/completions",
                  "completion_window": "48h"}, "completion_window", 400),
    ("/batches", {"endpoint": "/v1/chat/completions", "completion_window": "24h"},
     "input_file_id", 400),
    # Bodies that are not JSON objects
    ("/chat/completions", b'{"model": "sandbox-base", "messages": [{"role": "user", '
                          b'"content": "caf\xe9"}]}', None, 400),
    ("/chat/completions", b"{not json", None, 400),
    ("/chat/completions", b"[1, 2, 3]", None, 400),
    ("/fine_tuning/jobs", b'{"model": "sandbox-base", "training_file": "<file>", '
                          b'"hyperparameters": {"learning_rate_multiplier": NaN}}', None, 400),
    ("/fine_tuning/jobs", b'{"model": "sandbox-base", "training_file": "<file>", '
                          b'"hyperparameters": {"learning_rate_multiplier": 1e999}}', None, 400),
]


def _fill(value, file_id):
    if isinstance(value, bytes):
        return value.replace(b"<file>", file_id.encode())
    return json.loads(json.dumps(value).replace(F, file_id))


@pytest.mark.parametrize("path, body, param, status", OPENAI_CASES,
                         ids=[f"{i}-{c[0].strip('/')}-{c[2]}" for i, c in enumerate(OPENAI_CASES)])
def test_openai_bad_input_is_a_4xx_in_openai_shape(client, training_file, path, body, param,
                                                   status):
    body = _fill(body, training_file)
    kw = {"content": body, "options": {"headers": JSON}} if isinstance(body, bytes) else \
        {"body": body}
    with pytest.raises(openai.APIStatusError) as err:
        client.post(path, cast_to=object, **kw)
    assert err.value.status_code == status
    error = err.value.response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param and error["message"]
    assert err.value.response.headers["x-request-id"].startswith("req_")


def test_nothing_is_saved_by_rejected_creates_and_no_bare_nan(client, training_file, settings):
    for path, body, _, _ in OPENAI_CASES:
        if path in ("/fine_tuning/jobs", "/batches"):
            body = _fill(body, training_file)
            kw = {"content": body, "options": {"headers": JSON}} if isinstance(body, bytes) \
                else {"body": body}
            with pytest.raises(openai.BadRequestError):
                client.post(path, cast_to=object, **kw)
    assert client.fine_tuning.jobs.list().data == [] and client.batches.list().data == []
    db = sqlite3.connect(settings.sandbox_dir / "sandbox.sqlite3")
    rows = db.execute("SELECT body FROM jobs UNION ALL SELECT body FROM events").fetchall()
    assert rows == []
    assert not any("NaN" in r[0] or "Infinity" in r[0]
                   for r in db.execute("SELECT body FROM files").fetchall())


def test_upload_errors(client, settings):
    with pytest.raises(openai.BadRequestError) as err:
        client.files.create(file=("a.jsonl", b"{}"), purpose="nonsense")
    assert err.value.param == "purpose"
    with pytest.raises(openai.BadRequestError) as err:
        client.post("/files", cast_to=object, content=b"purpose=fine-tune",
                    options={"headers": {"Content-Type": "application/x-www-form-urlencoded"}})
    assert err.value.param == "file"
    with pytest.raises(openai.BadRequestError) as err:
        client.files.create(file=("a.jsonl", b"{}"), purpose="fine-tune",
                            extra_body={"colour": "blue"})
    assert err.value.param == "colour"
    small = app_for(settings.sandbox_dir)
    small.max_upload_bytes = 1000
    http = httpx2.Client(transport=httpx2.WSGITransport(app=small))
    tiny = openai.OpenAI(api_key="k", base_url=clients.SANDBOX_OPENAI_URL, http_client=http,
                         max_retries=0)
    with pytest.raises(openai.APIStatusError) as err:
        tiny.files.create(file=("big.jsonl", b"x" * 5000), purpose="fine-tune")
    assert err.value.status_code == 413 and err.value.code == "file_too_large"
    assert client.files.list().data == []
    assert not list(settings.sandbox_dir.joinpath("files").glob(".upload-*"))


def test_wrong_method_is_405_and_unknown_path_404(client):
    with pytest.raises(openai.APIStatusError) as err:
        client.get("/chat/completions", cast_to=object)
    assert err.value.status_code == 405 and err.value.response.headers["allow"] == "POST"
    assert err.value.response.json()["error"]["code"] == "method_not_allowed"
    with pytest.raises(openai.APIStatusError) as err:
        client.delete("/fine_tuning/jobs", cast_to=object)
    assert err.value.status_code == 405
    with pytest.raises(openai.NotFoundError, match=r"Invalid URL \(GET /v1/no/such/thing\)"):
        client.get("/no/such/thing", cast_to=object)
    with pytest.raises(openai.BadRequestError) as err:
        client.get("/fine_tuning/jobs?limit=abc", cast_to=object)
    assert err.value.param == "limit"


def test_chunked_body_in_process(settings):
    http = httpx2.Client(transport=httpx2.WSGITransport(app=app_for(settings.sandbox_dir)))
    body = json.dumps(CHAT, ensure_ascii=False).encode()
    r = http.post(f"{clients.SANDBOX_OPENAI_URL}/chat/completions", headers=JSON,
                  content=iter([body[:10], body[10:]]))  # a generator: sent chunked
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "体育"


ZHIPU_CASES = [
    ({**CHAT, "temperature": "0.5"}, 400),
    ({**CHAT, "temperature": 1.5}, 400),
    ({**CHAT, "messages": [{"role": "user", "content": 5}]}, 400),
    ({**CHAT, "messages": [{"role": "wizard", "content": "x"}]}, 400),
    ({**CHAT, "max_tokens": 0}, 400),
    ({**CHAT, "not_a_parameter": 1}, 400),
    ({**CHAT, "tools": [{"type": "function", "function": {"name": "f"}}]}, 400),
    ({**CHAT, "response_format": {"type": "json_schema"}}, 400),
    ({**CHAT, "model": "no-such-model"}, 400),
]


@pytest.mark.parametrize("body, status", ZHIPU_CASES)
def test_zhipu_bad_chat_is_a_4xx_in_zhipu_shape(settings, body, status):
    z = clients.zhipu_client(settings, max_retries=0)
    with pytest.raises(zhipuai.APIStatusError) as err:
        z.post("/chat/completions", cast_type=object, body=body)
    assert err.value.response.status_code == status
    error = err.value.response.json()["error"]
    assert set(error) == {"code", "message"} and error["code"].isdigit()


def test_zhipu_bad_job_bodies(settings):
    z = clients.zhipu_client(settings, max_retries=0)
    f = z.files.create(file=("t.jsonl", synthetic.chat_jsonl(synthetic.headlines(12), LABELS)),
                       purpose="fine-tune")
    http = httpx.Client(transport=httpx.WSGITransport(app=app_for(settings.sandbox_dir)))
    url = f"{clients.SANDBOX_ZHIPU_URL}/fine_tuning/jobs"
    for body in ({"model": BASE_MODEL, "training_file": f.id, "hyperparameters": {"n_epochs": 3.7}},
                 {"model": BASE_MODEL, "training_file": [f.id]},
                 {"model": BASE_MODEL, "training_file": f.id, "seed": 3}):
        r = http.post(url, json=body)
        assert r.status_code == 400 and set(r.json()["error"]) == {"code", "message"}
    r = http.post(url, content=b"\xff\xfe{", headers=JSON)
    assert r.status_code == 400 and r.json()["error"]["code"] == "1214"
    assert z.fine_tuning.jobs.list().data == []


def test_unexpected_exception_is_a_logged_json_500_with_request_id(client, monkeypatch, caplog):
    def boom(self):
        raise RuntimeError("planted failure")

    monkeypatch.setattr(Sandbox, "list_models", boom)
    with (caplog.at_level(logging.ERROR, logger="helpers.sandbox"),
          pytest.raises(openai.InternalServerError) as err):
        client.models.list()
    request_id = err.value.response.headers["x-request-id"]
    error = err.value.response.json()["error"]
    assert error["type"] == "server_error" and request_id in error["message"]
    assert "planted failure" not in error["message"]
    record = next(r for r in caplog.records if request_id in r.getMessage())
    assert record.exc_info and "planted failure" in str(record.exc_info[1])
