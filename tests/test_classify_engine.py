"""classify(): order, retries, errors, cache and de-duplication against a fake API."""
import json
import threading

import httpx
import httpx2
import openai
import pytest
import zhipuai

from helpers import prompts
from helpers.cache import open_cache
from helpers.classify import classify

LABELS = ["sports", "tech", "finance"]


def _completion(content, logprobs=None):
    choice = {"index": 0, "finish_reason": "stop",
              "message": {"role": "assistant", "content": content}}
    if logprobs is not None:
        choice["logprobs"] = {"content": logprobs}
    return {"id": "c1", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [choice],
            "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}}


class FakeAPI:
    """Answers '<label>' for texts 'item <i> <label>'; can fail, delay or reorder."""

    def __init__(self, fail=None, delay=None):
        self.fail = fail or (lambda text, attempt: None)
        self.delay = delay or (lambda text: 0.0)
        self.lock = threading.Lock()
        self.calls = []
        self.done = []

    def __call__(self, request):
        body = json.loads(request.content)
        text = prompts.parse_prompt(body["messages"][-1]["content"]).text
        with self.lock:
            self.calls.append(text)
            attempt = self.calls.count(text)
        threading.Event().wait(self.delay(text))  # not time.sleep: tests patch that
        with self.lock:
            self.done.append(text)
        failure = self.fail(text, attempt)
        if failure is not None:
            return failure
        return httpx2.Response(200, json=_completion(f"Category: {text.split()[-1]}"))


def openai_over(handler, **kw):
    return openai.OpenAI(api_key="test", base_url="http://t/v1", max_retries=0,
                         http_client=httpx2.Client(transport=httpx2.MockTransport(handler)), **kw)


def texts(n):
    return [f"item {i} {LABELS[i % 3]}" for i in range(n)]


def test_results_keep_input_order_when_replies_complete_out_of_order():
    # Item 0 is held until another item has finished, so completion order differs from
    # input order whatever the machine's load (no timing involved).
    other_done = threading.Event()

    class HoldFirst(FakeAPI):
        def __call__(self, request):
            text = prompts.parse_prompt(json.loads(request.content)["messages"][-1]["content"]).text
            if text == data[0]:
                other_done.wait(5)
                return super().__call__(request)
            response = super().__call__(request)
            other_done.set()
            return response

    data = texts(30)
    api = HoldFirst()
    results = classify(openai_over(api), data, LABELS, "m", lang="en", concurrency=8,
                       progress=False)
    assert [p.index for p in results] == list(range(30))
    assert results.labels == [t.split()[-1] for t in data]
    assert api.done[0] != data[0]  # they really did finish out of order
    assert results.summary()["errors"] == 0


def test_429_with_retry_after_is_retried_and_waits(monkeypatch):
    slept = []
    monkeypatch.setattr("openai._base_client.time.sleep", slept.append)

    def fail(text, attempt):
        if text == "item 1 tech" and attempt <= 2:
            return httpx2.Response(429, headers={"retry-after": "0.25"},
                                   json={"error": {"message": "slow down"}})
        return None

    api = FakeAPI(fail=fail)
    results = classify(openai_over(api), texts(3), LABELS, "m", lang="en", max_retries=3,
                       progress=False)
    assert results.labels == ["sports", "tech", "finance"]
    assert results[1].retries == 2
    assert slept == [0.25, 0.25]  # the server's Retry-After, not the SDK's own backoff
    assert api.calls.count("item 1 tech") == 3


def test_500_is_retried_then_recorded_as_error_not_dropped(monkeypatch):
    monkeypatch.setattr("openai._base_client.time.sleep", lambda s: None)

    def fail(text, attempt):
        if text == "item 2 finance":  # always fails
            return httpx2.Response(500, json={"error": {"message": "boom"}})
        if text == "item 0 sports" and attempt == 1:  # fails once
            return httpx2.Response(500, json={"error": {"message": "boom"}})
        return None

    api = FakeAPI(fail=fail)
    results = classify(openai_over(api), texts(4), LABELS, "m", lang="en", max_retries=2,
                       progress=False)
    assert len(results) == 4
    assert results.labels == ["sports", "tech", "unknown", "sports"]
    assert results[2].error and "500" in results[2].error
    assert results[0].error is None and results[0].retries == 1
    assert api.calls.count("item 2 finance") == 3  # first try + 2 retries
    assert results.summary()["errors"] == 1


def test_cache_makes_a_rerun_cost_zero_requests(tmp_path):
    api = FakeAPI()
    cache = open_cache(tmp_path)
    client = openai_over(api)
    first = classify(client, texts(12), LABELS, "m", lang="en", cache=cache, progress=False,
                     concurrency=4)
    assert len(api.calls) == 12
    # a fresh cache object on the same directory, as a new process would have
    second = classify(client, texts(12), LABELS, "m", lang="en", cache=open_cache(tmp_path),
                      progress=False)
    assert len(api.calls) == 12
    assert second.labels == first.labels
    assert all(p.cached for p in second) and second.requests == 0
    # a different model is a different key
    classify(client, texts(2), LABELS, "m2", lang="en", cache=cache, progress=False)
    assert len(api.calls) == 14


def test_identical_texts_are_requested_once_but_predicted_for_each():
    api = FakeAPI()
    data = ["item 0 tech"] * 5 + ["item 1 sports"]
    results = classify(openai_over(api), data, LABELS, "m", lang="en", progress=False)
    assert results.labels == ["tech"] * 5 + ["sports"]
    assert len(api.calls) == 2


def test_logprobs_are_sent_only_when_asked_and_give_confidence():
    seen = []

    def handler(request):
        body = json.loads(request.content)
        seen.append(body)
        lp = [{"token": "tech", "logprob": -0.1, "bytes": None,
               "top_logprobs": [{"token": "tech", "logprob": -0.1, "bytes": None},
                                {"token": "fin", "logprob": -2.5, "bytes": None}]}]
        return httpx2.Response(200, json=_completion("tech", lp if body.get("logprobs") else None))

    client = openai_over(handler)
    plain = classify(client, ["a"], LABELS, "m", lang="en", progress=False)
    assert "logprobs" not in seen[0] and "top_logprobs" not in seen[0]
    assert plain[0].confidence is None
    rich = classify(client, ["a"], LABELS, "m", lang="en", logprobs=True, top_logprobs=2,
                    progress=False)
    assert seen[1]["logprobs"] is True and seen[1]["top_logprobs"] == 2
    assert rich[0].confidence == pytest.approx(0.904837, rel=1e-4)
    assert rich[0].alternatives[0][0] == "finance"


def test_zhipu_client_retries_honour_retry_after(monkeypatch):
    slept = []
    monkeypatch.setattr("helpers.classify.time.sleep", slept.append)
    state = {"n": 0}

    def handler(request):
        state["n"] += 1
        if state["n"] == 1:
            return httpx.Response(429, headers={"retry-after": "0.125"},
                                  json={"error": {"message": "busy"}})
        return httpx.Response(200, json=_completion("这条新闻属于科技类。"))

    client = zhipuai.ZhipuAI(api_key="test", base_url="http://t/api/paas/v4",
                             http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    results = classify(client, ["新闻"], ["体育", "科技"], "glm-4-flash", lang="zh",
                       progress=False)
    assert results.labels == ["科技"]
    assert results[0].retries == 1
    assert slept == [0.125]
    assert state["n"] == 2


def test_examples_must_align_with_texts():
    with pytest.raises(ValueError, match="examples has 1 entries for 2 texts"):
        classify(openai_over(FakeAPI()), ["a", "b"], LABELS, "m", examples=[[("x", "tech")]],
                 progress=False)


def test_cache_is_safe_under_threads(tmp_path):
    cache = open_cache(tmp_path)
    wrong = []

    def work(t):
        for i in range(50):
            cache.put(f"k{t}-{i}", {"reply": f"{t}-{i}"})
            if cache.get(f"k{t}-{i}") != {"reply": f"{t}-{i}"}:
                wrong.append((t, i))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert wrong == []
    assert len(open_cache(tmp_path)) == 400


def test_timeout_is_per_request_and_a_timed_out_request_is_an_error():
    seen = []

    def handler(request):
        seen.append(request.extensions["timeout"]["read"])
        raise httpx2.ReadTimeout("too slow", request=request)

    results = classify(openai_over(handler), ["a", "b"], LABELS, "m", lang="en", timeout=7.0,
                       max_retries=0, progress=False)
    assert seen == [7.0, 7.0]
    assert [p.label for p in results] == ["unknown", "unknown"]
    assert all("Timeout" in p.error for p in results)
    assert results.summary()["errors"] == 2
