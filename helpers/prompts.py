"""The one classification prompt the course uses everywhere.

Zero-shot calls, few-shot calls, the chat JSONL written for fine-tuning and the
Batch API requests all build their user message here, so the base model and
the fine-tuned model are asked exactly the same question.

Labels are listed one per line (``- label``), never joined with a separator,
so a label that contains ``, `` or ``、`` cannot be split into two candidates
and two labels cannot be merged into one. A few-shot example is one line:
its text as a JSON string (newlines, quotes and ``=>`` inside it are escaped
or quoted), then `` => `` and its label. ``label_problems`` says which label
sets cannot be listed unambiguously; the prompt builders refuse them.

``parse_prompt`` also reads the prompt of course versions before 2026-12
(labels joined with "、" / ", " on one line), which training files learners
already have still contain; those labels are split as that prompt meant them.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

from .answers import label_key

HEADS = {
    "zh": "对给定文本进行分类，类别包括：\n{labels}\n\n给定文本：\n",
    "en": "Classify the text into one of these categories:\n{labels}\n\nText:\n",
}
# What follows the text: a bare answer ("text") or a JSON object ("json", structured outputs).
TAILS = {
    "zh": {"text": "\n类别：", "json": '\n\n只用 JSON 回答，格式：{"label": "<类别>"}'},
    "en": {"text": "\nCategory:",
           "json": '\n\nAnswer with JSON only, in the form {"label": "<category>"}'},
}
LABEL_BULLET = "- "
SYSTEM_PROMPTS = {
    "zh": "你是一个文本分类助手，只回答类别名称。",
    "en": "You are a text classifier. Answer with the category name only.",
}
FEW_SHOT_HEADERS = {
    "zh": "参考示例（每行一条：JSON 字符串形式的文本 => 类别）：",
    "en": "Examples (one per line: the text as a JSON string => its category):",
}
EXAMPLE_ARROW = " => "
ANSWERS = ("text", "json")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# str.splitlines() breaks on these; none may appear in a label.
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"


def detect_language(texts) -> str:
    """'zh' if at least a fifth of the sample's characters are CJK, else 'en'."""
    if isinstance(texts, str):
        texts = [texts]
    sample = "".join(list(texts)[:200])
    return "zh" if sample and len(_CJK.findall(sample)) * 5 >= len(sample) else "en"


# ------------------------------------------------------------------ labels
def label_problems(labels) -> list[str]:
    """Why ``labels`` cannot be listed in a prompt unambiguously ([] when they can).

    Each label must be text, non-empty after trimming, without leading or
    trailing whitespace, on one line, without control characters; no two labels
    may be equal once normalised the way ``helpers.answers`` matches replies
    (NFKC, case-folded, runs of spaces as one, spaces after punctuation ignored),
    since no reply could tell them apart.
    """
    labels = list(labels)
    if not labels:
        return ["there are no labels"]
    problems: list[str] = []
    seen: dict[str, str] = {}
    for label in labels:
        if not isinstance(label, str):
            problems.append(f"label {label!r} is a {type(label).__name__}, not text")
            continue
        if not label.strip():
            problems.append(f"label {label!r} is empty")
            continue
        if any(c in _LINE_BREAKS for c in label):
            problems.append(f"label {label!r} contains a line break")
        elif any(ord(c) < 32 or ord(c) == 127 for c in label):
            problems.append(f"label {label!r} contains a control character")
        if label != label.strip():
            problems.append(f"label {label!r} starts or ends with whitespace")
        key = label_key(label)
        if key in seen:
            other = seen[key]
            problems.append(f"label {label!r} is listed twice" if other == label else
                            f"labels {other!r} and {label!r} are the same label once "
                            "normalised (case, full-width forms, spacing)")
        else:
            seen[key] = label
    return problems


@lru_cache(maxsize=64)
def _checked(labels: tuple) -> tuple:
    problems = label_problems(labels)
    if problems:
        raise ValueError("labels cannot be listed in a prompt: " + "; ".join(problems))
    return labels


def check_labels(labels) -> list[str]:
    """``labels`` as a list, or ValueError naming every problem ``label_problems`` finds."""
    labels = tuple(labels)
    try:
        return list(_checked(labels))
    except TypeError:  # unhashable items: not cacheable, and not labels either
        return list(_checked.__wrapped__(labels))


def label_list(labels) -> str:
    """The labels as the prompt lists them, one ``- label`` line each."""
    return "\n".join(LABEL_BULLET + label for label in check_labels(labels))


# ---------------------------------------------------------------- examples
def example_line(text: str, label: str) -> str:
    """One few-shot example: the text as a JSON string, ``=>``, the label."""
    if not isinstance(text, str):
        raise ValueError(f"example text {text!r} is a {type(text).__name__}, not text")
    problems = label_problems([label])
    if problems:
        raise ValueError("example label cannot be listed: " + "; ".join(problems))
    quoted = json.dumps(text, ensure_ascii=False)
    # json.dumps leaves these raw, but they break lines too
    quoted = (quoted.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
              .replace("\x85", "\\u0085"))
    return f"{quoted}{EXAMPLE_ARROW}{label}"


# ----------------------------------------------------------------- prompts
def prompt_frame(labels, lang: str = "zh", answer: str = "text") -> tuple[str, str]:
    """``(head, tail)`` of a zero-shot prompt: the prompt is ``head + text + tail``."""
    if answer not in ANSWERS:
        raise ValueError(f"answer must be one of {ANSWERS}, got {answer!r}")
    return HEADS[lang].format(labels=label_list(labels)), TAILS[lang][answer]


def classification_prompt(text: str, labels, lang: str = "zh", examples=(),
                          answer: str = "text") -> str:
    """User message asking for one of ``labels``; ``examples`` are (text, label) pairs.

    ``answer="json"`` asks for ``{"label": ...}`` (for structured outputs).
    """
    head, tail = prompt_frame(labels, lang, answer)
    body = head + text + tail
    if not examples:
        return body
    shots = "\n".join(example_line(t, lab) for t, lab in examples)
    return f"{FEW_SHOT_HEADERS[lang]}\n{shots}\n\n{body}"


def messages(text: str, labels, lang: str = "zh", examples=(), system: bool = False,
             answer: str = "text") -> list[dict]:
    """Chat messages for one classification request."""
    msgs = [{"role": "system", "content": SYSTEM_PROMPTS[lang]}] if system else []
    msgs.append({"role": "user",
                 "content": classification_prompt(text, labels, lang, examples, answer)})
    return msgs


# ----------------------------------------------------------------- reading
@dataclass(frozen=True)
class ParsedPrompt:
    labels: list[str]
    text: str
    lang: str
    examples: tuple = ()  # (text, label) pairs of a few-shot prompt
    answer: str = "text"  # "json" when the prompt asks for a JSON object
    legacy: bool = False  # the one-line label list of course versions before 2026-12


def _body_pattern(lang: str) -> re.Pattern:
    head_open, head_close = HEADS[lang].split("{labels}")
    tails = "|".join(f"(?P<tail_{name}>{re.escape(tail)})" for name, tail in TAILS[lang].items())
    return re.compile(re.escape(head_open) + r"(?P<labels>(?:- [^\n]+\n)*- [^\n]+)"
                      + re.escape(head_close) + r"(?P<text>.*)(?:" + tails + r")\s*", re.S)


_BODIES = {lang: _body_pattern(lang) for lang in HEADS}
_LEGACY = {
    "zh": (re.compile(r"对给定文本进行分类，类别包括：(?P<labels>[^\n]+?)。\n\n"
                      r"给定文本：\n(?P<text>.*)\n类别：\s*", re.S), "、", "参考示例：\n"),
    "en": (re.compile(r"Classify the text into one of these categories: (?P<labels>[^\n]+?)\.\n\n"
                      r"Text:\n(?P<text>.*)\nCategory:\s*", re.S), ", ", "Examples:\n"),
}
_DECODER = json.JSONDecoder()


def _read_examples(block: str):
    """``(examples, rest)`` from the lines after a few-shot header, or None."""
    examples, pos = [], 0
    while not block.startswith("\n", pos):
        try:
            text, pos = _DECODER.raw_decode(block, pos)
        except ValueError:
            return None
        end = block.find("\n", pos)
        if not isinstance(text, str) or end < 0 or not block.startswith(EXAMPLE_ARROW, pos):
            return None
        examples.append((text, block[pos + len(EXAMPLE_ARROW):end]))
        pos = end + 1
    return (tuple(examples), block[pos + 1:]) if examples else None


def parse_prompt(prompt: str) -> ParsedPrompt | None:
    """Recover labels, text, examples and answer format from a prompt built here, else None."""
    if not isinstance(prompt, str):
        return None
    for lang, pattern in _BODIES.items():
        rest, examples = prompt, ()
        header = FEW_SHOT_HEADERS[lang] + "\n"
        if rest.startswith(header):
            read = _read_examples(rest[len(header):])
            if read is None:
                continue
            examples, rest = read
        m = pattern.fullmatch(rest)
        if m:
            labels = [line[len(LABEL_BULLET):] for line in m.group("labels").split("\n")]
            answer = next(name for name in TAILS[lang] if m.group(f"tail_{name}") is not None)
            return ParsedPrompt(labels=labels, text=m.group("text"), lang=lang,
                                examples=examples, answer=answer)
    return _parse_legacy(prompt)


def _parse_legacy(prompt: str) -> ParsedPrompt | None:
    for lang, (pattern, separator, header) in _LEGACY.items():
        rest = prompt
        examples: tuple[tuple[str, str], ...] = ()
        if rest.startswith(header) and "\n\n" in rest:
            block, rest = rest[len(header):].split("\n\n", 1)
            examples = tuple((t.strip(), lab.strip())
                             for t, lab in re.findall(r"(.+?)\n=> (.+)", block))
        m = pattern.fullmatch(rest)
        if m:
            labels = [s.strip() for s in m.group("labels").split(separator) if s.strip()]
            return ParsedPrompt(labels=labels, text=m.group("text"), lang=lang,
                                examples=examples, legacy=True)
    return None
