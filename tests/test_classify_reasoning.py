"""classify() on a reasoning model (sandbox-reasoning) through both APIs: the parameters it
accepts, reasoning tokens in the usage it reports, and the budget trap as its own outcome."""
import json

import httpx2
import openai
import pytest

from helpers import request_plan
from helpers.classify import build_request, classify
from helpers.data import load_named

REASONING = "sandbox-reasoning"


@pytest.fixture(scope="module")
def rows():
    frame, _ = load_named("sports_en")
    sample = frame.sample(12, random_state=3)
    return list(sample["text"]), list(sample["label"]), sorted(frame["label"].unique())


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_effort_ladder_reports_reasoning_tokens_without_a_400(client, rows, api):
    texts, truth, labels = rows
    spent = {}
    for effort in ("none", "minimal", "low", "medium", "high"):
        # temperature=0 and logprobs=True are what a learner passes to a chat model:
        # the helper leaves them out for this model (a 400 otherwise) and says so
        res = classify(client, texts, labels, REASONING, api=api, reasoning_effort=effort,
                       logprobs=True, progress=False)
        assert not res.errors, res.errors[0].error
        assert res.api == api
        summary = res.summary(timing=False)
        spent[effort] = summary.get("reasoning_tokens", 0)
        assert summary["completion_tokens"] >= spent[effort]
        assert all(p.outcome == "answered" for p in res)
        assert any("logprobs not requested" in n for n in res.notes)
        if effort != "none":
            assert any("temperature=0.0 not sent" in n for n in res.notes)
    assert spent["none"] == 0
    assert spent["none"] < spent["minimal"] < spent["low"] < spent["medium"] < spent["high"]


@pytest.mark.parametrize("api, param", [("chat", "max_completion_tokens"),
                                        ("responses", "max_output_tokens")])
def test_a_small_budget_is_budget_exhausted_not_a_wrong_label(client, rows, capsys, api, param):
    texts, truth, labels = rows
    res = classify(client, texts, labels, REASONING, api=api, reasoning_effort="high",
                   max_completion_tokens=16, progress=False)
    assert res.budget_param == param and res.budget == 16
    assert len(res.exhausted) == len(texts) and not res.errors
    assert all(p.answer is None and p.parse_error is None for p in res)
    summary = res.summary(timing=False)
    assert summary["budget_exhausted"] == len(texts) and summary["unparseable"] == 0
    advice = res.notes[-1]
    assert f"{param}=16 was spent on reasoning" in advice and f"try {param}=1024" in advice
    assert "budget_exhausted" in capsys.readouterr().err


def test_budget_advice_sizes_from_the_answered_requests(client, rows):
    texts, truth, labels = rows
    # at effort low the sandbox spends 32 + prompt/4 reasoning tokens: a budget between
    # the shortest and the longest prompt's need leaves some rows answered, some not
    full = classify(client, texts, labels, REASONING, api="chat", reasoning_effort="low",
                    progress=False)
    needs = sorted(p.completion_tokens for p in full)
    budget = needs[len(needs) // 2]
    res = classify(client, texts, labels, REASONING, api="chat", reasoning_effort="low",
                   max_completion_tokens=budget, progress=False)
    assert 0 < len(res.exhausted) < len(texts)
    answered = [p for p in res if p.outcome == "answered"]
    need = max(p.completion_tokens for p in answered)
    advice = res.notes[-1]
    assert f"needed up to {need} output tokens" in advice
    size = int(advice.split("max_completion_tokens=")[-1].split()[0])
    assert size >= max(needs)  # the advice covers every row's reasoning + answer
    rerun = classify(client, texts, labels, REASONING, api="chat", reasoning_effort="low",
                     max_completion_tokens=size, progress=False)
    assert not rerun.exhausted


def test_both_apis_give_the_same_labels_and_structured_outputs_work(client, rows):
    texts, truth, labels = rows
    chat = classify(client, texts, labels, "sandbox-base", api="chat", progress=False)
    resp = classify(client, texts, labels, "sandbox-base", api="responses", progress=False)
    assert resp.labels == chat.labels
    assert [p.prompt_tokens > 0 for p in resp] == [True] * len(texts)
    typed = classify(client, texts, labels, REASONING, api="responses",
                     structured="json_schema", reasoning_effort="low", progress=False)
    assert typed.summary()["unparseable"] == 0 and not typed.errors


def test_requests_carry_the_parameters_the_model_takes():
    labels = ["a", "b"]
    chat = build_request("t", labels, "sandbox-base", lang="en", logprobs=True, top_logprobs=2)
    assert chat["max_tokens"] == 32 and chat["temperature"] == 0.0 and chat["logprobs"]
    r = build_request("t", labels, REASONING, lang="en", max_tokens=500, logprobs=True,
                      reasoning_effort="low")
    assert r["max_completion_tokens"] == 500 and r["reasoning_effort"] == "low"
    assert not {"max_tokens", "temperature", "logprobs"} & set(r)
    resp = build_request("t", labels, REASONING, lang="en", api="responses", max_tokens=500,
                         reasoning_effort="none", system=True, structured="json_schema")
    assert resp["max_output_tokens"] == 500 and resp["reasoning"] == {"effort": "none"}
    assert resp["temperature"] == 0.0  # effort none takes sampling parameters
    assert resp["instructions"] and isinstance(resp["input"], str)
    assert resp["text"]["format"]["type"] == "json_schema" and resp["store"] is False
    luna = build_request("t", labels, "gpt-6-luna", lang="en", api="auto")
    assert "input" in luna and "temperature" not in luna and "max_output_tokens" not in luna
    with pytest.raises(ValueError, match="'xhigh' is not supported by sandbox-reasoning"):
        build_request("t", labels, REASONING, reasoning_effort="xhigh")
    with pytest.raises(ValueError, match="not a reasoning model"):
        build_request("t", labels, "gpt-4o-mini", reasoning_effort="low")
    with pytest.raises(ValueError, match="no Responses API"):
        request_plan.resolve_api("responses", "glm-4-flash", sdk="zhipu")


def test_gpt6_luna_goes_through_responses_and_unconfirmed_options_stay_out():
    seen = []

    def handler(request):
        seen.append((request.url.path, json.loads(request.content)))
        body = {"id": "resp_1", "object": "response", "created_at": 0, "model": "gpt-6-luna",
                "status": "completed", "output": [{
                    "type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": "b", "annotations": []}]}],
                "usage": {"input_tokens": 20, "output_tokens": 70,
                          "output_tokens_details": {"reasoning_tokens": 64},
                          "input_tokens_details": {"cached_tokens": 0}, "total_tokens": 90}}
        return httpx2.Response(200, json=body)

    fake = openai.OpenAI(api_key="test", base_url="http://t/v1", max_retries=0,
                         http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    res = classify(fake, ["x"], ["a", "b"], "gpt-6-luna", lang="en", logprobs=True,
                   progress=False)
    path, body = seen[0]
    assert path == "/v1/responses" and res.labels == ["b"]
    assert not {"temperature", "logprobs", "max_output_tokens", "reasoning"} & set(body)
    assert res[0].reasoning_tokens == 64 and res.summary()["reasoning_tokens"] == 64
    assert any("not confirmed" in n for n in res.notes)
