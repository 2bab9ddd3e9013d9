"""The Responses API (``/v1/responses``) as a view of the chat logic.

A create request is checked (``responses_schemas``), converted into a chat
request (instructions -> a developer message, earlier turns of
``previous_response_id`` -> the messages before the input, ``text.format`` ->
``response_format``, Responses-shaped function tools -> chat tools,
``max_output_tokens`` -> ``max_completion_tokens``, ``reasoning.effort`` ->
``reasoning_effort``) and answered by ``chat.reply``, so both APIs give the same
answer to the same question. The chat completion is then dressed as a
``Response`` (built through the SDK's own type) and, unless ``store`` is false,
saved in the sandbox's SQLite store for ``GET``/``DELETE`` and later turns.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from openai.types.responses import Response

from ..chat_format import flatten_content
from . import chat, dialects, reasoning, responses_schemas
from .errors import ApiError
from .records import public

TABLE = "responses"
_PARAMS = (("messages", "input"), ("response_format", "text.format"),
           ("max_completion_tokens", "max_output_tokens"),
           ("tool_choice.function.name", "tool_choice.name"),
           ("reasoning_effort", "reasoning.effort"))


@dataclass
class Turn:
    """One create request converted to chat, with what the Response must echo."""
    body: dict           # the validated Responses body
    chat_body: dict      # what chat.reply answers
    context: list        # chat messages of the earlier turns and this input (no instructions)
    effort: str | None   # the reasoning model's effort, None for other models


@dataclass
class Result:
    """A created response: its stored record and the chat reply it came from."""
    record: dict
    reply: chat.Reply


# ------------------------------------------------------------------ conversion
def _text_parts(content) -> str | list:
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        if part["type"] == "refusal":
            parts.append({"type": "refusal", "refusal": part["refusal"]})
        else:
            parts.append({"type": "text", "text": part["text"]})
    return parts


def _messages(items) -> list[dict]:
    """Responses input items as chat messages; reasoning items carry nothing to read."""
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    out = []
    for item in items or []:
        kind = item.get("type") or "message"
        if kind == "message":
            out.append({"role": item["role"], "content": _text_parts(item["content"])})
        elif kind == "function_call":
            out.append({"role": "assistant", "content": None, "tool_calls": [{
                "id": item["call_id"], "type": "function",
                "function": {"name": item["name"], "arguments": item["arguments"]}}]})
        elif kind == "function_call_output":
            output = item["output"]
            if not isinstance(output, str):  # a list of parts: their text, as in a message
                output = flatten_content(output)
            out.append({"role": "tool", "tool_call_id": item.get("call_id") or "",
                        "content": output})
    return out


def _tools(tools) -> list[dict]:
    out = []
    for i, tool in enumerate(tools or []):
        if tool["type"] != "function":
            raise ApiError(400, f"The sandbox does not implement '{tool['type']}' tools (only "
                           "function tools).", param=f"tools[{i}].type",
                           code="unsupported_parameter")
        function = {"name": tool["name"], "parameters": tool.get("parameters") or {}}
        for key in ("description", "strict"):
            if tool.get(key) is not None:
                function[key] = tool[key]
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice):
    if choice is None or isinstance(choice, str):
        return choice
    if choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice["name"]}}
    raise ApiError(400, f"The sandbox does not implement tool_choice type "
                   f"{choice.get('type')!r} (it takes 'none', 'auto', 'required' or a "
                   "function by name).", param="tool_choice.type", code="unsupported_parameter")


def _response_format(fmt: dict | None) -> dict | None:
    if not fmt or fmt["type"] == "text":
        return None
    if fmt["type"] == "json_object":
        return {"type": "json_object"}
    spec = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
    return {"type": "json_schema", "json_schema": spec}


def _effort(body: dict) -> str | None:
    effort = (body.get("reasoning") or {}).get("effort")
    if not reasoning.is_reasoning(body["model"]):
        if effort is not None:
            raise ApiError(400, "Unsupported parameter: 'reasoning.effort' is not supported "
                           "with this model.", param="reasoning.effort",
                           code="unsupported_parameter")
        return None
    effort = reasoning.effort_of(effort, body["model"], "reasoning.effort")
    reasoning.sampling(body, effort)
    return effort


def _previous(sandbox, response_id: str | None) -> list:
    if response_id is None:
        return []
    record = sandbox.store.get(TABLE, response_id)
    if record is None:
        raise ApiError(400, f"Previous response with id '{response_id}' not found.",
                       param="previous_response_id", code="previous_response_not_found")
    return record["_context"]


def prepare(sandbox, body: dict) -> Turn:
    """Check ``body`` and convert it into a chat request (raises ApiError)."""
    body = responses_schemas.check(body)
    effort = _effort(body)
    context = _previous(sandbox, body.get("previous_response_id")) + _messages(body.get("input"))
    head = [{"role": "developer", "content": body["instructions"]}] \
        if body.get("instructions") else []
    chat_body = {"model": body["model"], "messages": head + context}
    options = {"response_format": _response_format((body.get("text") or {}).get("format")),
               "max_completion_tokens": body.get("max_output_tokens"),
               "temperature": body.get("temperature"), "top_p": body.get("top_p"),
               "tools": _tools(body.get("tools")) or None,
               "tool_choice": _tool_choice(body.get("tool_choice")),
               "parallel_tool_calls": body.get("parallel_tool_calls"),
               "reasoning_effort": effort}
    chat_body.update({k: v for k, v in options.items() if v is not None})
    return Turn(body, chat_body, context, effort)


def _renamed(exc: ApiError) -> ApiError:
    """A chat error with its parameter named as the Responses request names it."""
    for old, new in _PARAMS:
        if exc.param and exc.param.startswith(old):
            exc.param = new + exc.param[len(old):] if old != "messages" else new
            break
    for old, new in _PARAMS:
        exc.message = exc.message.replace(f"'{old}'", f"'{new}'")
    return exc


# ------------------------------------------------------------------ the response
def _ids(sandbox, kind: str) -> str:
    return sandbox.store.hex_id(kind, uuid.uuid4().int, 48)


def _output(sandbox, turn: Turn, reply: chat.Reply, finish: str) -> tuple[list, list]:
    """(Response output items, the same as chat messages for a later turn)."""
    items, said = [], []
    message = reply.record["choices"][0]["message"]
    if turn.effort is not None:
        items.append({"id": "rs_" + _ids(sandbox, "rs"), "type": "reasoning", "summary": []})
    if reply.kind == "tool":
        call = message["tool_calls"][0]
        items.append({"id": "fc_" + _ids(sandbox, "fc"), "type": "function_call",
                      "call_id": call["id"], "name": call["function"]["name"],
                      "arguments": call["function"]["arguments"], "status": "completed"})
        said.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif message["content"] or turn.effort is None or finish != "length":
        items.append({"id": "msg_" + _ids(sandbox, "msg"), "type": "message",
                      "role": "assistant",
                      "status": "incomplete" if finish == "length" else "completed",
                      "content": [{"type": "output_text", "text": message["content"],
                                   "annotations": [], "logprobs": []}]})
        said.append({"role": "assistant", "content": message["content"]})
    return items, said


def _usage(reply: chat.Reply) -> dict:
    usage = reply.record["usage"]
    details = usage.get("completion_tokens_details") or {}
    return {"input_tokens": usage["prompt_tokens"],
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": usage["completion_tokens"],
            "output_tokens_details": {"reasoning_tokens": details.get("reasoning_tokens", 0)},
            "total_tokens": usage["total_tokens"]}


def _record(sandbox, turn: Turn, reply: chat.Reply) -> dict:
    body, created = turn.body, int(time.time())
    finish = reply.record["choices"][0]["finish_reason"]
    output, said = _output(sandbox, turn, reply, finish)
    incomplete = finish == "length"
    record = {
        "id": "resp_" + _ids(sandbox, "resp"), "object": "response", "created_at": created,
        "status": "incomplete" if incomplete else "completed",
        "completed_at": None if incomplete else created, "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "metadata": body.get("metadata") or {}, "model": body["model"], "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": turn.effort, "summary": None},
        "store": body.get("store") is not False,
        "temperature": body.get("temperature", 1.0), "top_p": body.get("top_p", 1.0),
        "text": {"format": (body.get("text") or {}).get("format") or {"type": "text"},
                 "verbosity": "medium"},
        "tool_choice": body.get("tool_choice") or "auto", "tools": body.get("tools") or [],
        "truncation": "disabled", "usage": _usage(reply), "user": body.get("user"),
        "background": False, "service_tier": "default",
        "safety_identifier": body.get("safety_identifier"),
        "prompt_cache_key": body.get("prompt_cache_key"),
    }
    record = Response.model_validate(record).model_dump(mode="json", by_alias=True)
    record["_context"] = turn.context + said
    return record


def run(sandbox, body: dict) -> Result:
    """Answer a create request and store it (unless ``store`` is false)."""
    turn = prepare(sandbox, body)
    try:
        reply = chat.reply(sandbox, turn.chat_body, "openai")
    except ApiError as exc:
        raise _renamed(exc) from None
    record = _record(sandbox, turn, reply)
    if record["store"]:
        with sandbox.store.transaction():
            sandbox.store.put(TABLE, record["id"], sandbox.store.next_seq(TABLE), record)
    return Result(record, reply)


def create(sandbox, body: dict, provider: str = "openai") -> dict:
    """A non-streamed Response as JSON (what ``POST /v1/responses`` and batches return)."""
    if not dialects.get(provider).serves_responses:
        raise ApiError(404, "The Responses API is served on the OpenAI paths only.",
                       code="unknown_url")
    if body.get("stream") is True:
        raise ApiError(400, "stream=true is answered over HTTP only (as server-sent events), "
                       "not inside a batch.", param="stream", code="invalid_value")
    return public(run(sandbox, body).record)


def _stored(sandbox, response_id: str) -> dict:
    record = sandbox.store.get(TABLE, response_id)
    if record is None:
        raise ApiError(404, f"Response with id '{response_id}' not found.",
                       code="response_not_found")
    return record


def get(sandbox, response_id: str) -> dict:
    return public(_stored(sandbox, response_id))


def delete(sandbox, response_id: str) -> dict:
    _stored(sandbox, response_id)
    with sandbox.store.transaction():
        sandbox.store.execute(f"DELETE FROM {TABLE} WHERE id = ?", (response_id,))
    return {"id": response_id, "object": "response.deleted", "deleted": True}
