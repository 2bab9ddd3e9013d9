"""Checks a training or validation file the way the hosted services do.

Accepted: chat JSONL (``{"messages": [...]}``) and legacy prompt/completion
JSONL. Each example becomes (text, label, tokens): the classifier learns from
the text part of the last user message (``helpers.prompts.parse_prompt`` when
it is a course prompt) to the last assistant reply. Tokens are billed with
``helpers.tokens.chat_example_tokens``; a legacy line counts
tokens(prompt) + tokens(completion), with no per-message overhead.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from ..prompts import parse_prompt
from ..tokens import chat_example_tokens

MIN_EXAMPLES = 10
MAX_EXAMPLE_TOKENS = 65_536
ROLES = {"system", "user", "assistant", "tool", "function", "developer"}
LEGACY_SEPARATORS = (" ->", "\n\n###\n\n", "\n\n===\n\n", "\n\n&&&\n\n", "\n\n@@@\n\n", "->")


class InvalidFileError(ValueError):
    """A file fails validation; ``message`` reads like the service's job error."""

    def __init__(self, message: str, code: str = "invalid_training_file",
                 param: str = "training_file"):
        super().__init__(message)
        self.message, self.code, self.param = message, code, param


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    tokens: int


def input_text(user_message: str) -> str:
    """What the classifier reads from a user message: the prompt's text part if parseable."""
    parsed = parse_prompt(user_message)
    return parsed.text if parsed else user_message


def _content(value) -> str:
    if isinstance(value, list):
        return "".join(p.get("text", "") for p in value if isinstance(p, dict))
    return value if isinstance(value, str) else ""


def _chat_example(obj: dict, line: int, encoding, param: str) -> Example:
    messages = obj["messages"]
    bad = lambda why: InvalidFileError(f"Invalid file format. Line {line}, {why}", param=param)
    if not isinstance(messages, list) or not messages:
        raise bad("'messages' must be a non-empty list.")
    for m in messages:
        if not isinstance(m, dict) or "role" not in m:
            raise bad("every message needs a 'role'.")
        if m["role"] not in ROLES:
            raise bad(f"message role {m['role']!r} is not one of {sorted(ROLES)}.")
        if "content" not in m and m["role"] != "assistant":
            raise bad(f"a {m['role']} message has no 'content'.")
    users = [m for m in messages if m["role"] == "user"]
    replies = [m for m in messages if m["role"] == "assistant"]
    if not replies:
        raise bad("example is missing an assistant message.")
    if not users:
        raise bad("example is missing a user message.")
    label = _content(replies[-1].get("content")).strip()
    if not label:
        raise bad("the last assistant message is empty.")
    return Example(input_text(_content(users[-1]["content"])), label,
                   chat_example_tokens(obj, encoding))


def _legacy_example(obj: dict, line: int, encoding, param: str) -> Example:
    prompt, completion = obj.get("prompt"), obj.get("completion")
    if not isinstance(prompt, str) or not isinstance(completion, str) or not completion.strip():
        raise InvalidFileError(
            f"Invalid file format. Line {line}, 'prompt' and a non-empty 'completion' must be strings.",
            param=param)
    text = prompt
    for sep in LEGACY_SEPARATORS:
        if text.endswith(sep):
            text = text[: -len(sep)]
            break
    tokens = (len(encoding.encode(prompt, disallowed_special=()))
              + len(encoding.encode(completion, disallowed_special=())))
    return Example(input_text(text), completion.strip(), tokens)


def parse_examples(data: bytes, encoding, *, param: str = "training_file",
                   minimum: int = MIN_EXAMPLES) -> list[Example]:
    """All examples of a JSONL file, or InvalidFileError naming the line and the problem."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidFileError(f"Invalid file format. The file is not UTF-8 ({exc}).", param=param)
    examples = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError:
            raise InvalidFileError(
                "Invalid file format. Expected file to have JSONL format, where every line is a "
                f"valid JSON dictionary. Line {line} is not valid JSON.", param=param) from None
        if not isinstance(obj, dict):
            raise InvalidFileError(
                "Invalid file format. Expected file to have JSONL format, where every line is a "
                f"valid JSON dictionary. Line {line} is not a dictionary.", param=param)
        if "messages" in obj:
            ex = _chat_example(obj, line, encoding, param)
        elif "prompt" in obj or "completion" in obj:
            ex = _legacy_example(obj, line, encoding, param)
        else:
            raise InvalidFileError(
                f"Invalid file format. Line {line}, expected a 'messages' key (chat format) or "
                "'prompt' and 'completion' keys (legacy format).", param=param)
        if ex.tokens > MAX_EXAMPLE_TOKENS:
            # The hosted service truncates over-long examples; billing counts the limit.
            ex = Example(ex.text, ex.label, MAX_EXAMPLE_TOKENS)
        examples.append(ex)
    if len(examples) < minimum:
        raise InvalidFileError(
            f"Training file has {len(examples)} example(s), but must have at least {minimum} "
            "examples.", code="invalid_n_examples", param=param)
    return examples
