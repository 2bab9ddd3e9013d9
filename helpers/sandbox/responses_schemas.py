"""``POST /v1/responses`` bodies checked strictly, as ``schemas`` checks chat bodies.

The source of truth is the ``openai`` SDK's ``ResponseCreateParamsBase``,
rewritten by ``schemas.strict_type`` (unknown keys refused, nothing coerced),
with the documented ranges on top. Only ``input`` is typed here: the sandbox
reads the input items it implements (messages with text parts, function calls
and their outputs, reasoning items) with their own strict types, so an error
names the item and field; any other item type is a 400 naming it.
"""
from __future__ import annotations

import typing
from functools import lru_cache
from typing import Annotated, Any, Literal, NotRequired, Required

from openai.types.responses import response_create_params
from openai.types.responses.response_function_tool_call_param import (
    ResponseFunctionToolCallParam,
)
from openai.types.responses.response_input_param import FunctionCallOutput
from openai.types.responses.response_reasoning_item_param import ResponseReasoningItemParam
from pydantic import Discriminator, Field, Tag, TypeAdapter
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from . import schemas
from .errors import ApiError

RANGES = {"temperature": Field(ge=0, le=2), "top_p": Field(ge=0, le=1),
          "max_output_tokens": Field(ge=16), "top_logprobs": Field(ge=0, le=20)}
IMPLEMENTED = {"model", "input", "instructions", "text", "max_output_tokens", "reasoning",
               "temperature", "top_p", "tools", "tool_choice", "parallel_tool_calls",
               "metadata", "store", "previous_response_id", "stream", "user",
               "safety_identifier", "prompt_cache_key"}
NEUTRAL = {"service_tier": ("auto", "default"), "truncation": ("disabled",),
           "background": (False,), "include": ([],), "top_logprobs": (0,),
           "stream_options": ({"include_obfuscation": False},)}
ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning")


class _InputText(TypedDict, total=False):
    type: Required[Literal["input_text"]]
    text: Required[str]


class _OutputText(TypedDict, total=False):
    type: Required[Literal["output_text"]]
    text: Required[str]
    annotations: list[dict[str, Any]]
    logprobs: list[dict[str, Any]] | None


class _Refusal(TypedDict, total=False):
    type: Required[Literal["refusal"]]
    refusal: Required[str]


_Part = Annotated[_InputText | _OutputText | _Refusal, Field(discriminator="type")]


class _Message(TypedDict, total=False):
    """A message item: the easy form, or an earlier response's output message."""
    role: Required[Literal["user", "system", "developer", "assistant"]]
    content: Required[str | list[_Part]]
    type: Literal["message"]
    id: str
    status: Literal["in_progress", "completed", "incomplete"]
    phase: Literal["commentary", "final_answer"] | None


def _tag(item) -> str | None:
    return (item.get("type") or "message") if isinstance(item, dict) else None


for _td in (_InputText, _OutputText, _Refusal, _Message):
    _td.__pydantic_config__ = schemas.STRICT
_Item = Annotated[
    Annotated[_Message, Tag("message")]
    | Annotated[schemas.strict_type(ResponseFunctionToolCallParam), Tag("function_call")]
    | Annotated[schemas.strict_type(FunctionCallOutput), Tag("function_call_output")]
    | Annotated[schemas.strict_type(ResponseReasoningItemParam), Tag("reasoning")],
    Discriminator(_tag)]


class _Input(TypedDict):
    input: Required[list[_Item]]


_Input.__pydantic_config__ = schemas.STRICT
INPUT_ITEMS = TypeAdapter(_Input)  # checked first, so an item's error names the item


@lru_cache(maxsize=1)
def _adapter() -> TypeAdapter:
    """Built on first use: the SDK's tool and format unions take a moment to compile."""
    hints = typing.get_type_hints(response_create_params.ResponseCreateParamsBase,
                                  include_extras=True)
    hints["input"] = NotRequired[str | list[_Item]]
    hints["stream"] = NotRequired[bool | None]
    body = TypedDict("ResponseCreateBody", hints, total=False)  # type: ignore[operator]
    return TypeAdapter(schemas.strict_type(body, RANGES))


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    return frozenset(typing.get_type_hints(response_create_params.ResponseCreateParamsBase))


def _unknown(body: dict) -> None:
    """OpenAI's Responses wording for a parameter the API does not know."""
    for key in body:
        if key not in _known() and key != "stream":
            raise ApiError(400, f"Unknown parameter: '{key}'.", param=key,
                           code="unknown_parameter")


def _items(body: dict) -> None:
    items = body.get("input")
    if not isinstance(items, list):
        return
    for i, item in enumerate(items):
        kind = _tag(item)
        if kind is not None and kind not in ITEM_TYPES:
            raise ApiError(400, f"The sandbox does not implement input items of type {kind!r} "
                           f"(it reads {', '.join(ITEM_TYPES)}).", param=f"input[{i}].type",
                           code="unsupported_parameter")
        if kind == "message":
            _parts(item, i)


def _parts(item: dict, i: int) -> None:
    """Assistant text is output_text (or refusal); other roles send input_text, as on OpenAI."""
    content = item.get("content")
    if not isinstance(content, list):
        return
    allowed = ("output_text", "refusal") if item.get("role") == "assistant" else ("input_text",)
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_image", "input_file", "input_audio"):
            raise ApiError(400, f"The sandbox reads text only; it does not implement {kind!r} "
                           "parts.", param=f"input[{i}].content[{j}].type",
                           code="unsupported_parameter")
        if isinstance(kind, str) and kind not in allowed:
            listed = " and ".join(f"'{a}'" for a in allowed)
            raise ApiError(400, f"Invalid value: '{kind}'. Supported values are: {listed}.",
                           param=f"input[{i}].content[{j}].type", code="invalid_value")


def _strict(adapter: TypeAdapter, body: dict) -> None:
    try:
        schemas._check(adapter, body)
    except ApiError as exc:
        if exc.code == "unknown_parameter":  # the Responses API's wording
            exc.message = f"Unknown parameter: '{exc.param}'."
        raise


def _optional_strict(body: dict) -> dict:
    """``body`` with ``strict: None`` on function tools that omit it, for the SDK-typed check.

    The SDK's types mark ``strict`` required, but OpenAI accepts a function tool
    without it (LangChain's ``bind_tools`` sends none); the sandbox treats it as unset.
    """
    tools = body.get("tools")
    if not isinstance(tools, list):
        return body
    filled = [{**t, "strict": None} if isinstance(t, dict) and t.get("type") == "function"
              and "strict" not in t else t for t in tools]
    return {**body, "tools": filled}


def check(body: dict) -> dict:
    """The validated Responses body, or an ApiError naming the first problem."""
    _unknown(body)
    _items(body)
    if isinstance(body.get("input"), list):
        _strict(INPUT_ITEMS, {"input": body["input"]})
    _strict(_adapter(), _optional_strict(body))
    schemas._unimplemented(body, IMPLEMENTED, NEUTRAL)
    reasoning = body.get("reasoning") or {}
    for key in ("summary", "generate_summary"):
        if reasoning.get(key) is not None:
            raise ApiError(400, f"The sandbox does not implement 'reasoning.{key}' (its "
                           "reasoning has no text to summarise).", param=f"reasoning.{key}",
                           code="unsupported_parameter")
    verbosity = (body.get("text") or {}).get("verbosity")
    if verbosity not in (None, "medium"):
        raise ApiError(400, f"The sandbox does not implement 'text.verbosity' {verbosity!r}: "
                       "its answers are labels, of one length.", param="text.verbosity",
                       code="unsupported_parameter")
    if body.get("input") in (None, "", []) and not body.get("previous_response_id"):
        raise ApiError(400, "Missing required parameter: 'input'.", param="input",
                       code="missing_required_parameter")
    if body.get("model") is None:
        raise ApiError(400, "Missing required parameter: 'model'.", param="model",
                       code="missing_required_parameter")
    metadata = body.get("metadata") or {}
    if len(metadata) > 16 or any(len(k) > 64 or len(v) > 512 for k, v in metadata.items()):
        raise ApiError(400, "Invalid 'metadata': at most 16 keys, keys at most 64 characters "
                       "and values at most 512.", param="metadata", code="invalid_value")
    return body
