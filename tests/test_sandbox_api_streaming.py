"""stream=True in each provider's chunk format, in-process (the AsyncOpenAI and served
cases are in test_sandbox_api_server.py). The streamed text must equal the plain answer."""
import json
from typing import Literal

import pytest
from pydantic import BaseModel

from helpers import clients, prompts
from helpers.sandbox import synthetic
from helpers.sandbox.core import BASE_MODEL

LABELS = list(synthetic.WORDS)
TEXTS = ["国足主场绝杀卫冕冠军", "央行宣布降息，债券上涨", "新款手机搭载自研芯片和大模型"]


@pytest.fixture
def tuned(client):
    data = synthetic.chat_jsonl(synthetic.headlines(200, seed=2), LABELS)
    f = client.files.create(file=("t.jsonl", data), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
    while job.status not in ("succeeded", "failed", "cancelled"):
        job = client.fine_tuning.jobs.retrieve(job.id)
    return job.fine_tuned_model


def collect(stream):
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return chunks, text


@pytest.mark.parametrize("which", ["base", "tuned", "fallback"])
def test_stream_equals_the_plain_answer_with_logprobs(client, request, which):
    model = request.getfixturevalue("tuned") if which == "tuned" else BASE_MODEL
    for text in TEXTS[:2] if which != "fallback" else ["hello, who are you?"]:
        msgs = (prompts.messages(text, LABELS) if which != "fallback"
                else [{"role": "user", "content": text}])
        plain = client.chat.completions.create(model=model, messages=msgs, logprobs=True,
                                               top_logprobs=3)
        chunks, streamed = collect(client.chat.completions.create(
            model=model, messages=msgs, logprobs=True, top_logprobs=3, stream=True))
        assert streamed == plain.choices[0].message.content
        assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
        assert chunks[0].choices[0].delta.role == "assistant"
        assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].usage is None
        streamed_lp = [e for c in chunks if c.choices and c.choices[0].logprobs
                       for e in c.choices[0].logprobs.content]
        assert [(e.token, e.logprob) for e in streamed_lp] == [
            (e.token, e.logprob) for e in plain.choices[0].logprobs.content]


def test_include_usage_adds_a_final_usage_chunk(client):
    msgs = prompts.messages(TEXTS[2], LABELS)
    plain = client.chat.completions.create(model=BASE_MODEL, messages=msgs, n=2)
    chunks, _ = collect(client.chat.completions.create(
        model=BASE_MODEL, messages=msgs, n=2, stream=True, stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last.choices == [] and last.usage.model_dump() == plain.usage.model_dump()
    assert all(c.usage is None for c in chunks[:-1])
    for i in range(2):
        text = "".join(c.choices[0].delta.content or "" for c in chunks
                       if c.choices and c.choices[0].index == i)
        assert text == plain.choices[i].message.content == "科技"


def test_stream_helper_parses_a_schema_and_cut_answers_end_with_length(client):
    class Topic(BaseModel):
        label: Literal["体育", "财经", "科技", "娱乐", "汽车", "旅游"]

    msgs = prompts.messages(TEXTS[1], LABELS)
    with client.chat.completions.stream(model=BASE_MODEL, messages=msgs,
                                        response_format=Topic) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    assert final.choices[0].message.parsed.label == "财经"
    chunks, text = collect(client.chat.completions.create(
        model=BASE_MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=2, stream=True))
    cut = client.chat.completions.create(model=BASE_MODEL, max_tokens=2,
                                         messages=[{"role": "user", "content": "hi"}])
    assert (text == cut.choices[0].message.content
            and chunks[-1].choices[0].finish_reason == "length")


def test_streamed_tool_call_arguments_rebuild_the_call(client):
    tools = [{"type": "function", "function": {"name": "classify", "parameters": {
        "type": "object", "properties": {"label": {"type": "string", "enum": LABELS}},
        "required": ["label"]}}}]
    force = {"type": "function", "function": {"name": "classify"}}
    msgs = prompts.messages(TEXTS[0], LABELS)
    plain = client.chat.completions.create(model=BASE_MODEL, messages=msgs, tools=tools,
                                           tool_choice=force)
    chunks = list(client.chat.completions.create(model=BASE_MODEL, messages=msgs, tools=tools,
                                                 tool_choice=force, stream=True))
    calls = [t for c in chunks if c.choices for t in (c.choices[0].delta.tool_calls or [])]
    assert calls[0].id.startswith("call_") and calls[0].function.name == "classify"
    args = "".join(t.function.arguments or "" for t in calls)
    assert args == plain.choices[0].message.tool_calls[0].function.arguments
    assert json.loads(args) == {"label": "体育"}
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_zhipu_stream_in_its_own_chunk_shape(settings, tuned):
    z = clients.zhipu_client(settings, max_retries=0)
    for model in (BASE_MODEL, tuned):
        msgs = prompts.messages(TEXTS[0], LABELS)
        plain = z.chat.completions.create(model=model, messages=msgs)
        chunks = list(z.chat.completions.create(model=model, messages=msgs, stream=True,
                                                request_id="zh-stream-1"))
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        assert text == plain.choices[0].message.content == "体育"
        assert chunks[-1].choices[0].finish_reason == "stop"
        assert chunks[-1].usage.total_tokens == plain.usage.total_tokens
        assert all(c.choices[0].delta.role == "assistant" for c in chunks)
        assert chunks[0].request_id == "zh-stream-1"
