"""sandbox-reasoning through the official SDK: a reasoning model's 400s, its reasoning
tokens (billed as output, counted against the budget) and the empty-answer trap."""
import openai
import pytest

from helpers.sandbox import reasoning
from helpers.sandbox.catalog import BASE_MODEL, REASONING_MODEL

QUESTION = "Categories: finance, sports\nText: The players celebrated with their fans"
MESSAGES = [{"role": "user", "content": QUESTION}]


def error(call) -> dict:
    with pytest.raises(openai.BadRequestError) as info:
        call()
    return info.value.body


def chat(client, **kwargs):
    return client.chat.completions.create(model=REASONING_MODEL, messages=MESSAGES, **kwargs)


def respond(client, **kwargs):
    return client.responses.create(model=REASONING_MODEL, input=QUESTION, **kwargs)


@pytest.mark.parametrize("kwargs, param, code, message", [
    ({"max_tokens": 50}, "max_tokens", "unsupported_parameter",
     "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
     "'max_completion_tokens' instead."),
    ({"temperature": 0}, "temperature", "unsupported_value",
     "Unsupported value: 'temperature' does not support 0 with this model. Only the default "
     "(1) value is supported."),
    ({"top_p": 0.5}, "top_p", "unsupported_value",
     "Unsupported value: 'top_p' does not support 0.5 with this model. Only the default (1) "
     "value is supported."),
    ({"logprobs": True}, "logprobs", "unsupported_parameter",
     "Unsupported parameter: 'logprobs' is not supported with this model."),
    ({"reasoning_effort": "xhigh"}, "reasoning_effort", "unsupported_value",
     "Unsupported value: 'xhigh' is not supported with the 'sandbox-reasoning' model. "
     "Supported values are: 'none', 'minimal', 'low', 'medium', and 'high'."),
])
def test_chat_rejections(client, kwargs, param, code, message):
    body = error(lambda: chat(client, **kwargs))
    assert body == {"message": message, "type": "invalid_request_error", "param": param,
                    "code": code}


@pytest.mark.parametrize("kwargs, param, code", [
    ({"temperature": 0.2}, "temperature", "unsupported_value"),
    ({"top_p": 0.5}, "top_p", "unsupported_value"),
    ({"reasoning": {"effort": "max"}}, "reasoning.effort", "unsupported_value"),
])
def test_responses_rejections(client, kwargs, param, code):
    body = error(lambda: respond(client, **kwargs))
    assert (body["param"], body["code"]) == (param, code)


def test_effort_none_accepts_sampling_and_other_models_refuse_effort(client):
    assert chat(client, reasoning_effort="none", temperature=0).choices[0].message.content
    assert respond(client, reasoning={"effort": "none"}, temperature=0.3).status == "completed"
    body = error(lambda: client.chat.completions.create(model=BASE_MODEL, messages=MESSAGES,
                                                        reasoning_effort="low"))
    assert (body["param"], body["code"]) == ("reasoning_effort", "unsupported_parameter")
    body = error(lambda: client.responses.create(model=BASE_MODEL, input=QUESTION,
                                                 reasoning={"effort": "low"}))
    assert body["param"] == "reasoning.effort"


def test_reasoning_tokens_grow_with_effort_and_are_billed_as_output(client):
    seen = []
    for effort in reasoning.EFFORTS:
        r = chat(client, reasoning_effort=effort)
        details = r.usage.completion_tokens_details
        assert details.reasoning_tokens == reasoning.reasoning_tokens(effort,
                                                                      r.usage.prompt_tokens)
        answer = len(r.choices[0].message.content)  # one-token labels here
        assert r.usage.completion_tokens == details.reasoning_tokens + 1 and answer > 0
        seen.append(details.reasoning_tokens)
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    longer = client.chat.completions.create(model=REASONING_MODEL, messages=[
        {"role": "user", "content": QUESTION + " and sang songs in the stadium all night"}])
    default = chat(client)  # medium
    assert longer.usage.completion_tokens_details.reasoning_tokens > \
        default.usage.completion_tokens_details.reasoning_tokens
    r = respond(client, reasoning={"effort": "high"})
    assert r.usage.output_tokens_details.reasoning_tokens == seen[-1]
    assert [item.type for item in r.output] == ["reasoning", "message"]
    assert r.reasoning.effort == "high"


def test_effort_buys_a_wider_reading(client):
    answers = {e: chat(client, reasoning_effort=e).choices[0].message.content
               for e in reasoning.EFFORTS}
    base = client.chat.completions.create(model=BASE_MODEL, messages=MESSAGES)
    # "players" is the lexicon's "player" inflected: only effort >= low reads it
    assert answers["none"] == answers["minimal"] == base.choices[0].message.content == "finance"
    assert answers["low"] == answers["medium"] == answers["high"] == "sports"


def test_chat_budget_too_small_for_reasoning_gives_an_empty_length_answer(client):
    need = reasoning.reasoning_tokens("medium", chat(client).usage.prompt_tokens) + 1
    enough = chat(client, max_completion_tokens=need)
    assert enough.choices[0].message.content == "sports"
    r = chat(client, max_completion_tokens=need - 1)
    assert r.choices[0].message.content == "" and r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == need - 1  # still billed
    assert r.usage.completion_tokens_details.reasoning_tokens == need - 1


def test_streamed_chat_trap_matches(client):
    chunks = list(chat(client, max_completion_tokens=20, stream=True,
                       stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finish = [c.choices[0].finish_reason for c in chunks if c.choices][-1]
    assert (text, finish) == ("", "length")
    assert chunks[-1].usage.completion_tokens_details.reasoning_tokens == 20


def test_responses_trap_is_incomplete_without_output_text(client):
    r = respond(client, max_output_tokens=16)
    assert r.status == "incomplete" and r.incomplete_details.reason == "max_output_tokens"
    assert r.output_text == "" and [item.type for item in r.output] == ["reasoning"]
    assert r.usage.output_tokens == r.usage.output_tokens_details.reasoning_tokens == 16
    with client.responses.stream(model=REASONING_MODEL, input=QUESTION,
                                 max_output_tokens=16) as stream:
        events = list(stream)
    types = [e.type for e in events]
    assert types[-1] == "response.incomplete" and "response.output_text.delta" not in types
    final = events[-1].response  # the SDK's get_final_response() wants response.completed
    assert final.status == "incomplete" and final.usage == r.usage


def test_streamed_responses_equal_the_plain_ones(client):
    plain = respond(client, reasoning={"effort": "low"})
    with client.responses.stream(model=REASONING_MODEL, input=QUESTION,
                                 reasoning={"effort": "low"}) as stream:
        types = [e.type for e in stream]
        final = stream.get_final_response()
    assert final.output_text == plain.output_text == "sports" and final.usage == plain.usage
    assert types[:4] == ["response.created", "response.in_progress",
                         "response.output_item.added", "response.output_item.done"]
