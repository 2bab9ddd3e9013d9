"""``sandbox-reasoning``: the base model's reader with a reasoning model's rules and costs.

Modelled on OpenAI's reasoning models (see the README, "The reasoning model"):

- request rules: ``max_tokens`` is refused (use ``max_completion_tokens``), a
  ``temperature``/``top_p`` other than 1 is refused unless ``reasoning_effort``
  is ``"none"`` (as on gpt-5.1 and later), ``logprobs``/``top_logprobs`` are
  refused, ``reasoning_effort`` is one of ``EFFORTS`` (default ``medium``);
- cost: a deterministic number of reasoning tokens (``reasoning_tokens``) that
  grows with the effort and the prompt's length, billed as output and counted
  against ``max_completion_tokens``/``max_output_tokens``; a budget too small
  for reasoning + answer spends itself on reasoning and leaves the answer empty;
- accuracy: a stand-in, not reasoning. Effort buys *reading passes*
  (``PASSES``): ``none``/``minimal`` read exactly like ``sandbox-base``;
  ``low`` also matches inflected forms of the lexicon's English words
  (``rebounds`` for ``rebound``, ``disappointing`` for ``disappoint``);
  ``medium`` and ``high`` also break a tie between the top labels (which the
  base model gives to the first listed) by how many of each label's keyword
  characters or word starts the text contains. ``high`` reads like ``medium``
  and only costs more. ``bench/reasoning_effort.py`` measures the ladder.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from . import dialects, inference, lexicon, reading
from .catalog import spec
from .errors import ApiError

EFFORTS = ("none", "minimal", "low", "medium", "high")
DEFAULT_EFFORT = "medium"
# Reading passes per effort (cumulative, in FEATURES order). "high" reads like "medium":
# no further pass measured better on the shipped datasets, so it only costs more.
PASSES = {"none": 0, "minimal": 0, "low": 1, "medium": 2, "high": 2}
FEATURES = ("inflections", "tie_break")
# reasoning tokens = FIXED[effort] + ceil(PER_PROMPT_TOKEN[effort] x prompt tokens)
FIXED = {"none": 0, "minimal": 8, "low": 32, "medium": 96, "high": 256}
PER_PROMPT_TOKEN = {"none": 0.0, "minimal": 0.125, "low": 0.25, "medium": 0.5, "high": 1.0}
_WORD = re.compile(r"[a-z0-9']+")
_STEM_MIN = 4  # an English word this long also matches its inflected forms at effort >= low


def is_reasoning(model_id: str) -> bool:
    s = spec(model_id)
    return s is not None and s.kind == "reasoning"


def reasoning_tokens(effort: str, prompt_tokens: int) -> int:
    """The documented cost rule: fixed per effort plus a share of the prompt's tokens."""
    return FIXED[effort] + math.ceil(PER_PROMPT_TOKEN[effort] * prompt_tokens)


# ----------------------------------------------------------------- request rules
def _unsupported_value(param: str, value, default: str) -> ApiError:
    return ApiError(400, f"Unsupported value: '{param}' does not support {value!r} with this "
                    f"model. Only the default ({default}) value is supported.", param=param,
                    code="unsupported_value")


def effort_of(value, model: str, param: str) -> str:
    """The requested effort (default medium); others are a 400 listing the supported ones."""
    if value is None:
        return DEFAULT_EFFORT
    if value not in EFFORTS:
        listed = ", ".join(f"'{e}'" for e in EFFORTS[:-1]) + f", and '{EFFORTS[-1]}'"
        raise ApiError(400, f"Unsupported value: {value!r} is not supported with the "
                       f"'{model}' model. Supported values are: {listed}.", param=param,
                       code="unsupported_value")
    return value


def check_chat(body: dict, provider: str) -> str | None:
    """The effort for a chat request to the reasoning model (None for other models).

    Raises OpenAI's 400s for parameters a reasoning model refuses.
    """
    model = body["model"]
    if not is_reasoning(model):
        if body.get("reasoning_effort") is not None:
            raise ApiError(400, "Unsupported parameter: 'reasoning_effort' is not supported "
                           "with this model.", param="reasoning_effort",
                           code="unsupported_parameter")
        return None
    if not dialects.get(provider).serves_reasoning_model:
        raise ApiError(404, f"The model `{model}` is served on the OpenAI paths only.",
                       code="model_not_found", param="model")
    if body.get("max_tokens") is not None:
        raise ApiError(400, "Unsupported parameter: 'max_tokens' is not supported with this "
                       "model. Use 'max_completion_tokens' instead.", param="max_tokens",
                       code="unsupported_parameter")
    for name in ("logprobs", "top_logprobs"):
        if body.get(name) not in (None, False):
            raise ApiError(400, f"Unsupported parameter: '{name}' is not supported with this "
                           "model.", param=name, code="unsupported_parameter")
    effort = effort_of(body.get("reasoning_effort"), model, "reasoning_effort")
    sampling(body, effort)
    return effort


def sampling(body: dict, effort: str) -> None:
    """temperature/top_p: only the default 1, except with effort 'none' (gpt-5.1+ rule)."""
    if effort == "none":
        return
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is not None and value != 1:
            raise _unsupported_value(name, value, "1")


# ----------------------------------------------------------------- the budget
@dataclass(frozen=True)
class Spend:
    """How a completion's output budget was used."""
    reasoning: int     # reasoning tokens billed
    visible: int       # answer tokens kept
    cut: bool          # the budget ran out: empty answer, finish_reason "length"


def spend(effort: str, prompt_tokens: int, answer_tokens: int, limit: int | None) -> Spend:
    """Reasoning comes first; a budget that cannot hold reasoning + answer is all reasoning."""
    need = reasoning_tokens(effort, prompt_tokens)
    if limit is not None and limit < need + answer_tokens:
        return Spend(limit, 0, True)
    return Spend(need, answer_tokens, False)


# ----------------------------------------------------------------- the reading
def _on(feature: str, passes: int) -> bool:
    return feature in FEATURES[:passes]


def _matches(word: str, cue: str) -> bool:
    """A whole word, or (a cue of ``_STEM_MIN``+ letters) an inflected form of it."""
    return word == cue or (len(cue) >= _STEM_MIN and word.startswith(cue))


def _polarity(text: str) -> float:
    """``lexicon.sentiment`` with inflected English cue words counted too."""
    low = text.lower()
    words = _WORD.findall(low)
    pos = neg = 0
    for cues, sign in ((lexicon.POSITIVE, 1), (lexicon.NEGATIVE, -1)):
        single = [c for c in cues if c.isascii() and " " not in c]
        hits = sum(any(_matches(w, c) for c in single) for w in words)
        hits += sum(c in low for c in cues if c not in single)
        pos, neg = (pos + hits, neg) if sign > 0 else (pos, neg + hits)
    return 0.0 if pos + neg == 0 else (pos - neg) / (pos + neg)


def _stem_hits(words, tokens: set[str]) -> int:
    """Lexicon words found only as the start of a longer word (an inflected form)."""
    return sum(1 for w in (x.lower() for x in words)
               if w.isascii() and w.isalpha() and w not in tokens
               and any(_matches(t, w) for t in tokens))


def _hint(label: str, low: str, tokens: set[str]) -> float:
    """Weak evidence: the share of the label's topic keyword characters (Chinese) or
    4-letter word starts (English) that the text contains."""
    topic = lexicon.topic_of(label)
    if topic is None:
        return 0.0
    words = [w.lower() for w in lexicon.TOPICS[topic][1]]
    chars = {c for w in words if not w.isascii() for c in w}
    starts = {w[:4] for w in words if w.isascii() and len(w) >= 4}
    have = {c for c in chars if c in low} | {s for s in starts
                                               if any(t.startswith(s) for t in tokens)}
    return len(have) / max(len(chars | starts), 1)


def _break_ties(labels, row, low, tokens):
    """Labels tied at the top are separated by ``_hint`` (at most 0.01 apart)."""
    top = max(row)
    return [s + 0.01 * _hint(lab, low, tokens) if s >= top - 1e-9 else s
            for lab, s in zip(labels, row, strict=True)]


def scores(labels: list[str], text: str, passes: int) -> list[float]:
    """The base model's scores plus what the first ``passes`` reading passes find."""
    base = lexicon.score_labels(labels, text)
    if passes < 1:
        return base
    stars = [lexicon.star_value(lab) for lab in labels]
    if labels and all(v is not None for v in stars):
        target = 3.0 + 2.0 * _polarity(text)
        return [-abs(v - target) for v in stars]
    low = text.lower()
    tokens = set(_WORD.findall(low))
    out = []
    for lab, score in zip(labels, base, strict=True):
        value = lexicon.sentiment_value(lab)
        if value is not None:
            out.append(-abs(value - _polarity(text)) * 2)
            continue
        topic = lexicon.topic_of(lab)
        out.append(score + (_stem_hits(lexicon.TOPICS[topic][1], tokens) if topic else 0))
    if _on("tie_break", passes):
        out = _break_ties(labels, out, low, tokens)
    return out


def distribution(messages, candidates, effort: str) -> dict[str, float] | None:
    """Like ``inference.base_distribution``, with ``PASSES[effort]`` reading passes."""
    passes = PASSES[effort]
    if passes == 0:
        return inference.base_distribution(messages, candidates=candidates)
    cands = None if candidates is None else list(dict.fromkeys(str(c) for c in candidates))
    read = reading.read(messages, candidates=cands or None)
    if not read.labels:
        return None
    labels = list(read.labels)
    row = scores(labels, read.text, passes)
    if read.examples:
        votes = lexicon.example_votes(labels, read.text, read.examples)
        row = [s + v for s, v in zip(row, votes, strict=True)]
    return dict(zip(labels, lexicon.probabilities(row), strict=True))
