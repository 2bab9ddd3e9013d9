"""The Responses API through the official SDK (strict response validation), in-process
(and once served, streamed to an async client)."""
import asyncio
import json
from typing import Literal

import openai
import pytest
from openai.types.responses import Response
from pydantic import BaseModel
from sandbox_batches import finished_batch, output_rows
from served_sandbox import served_sandbox

from helpers.sandbox import responses
from helpers.sandbox.core import BASE_MODEL, Sandbox

QUESTION = "Categories: sports, finance\nText: the team won the game"
LABELS_ONLY = "Categories: sports, finance, entertainment"


def bad_request(call) -> dict:
    with pytest.raises(openai.BadRequestError) as info:
        call()
    return info.value.body


def test_string_input_gets_the_label_with_usage(client):
    r = client.responses.create(model=BASE_MODEL, input=QUESTION)
    assert r.id.startswith("resp_") and r.status == "completed"
    assert r.output_text == "sports"
    assert [item.type for item in r.output] == ["message"]
    u = r.usage
    assert u.output_tokens_details.reasoning_tokens == 0
    assert u.input_tokens_details.cached_tokens == 0
    assert u.total_tokens == u.input_tokens + u.output_tokens and u.output_tokens == 1


def test_message_list_and_instructions_answer_as_chat_does(client):
    items = [{"role": "user", "content": [{"type": "input_text", "text": "Text: 央行宣布降息"}]}]
    r = client.responses.create(model=BASE_MODEL, instructions="Categories: 体育, 财经",
                                input=items)
    chat = client.chat.completions.create(model=BASE_MODEL, messages=[
        {"role": "developer", "content": "Categories: 体育, 财经"},
        {"role": "user", "content": [{"type": "text", "text": "Text: 央行宣布降息"}]}])
    assert r.output_text == chat.choices[0].message.content == "财经"
    assert r.usage.input_tokens == chat.usage.prompt_tokens
    assert r.instructions == "Categories: 体育, 财经"


def test_assistant_turns_use_output_text_and_input_text_elsewhere(client):
    items = [{"role": "system", "content": LABELS_ONLY},
             {"role": "user", "content": "Text: the movie premiere drew a crowd"},
             {"role": "assistant", "content": [{"type": "output_text", "text": "entertainment"}]},
             {"role": "user", "content": "Text: the striker scored twice in the league game"}]
    assert client.responses.create(model=BASE_MODEL, input=items).output_text == "sports"
    items[1]["content"] = [{"type": "output_text", "text": "x"}]
    body = bad_request(lambda: client.responses.create(model=BASE_MODEL, input=items))
    assert body["param"] == "input[1].content[0].type"
    assert "Supported values are: 'input_text'" in body["message"]


class Verdict(BaseModel):
    label: Literal["sports", "finance"]


def test_parse_fills_output_parsed(client):
    r = client.responses.parse(model=BASE_MODEL, input=QUESTION, text_format=Verdict)
    assert r.output_parsed == Verdict(label="sports")
    assert r.text.format.type == "json_schema" and r.text.format.strict is True


def test_json_schema_strict_rules_are_checked(client):
    schema = {"type": "object", "properties": {"label": {"enum": ["sports", "finance"]}},
              "required": ["label"]}  # no additionalProperties: false
    body = bad_request(lambda: client.responses.create(model=BASE_MODEL, input=QUESTION, text={
        "format": {"type": "json_schema", "name": "v", "schema": schema, "strict": True}}))
    assert body["param"] == "text.format" and "additionalProperties" in body["message"]
    schema["additionalProperties"] = False
    r = client.responses.create(model=BASE_MODEL, input=QUESTION, text={
        "format": {"type": "json_schema", "name": "v", "schema": schema, "strict": True}})
    assert json.loads(r.output_text) == {"label": "sports"}


def test_stream_sends_the_event_sequence_and_the_same_response(client):
    plain = client.responses.create(model=BASE_MODEL, input=QUESTION)
    with client.responses.stream(model=BASE_MODEL, input=QUESTION) as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert [e.type for e in events] == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.content_part.added", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done",
        "response.output_item.done", "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert final.output_text == plain.output_text == "sports"
    assert final.usage == plain.usage and final.status == "completed"
    assert client.responses.retrieve(final.id).output_text == "sports"  # stored too


def test_previous_response_id_carries_the_earlier_turns(client):
    first = client.responses.create(model=BASE_MODEL, input=[
        {"role": "developer", "content": LABELS_ONLY},
        {"role": "user", "content": "Text: the striker scored twice"}])
    follow = "Text: the bank said the market and the economy slowed"
    alone = client.responses.create(model=BASE_MODEL, input=follow)
    assert alone.output_text.startswith("I am the sandbox base model")  # no labels read
    second = client.responses.create(model=BASE_MODEL, input=follow,
                                     previous_response_id=first.id)
    assert second.output_text == "finance" and second.previous_response_id == first.id
    assert second.usage.input_tokens > alone.usage.input_tokens


def test_store_false_is_not_retrievable_nor_a_previous_response(client):
    r = client.responses.create(model=BASE_MODEL, input=QUESTION, store=False)
    assert r.store is False and r.output_text == "sports"
    with pytest.raises(openai.NotFoundError, match="not found"):
        client.responses.retrieve(r.id)
    body = bad_request(lambda: client.responses.create(model=BASE_MODEL, input="hi",
                                                       previous_response_id=r.id))
    assert body["param"] == "previous_response_id"
    assert body["code"] == "previous_response_not_found"


def test_retrieve_and_delete(client):
    r = client.responses.create(model=BASE_MODEL, input=QUESTION, metadata={"run": "7"})
    got = client.responses.retrieve(r.id)
    assert got.model_dump() == r.model_dump() and got.metadata == {"run": "7"}
    assert client.responses.delete(r.id) is None
    with pytest.raises(openai.NotFoundError) as info:
        client.responses.retrieve(r.id)
    assert info.value.body["message"] == f"Response with id '{r.id}' not found."
    with pytest.raises(openai.NotFoundError, match="Response with id .* not found"):
        client.responses.delete(r.id)


def test_budget_run_out_gives_an_incomplete_response(client):
    full = client.responses.create(model=BASE_MODEL, input="hello, who are you?")
    assert full.usage.output_tokens > 16  # the base model's long fallback sentence
    r = client.responses.create(model=BASE_MODEL, input="hello, who are you?",
                                max_output_tokens=16)
    assert r.status == "incomplete"
    assert r.incomplete_details.reason == "max_output_tokens"
    assert r.usage.output_tokens == 16 and r.output[0].status == "incomplete"
    assert full.output_text.startswith(r.output_text) and r.output_text != full.output_text


@pytest.mark.parametrize("kwargs, param, code", [
    ({"extra_body": {"foo": 1}}, "foo", "unknown_parameter"),
    ({"max_output_tokens": 5}, "max_output_tokens", "invalid_value"),
    ({"temperature": 2.5}, "temperature", "invalid_value"),
    ({"tools": [{"type": "web_search"}]}, "tools[0].type", "unsupported_parameter"),
    ({"truncation": "auto"}, "truncation", "unsupported_parameter"),
    ({"text": {"format": {"type": "json_object"}}}, "input", "invalid_value"),  # no "json"
    ({"input": [{"type": "item_reference", "id": "x"}]}, "input[0].type",
     "unsupported_parameter"),
])
def test_bad_requests_name_the_parameter(client, kwargs, param, code):
    kwargs = {"model": BASE_MODEL, "input": QUESTION, **kwargs}
    body = bad_request(lambda: client.responses.create(**kwargs))
    assert (body["param"], body["code"]) == (param, code)
    if code == "unknown_parameter":
        assert body["message"] == "Unknown parameter: 'foo'."


def test_forced_function_tool_gives_a_function_call(client):
    tool = {"type": "function", "name": "classify", "strict": True, "parameters": {
        "type": "object", "properties": {"label": {"type": "string", "enum": ["sports",
                                                                                "finance"]}},
        "required": ["label"], "additionalProperties": False}}
    r = client.responses.create(model=BASE_MODEL, input=QUESTION, tools=[tool],
                                tool_choice={"type": "function", "name": "classify"})
    (call,) = r.output
    assert call.type == "function_call" and call.name == "classify"
    assert json.loads(call.arguments) == {"label": "sports"}
    assert call.call_id.startswith("call_")
    followed = client.responses.create(model=BASE_MODEL, previous_response_id=r.id, input=[
        {"type": "function_call_output", "call_id": call.call_id, "output": "saved"}])
    assert followed.status == "completed"


def test_function_tool_without_strict_is_called_under_the_default_choice(client):
    """LangChain's ``bind_tools`` sends no ``strict`` and no ``tool_choice``; OpenAI accepts it."""
    tool = {"type": "function", "name": "record_topic", "parameters": {
        "type": "object", "properties": {"label": {"type": "string", "enum": ["sports",
                                                                                "finance"]}},
        "required": ["label"]}}
    r = client.responses.create(model=BASE_MODEL, input=QUESTION, tools=[tool])
    (call,) = r.output
    assert call.type == "function_call" and call.name == "record_topic"
    assert json.loads(call.arguments) == {"label": "sports"}
    unnamed = {k: v for k, v in tool.items() if k != "name"}
    body = bad_request(lambda: client.responses.create(model=BASE_MODEL, input=QUESTION,
                                                       tools=[unnamed]))
    assert body["param"] == "tools[0].name"


def test_create_for_batches_returns_response_json(tmp_path):
    record = responses.create(Sandbox(tmp_path), {"model": BASE_MODEL, "input": QUESTION})
    assert Response.model_validate(record).output_text == "sports"
    with pytest.raises(Exception, match="not inside a batch"):
        responses.create(Sandbox(tmp_path), {"model": BASE_MODEL, "input": "x",
                                             "stream": True})


@pytest.mark.slow
def test_served_sandbox_streams_responses_to_async_clients(tmp_path):
    async def run(url):
        client = openai.AsyncOpenAI(base_url=url + "/v1", api_key="sk-local", max_retries=0,
                                    _strict_response_validation=True)
        plain = await client.responses.create(model=BASE_MODEL, input=QUESTION)
        async with client.responses.stream(model=BASE_MODEL, input=QUESTION) as stream:
            types = [e.type async for e in stream]
            final = await stream.get_final_response()
        gone = await client.responses.delete(plain.id)
        await client.close()
        return plain, types, final, gone

    with served_sandbox(tmp_path / "sbx") as url:
        plain, types, final, gone = asyncio.run(run(url))
    assert final.output_text == plain.output_text == "sports" and gone is None
    assert types[0] == "response.created" and types[-1] == "response.completed"


def test_a_batch_on_v1_responses_answers_each_line_like_responses_create(client):
    inputs = {"r1": QUESTION, "r2": "Categories: sports, finance\nText: stocks fell sharply"}
    lines = "".join(json.dumps({"custom_id": cid, "method": "POST", "url": "/v1/responses",
                                "body": {"model": BASE_MODEL, "input": text}}) + "\n"
                    for cid, text in inputs.items())
    batch = finished_batch(client, lines.encode(), "/v1/responses", name="r.jsonl")
    assert batch.status == "completed" and batch.request_counts.completed == 2
    rows = output_rows(client, batch)
    got = {r["custom_id"]: Response.model_validate(r["response"]["body"]).output_text
           for r in rows}
    assert got == {cid: client.responses.create(model=BASE_MODEL, input=text).output_text
                   for cid, text in inputs.items()}
    assert got["r1"] == "sports"
