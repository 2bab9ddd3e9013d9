"""Which function tool the sandbox calls, and which schema a JSON-mode prompt shows.

The sandbox is a classifier, so it calls a function only when the function
can carry its answer, a label (README "Tools"):

- a function *carries a label* when its ``parameters`` hold an ``enum``
  anywhere (the candidate labels), or else a top-level string property named
  like a label: its name, split at ``_``/``-``/camelCase, contains one of
  ``LABEL_WORDS`` (label, category, class, topic, sentiment, intent, ...).
  Such a string is filled with the label read from the prompt;
- ``tool_choice`` "none": never call; named: call that function (it must
  carry a label); "required": call the first function with an enum, else the
  first with a label-named string; "auto" or absent: the same choice, but a
  label-named string counts only when the prompt lists labels, and no call
  once a tool result follows the last user message (the model then answers
  in text); with no carrier it answers in text.

Functions are given as ``Function`` records, so the Responses API (whose tool
shape is flat) can use the same rule after converting its tools.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .errors import ApiError

LABEL_WORDS = {"label", "labels", "category", "categories", "class", "classes",
               "classification", "topic", "topics", "sentiment", "intent", "genre", "emotion",
               "stance", "polarity", "tag", "rating", "类别", "标签", "分类", "情感", "主题"}
_SPLIT = re.compile(r"[_\-\s]+|(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True)
class Function:
    name: str
    parameters: dict
    strict: bool = False


@dataclass(frozen=True)
class ToolChoice:
    """The function to call and how it was chosen ("named", "required" or "auto")."""
    function: Function
    how: str


def label_named(name: str) -> bool:
    return any(w.lower() in LABEL_WORDS for w in _SPLIT.split(name) if w)


def _defs(schema: dict) -> dict:
    return {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}


def _resolve(node, defs: dict, depth: int = 0):
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < 32:
        node = defs.get(node["$ref"].rsplit("/", 1)[-1], {})
        depth += 1
    return node


def has_enum(schema) -> bool:
    """An ``enum`` anywhere in the schema or its definitions."""
    if isinstance(schema, dict):
        return "enum" in schema or any(has_enum(v) for v in schema.values())
    if isinstance(schema, list):
        return any(has_enum(v) for v in schema)
    return False


def label_field(schema: dict) -> str | None:
    """The first top-level string property named like a label, or None."""
    root = _resolve(schema, _defs(schema))
    for name, sub in (root.get("properties") or {}).items():
        sub = _resolve(sub, _defs(schema))
        kind = sub.get("type") if isinstance(sub, dict) else None
        kinds = kind if isinstance(kind, list) else [kind]
        if "string" in kinds and label_named(name):
            return name
    return None


def carries_label(fn: Function) -> bool:
    return has_enum(fn.parameters) or label_field(fn.parameters) is not None


def answered(messages: list) -> bool:
    """A tool result comes after the last user message: the call has been made."""
    for m in reversed(messages):
        role = m.get("role") if isinstance(m, dict) else None
        if role == "user":
            return False
        if role == "tool":
            return True
    return False


def choose(functions: list[Function], choice, *, answered_already: bool,
           prompt_has_labels) -> ToolChoice | None:
    """The function to call under ``tool_choice`` (chat's shape), or None to answer in text.

    ``prompt_has_labels()`` is asked only when a label-named string could decide.
    Raises a 400 for a named function that cannot carry a label, or "required"
    with none that can.
    """
    if choice == "none" or not functions:
        return None
    by_name = {f.name: f for f in functions}
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        fn = by_name.get(name)
        if fn is None:
            raise ApiError(400, f"Invalid value for 'tool_choice': no function named {name!r} "
                           f"in 'tools' (functions: {sorted(by_name)}).",
                           param="tool_choice.function.name", code="invalid_value")
        if not carries_label(fn):
            raise _no_label(fn.name)
        return ToolChoice(fn, "named")
    with_enum = [f for f in functions if has_enum(f.parameters)]
    named = [f for f in functions if label_field(f.parameters) is not None]
    if choice == "required":
        if not (with_enum or named):
            raise _no_label(", ".join(by_name))
        return ToolChoice((with_enum or named)[0], "required")
    if answered_already:
        return None
    if with_enum:
        return ToolChoice(with_enum[0], "auto")
    if named and prompt_has_labels():
        return ToolChoice(named[0], "auto")
    return None


def _no_label(names: str) -> ApiError:
    return ApiError(400, f"The sandbox can call a function only to give a classification: "
                    f"the parameters of {names} need a property with an 'enum' of labels (a "
                    "Literal or Enum field) or a string property named like a label (label, "
                    "category, topic, sentiment, intent...).", param="tools",
                    code="unsupported_parameter")


# ------------------------------------------------------- schemas in prompts
_Q = r"[\"'`“‘]"
_FIELD_PHRASE = re.compile(
    r"\b(?:field|key|property|attribute)\s+(?:(?:named|called)\s+" + _Q
    + r"?(?P<a>[A-Za-z_]\w{0,40})"
    r"|" + _Q + r"(?P<b>[A-Za-z_]\w{0,40})" + _Q + r")"
    r"|\b(?:with|has|having|containing|includ\w*)\s+(?:a|an|one|the|a single)\s+"
    r"(?:field|key|property)\s+(?P<c>[A-Za-z_]\w{0,40})", re.I)
_KEY_AFTER_BRACE = re.compile(r"""\{\s*["']([A-Za-z_]\w{0,40})["']\s*:""")
_SCHEMA_WORDS = {"properties", "type", "title", "required", "items", "anyOf", "allOf", "enum",
                 "description", "definitions", "additionalProperties"}
_MAX_OBJECTS = 50  # JSON objects tried per prompt (each '{' is one parse)


def json_objects(text: str) -> list[dict]:
    """The top-level JSON objects written in ``text`` (at most ``_MAX_OBJECTS`` tries)."""
    decoder, found, pos, tries = json.JSONDecoder(), [], 0, 0
    while tries < _MAX_OBJECTS:
        start = text.find("{", pos)
        if start < 0:
            break
        tries += 1
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            pos = start + 1
            continue
        if isinstance(value, dict):
            found.append(value)
        pos = end
    return found


def looks_like_schema(obj: dict) -> bool:
    return isinstance(obj.get("properties"), dict) or obj.get("type") == "object" or \
        "$defs" in obj


def prompted_key(text: str, objects: list[dict]) -> str | None:
    """The answer key a JSON-mode prompt asks for, without a schema.

    "a field named X" (or key/property X) wins; else the key of a JSON example
    that is not a schema, preferring one named like a label, else its first key;
    else, when the text holds no valid JSON object, the first key written after a
    brace (``{"category": <label>}``) unless it is a schema keyword.
    """
    phrase = _FIELD_PHRASE.search(text)
    if phrase:
        return phrase.group("a") or phrase.group("b") or phrase.group("c")
    for obj in objects:
        if obj and not looks_like_schema(obj):
            keys = [k for k in obj if isinstance(k, str) and re.fullmatch(r"[A-Za-z_]\w{0,40}", k)]
            if keys:
                return next((k for k in keys if label_named(k)), keys[0])
    for m in _KEY_AFTER_BRACE.finditer(text if not objects else ""):
        if m.group(1) not in _SCHEMA_WORDS:
            return m.group(1)
    return None
