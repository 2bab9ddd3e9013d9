"""Chat completions: pick an answer from a probability distribution over candidates.

The base model's candidates are the labels ``reading`` finds in the request
(or the ``candidates`` a JSON-schema or tool enum gives), scored by
``lexicon``; a fine-tuned model's candidates are the classes it was trained on,
scored by its classifier (restricted to, or extended by, ``candidates``). The
answer is always the most probable candidate (greedy: ``temperature`` is
accepted but does not sample). Per-token logprobs follow from the candidate
distribution: the probability of an answer token is the mass of the
candidates that share the answer's tokens so far.
"""
from __future__ import annotations

import math

from ..chat_format import example_tokens, flatten_content
from . import lexicon, reading

FALLBACK_ANSWER = ("I am the sandbox base model, a text classifier: I could not find the "
                   "candidate labels in this request. List them (for example 'Categories: "
                   "a, b, c', or one per line) or give them as a JSON-schema enum.")


def last_user_text(messages) -> str:
    for m in reversed(messages or []):
        if isinstance(m, dict) and m.get("role") == "user":
            return flatten_content(m.get("content"))
    return ""


def _clean(candidates) -> list[str] | None:
    if candidates is None:
        return None
    return list(dict.fromkeys(str(c) for c in candidates)) or None


def base_distribution(messages, candidates=None) -> dict[str, float] | None:
    """{label: probability} over the labels read from the request, or None if it has none.

    ``candidates`` (a JSON-schema or tool enum) replace the labels read from the prompt.
    """
    read = reading.read(messages, candidates=_clean(candidates))
    if not read.labels:
        return None
    labels = list(read.labels)
    scores = lexicon.score_labels(labels, read.text)
    if read.examples:
        votes = lexicon.example_votes(labels, read.text, read.examples)
        scores = [s + v for s, v in zip(scores, votes, strict=True)]
    return dict(zip(labels, lexicon.probabilities(scores), strict=True))


def classifier_distribution(model, messages, candidates=None) -> dict[str, float]:
    """{label: probability} from a fine-tuned model, over its classes or over ``candidates``.

    With ``candidates`` the distribution covers exactly those labels: labels the
    model was trained on keep their learned scores, new ones get only what the
    base model's knowledge gives them (``classifier.SoftmaxModel.distribution``).
    """
    text = reading.input_text(last_user_text(messages))
    return model.distribution(text, _clean(candidates))


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

        def entry(t: int, p: float, total: float = total) -> dict:
            raw = encoding.decode_single_token_bytes(t)
            return {"token": _token_str(raw), "bytes": list(raw),
                    "logprob": max(math.log(p / total), -9999.0) if p > 0 else -9999.0}

        item = entry(tok, mass[tok])
        item["top_logprobs"] = [entry(t, p) for t, p in ranked]
        out.append(item)
    return out


def prompt_tokens(messages, encoding) -> int:
    return example_tokens({"messages": messages}, encoding)
