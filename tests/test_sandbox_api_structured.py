"""Structured outputs and forced tool calls through the official SDKs (OpenAI strict)."""
import enum
import json
from typing import Literal

import openai
import pytest
from pydantic import BaseModel
from zhipuai.core._errors import APIRequestFailedError

from helpers import clients, prompts
from helpers.sandbox import synthetic
from helpers.sandbox.core import BASE_MODEL

LABELS = list(synthetic.WORDS)  # 体育 财经 科技 娱乐 汽车 旅游
SPORTS = "国足主场绝杀卫冕冠军，主教练赛后回应"
MONEY = "央行宣布降息，债券市场上涨，外资流入"


class Topic(BaseModel):
    label: Literal["体育", "财经", "科技", "娱乐", "汽车", "旅游"]


class Mood(str, enum.Enum):  # noqa: UP042  (the str-mixin enum SDK users write)
    good = "positive"
    bad = "negative"


class Rich(BaseModel):
    topic: Literal["体育", "财经", "科技", "娱乐", "汽车", "旅游"]
    confidence: float
    reason: str
    keywords: list[str]
    mood: Mood | None


def ask(client, text=SPORTS, **kw):
    return client.chat.completions.create(model=BASE_MODEL,
                                          messages=prompts.messages(text, LABELS), **kw)


def test_parse_with_a_literal_model_returns_parsed(client):
    for text, want in ((SPORTS, "体育"), (MONEY, "财经")):
        r = client.chat.completions.parse(model=BASE_MODEL, messages=prompts.messages(text, LABELS),
                                          response_format=Topic)
        msg = r.choices[0].message
        assert isinstance(msg.parsed, Topic) and msg.parsed.label == want
        assert json.loads(msg.content) == {"label": want}
        assert r.choices[0].finish_reason == "stop"


def test_schema_instance_fills_every_field_validly_and_logprobs_stay_real(client):
    r = client.chat.completions.parse(model=BASE_MODEL, messages=prompts.messages(SPORTS, LABELS),
                                      response_format=Rich, logprobs=True, top_logprobs=3)
    parsed = r.choices[0].message.parsed
    assert parsed.topic == "体育" and 0.5 < parsed.confidence <= 1
    assert parsed.reason == "" and parsed.keywords == [] and parsed.mood in (Mood.good, Mood.bad)
    entries = r.choices[0].logprobs.content
    assert "".join(e.token for e in entries) == r.choices[0].message.content
    label = [e for e in entries if e.token == "体育"]
    assert label and label[0].logprob < 0 and len(label[0].top_logprobs) == 3
    assert all(e.logprob == 0.0 for e in entries if e.token in ('{"', "topic"))


def test_json_object_answers_an_object_keyed_label_or_the_prompts_key(client):
    system = {"role": "system", "content": "Reply with a JSON object."}
    msgs = [system, *prompts.messages(SPORTS, LABELS)]
    r = client.chat.completions.create(model=BASE_MODEL, messages=msgs,
                                       response_format={"type": "json_object"})
    assert json.loads(r.choices[0].message.content) == {"label": "体育"}
    keyed = [{"role": "system", "content": 'Answer as JSON, e.g. {"category": "..."}'},
             *prompts.messages(MONEY, LABELS)]
    r = client.chat.completions.create(model=BASE_MODEL, messages=keyed,
                                       response_format={"type": "json_object"})
    assert json.loads(r.choices[0].message.content) == {"category": "财经"}
    # As on OpenAI, json_object needs the word "json" somewhere in the messages.
    with pytest.raises(openai.BadRequestError) as err:
        ask(client, response_format={"type": "json_object"})
    assert err.value.param == "messages" and "json" in err.value.message


def test_forced_tool_call_answers_inside_the_enum(client):
    tools = [{"type": "function", "function": {
        "name": "record_topic", "strict": True, "parameters": {
            "type": "object", "additionalProperties": False, "required": ["topic"],
            "properties": {"topic": {"type": "string", "enum": LABELS}}}}}]
    named = ask(client, text=MONEY, tools=tools,
                tool_choice={"type": "function", "function": {"name": "record_topic"}})
    call = named.choices[0].message.tool_calls[0]
    assert named.choices[0].message.content is None
    assert call.function.name == "record_topic" and call.id.startswith("call_")
    assert json.loads(call.function.arguments) == {"topic": "财经"}
    # OpenAI ends a call forced by name with "stop", and one forced by "required" with
    # "tool_calls"; the sandbox does the same.
    assert named.choices[0].finish_reason == "stop"
    required = ask(client, tools=tools, tool_choice="required")
    assert required.choices[0].finish_reason == "tool_calls"
    assert json.loads(required.choices[0].message.tool_calls[0].function.arguments) == {
        "topic": "体育"}
    plain = ask(client, tools=tools, tool_choice="none")
    assert (plain.choices[0].message.content == "体育"
            and plain.choices[0].message.tool_calls is None)


@pytest.mark.parametrize("kw, param, words", [
    # (automatic tool choice is answered now: tests/test_sandbox_tools.py)
    (dict(tool_choice={"type": "function", "function": {"name": "nope"}}),
     "tool_choice.function.name", "no function named 'nope'"),
])
def test_other_tool_uses_get_a_clear_400(client, kw, param, words):
    tools = [{"type": "function", "function": {"name": "classify", "parameters": {
        "type": "object", "properties": {"label": {"type": "string", "enum": LABELS}}}}}]
    with pytest.raises(openai.BadRequestError) as err:
        ask(client, tools=tools, **kw)
    assert err.value.param == param and words in err.value.message


def test_a_function_or_schema_without_an_enum_is_a_400(client):
    free = [{"type": "function", "function": {"name": "say", "parameters": {
        "type": "object", "properties": {"text": {"type": "string"}}}}}]
    with pytest.raises(openai.BadRequestError) as err:
        ask(client, tools=free, tool_choice={"type": "function", "function": {"name": "say"}})
    assert "enum" in err.value.message and err.value.param == "tools"

    class Free(BaseModel):
        text: str

    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.parse(model=BASE_MODEL, messages=prompts.messages(SPORTS, LABELS),
                                      response_format=Free)
    assert "enum" in err.value.message
    loose = {"type": "json_schema", "json_schema": {"name": "loose", "strict": True, "schema": {
        "type": "object", "properties": {"label": {"type": "string", "enum": LABELS}}}}}
    with pytest.raises(openai.BadRequestError) as err:
        ask(client, response_format=loose)
    assert "additionalProperties" in err.value.message


def test_fine_tuned_model_picks_its_most_probable_class_inside_the_enum(settings):
    c = clients.openai_client(settings, strict=True, max_retries=0)
    data = synthetic.chat_jsonl(synthetic.headlines(240, seed=3), LABELS)
    f = c.files.create(file=("train.jsonl", data), purpose="fine-tune")
    job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id, seed=1)
    while job.status not in ("succeeded", "failed", "cancelled"):
        job = c.fine_tuning.jobs.retrieve(job.id)
    assert job.status == "succeeded"
    model, msgs = job.fine_tuned_model, prompts.messages(SPORTS, LABELS)
    free = c.chat.completions.create(model=model, messages=msgs, logprobs=True, top_logprobs=6)
    assert free.choices[0].message.content == "体育"

    class Narrow(BaseModel):
        label: Literal["财经", "体育"]

    parsed = c.chat.completions.parse(model=model, messages=msgs, response_format=Narrow)
    assert parsed.choices[0].message.parsed.label == "体育"

    class Without(BaseModel):  # the enum leaves out its favourite: the best remaining one
        label: Literal["财经", "科技", "汽车"]

    first = free.choices[0].logprobs.content[0].top_logprobs
    best_left = next(t.token for t in first if t.token in ("财经", "科技", "汽车"))
    parsed = c.chat.completions.parse(model=model, messages=msgs, response_format=Without)
    assert parsed.choices[0].message.parsed.label == best_left


def test_zhipu_json_object_and_refusals(settings):
    z = clients.zhipu_client(settings, max_retries=0)
    r = z.chat.completions.create(model=BASE_MODEL, messages=prompts.messages(SPORTS, LABELS),
                                  response_format={"type": "json_object"})
    assert json.loads(r.choices[0].message.content) == {"label": "体育"}
    schema = {"type": "json_schema", "json_schema": {"name": "t", "schema": {"type": "object"}}}
    with pytest.raises(APIRequestFailedError) as err:
        z.chat.completions.create(model=BASE_MODEL, messages=prompts.messages(SPORTS, LABELS),
                                  response_format=schema)
    body = err.value.response.json()
    assert set(body["error"]) == {"code", "message"} and err.value.response.status_code == 400
