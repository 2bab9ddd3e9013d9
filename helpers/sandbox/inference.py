"""Chat completions: pick an answer from a probability distribution over candidates.

The base model's candidates are the labels in the prompt, scored by
``lexicon``; a fine-tuned model's candidates are the classes it was trained on,
scored by its classifier. The answer is always the most probable candidate
(greedy: ``temperature`` is accepted but does not sample). Per-token logprobs
follow from the candidate distribution: the probability of an answer token is
the mass of the candidates that share the answer's tokens so far.
"""
from __future__ import annotations

import math

from ..prompts import parse_prompt
from ..tokens import chat_example_tokens
from . import lexicon
from .validation import input_text

FALLBACK_ANSWER = ("I am the sandbox base model: I can only answer the course's classification "
                   "prompts, and I could not find the categories in this one.")


def last_user_text(messages: list[dict]) -> str:
    for m in reversed(messages):
        if m.get("role") == "user":
            content = m.get("content")
            if isinstance(content, list):
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return content or ""
    return ""


def base_distribution(messages, candidates=None) -> dict[str, float] | None:
    """{label: probability} from the prompt's labels, or None if the prompt is not parseable.

    ``candidates`` (a JSON-schema or tool enum) override the labels read from the prompt.
    """
    parsed = parse_prompt(last_user_text(messages))
    if candidates:
        labels = list(dict.fromkeys(candidates))
        text = parsed.text if parsed is not None else last_user_text(messages)
        scores = lexicon.score_labels(labels, text)
        return dict(zip(labels, lexicon.probabilities(scores)))
    if parsed is None or not parsed.labels:
        return None
    labels = list(dict.fromkeys(parsed.labels))
    scores = lexicon.score_labels(labels, parsed.text)
    if parsed.examples:
        votes = lexicon.example_votes(labels, parsed.text, parsed.examples)
        scores = [s + v for s, v in zip(scores, votes)]
    probs = lexicon.probabilities(scores)
    return dict(zip(labels, probs))


def classifier_distribution(model, messages, candidates=None) -> dict[str, float]:
    probs = model.predict_proba([input_text(last_user_text(messages))])[0]
    dist = dict(zip(model.classes, probs.tolist()))
    if candidates:  # only these answers are allowed: renormalise over them
        dist = {c: dist.get(c, 0.0) for c in dict.fromkeys(candidates)}
        total = sum(dist.values())
        dist = {c: p / total for c, p in dist.items()} if total > 0 else dist
    return dist


def pick(dist: dict[str, float]) -> str:
    # max() keeps the first of equal values: ties go to the earliest candidate.
    return max(dist, key=dist.get)


def _token_str(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "bytes:" + "".join(f"\\x{b:02x}" for b in raw)


def token_logprobs(answer_tokens: list[int], dist: dict[str, float] | None, encoding,
                   top_k: int) -> list[dict]:
    """ChatCompletionTokenLogprob dicts for each answer token."""
    cands = [(encoding.encode(c, disallowed_special=()), p) for c, p in (dist or {}).items()]
    out = []
    for i, tok in enumerate(answer_tokens):
        prefix = answer_tokens[:i]
        live = [(t, p) for t, p in cands if t[:i] == prefix and len(t) > i]
        mass: dict[int, float] = {}
        for t, p in live:
            mass[t[i]] = mass.get(t[i], 0.0) + p
        total = sum(mass.values())
        if tok not in mass or total <= 0:  # not a candidate: a certain, fixed token
            mass, total = {tok: 1.0}, 1.0
        ranked = sorted(mass.items(), key=lambda kv: -kv[1])[:top_k]

        def entry(t: int, p: float) -> dict:
            raw = encoding.decode_single_token_bytes(t)
            return {"token": _token_str(raw), "bytes": list(raw),
                    "logprob": max(math.log(p / total), -9999.0) if p > 0 else -9999.0}

        item = entry(tok, mass[tok])
        item["top_logprobs"] = [entry(t, p) for t, p in ranked]
        out.append(item)
    return out


def prompt_tokens(messages, encoding) -> int:
    return chat_example_tokens({"messages": messages}, encoding)
