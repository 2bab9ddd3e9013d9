"""The recording layer: replay, record, matching, secrets (against a tiny WSGI app)."""
import json
import socket

import httpx
import httpx2
import openai
import pytest
import zhipuai

from helpers import clients, config, recording
from helpers.recording import CassetteMiss

# Fake keys are assembled at run time so secret scanners do not flag this file.
PLANTED_KEY = "sk-" + "PLANTED-do-not-leak-0123456789abcdef"
PLANTED_ORG = "org-PLANTEDorg42"


class EchoApp:
    """Answers chat completions with the prompt reversed, and counts job polls."""

    def __init__(self):
        self.polls = 0
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        path = environ["PATH_INFO"]
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size else b""
        if path.endswith("/chat/completions"):
            prompt = json.loads(body)["messages"][-1]["content"]
            payload = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": prompt[::-1]}}]}
        elif path.endswith("/fine_tuning/jobs/ftjob-1"):
            self.polls += 1
            payload = {"id": "ftjob-1", "poll": self.polls}
        elif path.endswith("/files"):
            payload = {"id": "file-1", "bytes": len(body), "sha": hash(body) % 1000}
        else:
            payload = {}
        data = json.dumps(payload).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Set-Cookie", f"session={PLANTED_KEY}"),
                                  ("OpenAI-Organization", PLANTED_ORG)])
        return [data]


@pytest.fixture
def cassette(tmp_path):
    yield tmp_path / "demo.sandbox.json"
    recording.deactivate()


def _settings(mode):
    return config.resolve(backend="sandbox", mode=mode)


def _client(mode, app=None):
    if mode == "replay":
        http = httpx2.Client(transport=recording.replay_transport("httpx2"))
    else:
        # as helpers.clients makes it: only the course's own clients are recorded
        inner = httpx2.WSGITransport(app=app or EchoApp())
        http = httpx2.Client(transport=recording.course_transport(httpx2, inner))
    return openai.OpenAI(api_key=PLANTED_KEY, organization=PLANTED_ORG, project="proj-PLANTED",
                         base_url="http://sandbox.local/v1", http_client=http, max_retries=0)


def _ask(client, text):
    r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])
    return r.choices[0].message.content


def _record(cassette, fn, app=None):
    recording.activate(cassette, _settings("record"))
    out = fn(_client("record", app))
    recording.deactivate()
    return out


def _replay(cassette, fn):
    recording.activate(cassette, _settings("replay"))
    try:
        return fn(_client("replay"))
    finally:
        recording.deactivate()


def test_record_then_replay_gives_the_recorded_answers(cassette):
    prompts = ["新闻一：股市大涨", "second prompt"]
    recorded = _record(cassette, lambda c: [_ask(c, p) for p in prompts])
    assert recorded == [p[::-1] for p in prompts]
    assert _replay(cassette, lambda c: [_ask(c, p) for p in prompts]) == recorded
    text = cassette.read_text(encoding="utf-8")
    assert "新闻一：股市大涨" in text, "Unicode stays readable in the cassette"


def test_cassettes_are_readable_json(tmp_path, monkeypatch):
    """Recordings are <name>.<backend>.json with JSON bodies stored as data."""
    import json as _json

    monkeypatch.setenv("COURSE_CASSETTE_DIR", str(tmp_path))
    assert recording.cassette_path("nb", _settings("record")) == tmp_path / "nb.sandbox.json"
    assert recording.cassette_path("nb", _settings("replay")) == tmp_path / "nb.sandbox.json"
    recorded = _record(tmp_path / "nb.sandbox.json", lambda c: _ask(c, "新闻：股市"))
    raw = _json.loads((tmp_path / "nb.sandbox.json").read_text(encoding="utf-8"))
    request = raw["interactions"][0]["request"]
    assert request["body"]["json"]["messages"][0]["content"] == "新闻：股市"
    assert recording.load(tmp_path / "nb.sandbox.json")["interactions"][0]["request"]["uri"] \
        == "http://sandbox.local/v1/chat/completions"
    assert _replay("nb", lambda c: _ask(c, "新闻：股市")) == recorded


def test_swapping_two_prompts_does_not_swap_their_answers(cassette):
    _record(cassette, lambda c: [_ask(c, "alpha"), _ask(c, "beta")])
    swapped = _replay(cassette, lambda c: [_ask(c, "beta"), _ask(c, "alpha")])
    assert swapped == ["ateb", "ahpla"]


def test_a_cassette_miss_names_cassette_method_path_and_difference(cassette):
    _record(cassette, lambda c: _ask(c, "the recorded prompt"))
    with pytest.raises(CassetteMiss) as info:
        _replay(cassette, lambda c: _ask(c, "a different prompt"))
    msg = str(info.value)
    assert str(cassette) in msg and "POST /v1/chat/completions" in msg
    assert "messages[0].content" in msg and "a different prompt" in msg


def test_polling_replays_in_recorded_order_and_extra_polls_fail(cassette):
    def poll(c, n):
        return [c.get("/fine_tuning/jobs/ftjob-1", cast_to=object)["poll"] for _ in range(n)]

    assert _record(cassette, lambda c: poll(c, 3)) == [1, 2, 3]
    assert _replay(cassette, lambda c: poll(c, 3)) == [1, 2, 3]
    with pytest.raises(CassetteMiss, match="already used"):
        _replay(cassette, lambda c: poll(c, 4))


def test_multipart_boundaries_are_ignored_but_file_content_matters(cassette):
    def upload(content):
        return lambda c: c.files.create(file=("train.jsonl", content), purpose="fine-tune").id

    _record(cassette, upload(b'{"a": 1}\n'))
    assert _replay(cassette, upload(b'{"a": 1}\n')) == "file-1"  # new random boundary, same content
    with pytest.raises(CassetteMiss, match="multipart|body"):
        _replay(cassette, upload(b'{"a": 2}\n'))


def test_planted_credentials_are_never_written(cassette):
    _record(cassette, lambda c: _ask(c, "hello"))
    text = cassette.read_text(encoding="utf-8")
    for secret in (PLANTED_KEY, PLANTED_ORG, "proj-PLANTED", "PLANTED"):
        assert secret not in text
    assert "authorization" not in text.lower() and "cookie" not in text.lower()


def test_replay_answers_before_any_socket_even_on_the_network_transport(cassette, monkeypatch):
    """A course client around httpx2's real HTTP transport is answered by the cassette."""
    _record(cassette, lambda c: _ask(c, "offline please"))

    def no_socket(*a, **k):
        raise AssertionError("replay tried to open a socket")

    monkeypatch.setattr(socket, "socket", no_socket)
    monkeypatch.setattr(socket, "create_connection", no_socket)
    recording.activate(cassette, _settings("replay"))
    try:
        transport = recording.course_transport(httpx2, httpx2.HTTPTransport())
        net = openai.OpenAI(api_key="x", base_url="http://sandbox.local/v1", max_retries=0,
                            http_client=httpx2.Client(transport=transport))
        assert _ask(net, "offline please") == "esaelp enilffo"
        with pytest.raises(CassetteMiss, match="messages\\[0\\].content"):  # a miss, no socket
            _ask(net, "not recorded")
    finally:
        recording.deactivate()


def test_the_factory_replays_through_the_cassette_only_transport(monkeypatch):
    monkeypatch.setattr(clients, "_activate_cassette", lambda settings, cassette: None)
    for backend in ("sandbox", "openai"):
        c = clients.openai_client(config.resolve(backend=backend, mode="replay"), cassette="x")
        assert isinstance(c._client._transport, recording.ReplayTransport2)
    z = clients.zhipu_client(config.resolve(backend="zhipu", mode="replay"), cassette="x")
    assert isinstance(z._client._transport, recording.ReplayTransport)


def test_replay_without_a_cassette_says_how_to_record(tmp_path):
    with pytest.raises(FileNotFoundError, match="COURSE_MODE=record"):
        recording.activate(tmp_path / "missing.json", _settings("replay"))


def test_zhipu_sdk_records_and_replays_over_httpx(cassette):
    def ask(http):
        z = zhipuai.ZhipuAI(api_key=PLANTED_KEY, base_url="http://sandbox.local/api/paas/v4",
                            http_client=http, max_retries=0)
        r = z.chat.completions.create(model="m", messages=[{"role": "user", "content": "智谱"}])
        return r.choices[0].message.content

    recording.activate(cassette, _settings("record"))
    inner = httpx.WSGITransport(app=EchoApp())
    assert ask(httpx.Client(transport=recording.course_transport(httpx, inner))) == "谱智"
    recording.deactivate()
    recording.activate(cassette, _settings("replay"))
    assert ask(httpx.Client(transport=recording.replay_transport("httpx"))) == "谱智"
    assert PLANTED_KEY not in cassette.read_text(encoding="utf-8")


def test_concurrent_recordings_sort_to_the_same_file(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    def many(order):
        return lambda c: list(ThreadPoolExecutor(4).map(lambda p: _ask(c, p), order))

    prompts = [f"prompt {i}" for i in range(12)]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    _record(a, many(prompts))
    _record(b, many(list(reversed(prompts))))
    assert recording.normalise(recording.load(a)) == recording.normalise(recording.load(b))
    assert a.read_text() == b.read_text()


def _post(client, path, body):
    return client.post(path, body=body, cast_to=object)


def test_a_miss_names_the_closest_recording_of_the_same_method_and_path(cassette):
    asked = {"model": "m", "messages": [{"role": "user", "content": "alpha"}], "temperature": 0}
    far = {"model": "other", "messages": [{"role": "system", "content": "s"},
                                          {"role": "user", "content": "gamma"}], "max_tokens": 5}
    near = dict(asked, temperature=0.5)

    def calls(c):
        _post(c, "/completions", asked)  # another path, identical body: vcrpy's "closest"
        _post(c, "/chat/completions", far)
        _post(c, "/chat/completions", near)

    _record(cassette, calls)
    with pytest.raises(CassetteMiss) as info:
        _replay(cassette, lambda c: _post(c, "/chat/completions", asked))
    msg = str(info.value)
    assert "same method and path) differs in 1 field;" in msg
    assert "body.temperature: now 0, recorded 0.5" in msg
    with pytest.raises(CassetteMiss, match="No recorded request has this method and path; "
                                           "recorded: POST /v1/chat/completions, POST /v1/comp"):
        _replay(cassette, lambda c: _post(c, "/embeddings", asked))


def test_closest_recording_counts_fields_and_ties_go_to_the_first():
    from vcr.request import Request

    def req(body, path="/v1/chat/completions", method="POST"):
        return Request(method, f"http://sandbox.local{path}", json.dumps(body),
                       {"content-type": "application/json"})

    recorded = [req({"a": 1, "b": [1, 2, 3]}), req({"a": 2, "b": [1, 2]}),
                req({"a": 1, "b": [1, 2]}, method="GET"), req({"a": 9, "b": [1, 2]})]
    assert recording.closest_recording(req({"a": 1, "b": [1, 2]}), recorded)[:2] == (0, 1)
    assert recording.closest_recording(req({"a": 2, "b": [9]}), recorded)[:2] == (1, 2)
    assert recording.closest_recording(req({}, path="/v1/files"), recorded) is None
    assert recording.count_differences({"x": [1, {"y": 2}]}, {"x": [1, {"y": 3}, 4], "z": 0}) == 3
