"""Structured-output classification: the JSON-schema enum, JSON mode, strict validation.

The first tests fake the HTTP transport to control the replies exactly (invalid
JSON, a label outside the enum, a refusal); the last ones run against the
in-process sandbox, which honours ``response_format`` like a hosted API.
"""
import json

import httpx
import httpx2
import openai
import pytest
import zhipuai

from helpers import clients, config, prompts, structured
from helpers.cache import open_cache
from helpers.classify import build_request, classify

LABELS = ["Sports", "Business, Finance", "Sci/Tech", "😀 happy"]
ZH = ["体育", "财经", "科技", "房产、家居"]


def _completion(content, refusal=None, finish="stop"):
    return {"id": "c1", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                         "message": {"role": "assistant", "content": content,
                                     "refusal": refusal}}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 7, "total_tokens": 57}}


class Scripted:
    """Answers each text with the reply scripted for it; records the request bodies."""

    def __init__(self, replies, response=httpx2.Response):
        self.replies, self.response, self.bodies = replies, response, []

    def __call__(self, request):
        body = json.loads(request.content)
        self.bodies.append(body)
        text = prompts.parse_prompt(body["messages"][-1]["content"]).text
        reply = self.replies[text]
        payload = _completion(**reply) if isinstance(reply, dict) else _completion(reply)
        return self.response(200, json=payload)


def openai_over(handler):
    return openai.OpenAI(api_key="test", base_url="http://t/v1", max_retries=0,
                         http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))


def test_json_schema_request_is_what_the_sdk_parse_helper_sends():
    seen = []

    def handler(request):
        seen.append(json.loads(request.content))
        return httpx2.Response(200, json=_completion('{"label": "Sci/Tech"}'))

    model = structured.label_model(LABELS)
    msgs = prompts.messages("Chip launch", LABELS, "en", answer="json")
    completion = openai_over(handler).chat.completions.parse(model="m", messages=msgs,
                                                             response_format=model)
    assert completion.choices[0].message.parsed == model(label="Sci/Tech")
    ours = build_request("Chip launch", LABELS, "m", lang="en", structured="json_schema")
    assert ours["response_format"] == seen[0]["response_format"]
    assert ours["messages"] == seen[0]["messages"]
    schema = ours["response_format"]["json_schema"]
    assert schema["strict"] is True and schema["name"] == "Classification"
    assert schema["schema"]["properties"]["label"]["enum"] == LABELS
    assert schema["schema"]["additionalProperties"] is False


def test_label_model_rejects_anything_but_one_exact_label():
    model = structured.label_model(ZH)
    assert model.model_validate_json('{"label": "房产、家居"}').label == "房产、家居"
    assert structured.parse_reply('{"label": "房产"}', ZH) == (
        None, "label '房产' is not one of the labels")
    assert structured.parse_reply('{"label": "体育", "reason": "x"}', ZH) == (
        None, "unexpected key 'reason'")
    assert structured.parse_reply('["体育"]', ZH) == (None, "JSON, but not an object")
    assert structured.parse_reply('```json\n{"label": "体育"}\n```', ZH)[1].startswith(
        "not valid JSON")
    assert (structured.parse_reply(None, ZH, refusal="I can't help")
            == (None, "refused: I can't help"))
    with pytest.raises(ValueError, match="structured must be"):
        structured.response_format(ZH, "xml")


def test_invalid_replies_are_unparseable_not_mapped():
    texts = ["good", "not json", "fenced", "outside enum", "close label", "truncated", "refusal",
             "extra key"]
    api = Scripted({
        "good": '{"label": "Business, Finance"}',
        "not json": "Business, Finance",
        "fenced": '```json\n{"label": "Sports"}\n```',
        "outside enum": '{"label": "Politics"}',
        "close label": '{"label": "sports"}',
        "truncated": {"content": '{"label": "Sci/', "finish": "length"},
        "refusal": {"content": None, "refusal": "I cannot classify this."},
        "extra key": '{"label": "Sports", "confidence": 0.9}',
    })
    results = classify(openai_over(api), texts, LABELS, "m", lang="en", structured="json_schema",
                       progress=False)
    assert results.labels == ["Business, Finance"] + ["unknown"] * 7
    assert results.summary()["unparseable"] == 7 and results.summary()["errors"] == 0
    why = {t: p.parse_error for t, p in zip(texts, results, strict=True)}
    assert why["good"] is None
    assert why["not json"].startswith("not valid JSON")
    assert why["fenced"].startswith("not valid JSON")
    assert why["outside enum"] == "label 'Politics' is not one of the labels"
    assert why["close label"] == "label 'sports' is not one of the labels"
    assert why["refusal"] == "refused: I cannot classify this."
    assert why["extra key"] == "unexpected key 'confidence'"
    body = api.bodies[0]
    assert body["response_format"]["type"] == "json_schema" and body["max_tokens"] == 64
    assert body["messages"][-1]["content"].endswith('{"label": "<category>"}')


def test_free_text_mode_reads_replies_with_the_text_and_counts_what_it_cannot_read():
    texts = ["Stocks fell as the league's owners met to discuss the Sports budget",
             "a text", "another text"]
    api = Scripted({texts[0]: f"Text: {texts[0]}\nCategory: Business, Finance",
                    "a text": "I don't know", "another text": "not Sports, but Sci/Tech"})
    results = classify(openai_over(api), texts, LABELS, "m", lang="en", progress=False)
    assert results.labels == ["Business, Finance", "unknown", "Sci/Tech"]
    assert results[1].parse_error == "names none of the labels"
    assert results.summary()["unparseable"] == 1
    assert "response_format" not in api.bodies[0] and api.bodies[0]["max_tokens"] == 32


def test_aliases_reach_the_parser():
    api = Scripted({"a": "international news"})
    results = classify(openai_over(api), ["a"], ["World", "Sports"], "m", lang="en",
                       aliases={"World": ["international"]}, progress=False)
    assert results.labels == ["World"]


def test_zhipu_json_object_mode_validates_against_the_labels():
    api = Scripted({"男篮大胜": '{"label": "体育"}', "房价上涨": '{"label": "房产"}'},
                   response=httpx.Response)
    client = zhipuai.ZhipuAI(api_key="test.secret", base_url="http://t/api/paas/v4",
                             http_client=httpx.Client(transport=httpx.MockTransport(api)))
    results = classify(client, ["男篮大胜", "房价上涨"], ZH, "glm-4-flash", lang="zh",
                       structured="json_object", progress=False)
    assert results.labels == ["体育", "unknown"]
    assert results[1].parse_error == "label '房产' is not one of the labels"
    assert api.bodies[0]["response_format"] == {"type": "json_object"}
    assert "JSON" in api.bodies[0]["messages"][-1]["content"]


def test_each_mode_has_its_own_cache_entries_and_reruns_are_free(tmp_path):
    api = Scripted({"x": '{"label": "Sports"}', "y": '{"label": "Sci/Tech"}'})
    client, cache = openai_over(api), open_cache(tmp_path)
    first = classify(client, ["x", "y", "x"], LABELS, "m", lang="en", structured="json_schema",
                     cache=cache, identity="test-backend", progress=False)
    assert first.requests == 2 and first.labels == ["Sports", "Sci/Tech", "Sports"]
    again = classify(client, ["x", "y"], LABELS, "m", lang="en", structured="json_schema",
                     cache=open_cache(tmp_path), identity="test-backend", progress=False)
    assert again.requests == 0 and all(p.cached for p in again) and again.labels == first.labels[:2]
    classify(client, ["x"], LABELS, "m", lang="en", structured="json_object", cache=cache,
             identity="test-backend", progress=False)
    classify(client, ["x"], LABELS, "m", lang="en", structured="json_schema", cache=cache,
             identity="another-backend", progress=False)
    assert len(api.bodies) == 4  # another mode, another identity: new requests


def test_bad_arguments_fail_before_any_request():
    api = Scripted({})
    with pytest.raises(ValueError, match="structured must be"):
        classify(openai_over(api), ["x"], LABELS, "m", structured="yaml", progress=False)
    with pytest.raises(ValueError, match="cannot be listed"):
        classify(openai_over(api), ["x"], ["Sports", "sports"], "m", progress=False)
    assert api.bodies == []


# ---- against the in-process sandbox (structured outputs in helpers.sandbox)
SANDBOX_TEXTS = ["湖人队在季后赛中击败勇士队", "央行宣布下调存款准备金率",
                 "苹果发布新款智能手机芯片", "小区二手房挂牌价上涨，家具卖场促销"]


@pytest.fixture
def sandbox(tmp_path):
    return config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sandbox")


@pytest.mark.parametrize("mode", ["json_schema", "json_object"])
def test_sandbox_structured_matches_free_text(sandbox, mode):
    client = clients.openai_client(sandbox)
    free = classify(client, SANDBOX_TEXTS, ZH, "sandbox-base", lang="zh", progress=False)
    typed = classify(client, SANDBOX_TEXTS, ZH, "sandbox-base", lang="zh", structured=mode,
                     progress=False)
    assert typed.summary()["unparseable"] == 0 and typed.summary()["errors"] == 0
    assert all(json.loads(p.reply) == {"label": p.label} for p in typed)
    assert typed.labels == free.labels
    assert free.labels[:3] == ["体育", "财经", "科技"]


def test_sandbox_answers_the_sdk_parse_helper(sandbox):
    client = clients.openai_client(sandbox)
    model = structured.label_model(ZH)
    completion = client.chat.completions.parse(
        model="sandbox-base", response_format=model,
        messages=prompts.messages(SANDBOX_TEXTS[0], ZH, "zh", answer="json"))
    assert completion.choices[0].message.parsed == model(label="体育")


def test_sandbox_zhipu_json_object(sandbox):
    client = clients.zhipu_client(sandbox)
    results = classify(client, SANDBOX_TEXTS, ZH, "sandbox-base", lang="zh",
                       structured="json_object", progress=False)
    assert results.summary()["unparseable"] == 0
    assert results.labels[:3] == ["体育", "财经", "科技"]


TRICKY = {"en": (["Sports ⚽", "Business, Finance", "Sci/Tech", "World"],
                 ["The Lakers beat the Warriors in the playoffs",
                  "The central bank cut interest rates; stocks rallied",
                  "Apple unveils a new smartphone chip",
                  "Leaders met at the UN summit on the war"]),
          "zh": (["体育、运动", "财经/金融", "科技 💻", "国际"],
                 ["湖人队在季后赛中击败勇士队", "央行宣布下调存款准备金率",
                  "苹果发布新款智能手机芯片", "联合国峰会讨论地区冲突"])}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("mode", [None, "json_schema", "json_object"])
def test_sandbox_labels_with_separators_and_emoji_stay_whole(sandbox, lang, mode):
    # Joined with ", " or "、", these labels would read as 5-6 candidates and the
    # sandbox could answer a fragment ("Business") that no label equals.
    labels, texts = TRICKY[lang]
    results = classify(clients.openai_client(sandbox), texts, labels, "sandbox-base", lang=lang,
                       structured=mode, progress=False)
    assert results.labels == labels
    assert results.summary()["unparseable"] == 0
