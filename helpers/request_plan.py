"""Which parameters a model gets, and through which API: Chat Completions or Responses.

A reasoning model answers HTTP 400 to ``max_tokens``, to a non-default
``temperature`` and to ``logprobs``; its budget is ``max_completion_tokens``
(chat) or ``max_output_tokens`` (Responses) and it covers reasoning *and*
answer. ``plan(...)`` reads ``helpers.lifecycle.capabilities_for(model)`` and
returns the parameters to send plus one note per option it left out and why,
so nothing is dropped silently. A value the course could not confirm (e.g.
whether gpt-6-luna takes ``temperature``) is left out, and the note says so.

``chat_request`` / ``responses_request`` build the keyword arguments of
``chat.completions.create`` / ``responses.create``; ``normalize_response``
reads a Response into the same dict ``classify.normalize_completion`` makes,
including the budget trap's marks (``finish_reason`` "length", ``status``
"incomplete" with reason ``max_output_tokens``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import lifecycle
from . import structured as structured_outputs

APIS = ("auto", "chat", "responses")
# max_tokens="auto": room for a label, or for {"label": "<a long label>"}
AUTO_MAX_TOKENS = {None: 32, "json_schema": 64, "json_object": 64}


@dataclass(frozen=True)
class Plan:
    """The resolved API, the sampling/budget/effort parameters to send, and what was left out."""
    model: str
    api: str                       # "chat" or "responses"
    params: dict                   # merged into every request of a run
    budget: int | None             # the output-token budget sent (None: the model's own)
    budget_param: str | None       # its name on this API
    logprobs: bool                 # whether logprobs are requested
    notes: tuple[str, ...] = field(default_factory=tuple)


def resolve_api(api: str, model: str, sdk: str = "openai") -> str:
    """``"auto"``: the model's preferred API (Responses for gpt-6-luna); zhipuai has chat only."""
    if api not in APIS:
        raise ValueError(f"api must be one of {', '.join(APIS)}, got {api!r}")
    if sdk == "zhipu":
        if api == "responses":
            raise ValueError("api='responses': the zhipuai SDK (and BigModel's API) has no "
                             "Responses API; use api='chat'")
        return "chat"
    return lifecycle.capabilities_for(model).preferred_api if api == "auto" else api


def _check_effort(caps: lifecycle.Capabilities, model: str, effort: str | None,
                  notes: list[str]) -> None:
    if effort is None:
        return
    if caps.efforts == () and caps is not lifecycle.DEFAULT_CAPABILITIES:
        raise ValueError(f"reasoning_effort={effort!r}: {model} is not a reasoning model and "
                         "takes no reasoning_effort (helpers.lifecycle.CAPABILITIES)")
    if caps.efforts:
        if effort not in caps.efforts:
            raise ValueError(f"reasoning_effort={effort!r} is not supported by {model}; "
                             f"supported: {', '.join(caps.efforts)}")
    else:
        notes.append(f"reasoning_effort={effort!r} sent as given: the efforts {model} accepts "
                     "are not confirmed (the service answers 400 listing them if it refuses)")


def plan(model: str, api: str = "auto", *, temperature: float | None = 0.0,
         max_tokens: int | None | str = "auto", logprobs: bool = False,
         reasoning_effort: str | None = None, structured: str | None = None,
         sdk: str = "openai") -> Plan:
    """The parameters ``model`` gets on ``api``; raises ValueError for an effort it refuses."""
    api = resolve_api(api, model, sdk)
    caps = lifecycle.capabilities_for(model)
    notes: list[str] = []
    _check_effort(caps, model, reasoning_effort, notes)
    params: dict = {}
    if temperature is not None:
        if caps.accepts_sampling(reasoning_effort):
            params["temperature"] = temperature
        else:
            why = ("is not confirmed for it" if caps.sampling is None
                   else "takes only the default (1)")
            notes.append(f"temperature={temperature} not sent: {model} {why}")
    if max_tokens == "auto":
        max_tokens = None if caps.reasoning else AUTO_MAX_TOKENS[structured]
        if caps.reasoning:
            notes.append(f"no token budget sent: {model} reasons before it answers and reasoning "
                         "tokens count against the budget; pass max_tokens=N to cap the cost")
    budget_param = "max_output_tokens" if api == "responses" else caps.token_param
    if max_tokens is not None:
        params[budget_param] = int(max_tokens)
    if reasoning_effort is not None:
        if api == "responses":
            params["reasoning"] = {"effort": reasoning_effort}
        else:
            params["reasoning_effort"] = reasoning_effort
    want_logprobs = False
    if logprobs:
        if api == "responses":
            notes.append("logprobs not requested: the course reads logprobs from Chat "
                         "Completions only")
        elif caps.logprobs:
            want_logprobs = True
        else:
            why = "are not confirmed for it" if caps.logprobs is None else "are refused by it"
            notes.append(f"logprobs not requested: they {why} ({model}); use a confidence "
                         "that needs no logprobs (helpers.agreement)")
    return Plan(model, api, params, max_tokens, budget_param if max_tokens is not None else None,
                want_logprobs, tuple(notes))


def chat_request(model: str, messages: list[dict], the_plan: Plan, *,
                 response_format: dict | None = None, top_logprobs: int | None = None) -> dict:
    """Keyword arguments for ``chat.completions.create``."""
    request = {"model": model, "messages": messages}
    if response_format is not None:
        request["response_format"] = response_format
    request.update(the_plan.params)
    if the_plan.logprobs:
        request["logprobs"] = True
        if top_logprobs is not None:
            request["top_logprobs"] = top_logprobs
    return request


def text_format(labels, mode: str) -> dict:
    """Responses' ``text.format`` for a structured mode (the chat ``response_format`` flattened)."""
    chat = structured_outputs.response_format(labels, mode)
    if chat["type"] == "json_schema":
        return {"type": "json_schema", **chat["json_schema"]}
    return {"type": chat["type"]}


def responses_request(model: str, messages: list[dict], the_plan: Plan, *,
                      text_format_: dict | None = None) -> dict:
    """Keyword arguments for ``responses.create``: system text as ``instructions``, the rest as
    ``input`` (one user message becomes a plain string); ``store`` false (nothing kept)."""
    system = [m["content"] for m in messages if m["role"] in ("system", "developer")]
    rest = [m for m in messages if m["role"] not in ("system", "developer")]
    request: dict = {"model": model}
    if system:
        request["instructions"] = "\n\n".join(system)
    only_user = len(rest) == 1 and rest[0]["role"] == "user" and isinstance(rest[0]["content"], str)
    request["input"] = rest[0]["content"] if only_user else rest
    if text_format_ is not None:
        request["text"] = {"format": text_format_}
    request.update(the_plan.params)
    request["store"] = False
    return request


def normalize_response(data: dict) -> dict:
    """The parts of a Response we keep (and cache), in ``normalize_completion``'s shape."""
    texts, refusals = [], []
    for item in data.get("output") or []:
        if item.get("type") != "message":
            continue
        for part in item.get("content") or []:
            if part.get("type") == "output_text":
                texts.append(part.get("text") or "")
            elif part.get("type") == "refusal":
                refusals.append(part.get("refusal") or "")
    usage = data.get("usage") or {}
    details = usage.get("output_tokens_details") or {}
    status = data.get("status")
    reason = (data.get("incomplete_details") or {}).get("reason")
    finish = "length" if reason == "max_output_tokens" else (
        "stop" if status == "completed" else status)
    return {"reply": "".join(texts) if texts else None,
            "refusal": "".join(refusals) or None,
            "prompt_tokens": usage.get("input_tokens") or 0,
            "completion_tokens": usage.get("output_tokens") or 0,
            "reasoning_tokens": details.get("reasoning_tokens") or 0,
            "finish_reason": finish, "status": status, "incomplete_reason": reason,
            "logprobs": None, "model": data.get("model")}


def budget_exhausted(response: dict) -> bool:
    """The budget trap: the output budget ran out before any visible answer was written."""
    if (response.get("reply") or "").strip():
        return False
    return (response.get("finish_reason") == "length"
            or (response.get("status") == "incomplete"
                and response.get("incomplete_reason") == "max_output_tokens"))
