"""One chat completion: validate the request, pick the answer, build the reply.

``reply(sandbox, body, provider)`` does the whole request once; the JSON reply
(``Reply.record``) and the streamed one (``Reply.pieces``) come from the same
tokens, so a streamed answer always equals the non-streamed one.

The answer is text (the most probable label, or a short sentence when the base
model finds no labels), a JSON object, a JSON-schema instance or a forced tool
call (``structured``). The answer is split into segments; each segment's
tokens carry the probabilities of the distribution it came from, so logprobs
stay real inside JSON too (fixed JSON punctuation is certain).
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

from . import context, dialects, inference, reasoning, structured
from .catalog import BASE_MODEL
from .errors import ApiError
from .structured import Chosen, Plan

FINGERPRINT = "fp_sandbox"


@dataclass
class Reply:
    record: dict                  # ChatCompletion-shaped (OpenAI field names)
    pieces: list                  # [(text, [logprob entries])] in stream order, one choice
    kind: str = "text"            # "text" or "tool"
    tool: dict = field(default_factory=dict)   # {"id", "name"} for a tool call
    logprobs: bool = False


def _candidates_of(values: list) -> list[str]:
    return [v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in values]


class _Answerer:
    """The model's distribution over candidates for this request's messages."""

    def __init__(self, sandbox, model_record: dict, messages: list, effort: str | None = None):
        self.sandbox, self.record, self.messages = sandbox, model_record, messages
        self.base = model_record["id"] == BASE_MODEL
        self.effort = effort  # set for the reasoning model

    def distribution(self, candidates: list[str] | None = None) -> dict[str, float] | None:
        if self.effort is not None:
            return reasoning.distribution(self.messages, candidates, self.effort)
        if self.base:
            return inference.base_distribution(self.messages, candidates=candidates)
        model = self.sandbox._classifier(self.record)
        return inference.classifier_distribution(model, self.messages, candidates=candidates)

    def choose(self, values: list | None) -> Chosen | None:
        """The most probable enum value (ties: the first listed), with the distribution;
        ``values=None``: the most probable label read from the prompt (None if none)."""
        if values is None:
            dist = self.distribution()
            return Chosen(inference.pick(dist), dist) if dist else None
        names = _candidates_of(values)
        dist = self.distribution(names) or {}
        dist = {n: float(dist.get(n, 0.0)) for n in names}
        total = sum(dist.values())
        dist = {n: p / total for n, p in dist.items()} if total > 0 else \
            {n: 1.0 / len(names) for n in names}
        best = max(names, key=dist.get)
        return Chosen(values[names.index(best)], dist)


def _segments(plan: Plan | None, answerer: _Answerer) -> list[tuple[str, dict | None]]:
    if plan is None:
        dist = answerer.distribution()
        return [(inference.pick(dist), dist)] if dist else [(inference.FALLBACK_ANSWER, None)]
    if plan.kind == "json_object":
        dist = answerer.distribution()
        value = {plan.key: Chosen(inference.pick(dist), dist)} if dist else \
            {plan.key: None, "error": inference.FALLBACK_ANSWER}
        return structured.segments(value)
    return structured.segments(structured.instance(plan, answerer.choose))


def _tokens(segments, encoding, top_k: int | None):
    tokens, entries = [], []
    for text, dist in segments:
        seg = encoding.encode(text, disallowed_special=())
        tokens += seg
        if top_k is not None:
            entries += inference.token_logprobs(seg, dist, encoding, top_k)
    return tokens, entries


def _stop_at(text: str, stop) -> int | None:
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    hits = [text.find(s) for s in stops if s and s in text]
    return min(hits) if hits else None


def _pieces(tokens: list[int], entries: list, encoding, content: str) -> list:
    """Stream pieces: runs of tokens that decode to whole characters, cut to ``content``."""
    pieces, run, run_entries, raw, done = [], [], [], b"", 0
    for i, tok in enumerate(tokens):
        raw += encoding.decode_single_token_bytes(tok)
        run.append(tok)
        if entries:
            run_entries.append(entries[i])
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        text = text[: max(0, len(content) - done)]
        if text:
            pieces.append((text, run_entries))
            done += len(text)
        run, run_entries, raw = [], [], b""
    if done < len(content):  # a stop cut inside a token, or a dangling byte sequence
        pieces.append((content[done:], run_entries))
    return pieces


def reply(sandbox, body: dict, provider: str = "openai") -> Reply:
    """The whole chat completion for ``body`` (validated here; raises ApiError)."""
    body = dialects.get(provider).chat_body(body)
    messages = body["messages"]
    model_record = sandbox.get_model(body["model"])
    effort = reasoning.check_chat(body, provider)  # None unless the reasoning model
    prompt_tokens = context.check_prompt(messages, sandbox.encoding)  # before any reading
    plan = structured.plan_for(body, provider)
    if plan is not None and plan.schema is not None and plan.kind != "prompted":
        # a schema sent as a parameter is part of the prompt (one in the messages is counted)
        prompt_tokens += len(sandbox.encoding.encode(json.dumps(plan.schema, ensure_ascii=False),
                                                     disallowed_special=()))
    answerer = _Answerer(sandbox, model_record, messages, effort)
    segments = _segments(plan, answerer)
    encoding = sandbox.encoding
    top_k = (body.get("top_logprobs") or 0) if body.get("logprobs") else None
    tokens, entries = _tokens(segments, encoding, top_k)
    text = "".join(s for s, _ in segments)

    finish = "stop"
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    spent = None
    if effort is not None:  # reasoning first; a budget too small for both leaves no answer
        spent = reasoning.spend(effort, prompt_tokens, len(tokens), limit)
        if spent.cut:
            tokens, entries, text, finish = [], [], "", "length"
        limit = None
    if limit is not None and limit < len(tokens):
        tokens, entries, finish = tokens[:limit], entries[:limit], "length"
        text = encoding.decode(tokens)
    if plan is None or plan.kind in ("json_object", "prompted"):
        cut = _stop_at(text, body.get("stop"))
        if cut is not None:
            text, finish = text[:cut], "stop"
            kept, n = [], 0
            for tok in tokens:
                n += len(encoding.decode_single_token_bytes(tok))
                if n > len(text.encode()):
                    break
                kept.append(tok)
            tokens, entries = kept, entries[:len(kept)]

    created = int(time.time())
    n = body.get("n") or 1
    chat_id = "chatcmpl-" + sandbox.store.hex_id("chat", uuid.uuid4().int, 29)
    is_tool = plan is not None and plan.kind == "tool" and not (spent and spent.cut)
    tool = {}
    if is_tool:
        tool = {"id": "call_" + sandbox.store.hex_id("call", uuid.uuid4().int, 24),
                "name": plan.name}
        if finish == "stop" and plan.choice in ("required", "auto"):
            finish = "tool_calls"  # a named, forced function ends with "stop", as on OpenAI
        message = {"role": "assistant", "content": None, "refusal": None,
                   "tool_calls": [{"id": tool["id"], "type": "function",
                                   "function": {"name": plan.name, "arguments": text}}]}
    else:
        message = {"role": "assistant", "content": text, "refusal": None}
    logprobs = None
    if top_k is not None:
        logprobs = {"content": None if is_tool else entries, "refusal": None}
    choices = [{"index": i, "finish_reason": finish, "logprobs": logprobs, "message": message}
               for i in range(n)]
    output = (len(tokens) + (spent.reasoning if spent else 0)) * n
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": output,
             "total_tokens": prompt_tokens + output}
    if spent is not None:
        usage["completion_tokens_details"] = {"reasoning_tokens": spent.reasoning * n}
    record = {"id": chat_id, "object": "chat.completion", "created": created,
              "model": body["model"], "system_fingerprint": FINGERPRINT, "choices": choices,
              "usage": usage}
    return Reply(record, _pieces(tokens, entries, encoding, text), "tool" if is_tool else "text",
                 tool, top_k is not None)


def complete(sandbox, body: dict, provider: str = "openai") -> dict:
    """A non-streamed completion record (what ``Sandbox.chat`` returns)."""
    if body.get("stream") is True:
        raise ApiError(400, "stream=true is answered over HTTP only (as server-sent events), "
                       "not inside a batch.", param="stream", code="invalid_value")
    return reply(sandbox, body, provider).record
