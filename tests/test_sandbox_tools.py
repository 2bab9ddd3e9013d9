"""Automatic tool choice, prompted JSON schemas and arrays of labels, through the OpenAI SDK."""
import json
from typing import Literal

import pytest
from pydantic import BaseModel

from helpers import prompts
from helpers.sandbox import structured, tools
from helpers.sandbox.core import BASE_MODEL

LABELS = ["体育", "财经", "科技", "娱乐", "汽车", "旅游"]
SPORTS = "国足主场绝杀卫冕冠军，主教练赛后回应"
MONEY = "央行宣布降息，债券市场上涨，外资流入"


def fn(name, properties, required=None):
    return {"type": "function", "function": {"name": name, "parameters": {
        "type": "object", "properties": properties,
        "required": list(properties) if required is None else required}}}


RECORD = fn("record_topic", {"topic": {"type": "string", "enum": LABELS},
                             "confidence": {"type": "number"}})
WEATHER = fn("get_weather", {"city": {"type": "string"}})
SEARCH = fn("web_search", {"query": {"type": "string"}, "limit": {"type": "integer"}})
FREE_LABEL = fn("save_category", {"category": {"type": "string"}})


def ask(client, text=SPORTS, messages=None, **kw):
    return client.chat.completions.create(
        model=BASE_MODEL, messages=messages or prompts.messages(text, LABELS), **kw)


def call_of(reply):
    choice = reply.choices[0]
    assert choice.message.content is None and choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    return call.function.name, json.loads(call.function.arguments)


@pytest.mark.parametrize("choice", ["auto", None, "required"])
def test_one_label_tool_is_called_under_auto_absent_and_required(client, choice):
    kw = {} if choice is None else {"tool_choice": choice}
    name, args = call_of(ask(client, text=MONEY, tools=[RECORD], **kw))
    assert name == "record_topic" and args["topic"] == "财经" and 0 < args["confidence"] <= 1


@pytest.mark.parametrize("choice", ["auto", None, "required"])
def test_of_three_tools_the_label_carrying_one_is_called(client, choice):
    kw = {} if choice is None else {"tool_choice": choice}
    name, args = call_of(ask(client, tools=[WEATHER, RECORD, SEARCH], **kw))
    assert name == "record_topic" and args["topic"] == "体育"


def test_no_fitting_tool_answers_in_text_under_auto_and_none_never_calls(client):
    for kw in ({}, {"tool_choice": "auto"}):
        r = ask(client, tools=[WEATHER, SEARCH], **kw)
        assert r.choices[0].message.tool_calls is None
        assert r.choices[0].message.content == "体育" and r.choices[0].finish_reason == "stop"
    r = ask(client, tools=[RECORD], tool_choice="none")
    assert r.choices[0].message.tool_calls is None and r.choices[0].message.content == "体育"


def test_required_without_a_label_carrier_is_a_400(client):
    import openai
    with pytest.raises(openai.BadRequestError, match="named like a label") as err:
        ask(client, tools=[WEATHER, SEARCH], tool_choice="required")
    assert err.value.param == "tools"


def test_a_string_named_like_a_label_carries_the_prompts_label(client):
    name, args = call_of(ask(client, text=MONEY, tools=[WEATHER, FREE_LABEL]))
    assert name == "save_category" and args == {"category": "财经"}
    # Without labels in the prompt, auto has nothing to put there: it answers in text.
    r = ask(client, messages=[{"role": "user", "content": "Hello there"}],
            tools=[WEATHER, FREE_LABEL])
    assert r.choices[0].message.tool_calls is None


def test_after_a_tool_result_the_model_answers_in_text(client):
    first = ask(client, tools=[WEATHER, RECORD])
    call = first.choices[0].message.tool_calls[0]
    history = [*prompts.messages(SPORTS, LABELS),
               {"role": "assistant", "content": None, "tool_calls": [
                   {"id": call.id, "type": "function", "function": {
                       "name": call.function.name, "arguments": call.function.arguments}}]},
               {"role": "tool", "tool_call_id": call.id, "content": "saved"}]
    r = ask(client, messages=history, tools=[WEATHER, RECORD])
    assert r.choices[0].message.tool_calls is None
    assert r.choices[0].message.content == "体育" and r.choices[0].finish_reason == "stop"


class Tags(BaseModel):
    topics: list[Literal["体育", "财经", "科技", "娱乐", "汽车", "旅游"]]


def test_parse_fills_a_list_of_literals_with_the_list_rule(client):
    r = client.chat.completions.parse(model=BASE_MODEL, messages=prompts.messages(SPORTS, LABELS),
                                      response_format=Tags, logprobs=True, top_logprobs=6)
    parsed = r.choices[0].message.parsed
    assert isinstance(parsed, Tags) and parsed.topics[0] == "体育"
    assert len(parsed.topics) == len(set(parsed.topics)) >= 1


def test_list_rule_keeps_labels_at_least_half_the_top_within_bounds():
    chosen = structured.Chosen("a", {"a": 0.5, "b": 0.3, "c": 0.2})
    values = ["a", "b", "c"]
    assert [c.value for c in structured.list_of_labels(values, chosen)] == ["a", "b"]
    assert [c.value for c in structured.list_of_labels(values, chosen, 3)] == ["a", "b", "c"]
    assert [c.value for c in structured.list_of_labels(values, chosen, None, 1)] == ["a"]
    assert [c.value for c in structured.list_of_labels(values, chosen, 4)] == [
        "a", "b", "c", "a"]


def test_array_of_enums_in_tool_arguments(client):
    multi = fn("tag", {"labels": {"type": "array", "items": {"enum": LABELS},
                                  "minItems": 2, "maxItems": 3}})
    name, args = call_of(ask(client, tools=[multi]))
    assert name == "tag" and 2 <= len(args["labels"]) <= 3 and args["labels"][0] == "体育"


class Topic(BaseModel):
    topic: Literal["体育", "财经", "科技", "娱乐", "汽车", "旅游"]
    reason: str


def _json_mode(client, system, text=MONEY):
    r = ask(client, messages=[{"role": "system", "content": system},
                              *prompts.messages(text, LABELS)],
            response_format={"type": "json_object"})
    return json.loads(r.choices[0].message.content)


def test_json_mode_reads_a_schema_written_like_pydantic_ai_prompted_output(client):
    schema = json.dumps(Topic.model_json_schema(), ensure_ascii=False)
    system = (f"Reply with a JSON object matching this schema:\n\n{schema}\n\n"
              "Write no text and no Markdown fence around it.")
    answer = _json_mode(client, system)
    assert Topic.model_validate(answer).topic == "财经" and "properties" not in answer


def test_json_mode_reads_a_schema_written_like_instructor_json_mode(client):
    schema = json.dumps(Topic.model_json_schema(), indent=2, ensure_ascii=False)
    system = ("You are an expert: read the content and give the parsed objects as json that "
              f"matches this json_schema:\n\n{schema}\n\nReturn an instance of the JSON, "
              "not the schema.")
    assert Topic.model_validate(_json_mode(client, system, SPORTS)).topic == "体育"


def test_json_mode_plain_field_phrase_and_examples(client):
    assert _json_mode(client, "Respond with JSON with a field topic.") == {"topic": "财经"}
    assert _json_mode(client, 'Answer in JSON like {"reason": "...", "category": "..."}') == {
        "category": "财经"}
    assert _json_mode(client, 'Answer in JSON: {"topic": <one of the categories>}') == {
        "topic": "财经"}
    # A schema the sandbox cannot fill is not taken as an example: its keywords are no keys.
    assert _json_mode(client, 'JSON per {"type": "object", "properties": {"x": 5}}') == {
        "label": "财经"}


def test_label_rule_and_tool_choice_function_are_reusable():
    assert tools.label_named("predicted_label") and tools.label_named("topicName")
    assert not tools.label_named("query") and not tools.label_named("reason")
    fns = [tools.Function("w", {"type": "object", "properties": {"city": {"type": "string"}}}),
           tools.Function("r", RECORD["function"]["parameters"])]
    picked = tools.choose(fns, "auto", answered_already=False, prompt_has_labels=lambda: True)
    assert picked.function.name == "r" and picked.how == "auto"
    assert tools.choose(fns, "auto", answered_already=True,
                        prompt_has_labels=lambda: True) is None
    assert structured.tool_plan(picked).kind == "tool"
