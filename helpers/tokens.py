"""Token counting for chat fine-tuning data.

Per-example formula (the one OpenAI's cookbook documents for chat models, and
the one the sandbox bills with):

    tokens(example) = sum over messages of (3 + tokens(content) [+ tokens(name) + 1])
                      + 3   # every reply is primed with <|start|>assistant<|message|>

Also here: training-example limits, fast counting of many examples, token
distributions, the epochs heuristic and billed tokens.

A message's ``weight`` key (0 or 1) does not change the count: weighted-out
assistant messages are still part of the training file and are billed.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import tiktoken

from . import prompts

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3

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


@lru_cache(maxsize=None)
def encoding_for(model: str) -> tiktoken.Encoding:
    return tiktoken.get_encoding(encoding_name(model))


def _text(content) -> str:
    if isinstance(content, list):  # content parts: keep the text parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def chat_example_tokens(example: dict, encoding: tiktoken.Encoding) -> int:
    """Tokens in one ``{"messages": [...]}`` example, by the formula above."""
    total = REPLY_PRIMING
    for message in example.get("messages", []):
        total += TOKENS_PER_MESSAGE + len(encoding.encode(_text(message.get("content")),
                                                          disallowed_special=()))
        if message.get("name"):
            total += TOKENS_PER_NAME + len(encoding.encode(message["name"], disallowed_special=()))
    return total


# --- limits, fast counting, distributions, epochs and billing -----------------


# Longest training example a model accepts, in tokens (OpenAI's fine-tuning
# guide as of 2026-11; the sandbox documents its own). Prefixes are checked in order, first match wins.
TRAINING_TOKEN_LIMITS = [
    ("sandbox-base", 65_536),
    ("gpt-4o-mini-2024", 65_536),
    ("gpt-4o-2024", 65_536),
    ("gpt-4.1", 65_536),
    ("gpt-3.5-turbo-0125", 16_385),
]

# Cookbook epochs heuristic (see ``default_epochs``).
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25
MIN_TRAINING_EXAMPLES = 10

# Zhipu documents roughly 1.6 characters per token; it publishes no tokenizer.
ZHIPU_CHARS_PER_TOKEN = 1.6


class ChatFileError(ValueError):
    """A chat JSONL file has a line that is not a training example."""


def _base_model(model: str) -> str:
    """Base model of an OpenAI ``ft:base:org:suffix:id`` or Zhipu ``base:n:suffix:id`` id."""
    if model.startswith("ft:"):
        return model.split(":")[1]
    return model.split(":")[0]


def training_token_limit(model: str) -> int | None:
    """Longest training example ``model`` accepts, in tokens; None when not documented."""
    base = _base_model(model)
    for prefix, limit in TRAINING_TOKEN_LIMITS:
        if base.startswith(prefix):
            return limit
    return None


def load_chat_jsonl(path: str | Path) -> list[dict]:
    """Examples from a chat JSONL file; a bad line raises with file, line and problem."""
    path = Path(path)
    examples = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                raise ChatFileError(f"{path}:{lineno}: empty line (one JSON example per line)")
            try:
                example = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ChatFileError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
            messages = example.get("messages") if isinstance(example, dict) else None
            if not isinstance(messages, list) or not messages:
                raise ChatFileError(f"{path}:{lineno}: no 'messages' list")
            for i, message in enumerate(messages):
                if not isinstance(message, dict) or "role" not in message:
                    raise ChatFileError(f"{path}:{lineno}: message {i} has no 'role'")
            examples.append(example)
    return examples


def _as_encoding(model_or_encoding) -> tiktoken.Encoding:
    if isinstance(model_or_encoding, tiktoken.Encoding):
        return model_or_encoding
    return encoding_for(model_or_encoding)


def _lengths(encoding: tiktoken.Encoding, texts: Sequence[str]) -> list[int]:
    return [len(encoding.encode_ordinary(t)) for t in texts]


UNSAFE_START = "\r\n/ \t"


def joinable(piece: str) -> bool:
    """True if no pre-token can cross the cut after ``piece`` or before it (see below)."""
    return len(piece) > 1 and piece[0] not in UNSAFE_START and piece.endswith("\n")


@lru_cache(maxsize=None)
def _token_byte_lengths(name: str) -> np.ndarray:
    encoding = tiktoken.get_encoding(name)
    out = np.zeros(encoding.max_token_value + 1, dtype=np.int64)
    for token in range(encoding.n_vocab):
        try:
            out[token] = len(encoding.decode_single_token_bytes(token))
        except KeyError:  # gaps between ordinary and special token ids
            pass
    return out


def _joined_lengths(encoding: tiktoken.Encoding, pieces: Sequence[str]) -> list[int]:
    """Token counts of ``joinable`` pieces from one encode of all of them joined.

    Encoding one long string keeps Python out of the loop (and tiktoken releases
    the GIL, so groups run in parallel threads). A piece ends with a newline and
    the next starts with a character no pre-token can absorb, so every token
    lies inside one piece; the counts come from the tokens' byte lengths. That
    is checked: if any piece does not end on a token boundary, the pieces are
    encoded one by one instead.
    """
    if not pieces:
        return []
    ids = np.asarray(encoding.encode_ordinary("".join(pieces)), dtype=np.int64)
    token_ends = np.cumsum(_token_byte_lengths(encoding.name)[ids])
    piece_ends = np.cumsum([len(p.encode("utf-8")) for p in pieces])
    cut = np.searchsorted(token_ends, piece_ends, side="right")
    if not np.array_equal(token_ends[cut - 1], piece_ends):
        return _lengths(encoding, pieces)
    return np.diff(cut, prepend=0).tolist()


def count_strings(texts: Sequence[str], model_or_encoding, *, num_threads: int | None = None,
                  ) -> list[int]:
    """Token count of each string (``encode_ordinary``, as ``chat_example_tokens`` counts).

    ``joinable`` strings are counted a thread's share at a time by encoding them
    joined (``_joined_lengths``); the rest one by one. tiktoken's own
    ``encode_ordinary_batch`` schedules one future per string, which costs more
    than encoding a short string (measured in bench/token_count.py).
    """
    encoding = _as_encoding(model_or_encoding)
    texts = list(texts)
    threads = num_threads or min(8, os.cpu_count() or 1)
    join = [i for i, t in enumerate(texts) if joinable(t)]
    rest = [i for i, t in enumerate(texts) if not joinable(t)]
    out = [0] * len(texts)
    for i, n in zip(rest, _lengths(encoding, [texts[i] for i in rest])):
        out[i] = n
    size = max(1000, -(-len(join) // threads))
    groups = [join[k:k + size] for k in range(0, len(join), size)]
    with ThreadPoolExecutor(max(1, min(threads, len(groups)))) as pool:
        counted = pool.map(lambda g: _joined_lengths(encoding, [texts[i] for i in g]), groups)
        for group, lengths in zip(groups, counted):
            for i, n in zip(group, lengths):
                out[i] = n
    return out


def split_course_prompt(content: str, heads: dict) -> tuple[str, str, str] | None:
    """``(head, text + "\\n", tail)`` whose token counts add up to the whole prompt's.

    tiktoken cuts text into pre-tokens with a regex and encodes each one alone,
    so counts add up across a cut that no pre-token crosses. The course prompt
    is cut after the "：\\n" / ":\\n" that ends its head and before the word that
    starts its tail ("类别：" / "Category:"). A pre-token crosses the first cut
    only if the text starts with a newline, "/" or whitespace (those prompts are
    left whole), and never the second: the "\\n" before the tail stays with the
    text, where a closing punctuation mark may absorb it. ``heads`` caches the
    heads seen so far (one per label set). None if ``content`` is not a course prompt.
    """
    for head, tail in heads.values():
        if content.startswith(head) and content.endswith(tail):
            break
    else:
        parsed = prompts.parse_prompt(content)
        if parsed is None or parsed.examples:
            return None
        head_template, tail = prompts.TEMPLATES[parsed.lang].split("{text}")
        labels = prompts.SEPARATORS[parsed.lang].join(parsed.labels)
        head = head_template.format(labels=labels)
        if not (content.startswith(head) and content.endswith(tail)):
            return None
        heads[(parsed.lang, labels)] = (head, tail)
    text = content[len(head):len(content) - len(tail)]
    if not text or text[0] in "\r\n/ \t" or not tail.startswith("\n"):
        return None
    return head, text + "\n", tail[1:]


def count_chat_tokens(examples: Iterable[dict], model_or_encoding, *,
                      num_threads: int | None = None) -> list[int]:
    """``chat_example_tokens`` for every example, fast; the result is identical.

    Each message content is counted on its own (that is the formula), and:
    a course prompt is cut at its template (``split_course_prompt``), so the
    label list and instructions are encoded once per label set rather than once
    per example; every distinct string is encoded once (system prompts and
    answers repeat); the distinct strings go through ``count_strings``.
    bench/token_count.py checks the counts equal the plain loop's on 100k examples.
    """
    examples = list(examples)
    index: dict[str, int] = {}
    heads: dict = {}
    flat: list[int] = []           # piece ids of every example, one after another
    starts: list[int] = []         # where each example's pieces start in ``flat``
    overhead: list[int] = []       # the formula's per-message and per-name tokens
    for example in examples:
        starts.append(len(flat))
        messages = example.get("messages", ())
        extra = REPLY_PRIMING + TOKENS_PER_MESSAGE * len(messages)
        for message in messages:
            content = message.get("content")
            if not isinstance(content, str):
                content = _text(content)
            pieces = split_course_prompt(content, heads) if message.get("role") == "user" else None
            for piece in pieces or (content,):
                flat.append(index.setdefault(piece, len(index)))
            if message.get("name"):
                flat.append(index.setdefault(message["name"], len(index)))
                extra += TOKENS_PER_NAME
        overhead.append(extra)
    if not examples:
        return []
    lengths = np.asarray(count_strings(list(index), model_or_encoding, num_threads=num_threads),
                         dtype=np.int64)
    per_piece = lengths[np.asarray(flat, dtype=np.int64)] if flat else np.zeros(0, np.int64)
    starts_arr = np.asarray(starts, dtype=np.int64)
    sums = np.zeros(len(examples), dtype=np.int64)
    nonempty = starts_arr < len(per_piece)
    # reduceat sums each example's slice; examples with no pieces keep 0
    if per_piece.size:
        sums[nonempty] = np.add.reduceat(per_piece, starts_arr[nonempty])
        ends = np.append(starts_arr[1:], len(per_piece))
        sums[starts_arr == ends] = 0
    return (sums + np.asarray(overhead, dtype=np.int64)).tolist()


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


def default_epochs(n_examples: int) -> int:
    """Epochs OpenAI picks for ``n_epochs="auto"`` (the cookbook heuristic).

    3 epochs, raised so that small sets still see about 100 examples (at most
    25 epochs) and lowered so big sets see about 25,000 (at least 1).
    """
    if n_examples < 1:
        raise ValueError("no training examples")
    epochs = TARGET_EPOCHS
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        epochs = min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    elif n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        epochs = max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return epochs


def billed_tokens(counts: Sequence[int], epochs: int, limit: int | None = None) -> int:
    """Σ min(limit, tokens) × epochs: examples over the limit are billed up to it."""
    cap = limit if limit is not None else float("inf")
    return int(sum(min(cap, n) for n in counts)) * int(epochs)


def zhipu_estimated_tokens(examples: Iterable[dict]) -> int:
    """ESTIMATE of Zhipu tokens: message characters / 1.6 (Zhipu's documented ratio)."""
    chars = sum(len(_text(m.get("content"))) for ex in examples for m in ex.get("messages", []))
    return round(chars / ZHIPU_CHARS_PER_TOKEN)


@dataclass
class TrainingEstimate:
    """What a training file will cost in tokens, before submitting it.

    How close is the formula? In a published real OpenAI job (a Chinese course
    chapter, 100 TNEWS examples, gpt-4o-mini) the cookbook formula gave 11,990 tokens per epoch
    and the job billed 11,790 per epoch (23,580 for 2 epochs): the estimate was
    1.7% high. The sandbox bills with exactly this formula, so there the two agree.
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
    epochs = default_epochs(len(examples)) if n_epochs in (None, "auto") else int(n_epochs)
    capped = billed_tokens(counts, 1, limit)
    return TrainingEstimate(
        model=model, n_examples=len(examples), epochs=epochs, limit=limit,
        tokens_per_epoch=capped, billed_tokens=capped * epochs,
        over_limit=over_limit(counts, limit), distribution=distribution(counts))
