"""Checks a training or validation file the way the hosted services do.

Accepted: chat JSONL (``{"messages": [...]}``) and legacy prompt/completion
JSONL. What a valid line is comes from ``helpers.chat_format``, the module the
course's own validator uses, so the two never disagree; the first bad line
fails the job, with the line and the problem in the error message. Each
example becomes (text, label, tokens): the classifier learns from the text
part of the last user message to the last assistant reply (the text of its
content, or of its tool call). Tokens are billed with
``chat_format.example_tokens``; a legacy line counts
tokens(prompt) + tokens(completion), with no per-message overhead.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import chat_format
from . import reading, textcheck

MAX_EXAMPLE_TOKENS = 65_536
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
    """What the classifier reads from a user message: the text to classify (``reading``)."""
    return reading.input_text(user_message)


def _reply(message: dict) -> str:
    """What an assistant message says: its text, else its first tool or function call."""
    text = chat_format.flatten_content(message.get("content")).strip()
    if text:
        return text
    calls = [c.get("function") for c in message.get("tool_calls") or ()]
    call = calls[0] if calls else message.get("function_call")
    return f"{call['name']}({call['arguments']})" if call else ""


def _chat_example(obj: dict, line: int, encoding, param: str) -> Example:
    problems = chat_format.example_problems(obj)
    if problems:
        raise InvalidFileError(f"Invalid file format. Line {line}, {problems[0].message}.",
                               param=param)
    messages = obj["messages"]
    users = [m for m in messages if m["role"] == "user"]
    replies = [m for m in messages if m["role"] == "assistant"]
    text = chat_format.flatten_content(users[-1].get("content")) if users else ""
    return Example(input_text(text), _reply(replies[-1]), chat_format.example_tokens(obj, encoding))


def _legacy_example(obj: dict, line: int, encoding, param: str) -> Example:
    problems = chat_format.legacy_problems(obj)
    if problems or not obj["completion"].strip():
        why = problems[0].message if problems else "key 'completion' is empty"
        raise InvalidFileError(f"Invalid file format. Line {line}, {why}; 'prompt' and a "
                               "non-empty 'completion' must be strings.", param=param)
    prompt, completion = obj["prompt"], obj["completion"]
    text = prompt
    for sep in LEGACY_SEPARATORS:
        if text.endswith(sep):
            text = text[: -len(sep)]
            break
    tokens = len(encoding.encode_ordinary(prompt)) + len(encoding.encode_ordinary(completion))
    return Example(input_text(text), completion.strip(), tokens)


def parse_examples(data: bytes, encoding, *, param: str = "training_file",
                   minimum: int = chat_format.MIN_EXAMPLES) -> list[Example]:
    """All examples of a JSONL file, or InvalidFileError naming the line and the problem."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidFileError(f"Invalid file format. The file is not UTF-8 ({exc}).",
                               param=param) from None
    examples = []
    for line, obj in chat_format.json_lines(text):
        if isinstance(obj, chat_format.LineError):
            raise InvalidFileError(
                "Invalid file format. Expected file to have JSONL format, where every line is a "
                f"valid JSON dictionary. Line {line} is not valid JSON: {obj.problem.message}.",
                param=param)
        if not isinstance(obj, dict):
            raise InvalidFileError(
                "Invalid file format. Expected file to have JSONL format, where every line is a "
                f"valid JSON dictionary. Line {line} is not a dictionary.", param=param)
        found = textcheck.find_surrogate(obj)
        if found:
            raise InvalidFileError(f"Invalid file format. Line {line}, the value at {found[0]} "
                                   f"contains a lone UTF-16 surrogate ({found[1]}), which is not "
                                   "valid Unicode text.", param=param)
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
