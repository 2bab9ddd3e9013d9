"""What a chat fine-tuning example is: the one definition the course and the sandbox share.

The data validator (``helpers.data``), the sandbox's file validation
(``helpers.sandbox.validation``) and token counting (``helpers.tokens``) all
judge a training file with this module, so they cannot disagree. It imports no
course module (the sandbox imports it) and no tokenizer (callers pass one).

A training file is UTF-8 JSON lines: one JSON object per line, split on
``"\\n"`` only (JSON strings may hold U+2028). A blank line is an error, as are
NUL bytes, ``NaN``/``Infinity`` (not JSON), integers Python cannot read
(over 4,300 digits) and nesting too deep to parse; ``json_lines`` reports each
one with its line and goes on. An example (``ChatExample``) is
``{"messages": [...], "tools"?, "parallel_tool_calls"?, "functions"?}``:

- roles: system, developer, user, assistant, tool, and the legacy function;
- ``content``: a string or a list of parts (``{"type": "text", "text"}``, and
  ``{"type": "image_url", "image_url": {"url"}}`` in user messages); it may be
  null or absent only on an assistant message that carries ``tool_calls`` or
  ``function_call``; an empty string counts as missing (as in the cookbook);
- ``weight``: 0 or 1, only on assistant messages; ``name``: a string;
  ``tool_call_id``: required on (and only on) tool messages;
- at least one assistant message. Other top-level keys are ignored.

The problem codes are the cookbook's ("data preparation and analysis for chat
model fine-tuning") where it has one, plus ``invalid_weight`` and ``invalid_json``.

Token formula (``example_tokens``), the one the course estimates with and the
sandbox bills with::

    tokens(example) = 3 + sum over messages of (3 + tokens(content) [+ 1 + tokens(name)])

content being the text parts joined, plus the names and arguments of any tool
or function calls. The cookbook's ``num_tokens_from_messages`` also encodes
each message's role string (one more token per message in cl100k_base and
o200k_base). Evidence: the one published real job we have (a Chinese course
chapter; 100 TNEWS examples of 2 messages each, gpt-3.5-turbo-0125, whose
encoding is cl100k_base) had a cookbook estimate of 11,990 tokens per epoch and
billed 23,580 tokens for 2 epochs, 11,790 per epoch: 200 fewer, exactly one
token for each of the 200 messages' roles. So the course drops the role tokens
(``helpers.tokens.published_job`` lays the three numbers side by side). No
overhead is published for tool calls, images or the ``tools`` list: examples
with them count only their text, an estimate.

Also here: ``auto_epochs`` (the epochs OpenAI picks for ``n_epochs="auto"``)
and ``MIN_EXAMPLES``. Pydantic checks the structure; the wording of each
problem is ours, so a learner sees the line, the message and what is wrong.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
MESSAGE_KEYS = ("role", "content", "name", "weight", "tool_calls", "function_call",
                "tool_call_id")
MIN_EXAMPLES = 10          # the service refuses a training file with fewer examples
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3          # every reply is primed with <|start|>assistant<|message|>

# The epochs heuristic (OpenAI's cookbook): aim for 3 epochs, but show small sets
# about 100 examples in all (at most 25 epochs) and big sets about 25,000 (at least 1).
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25

MAX_INT_DIGITS = 4_300     # Python's int-from-string limit (sys.get_int_max_str_digits)


class FormatProblem(NamedTuple):
    """One thing wrong with a line: a code (``helpers.data.CODES``) and a message."""

    code: str
    message: str


class LineError(ValueError):
    """A JSON-lines line that holds no JSON value; ``problem`` says why."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.problem = FormatProblem(code, message)


# --- JSON lines --------------------------------------------------------------


def _no_constant(name: str):
    raise LineError("invalid_json", f"{name} is not JSON (JSON has no NaN or Infinity; "
                                    "write null, a number or a string)")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise LineError("invalid_json", f"the number {text[:20]} is too large for a float")
    return value


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise LineError("invalid_json", f"an integer with {digits:,} digits; Python reads at most "
                                        f"{MAX_INT_DIGITS:,} (write it as a string)")
    return int(text)


# json.loads hooks that refuse what Python's json reads but JSON is not (each raises LineError).
STRICT_JSON = {"parse_constant": _no_constant, "parse_float": _finite, "parse_int": _int}


def loads(text: str):
    """``json.loads`` that accepts only JSON: LineError for NaN, Infinity, huge or deep values."""
    try:
        return json.loads(text, **STRICT_JSON)
    except json.JSONDecodeError as err:
        raise LineError("invalid_json", f"{err.msg} at column {err.colno}") from None
    except RecursionError:
        raise LineError("invalid_json", "nested too deeply to parse (arrays or objects inside "
                                        "each other about a thousand levels deep)") from None


def parse_json_line(line: str):
    """The JSON value of one line of a JSON-lines file, or LineError."""
    if not line.strip():
        raise LineError("invalid_json", "blank line (JSON lines needs one JSON value per line)")
    if "\x00" in line:
        raise LineError("nul_byte", f"NUL byte (\\x00) at column {line.index(chr(0)) + 1}; "
                                    "the file may be UTF-16 or binary")
    return loads(line)


def _byte_lines(source) -> Iterator[bytes]:
    """Lines of UTF-8 bytes split on b"\\n" only: of a bytes object, or of a file opened "rb"."""
    if isinstance(source, (bytes, bytearray)):
        start = 0
        while start < len(source):
            end = source.find(b"\n", start)
            end = len(source) if end < 0 else end
            yield bytes(source[start:end])
            start = end + 1
    else:  # a binary file iterates on b"\n" only; the last line may lack it
        for line in source:
            yield line.removesuffix(b"\n")


def _decoded(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as err:
        raise LineError("non_utf8", f"not UTF-8 (byte 0x{line[err.start]:02x} at byte "
                                    f"{err.start + 1} of the line)") from None


def json_lines(source: str | bytes | Iterable[bytes]) -> Iterator[tuple[int, object]]:
    """``(line number, value or LineError)`` for each line; a final newline ends the last line.

    The one JSON-lines reader of the course (data files, training files, Batch
    API output): lines are split on ``"\\n"`` only — U+2028, U+0085 and form
    feeds inside a text are characters, not line breaks (``str.splitlines``
    would cut there) — numbered from 1, a trailing ``"\\r"`` is removed, and a
    bad line yields a LineError instead of raising.

    ``source`` is the text, or its UTF-8 bytes, or a file opened in binary mode
    (``open(path, "rb")``): the file is read a line at a time, so a large file
    is never in memory twice (as bytes and decoded text) beside its parsed
    rows. A line that is not UTF-8 yields a LineError ``non_utf8``.
    """
    if isinstance(source, str):
        lines: Iterator = _text_lines(source)
    else:
        lines = _byte_lines(source)
    for number, line in enumerate(lines, 1):
        try:
            text = line if isinstance(line, str) else _decoded(line)
            yield number, parse_json_line(text.removesuffix("\r"))
        except LineError as err:
            yield number, err


def _text_lines(text: str) -> Iterator[str]:
    start = 0
    while start < len(text):  # one line at a time: no second copy of a large file in memory
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        yield text[start:end]
        start = end + 1


def is_blank(value) -> bool:
    """True for the LineError of a blank line (readers of service output may skip those)."""
    return isinstance(value, LineError) and value.problem.message.startswith("blank line")


def dumps_json_lines(rows) -> str:
    """The one JSON-lines writer: one compact value per line, non-ASCII kept, ``"\\n"`` endings.

    ``json.dumps`` escapes U+2028/U+2029 nowhere and writes ``"\\n"`` inside strings
    as an escape, so every value stays on its own line. NaN/Infinity are refused
    (``allow_nan=False``): they are not JSON and the reader would reject them.
    """
    return "".join(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n" for row in rows)


def write_json_lines(path, rows) -> Path:
    """Write ``rows`` as UTF-8 JSON lines, atomically (``helpers.atomic``): whole or not at all."""
    from . import atomic  # imports no course module either

    return atomic.write_text(path, dumps_json_lines(rows))


# --- the example -------------------------------------------------------------


def _custom(code: str, detail: str) -> PydanticCustomError:
    return PydanticCustomError(code, "{detail}", {"detail": detail})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class ImageURL(_Strict):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Strict):
    type: Literal["image_url"]
    image_url: ImageURL


_PART = TypeAdapter(Annotated[TextPart | ImagePart, Field(discriminator="type")])


class FunctionCall(_Strict):
    name: str
    arguments: str


class ToolCall(_Strict):
    id: str
    type: Literal["function"]
    function: FunctionCall


def _describe(value) -> str:
    kind = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")
    return f"{kind} {json.dumps(value, ensure_ascii=False)[:30]}" if value is not None else kind


class Message(_Strict):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Any = None
    name: str | None = None
    weight: Any = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None
    tool_call_id: str | None = None

    @field_validator("content")
    @classmethod
    def _content(cls, value):
        if value is None or isinstance(value, str):
            return value
        if not isinstance(value, list):
            raise _custom("missing_content", f"content is {_describe(value)}, expected a string "
                                             "or a list of content parts")
        parts = []
        for i, part in enumerate(value, 1):
            try:
                parts.append(_PART.validate_python(part, strict=True))
            except ValidationError as err:
                first = err.errors(include_url=False)[0]
                where = ".".join(str(x) for x in first["loc"][1:])
                where = f" {where}" if where else ""
                raise _custom("data_type", f"content part {i}{where}: {first['msg']} (a part is "
                              '{"type": "text", "text": ...} or '
                              '{"type": "image_url", ...})') from None
        return parts

    @field_validator("weight")
    @classmethod
    def _weight(cls, value):
        if value is None:
            return None
        if isinstance(value, bool) or value not in (0, 1):
            raise _custom("invalid_weight", f"weight is {_describe(value)}; weight must be 0 or 1")
        return int(value)

    @model_validator(mode="after")
    def _rules(self):
        role, content = self.role, self.content
        calls = bool(self.tool_calls or self.function_call)
        if role != "assistant":
            for key in ("weight", "tool_calls", "function_call"):
                if key in self.model_fields_set and getattr(self, key) is not None:
                    code = "invalid_weight" if key == "weight" else "message_unrecognized_key"
                    raise _custom(code, f"has {key!r} on role {role!r}; {key} is only for "
                                        "assistant messages")
        if role != "tool" and self.tool_call_id is not None:
            raise _custom("message_unrecognized_key", f"has 'tool_call_id' on role {role!r}; "
                                                      "it is only for tool messages")
        if role == "tool" and self.tool_call_id is None:
            raise _custom("message_missing_key", "is a tool message without 'tool_call_id'")
        if role == "function" and self.name is None:
            raise _custom("message_missing_key", "is a function message without 'name'")
        if isinstance(content, list) and role != "user" and any(
                isinstance(p, ImagePart) for p in content):
            raise _custom("data_type", f"has an image part on role {role!r}; images are only "
                                       "allowed in user messages")
        if calls:
            return self
        if "content" not in self.model_fields_set:
            raise _custom("message_missing_key", "has no 'content'" + (
                " (and no tool_calls or function_call)" if role == "assistant" else ""))
        if not content:
            raise _custom("missing_content", f"content is {_describe(content)}, expected text")
        return self


class ChatExample(BaseModel):
    """One line of a chat fine-tuning file."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)
    messages: list[Message] = Field(min_length=1)
    tools: list[dict] | None = None
    parallel_tool_calls: bool | None = None
    functions: list[dict] | None = None

    @model_validator(mode="after")
    def _has_assistant(self):
        if not any(m.role == "assistant" for m in self.messages):
            raise _custom("example_missing_assistant_message", "no assistant message")
        return self


_OWN_CODES = {"missing_content", "message_missing_key", "message_unrecognized_key",
              "invalid_weight", "data_type", "example_missing_assistant_message"}


def _problem(error: dict, value) -> FormatProblem:
    loc, kind, msg = error["loc"], error["type"], error["msg"]
    if loc and loc[0] == "messages" and len(loc) >= 2:
        where = f"message {loc[1] + 1}"
        field = loc[2] if len(loc) > 2 else None
        if kind in _OWN_CODES:
            return FormatProblem(kind, f"{where} {msg}")
        if field is None:
            return FormatProblem("data_type", f"{where} is {_describe(value['messages'][loc[1]])}, "
                                              "expected an object")
        if field == "role":
            if kind == "missing":
                return FormatProblem("message_missing_key", f"{where} has no 'role'")
            role = value["messages"][loc[1]].get("role")
            shown = repr(role) if isinstance(role, str) else _describe(role)
            return FormatProblem("unrecognized_role", f"{where} has role {shown}; "
                                                      f"roles are {', '.join(ROLES)}")
        path = ".".join(str(x) for x in loc[2:])
        return FormatProblem("data_type", f"{where} {path}: {msg}")
    if kind in _OWN_CODES:
        return FormatProblem(kind, msg)
    if not loc:
        return FormatProblem("data_type", f"example is {_describe(value)}, expected an object "
                                          "with a 'messages' list")
    if loc[0] == "messages":
        what = "missing" if kind == "missing" else _describe(value.get("messages"))
        return FormatProblem("missing_messages_list", f"'messages' is {what}, expected a "
                                                      "non-empty list of messages")
    return FormatProblem("data_type", f"{'.'.join(map(str, loc))}: {msg}")


def example_problems(value) -> list[FormatProblem]:
    """What makes ``value`` (a parsed JSON line) not a chat fine-tuning example; [] if none.

    At most one problem per message (the first found), plus example-level ones;
    unrecognized keys of one message are listed together.
    """
    try:
        ChatExample.model_validate(value)
        return []
    except ValidationError as err:
        errors = err.errors(include_url=False)
    out: list[FormatProblem] = []
    seen: set = set()
    extra: dict[int, list[str]] = {}
    for error in errors:
        loc = error["loc"]
        if error["type"] == "extra_forbidden" and len(loc) == 3 and loc[0] == "messages":
            extra.setdefault(loc[1], []).append(str(loc[2]))
            continue
        key = loc[:2] if loc and loc[0] == "messages" else loc[:1]
        if key in seen:
            continue
        seen.add(key)
        out.append(_problem(error, value))
    for index, keys in extra.items():
        out.append(FormatProblem("message_unrecognized_key", f"message {index + 1} has "
                                 f"unrecognized key(s) {', '.join(map(repr, keys))}; a message "
                                 f"may have {', '.join(MESSAGE_KEYS)}"))
    return out


def legacy_problems(value) -> list[FormatProblem]:
    """What makes ``value`` not a legacy ``{"prompt", "completion"}`` record; [] if none."""
    if not isinstance(value, dict):
        return [FormatProblem("data_type", f"record is {_describe(value)}, expected an object")]
    out = []
    for key in ("prompt", "completion"):
        if value.get(key) is None:
            out.append(FormatProblem("missing_field", f"key {key!r} is missing"))
        elif not isinstance(value[key], str):
            out.append(FormatProblem("data_type", f"key {key!r} is {_describe(value[key])}, "
                                                  "expected text"))
    return out


# --- tokens and epochs -------------------------------------------------------


def flatten_content(content) -> str:
    """The text of a message's content: the string, or its text parts joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p["text"] for p in content
                       if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _call_texts(message: dict) -> list[str]:
    calls = [c.get("function") for c in message.get("tool_calls") or () if isinstance(c, dict)]
    calls.append(message.get("function_call"))
    return [str(c.get(k) or "") for c in calls if isinstance(c, dict)
            for k in ("name", "arguments")]


def example_tokens(example: dict, encoding) -> int:
    """Tokens in one ``{"messages": [...]}`` example, by the formula in the module docstring.

    ``encoding`` is a tiktoken ``Encoding`` (its ``encode_ordinary``: special
    tokens count as text) or any function from text to a token count.
    A ``weight`` does not change the count: weighted-out messages are billed too.
    """
    count: Callable[[str], int] = (encoding if callable(encoding)
                                   else lambda text: len(encoding.encode_ordinary(text)))
    total = REPLY_PRIMING
    for message in example.get("messages") or ():
        if not isinstance(message, dict):
            continue
        total += TOKENS_PER_MESSAGE + count(flatten_content(message.get("content")))
        if "tool_calls" in message or "function_call" in message:
            total += sum(count(t) for t in _call_texts(message) if t)
        name = message.get("name")
        if name:
            total += TOKENS_PER_NAME + count(str(name))
    return total


def auto_epochs(n_examples: int) -> int:
    """Epochs OpenAI picks for ``n_epochs="auto"`` (the cookbook's heuristic).

    3; if n×3 < 100: min(25, 100 // n); if n×3 > 25,000: max(1, 25,000 // n).
    """
    if n_examples < 1:
        raise ValueError("no training examples")
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS
