"""Request bodies checked strictly against the SDKs' own request types, plus documented ranges.

The wire format has one source of truth: the ``openai`` SDK's request
TypedDicts (``completion_create_params``, ``job_create_params``,
``batch_create_params``). ``strict_type`` rewrites such a type mechanically for
pydantic: lazy ``Iterable``/``Sequence`` fields become lists (so they are really
checked), unions of TypedDicts that share a literal ``role``/``type`` key become
discriminated unions (so an error names the right branch), unknown keys are
forbidden and nothing is coerced (``"5"`` is not an integer). The ranges the
API documents (``n`` 1-128, ``temperature`` 0-2, ...) are added as pydantic
constraints on top. Zhipu publishes no request types for chat and jobs, so
those two are written here from the ``zhipuai`` 2.1.5 ``create`` signatures.

What is written by hand is only what is specific to the sandbox: which of the
valid parameters it implements (anything else is a 400 naming the parameter,
never silently ignored) and the wording of errors.
"""
from __future__ import annotations

import collections.abc
import math
import types
import typing
from dataclasses import dataclass, field
from functools import cache
from typing import (
    Annotated,
    Any,
    Literal,
    NotRequired,
    Optional,
    Required,
    Union,
    get_args,
    get_origin,
)

from openai.types import batch_create_params
from openai.types.chat import completion_create_params
from openai.types.fine_tuning import job_create_params
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict, is_typeddict

from .errors import ApiError

STRICT = ConfigDict(extra="forbid", strict=True)
_SEQUENCES = (collections.abc.Iterable, collections.abc.Sequence, collections.abc.Iterator,
              list, tuple)


# ------------------------------------------------------------ type rewriting
def _is_none(tp) -> bool:
    return tp is type(None) or tp is None


def _literal_key(tds: list) -> str | None:
    """A key every TypedDict in ``tds`` has as a required, distinct single Literal."""
    for key in ("role", "type"):
        seen = set()
        for td in tds:
            if not is_typeddict(td) or key not in td.__required_keys__:
                break
            hint = typing.get_type_hints(td)[key]
            if get_origin(hint) is not Literal or len(get_args(hint)) != 1:
                break
            seen.add(get_args(hint)[0])
        else:
            if len(seen) == len(tds):
                return key
    return None


def strict_type(tp, ranges: dict | None = None):
    """``tp`` (an SDK request type) as a strict pydantic type; see the module docstring."""
    origin, args = get_origin(tp), get_args(tp)
    if is_typeddict(tp):
        return _strict_typeddict(tp, tuple(sorted((ranges or {}).items())))
    if origin is Annotated:
        return Annotated[(strict_type(args[0]), *tp.__metadata__)]
    if origin in (Union, types.UnionType):
        members = [strict_type(a) for a in args if not _is_none(a)]
        union = members[0] if len(members) == 1 else Union[tuple(members)]  # noqa: UP007  (built at runtime)
        if len(members) > 1 and _literal_key(members):
            union = Annotated[union, Field(discriminator=_literal_key(members))]
        return Optional[union] if len(members) < len(args) else union  # noqa: UP045  (runtime form)
    if origin in (Required, NotRequired):
        return strict_type(args[0])
    if origin in _SEQUENCES:
        return list[strict_type(args[0])] if args else list
    if origin in (dict, collections.abc.Mapping):
        return dict[strict_type(args[0]), strict_type(args[1])] if args else dict
    return tp


@cache
def _strict_typeddict(td, ranges: tuple = ()):
    limits = dict(ranges)
    fields = {}
    for key, hint in typing.get_type_hints(td, include_extras=True).items():
        # SDK modules use postponed annotations, so on Python 3.11 ``__required_keys__``
        # misses their ``Required[...]`` marks: read the marks from the hints themselves.
        required = get_origin(hint) is Required or (
            key in td.__required_keys__ and get_origin(hint) is not NotRequired)
        value = strict_type(hint)
        if key in limits:
            value = _constrain(value, limits[key])
        fields[key] = Required[value] if required else NotRequired[value]
    out = TypedDict(td.__name__, fields)  # type: ignore[operator]
    out.__pydantic_config__ = STRICT
    return out


def _constrain(tp, field):
    """Put ``Field`` constraints on the non-null members of ``tp``."""
    if get_origin(tp) in (Union, types.UnionType):
        args = get_args(tp)
        members = [a for a in args if not _is_none(a)]
        if len(members) > 1:
            inner = Union[tuple(_constrain(m, field) for m in members)]  # noqa: UP007  (runtime)
        else:
            inner = _constrain(members[0], field)
        return Optional[inner] if len(members) < len(args) else inner  # noqa: UP045  (runtime form)
    if get_origin(tp) is Literal:  # "auto" and friends take no numeric constraint
        return tp
    return Annotated[tp, field]


# ------------------------------------------------------------------ errors
_EXPECTED = {"string_type": "a string", "int_type": "an integer", "float_type": "a number",
             "bool_type": "a boolean", "list_type": "an array", "dict_type": "an object",
             "model_type": "an object", "typed_dict_type": "an object",
             "model_attributes_type": "an object",
             "literal_error": None, "none_required": "null", "finite_number": "a finite number"}


def _kind(value) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a decimal number", str: "a string",
            list: "an array", dict: "an object"}.get(type(value), type(value).__name__)


def _param_path(body, loc) -> tuple[str, Any, bool]:
    """(dotted param, the value found there, whether it was found) for a pydantic loc.

    pydantic puts union branch names in ``loc``; walking the real input skips them.
    """
    parts, node, found = [], body, True
    for i, item in enumerate(loc):
        if (isinstance(node, dict) and isinstance(item, str) and item in node
                or isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node)):
            parts.append(item)
            node = node[item]
        elif i == len(loc) - 1 and isinstance(item, str) and isinstance(node, dict):
            parts.append(item)  # a missing key
            found, node = False, None
    text = ""
    for p in parts:
        text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else p)
    return text, node, found


def validation_error(exc: ValidationError, body: dict) -> ApiError:
    """One clear 400 (OpenAI's wording style) for the first problem pydantic found."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    param, value, found = _param_path(body, first["loc"])
    if isinstance(value, list | dict):  # a container given: name the bad item inside it
        inside = [(len(p), e) for e in errors
                  if (p := _param_path(body, e["loc"])[0]).startswith((param + "[", param + "."))]
        if inside:
            first = max(inside, key=lambda pair: pair[0])[1]
            param, value, found = _param_path(body, first["loc"])
    same = [e for e in errors if _param_path(body, e["loc"])[0] == param]
    kind = first["type"]
    if kind == "extra_forbidden":
        return ApiError(400, f"Unrecognized request argument supplied: {param}", param=param,
                        code="unknown_parameter")
    if kind == "missing":
        return ApiError(400, f"Missing required parameter: '{param}'.", param=param,
                        code="missing_required_parameter")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        key = first["ctx"]["discriminator"].strip("'")
        param = f"{param}.{key}" if param else key
        if kind == "union_tag_not_found":
            return ApiError(400, f"Missing required parameter: '{param}'.", param=param,
                            code="missing_required_parameter")
        return ApiError(400, f"Invalid value for '{param}': {first['ctx']['tag']!r}. Supported "
                        f"values are: {first['ctx']['expected_tags']}.", param=param,
                        code="invalid_value")
    if kind == "literal_error" and all(e["type"] == "literal_error" for e in same):
        return ApiError(400, f"Invalid value for '{param}': {value!r}. Supported values are: "
                        f"{' or '.join(e['ctx']['expected'] for e in same)}.", param=param,
                        code="invalid_value")
    bounds = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">",
              "less_than": "<"}
    if kind in bounds:
        limit = next(iter(first["ctx"].values()))
        return ApiError(400, f"Invalid '{param}': expected a value {bounds[kind]} {limit}, but "
                        f"got {value!r} instead.", param=param, code="invalid_value")
    if kind in ("too_long", "too_short", "string_too_long", "string_too_short"):
        return ApiError(400, f"Invalid '{param}': {first['msg'].lower()}.", param=param,
                        code="invalid_value")
    wanted = list(dict.fromkeys(_EXPECTED[e["type"]] for e in same if _EXPECTED.get(e["type"])))
    if "a string" not in wanted:  # a string literal ("auto") is worth naming beside a number
        wanted += [e["ctx"]["expected"] for e in same if e["type"] == "literal_error"]
    if found and wanted:
        return ApiError(400, f"Invalid type for '{param}': expected {' or '.join(wanted)}, but "
                        f"got {_kind(value)} instead.", param=param, code="invalid_type")
    return ApiError(400, f"Invalid '{param}': {first['msg']}.", param=param, code="invalid_value")


def _check(adapter: TypeAdapter, body: dict) -> dict:
    try:
        return adapter.validate_python(body)
    except ValidationError as exc:
        raise validation_error(exc, body) from None


# -------------------------------------------------------------- chat (OpenAI)
CHAT_RANGES = {
    "n": Field(ge=1, le=128), "temperature": Field(ge=0, le=2), "top_p": Field(ge=0, le=1),
    "top_logprobs": Field(ge=0, le=20), "max_tokens": Field(ge=1),
    "max_completion_tokens": Field(ge=1), "presence_penalty": Field(ge=-2, le=2),
    "frequency_penalty": Field(ge=-2, le=2),
}


class _OpenAIChat(completion_create_params.CompletionCreateParamsBase, total=False):
    stream: bool | None


OPENAI_CHAT = TypeAdapter(strict_type(_OpenAIChat, CHAT_RANGES))

# Parameters the sandbox implements (see README "Chat completions"). A valid parameter that
# is not here gets a 400 naming it, unless it carries the value that changes nothing.
CHAT_IMPLEMENTED = {
    "model", "messages", "n", "temperature", "top_p", "max_tokens", "max_completion_tokens",
    "logprobs", "top_logprobs", "stream", "stream_options", "response_format", "tools",
    "tool_choice", "parallel_tool_calls", "seed", "stop", "user", "metadata",
    "safety_identifier", "prompt_cache_key",
    "reasoning_effort",  # the reasoning model only (``reasoning.check_chat``)
}
CHAT_NEUTRAL = {"presence_penalty": (0, 0.0), "frequency_penalty": (0, 0.0),
                "store": (False,), "modalities": (["text"],),
                "service_tier": ("auto", "default")}


def _unimplemented(body: dict, implemented: set, neutral: dict) -> None:
    for key, value in body.items():
        if key in implemented or value is None:
            continue
        if key in neutral and any(value == v and type(value) is type(v) for v in neutral[key]):
            continue
        raise ApiError(400, f"The sandbox does not implement the parameter '{key}' (value "
                       f"{value!r}); remove it, or use a hosted service for it.", param=key,
                       code="unsupported_parameter")


def openai_chat(body: dict) -> dict:
    """The validated chat body, or an ApiError naming the first problem."""
    _check(OPENAI_CHAT, body)
    _unimplemented(body, CHAT_IMPLEMENTED, CHAT_NEUTRAL)
    if body.get("top_logprobs") is not None and not body.get("logprobs"):
        raise ApiError(400, "Invalid value for 'top_logprobs': 'logprobs' must be set to true "
                       "when 'top_logprobs' is used.", param="top_logprobs",
                       code="invalid_value")
    if body.get("stream_options") is not None and not body.get("stream"):
        raise ApiError(400, "The 'stream_options' parameter is only allowed when 'stream' is "
                       "enabled.", param="stream_options", code="invalid_value")
    if not body["messages"]:
        raise ApiError(400, "Invalid 'messages': empty array. Expected an array with minimum "
                       "length 1, but got an empty array instead.", param="messages",
                       code="empty_array")
    stop = body.get("stop")
    if isinstance(stop, list) and len(stop) > 4:
        raise ApiError(400, "Invalid 'stop': at most 4 stop sequences are allowed.",
                       param="stop", code="invalid_value")
    return body


# --------------------------------------------------------------- chat (Zhipu)
class _ZhipuText(TypedDict):
    type: Required[Literal["text"]]
    text: Required[str]


class _ZhipuImage(TypedDict):
    type: Required[Literal["image_url"]]
    image_url: Required[dict[str, str]]


class _ZhipuMessage(TypedDict, total=False):
    role: Required[Literal["system", "user", "assistant", "tool"]]
    content: str | list[Annotated[_ZhipuText | _ZhipuImage, Field(discriminator="type")]] | None
    tool_calls: list[dict[str, Any]]
    tool_call_id: str
    name: str


class _ZhipuResponseFormat(TypedDict):
    type: Required[Literal["text", "json_object"]]


class _ZhipuChat(TypedDict, total=False):
    """zhipuai 2.1.5 ``chat.completions.create`` arguments (the SDK sends nulls for some)."""
    model: Required[str]
    messages: Required[list[_ZhipuMessage]]
    request_id: str | None
    user_id: str | None
    do_sample: bool | None
    stream: bool | None
    temperature: Annotated[float, Field(ge=0, le=1)] | None
    top_p: Annotated[float, Field(ge=0, le=1)] | None
    max_tokens: Annotated[int, Field(ge=1)] | None
    seed: int | None
    stop: str | list[str] | None
    sensitive_word_check: dict[str, Any] | None
    tools: list[dict[str, Any]] | None
    tool_choice: str | None
    meta: dict[str, str] | None
    extra: dict[str, Any] | None
    response_format: _ZhipuResponseFormat | None
    thinking: dict[str, Any] | None
    # Not in zhipuai's signature; the course sends them (extra_body) and the sandbox answers.
    logprobs: bool | None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None


for _td in (_ZhipuText, _ZhipuImage, _ZhipuMessage, _ZhipuResponseFormat, _ZhipuChat):
    _td.__pydantic_config__ = STRICT
ZHIPU_CHAT = TypeAdapter(_ZhipuChat)
ZHIPU_IMPLEMENTED = {"model", "messages", "request_id", "user_id", "do_sample", "stream",
                     "temperature", "top_p", "max_tokens", "seed", "stop", "response_format",
                     "meta", "logprobs", "top_logprobs"}
ZHIPU_NEUTRAL = {"thinking": ({"type": "disabled"},), "tool_choice": ("auto",)}


def zhipu_chat(body: dict) -> dict:
    _check(ZHIPU_CHAT, body)
    _unimplemented(body, ZHIPU_IMPLEMENTED, ZHIPU_NEUTRAL)
    if not body["messages"]:
        raise ApiError(400, "messages must not be empty.", param="messages")
    return body


# -------------------------------------------------------------- fine-tuning
OPENAI_JOB = TypeAdapter(strict_type(job_create_params.JobCreateParams,
                                     {"suffix": Field(max_length=64)}))
JOB_IMPLEMENTED = {"model", "training_file", "validation_file", "hyperparameters", "method",
                   "suffix", "seed", "metadata"}


class _ZhipuHyperparameters(TypedDict, total=False):
    batch_size: Literal["auto"] | int
    learning_rate_multiplier: Literal["auto"] | float
    n_epochs: Literal["auto"] | int


class _ZhipuJob(TypedDict, total=False):
    """zhipuai 2.1.5 ``fine_tuning.jobs.create`` arguments."""
    model: Required[str]
    training_file: Required[str]
    hyperparameters: _ZhipuHyperparameters | None
    suffix: Annotated[str, Field(max_length=64)] | None
    request_id: str | None
    validation_file: str | None


for _td in (_ZhipuHyperparameters, _ZhipuJob):
    _td.__pydantic_config__ = STRICT
ZHIPU_JOB = TypeAdapter(_ZhipuJob)
HYPERPARAMETER_RANGES = {"n_epochs": (1, 50), "batch_size": (1, 256)}
# learning_rate_multiplier: above 0, at most this. Ten times the default step is
# already far past where training helps; larger values only make the loss diverge.
MAX_LEARNING_RATE_MULTIPLIER = 10.0


@dataclass(frozen=True)
class JobRequest:
    """A job-create body with every rule about the body checked (``openai_job``/``zhipu_job``).

    ``Jobs.create`` takes only this, so both providers' paths meet the same
    rules; what it checks itself needs state (files exist, the model is known
    and can be fine-tuned or continued).
    """
    model: str
    training_file: str
    seed: int | None  # as sent; None: ``Jobs.create`` derives it from the training file's bytes
    validation_file: str | None = None
    suffix: str = ""
    hyperparameters: dict = field(default_factory=dict)  # as asked: n_epochs etc., "auto" kept
    metadata: dict | None = None
    request_id: str | None = None  # Zhipu echoes it


def _hyperparameters(hp: dict | None, param: str) -> None:
    for key, value in (hp or {}).items():
        if value == "auto" or value is None:
            continue
        where = f"{param}.{key}"
        if key in HYPERPARAMETER_RANGES:
            low, high = HYPERPARAMETER_RANGES[key]
            if not low <= value <= high:
                raise ApiError(400, f"Invalid '{where}': expected an integer between {low} and "
                               f"{high}, but got {value!r} instead.", param=where,
                               code="invalid_value")
        elif key == "learning_rate_multiplier":
            if not (math.isfinite(value) and 0 < value <= MAX_LEARNING_RATE_MULTIPLIER):
                raise ApiError(400, f"Invalid '{where}': expected a number above 0 and at most "
                               f"{MAX_LEARNING_RATE_MULTIPLIER:g}, but got {value!r} instead.",
                               param=where, code="invalid_value")
        else:
            raise ApiError(400, f"The sandbox does not implement the hyperparameter '{key}'.",
                           param=where, code="unsupported_parameter")


def _method_hyperparameters(body: dict) -> dict | None:
    """The hyperparameters given in ``method`` (OpenAI), its rules checked."""
    method = body.get("method")
    if method is None:
        return None
    if "type" not in method:
        raise ApiError(400, "Missing required parameter: 'method.type'.", param="method.type",
                       code="missing_required_parameter")
    if method["type"] != "supervised":
        raise ApiError(400, f"The sandbox only runs supervised fine-tuning, not "
                       f"{method['type']!r}.", param="method.type", code="unsupported_parameter")
    extra = sorted(set(method) - {"type", "supervised"} - {
        k for k, v in method.items() if v is None})
    if extra:
        raise ApiError(400, f"'method.{extra[0]}' does not go with method type 'supervised'.",
                       param=f"method.{extra[0]}", code="invalid_value")
    supervised = method.get("supervised") or {}
    _hyperparameters(supervised.get("hyperparameters"), "method.supervised.hyperparameters")
    if body.get("hyperparameters") and supervised.get("hyperparameters"):
        raise ApiError(400, "Give hyperparameters either in 'method' or in the deprecated "
                       "'hyperparameters', not both.", param="hyperparameters",
                       code="invalid_value")
    return supervised.get("hyperparameters")


def _metadata(metadata: dict | None) -> None:
    for key, value in (metadata or {}).items():
        if len(key) > 64 or len(value) > 512:
            raise ApiError(400, "Invalid 'metadata': keys are at most 64 characters and values "
                           "at most 512.", param="metadata", code="invalid_value")
    if len(metadata or {}) > 16:
        raise ApiError(400, "Invalid 'metadata': at most 16 keys.", param="metadata",
                       code="invalid_value")


def _job_request(body: dict, hyperparameters: dict | None) -> JobRequest:
    """The rules both providers share, then the record."""
    if not body["model"]:
        raise ApiError(400, "Missing required parameter: 'model'.", param="model")
    suffix = body.get("suffix") or ""
    if any(c in suffix for c in ": "):
        raise ApiError(400, "suffix must be at most 64 characters without ':' or spaces.",
                       param="suffix")
    return JobRequest(model=body["model"], training_file=body["training_file"],
                      seed=body.get("seed"),
                      validation_file=body.get("validation_file"), suffix=suffix,
                      hyperparameters=dict(hyperparameters or {}),
                      metadata=body.get("metadata"), request_id=body.get("request_id"))


def openai_job(body: dict) -> JobRequest:
    """An OpenAI job-create body as a JobRequest, or an ApiError naming the first problem."""
    _check(OPENAI_JOB, body)
    _unimplemented(body, JOB_IMPLEMENTED, {"integrations": ([],)})
    in_method = _method_hyperparameters(body)
    _hyperparameters(body.get("hyperparameters"), "hyperparameters")
    _metadata(body.get("metadata"))
    # the deprecated top-level form counts when ``method`` carries none (never both: above)
    return _job_request(body, in_method or body.get("hyperparameters"))


def zhipu_job(body: dict) -> JobRequest:
    """A zhipuai job-create body as a JobRequest, or an ApiError naming the first problem."""
    _check(ZHIPU_JOB, body)
    _hyperparameters(body.get("hyperparameters"), "hyperparameters")
    return _job_request(body, body.get("hyperparameters"))


# ------------------------------------------------------------------ batches
OPENAI_BATCH = TypeAdapter(strict_type(batch_create_params.BatchCreateParams))


class _ZhipuBatch(TypedDict, total=False):
    """zhipuai 2.1.5 ``batches.create`` arguments; ``endpoint`` is checked by the dialect
    (BigModel's docs write /v4/chat/completions, zhipuai's types /v1/chat/completions)."""
    completion_window: str | None
    endpoint: Required[str]
    input_file_id: Required[str]
    metadata: dict[str, str] | None
    auto_delete_input_file: bool | None


_ZhipuBatch.__pydantic_config__ = STRICT
ZHIPU_BATCH = TypeAdapter(_ZhipuBatch)


def zhipu_batch(body: dict) -> dict:
    _check(ZHIPU_BATCH, body)
    return body


def batch(body: dict) -> dict:
    _check(OPENAI_BATCH, body)
    _unimplemented(body, {"input_file_id", "endpoint", "completion_window", "metadata"}, {})
    return body


# ----------------------------------------------------------- upload fields
def upload_fields(fields: dict[str, str], provider: str) -> str:
    """The upload's purpose; any other form field (e.g. ``expires_after``) is a 400."""
    for name in fields:
        if name != "purpose":
            raise ApiError(400, f"The sandbox does not implement the upload field '{name}'.",
                           param=name, code="unsupported_parameter")
    if "purpose" not in fields:
        raise ApiError(400, "Missing required parameter: 'purpose'.", param="purpose",
                       code="missing_required_parameter")
    return fields["purpose"]
