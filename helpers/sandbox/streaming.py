"""``stream=true``: a computed ``chat.Reply`` as server-sent events, per provider.

OpenAI: ``chat.completion.chunk`` objects (a role chunk, one chunk per run of
tokens that decodes to whole characters, a finish chunk per choice), then, with
``stream_options.include_usage``, a chunk with ``choices: []`` and the usage,
then ``data: [DONE]``. Each chunk is checked against the SDK's
``ChatCompletionChunk`` type. Zhipu: chunks as ``zhipuai`` 2.1.5 parses them
(``delta`` with role and content; the last chunk carries ``finish_reason`` and
``usage``), then ``data: [DONE]``.
"""
from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from openai.types.chat import ChatCompletionChunk
from zhipuai.types.chat.chat_completion_chunk import ChatCompletionChunk as ZhipuChunk

from .errors import ApiError, render, server_error

if TYPE_CHECKING:  # chat asks the dialects, which stream through here: no import at run time
    from .chat import Reply


def _event(payload: dict) -> bytes:
    return b"data: " + json.dumps(payload, ensure_ascii=False, allow_nan=False).encode() + b"\n\n"


DONE = b"data: [DONE]\n\n"


def _openai_chunk(base: dict, choices: list, usage=None, include_usage=False) -> bytes:
    chunk = {**base, "choices": choices}
    if include_usage:
        chunk["usage"] = usage
    ChatCompletionChunk.model_validate(chunk)  # the SDK's own type: fail here, not in a client
    return _event(chunk)


def openai_events(reply: Reply, body: dict):
    """The SSE byte chunks for an OpenAI-path stream."""
    record = reply.record
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    base = {"id": record["id"], "object": "chat.completion.chunk", "created": record["created"],
            "model": record["model"], "system_fingerprint": record["system_fingerprint"]}

    def out(choices, usage=None):
        return _openai_chunk(base, choices, usage, include_usage)

    for choice in record["choices"]:
        i = choice["index"]
        if reply.kind == "tool":
            yield out([{"index": i, "finish_reason": None, "logprobs": None, "delta": {
                "role": "assistant", "content": None, "refusal": None, "tool_calls": [{
                    "index": 0, "id": reply.tool["id"], "type": "function",
                    "function": {"name": reply.tool["name"], "arguments": ""}}]}}])
            for text, _ in reply.pieces:
                yield out([{"index": i, "finish_reason": None, "logprobs": None, "delta": {
                    "tool_calls": [{"index": 0, "function": {"arguments": text}}]}}])
        else:
            yield out([{"index": i, "finish_reason": None, "logprobs": None,
                        "delta": {"role": "assistant", "content": "", "refusal": None}}])
            for text, entries in reply.pieces:
                logprobs = {"content": entries, "refusal": None} if reply.logprobs else None
                yield out([{"index": i, "finish_reason": None, "logprobs": logprobs,
                            "delta": {"content": text}}])
        yield out([{"index": i, "finish_reason": choice["finish_reason"], "logprobs": None,
                    "delta": {}}])
    if include_usage:
        yield out([], record["usage"])
    yield DONE


def zhipu_events(reply: Reply, request_id: str):
    """The SSE byte chunks for a Zhipu-path stream (one choice per request on Zhipu)."""
    record = reply.record
    base = {"id": record["id"], "request_id": request_id, "created": record["created"],
            "model": record["model"]}
    choice = record["choices"][0]
    for text, entries in reply.pieces:
        delta = {"role": "assistant", "content": text}
        item = {"index": 0, "delta": delta}
        if reply.logprobs:
            item["logprobs"] = {"content": entries}
        chunk = {**base, "choices": [item]}
        ZhipuChunk.model_validate({**chunk, "extra_json": {}})
        yield _event(chunk)
    last = {**base, "choices": [{"index": 0, "finish_reason": choice["finish_reason"],
                                 "delta": {"role": "assistant", "content": ""}}],
            "usage": record["usage"]}
    ZhipuChunk.model_validate({**last, "extra_json": {}})
    yield _event(last)
    yield DONE


def guarded(events, request_id: str, provider: str):
    """``events``, but an exception while producing them ends the stream with an error event.

    The status line is already sent, so the error goes in the stream, in the
    provider's shape with the request id, and is logged; the WSGI server never
    sees the exception.
    """
    try:
        yield from events
    except Exception as exc:
        logging.getLogger("helpers.sandbox").exception(
            "stream of request %s failed", request_id)
        if isinstance(exc, UnicodeError):
            error = ApiError(400, f"The stream holds text that is not valid Unicode ({exc}).",
                             code="invalid_unicode")
        else:
            error = server_error(request_id)
        yield b"data: " + json.dumps(render(error, provider)[1]).encode() + b"\n\n"
