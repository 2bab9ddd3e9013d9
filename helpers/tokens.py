"""Token counting for chat fine-tuning data.

Per-example formula (``helpers.chat_format.example_tokens``, the one the
sandbox bills with; its docstring gives the evidence)::

    tokens(example) = 3 + sum over messages of (3 + tokens(content) [+ 1 + tokens(name)])

That is OpenAI's cookbook formula without its role tokens: the cookbook also
encodes each message's role ("user", "assistant": one token each). In the one
published real job (100 TNEWS examples, 2 messages each, gpt-3.5-turbo-0125,
encoding cl100k_base) the cookbook estimated 11,990 tokens per epoch and the
job billed 11,790 per epoch (23,580 for 2 epochs): the 200 tokens between
them are the 200 messages' roles. ``published_job()`` lays the numbers side by side.

Also here: encodings per model, training-example limits, counting many
examples, token distributions, the epochs heuristic and billed tokens.

A message's ``weight`` key (0 or 1) does not change the count: weighted-out
assistant messages are still part of the training file and are billed.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import tiktoken

from . import chat_format

# Encodings by model family; the first matching prefix wins.
MODEL_ENCODINGS = [
    ("sandbox-", "o200k_base"),
    ("gpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("gpt-4", "cl100k_base"),
    ("davinci-002", "cl100k_base"),
    ("babbage-002", "cl100k_base"),
    ("glm-", "o200k_base"),  # Zhipu publishes no tokenizer; used only for rough local counts
]


def encoding_name(model: str) -> str:
    """tiktoken encoding name for a model id (fine-tuned ids use their base model)."""
    base = model[3:] if model.startswith("ft:") else model
    for prefix, name in MODEL_ENCODINGS:
        if base.startswith(prefix):
            return name
    raise KeyError(f"no known tokenizer for model {model!r}")


@cache
def encoding_for(model: str) -> tiktoken.Encoding:
    return tiktoken.get_encoding(encoding_name(model))




# --- limits, counting many examples, distributions, epochs and billing ---------


# Longest training example a model accepts, in tokens (OpenAI's fine-tuning
# guide as of 2026-11; the sandbox documents its own). Prefixes are checked in order, first
# match wins.
TRAINING_TOKEN_LIMITS = [
    ("sandbox-base", 65_536),
    ("gpt-4o-mini-2024", 65_536),
    ("gpt-4o-2024", 65_536),
    ("gpt-4.1", 65_536),
    ("gpt-3.5-turbo-0125", 16_385),
]

# Zhipu documents roughly 1.6 characters per token; it publishes no tokenizer.
ZHIPU_CHARS_PER_TOKEN = 1.6


class ChatFileError(ValueError):
    """A chat JSONL file has a line that is not a training example."""


def base_model(model: str) -> str:
    """Base model of an OpenAI ``ft:base:org:suffix:id`` or Zhipu ``base:n:suffix:id`` id."""
    if model.startswith("ft:"):
        return model.split(":")[1]
    return model.split(":")[0]




def training_token_limit(model: str) -> int | None:
    """Longest training example ``model`` accepts, in tokens; None when not documented."""
    base = base_model(model)
    for prefix, limit in TRAINING_TOKEN_LIMITS:
        if base.startswith(prefix):
            return limit
    return None


def load_chat_jsonl(path: str | Path) -> list[dict]:
    """Examples from a chat JSONL file, checked by ``helpers.chat_format``.

    Raises ChatFileError listing every bad line as ``path:line: code: message``.
    """
    path = Path(path)
    return chat_examples(path.read_bytes(), path)


def chat_examples(data: bytes, path: str | Path) -> list[dict]:
    """``load_chat_jsonl`` of bytes already read from ``path`` (named in the problems)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise ChatFileError(f"{path}:{line}: non_utf8: the file is not UTF-8 ({err.reason}); "
                            f"check it with `python -m helpers.data validate {path}`") from None
    examples, problems = [], []
    for line, value in chat_format.json_lines(text):
        found = ([value.problem] if isinstance(value, chat_format.LineError)
                 else chat_format.example_problems(value))
        problems += [f"{path}:{line}: {p.code}: {p.message}" for p in found]
        if not found:
            examples.append(value)
    if problems:
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise ChatFileError("\n".join(problems[:20]) + more)
    return examples


def as_encoding(model_or_encoding) -> tiktoken.Encoding:
    if isinstance(model_or_encoding, tiktoken.Encoding):
        return model_or_encoding
    return encoding_for(model_or_encoding)


def count_strings(texts: Sequence[str], model_or_encoding) -> list[int]:
    """Token count of each string (``encode_ordinary``: special tokens count as text)."""
    encoding = as_encoding(model_or_encoding)
    return [len(encoding.encode_ordinary(t)) for t in texts]


def count_chat_tokens(examples: Iterable[dict], model_or_encoding) -> list[int]:
    """``chat_format.example_tokens`` of every example; each distinct string is encoded once.

    System prompts, label lists and answers repeat across a training file, so
    remembering each string's count is the one shortcut worth taking; the
    formula is ``chat_format.example_tokens`` itself. bench/token_count.py
    measures it against the plain per-example loop.
    """
    encoding = as_encoding(model_or_encoding)
    seen: dict[str, int] = {}

    def count(text: str) -> int:
        n = seen.get(text)
        if n is None:
            n = seen[text] = len(encoding.encode_ordinary(text))
        return n

    return [chat_format.example_tokens(example, count) for example in examples]


def distribution(values: Sequence[float]) -> dict[str, float]:
    """min, max, mean, median, p5 and p95 (the 5th and 95th percentiles, as labelled)."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("no values to describe")
    return {
        "min": float(arr.min()), "max": float(arr.max()), "mean": float(arr.mean()),
        "median": float(np.median(arr)),
        "p5": float(np.percentile(arr, 5)), "p95": float(np.percentile(arr, 95)),
    }


def over_limit(counts: Sequence[int], limit: int | None) -> list[int]:
    """Indices of examples longer than ``limit`` (they are truncated when training)."""
    if limit is None:
        return []
    return [i for i, n in enumerate(counts) if n > limit]




def billed_tokens(counts: Sequence[int], epochs: int, limit: int | None = None) -> int:
    """Σ min(limit, tokens) × epochs: examples over the limit are billed up to it."""
    cap = limit if limit is not None else float("inf")
    return int(sum(min(cap, n) for n in counts)) * int(epochs)


def zhipu_estimated_tokens(examples: Iterable[dict]) -> int:
    """ESTIMATE of Zhipu tokens: message characters / 1.6 (Zhipu's documented ratio)."""
    chars = sum(len(chat_format.flatten_content(m.get("content"))) for ex in examples
                for m in ex.get("messages", []))
    return round(chars / ZHIPU_CHARS_PER_TOKEN)


@dataclass
class TrainingEstimate:
    """What a training file will cost in tokens, before submitting it.

    How close is the formula? In the published real job (``published_job()``)
    the cookbook's formula was 1.7% high (11,990 against 11,790 billed per
    epoch); the course's formula, which leaves out the role tokens, lands on
    the billed figure there. The sandbox bills with the course's formula.
    """
    model: str
    n_examples: int
    epochs: int
    limit: int | None
    tokens_per_epoch: int
    billed_tokens: int
    over_limit: list[int] = field(default_factory=list)
    distribution: dict[str, float] = field(default_factory=dict)


def estimate_training(examples: Sequence[dict], model: str, n_epochs: int | str = "auto",
                      ) -> TrainingEstimate:
    """Token counts, limit check, epochs (``"auto"`` → heuristic) and billed tokens."""
    examples = list(examples)
    counts = count_chat_tokens(examples, model)
    limit = training_token_limit(model)
    epochs = chat_format.auto_epochs(len(examples)) if n_epochs in (None, "auto") else int(n_epochs)
    capped = billed_tokens(counts, 1, limit)
    return TrainingEstimate(
        model=model, n_examples=len(examples), epochs=epochs, limit=limit,
        tokens_per_epoch=capped, billed_tokens=capped * epochs,
        over_limit=over_limit(counts, limit), distribution=distribution(counts))


# --- the published job the formula is checked against -------------------------

@dataclass(frozen=True)
class PublishedJob:
    """A real OpenAI fine-tuning job whose figures were published, with the formulas beside them.

    Source: a Chinese course chapter on TNEWS topic classification (2024-05):
    100 examples of 2 messages each (user prompt, assistant label; no system
    message, no names), the cookbook's estimate printed before submitting, and
    the finished job object (``model='gpt-3.5-turbo-0125'``, ``n_epochs=2``,
    ``trained_tokens=23580``). The 100 examples are not in this repository, so
    the course's formula on them is derived, not recounted: the cookbook's
    formula is the course's plus the tokens of every message's role string
    (it encodes every value of a message), and for these messages that is all
    that differs.
    """

    model: str
    encoding: str
    n_examples: int
    n_messages: int
    n_epochs: int
    cookbook_per_epoch: int   # published: the cookbook's num_tokens_from_messages, summed
    role_tokens: int          # computed: tokens of the 200 role strings in this encoding
    course_per_epoch: int     # derived: cookbook_per_epoch - role_tokens
    billed_per_epoch: int     # published: trained_tokens / n_epochs

    @property
    def cookbook_gap_pct(self) -> float:
        return 100 * (self.cookbook_per_epoch - self.billed_per_epoch) / self.billed_per_epoch


def published_job() -> PublishedJob:
    """The published job's three per-epoch numbers: cookbook formula, course formula, billed."""
    model, n_examples, n_epochs, trained_tokens = "gpt-3.5-turbo-0125", 100, 2, 23_580
    cookbook = 11_990
    roles = ("user", "assistant")  # each example's two messages
    encoding = encoding_for(model)
    role_tokens = n_examples * sum(len(encoding.encode_ordinary(r)) for r in roles)
    return PublishedJob(model=model, encoding=encoding.name, n_examples=n_examples,
                        n_messages=n_examples * len(roles), n_epochs=n_epochs,
                        cookbook_per_epoch=cookbook, role_tokens=role_tokens,
                        course_per_epoch=cookbook - role_tokens,
                        billed_per_epoch=trained_tokens // n_epochs)
