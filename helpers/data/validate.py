"""Validate fine-tuning and classification data; every problem gets a line and a code.

``validate_file(path, kind=...)`` returns ``(valid_rows, report)``: the rows
without problems (as ``(line, record)`` pairs) and a report listing every
problem as ``(path, line, code, message)``. Nothing is dropped without an
entry in the report. Codes are listed in ``helpers.data.report.CODES``.
"""
from __future__ import annotations

import json

import ftfy
from ftfy.badness import BADNESS_RE, is_bad

from ..prompts import parse_prompt
from ..tokens import (TRAINING_TOKEN_LIMITS, chat_example_tokens, encoding_for,
                      training_token_limit)
from .report import Report
from .sources import Record, file_format, read_records

KINDS = ("chat", "legacy", "table")
DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"

LEGACY_MAX_CHARS = 10_000  # the removed prepare_data tool flagged longer prompt+completion

CHAT_ROLES = ("system", "user", "assistant", "tool", "function")
MESSAGE_KEYS = ("role", "content", "name", "weight", "function_call", "tool_calls", "tool_call_id")


def example_token_limit(model: str) -> int:
    """Longest training example (tokens) the model accepts (``helpers.tokens``' table)."""
    limit = training_token_limit(model)
    if limit is None:
        known = ", ".join(prefix for prefix, _ in TRAINING_TOKEN_LIMITS)
        raise ValueError(f"no example-length limit known for {model!r} (known: {known}); "
                         "pass max_tokens=")
    return limit


def mojibake_fix(text: str) -> str | None:
    """None if ``text`` looks right; else ftfy's repair ('' when ftfy cannot repair it)."""
    fixed, steps = ftfy.fix_encoding_and_explain(text)
    if steps and fixed != text:
        return "" if "\ufffd" in fixed or is_bad(fixed) else fixed  # partial repair: bytes lost
    return "" if is_bad(text) else None


def _bad_spot(text: str, fixed: str) -> int:
    """Where the mis-decoded part starts, to show it in the message."""
    if fixed:
        return next((i for i, (a, b) in enumerate(zip(text, fixed)) if a != b), 0)
    match = BADNESS_RE.search(text)
    return match.start() if match else 0


def _check_mojibake(report: Report, line: int, where: str, text) -> bool:
    if not isinstance(text, str):
        return True
    fixed = mojibake_fix(text)
    if fixed is None:
        return True
    start = _bad_spot(text, fixed)
    hint = (f"; ftfy repairs it as {fixed[start:start + 20]!r}" if fixed
            else "; bytes were lost, re-export the source as UTF-8")
    report.add(line, "mojibake", f"{where} looks mis-decoded: {text[start:start + 20]!r}{hint}")
    return False


def _label_set(labels):
    return None if labels is None else {str(x).strip() for x in labels}


def _check_chat(report: Report, line: int, example, labels) -> bool:
    """The cookbook's format checks, plus weight, empty text, labels and mojibake."""
    if not isinstance(example, dict):
        report.add(line, "data_type", f"example is a JSON {type(example).__name__}, "
                                      "expected an object with a 'messages' list")
        return False
    messages = example.get("messages")
    if not messages or not isinstance(messages, list):
        what = "missing" if "messages" not in example else f"{type(messages).__name__} {messages!r:.20}"
        report.add(line, "missing_messages_list", f"'messages' is {what}, expected a non-empty list")
        return False
    ok = True
    for i, msg in enumerate(messages, 1):
        where = f"message {i}"
        if not isinstance(msg, dict):
            report.add(line, "data_type", f"{where} is a JSON {type(msg).__name__}, expected an object")
            ok = False
            continue
        missing = [k for k in ("role", "content") if k not in msg]
        if missing:
            report.add(line, "message_missing_key", f"{where} has no {' or '.join(map(repr, missing))}")
            ok = False
        extra = [k for k in msg if k not in MESSAGE_KEYS]
        if extra:
            report.add(line, "message_unrecognized_key", f"{where} has unrecognized key(s) "
                       f"{', '.join(map(repr, extra))}")
            ok = False
        role = msg.get("role")
        if "role" in msg and role not in CHAT_ROLES:
            report.add(line, "unrecognized_role", f"{where} has role {role!r}")
            ok = False
        content = msg.get("content")
        has_call = bool(msg.get("function_call") or msg.get("tool_calls"))
        if "content" in msg and ((not content and not has_call)
                                 or (content is not None and not isinstance(content, str))):
            report.add(line, "missing_content", f"{where} content is {content!r:.20}, expected text")
            ok = False
        elif isinstance(content, str) and content and not content.strip():
            report.add(line, "empty_text", f"{where} content is only whitespace")
            ok = False
        elif role == "user" and isinstance(content, str):
            parsed = parse_prompt(content)  # the course's own prompt: check the text inside it
            if parsed is not None and not parsed.text.strip():
                report.add(line, "empty_text", f"{where} asks to classify an empty text")
                ok = False
        if "weight" in msg:
            weight = msg["weight"]
            if isinstance(weight, bool) or weight not in (0, 1) or role != "assistant":
                report.add(line, "invalid_weight", f"{where} has weight {weight!r} on role {role!r}; "
                           "weight must be 0 or 1 and only on assistant messages")
                ok = False
        ok &= _check_mojibake(report, line, where, content)
    replies = [m for m in messages if isinstance(m, dict) and m.get("role") == "assistant"]
    if not replies:
        report.add(line, "example_missing_assistant_message", "no assistant message")
        return False
    answer = replies[-1].get("content")
    if labels is not None and isinstance(answer, str) and answer.strip() and answer.strip() not in labels:
        report.add(line, "unknown_label", f"assistant answer {answer!r:.40} is not one of the labels")
        ok = False
    return ok


def _check_fields(report: Report, line: int, record, text_field: str, label_field: str,
                  labels, names: str = "field") -> bool:
    """Checks shared by table rows and legacy prompt/completion records."""
    if not isinstance(record, dict):
        report.add(line, "data_type", f"record is a JSON {type(record).__name__}, expected an object")
        return False
    ok = True
    for key in (text_field, label_field):
        if key not in record or record[key] is None:
            report.add(line, "missing_field", f"{names} {key!r} is missing")
            ok = False
    if not ok:
        return False
    text, label = record[text_field], record[label_field]
    if not isinstance(text, str):
        report.add(line, "data_type", f"{names} {text_field!r} is a {type(text).__name__}, expected text")
        return False
    if isinstance(label, (dict, list, bool)) or (isinstance(label, float) and label != label):
        report.add(line, "data_type", f"{names} {label_field!r} is {label!r:.20}, expected text or a number")
        return False
    if not text.strip():
        report.add(line, "empty_text", f"{names} {text_field!r} is empty")
        ok = False
    label_text = str(label).strip()
    if not label_text:
        report.add(line, "empty_text" if names == "key" else "missing_field",
                   f"{names} {label_field!r} is empty")
        ok = False
    elif labels is not None and label_text not in labels:
        report.add(line, "unknown_label", f"label {label_text!r} is not one of the labels")
        ok = False
    ok &= _check_mojibake(report, line, f"{names} {text_field!r}", text)
    ok &= _check_mojibake(report, line, f"{names} {label_field!r}", label)
    return ok


def _duplicate_key(kind: str, record, text_field: str, label_field: str):
    if kind == "chat":
        return json.dumps(record["messages"], sort_keys=True, ensure_ascii=False)
    if kind == "legacy":
        return (record["prompt"], record["completion"])
    return " ".join(record[text_field].split())


def _length_problem(kind: str, record, text_field: str, encoding, limit: int) -> str | None:
    if kind == "legacy":
        chars = len(record["prompt"]) + len(record["completion"])
        if chars > LEGACY_MAX_CHARS:
            return f"prompt+completion is {chars:,} characters (over {LEGACY_MAX_CHARS:,})"
        return None
    example = record if kind == "chat" else {"messages": [{"role": "user", "content": record[text_field]}]}
    tokens = chat_example_tokens(example, encoding)
    return f"{tokens:,} tokens, the model accepts {limit:,}" if tokens > limit else None


def infer_kind(path: str, records: list[Record]) -> str:
    """'chat', 'legacy' or 'table' from the first parsable record."""
    if file_format(path) == "csv":
        return "table"
    for rec in records:
        if isinstance(rec.value, dict):
            if "messages" in rec.value:
                return "chat"
            if "prompt" in rec.value and "completion" in rec.value:
                return "legacy"
            return "table"
    return "chat"


def validate_file(path, kind: str | None = None, *, text_field: str = "text",
                  label_field: str = "label", labels=None, model: str = DEFAULT_MODEL,
                  max_tokens: int | None = None):
    """Return ``(valid_rows, report)``; ``valid_rows`` is a list of ``(line, record)``.

    ``kind`` is chat (``{"messages": [...]}``), legacy (``{"prompt", "completion"}``)
    or table (any records with ``text_field`` and ``label_field``); inferred when
    None. Raises OSError when the file cannot be read at all.
    """
    path = str(path)
    report = Report(path)
    records = read_records(path, report)
    kind = kind or infer_kind(path, records)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    label_set = _label_set(labels)
    limit = max_tokens or (example_token_limit(model) if kind != "legacy" else None)
    encoding = encoding_for(model) if kind != "legacy" else None
    seen: dict = {}
    valid = []
    for rec in records:
        if rec.value is None:
            continue  # already reported by the reader
        if kind == "chat":
            ok = _check_chat(report, rec.line, rec.value, label_set)
        elif kind == "legacy":
            ok = _check_fields(report, rec.line, rec.value, "prompt", "completion", label_set, "key")
        else:
            ok = _check_fields(report, rec.line, rec.value, text_field, label_field, label_set)
        if not ok:
            continue
        key = _duplicate_key(kind, rec.value, text_field, label_field)
        if key in seen:
            first_line, first_label = seen[key]
            same = "" if kind != "table" else (
                " (same label)" if first_label == str(rec.value[label_field]).strip()
                else f" (label there {first_label!r}, here {str(rec.value[label_field]).strip()!r})")
            report.add(rec.line, "duplicate_example", f"same as line {first_line}{same}")
            continue
        seen[key] = (rec.line, str(rec.value.get(label_field, "")).strip())
        too_long = _length_problem(kind, rec.value, text_field, encoding, limit)
        if too_long:
            report.add(rec.line, "too_long", too_long)
            continue
        valid.append((rec.line, rec.value))
    report.problems.sort(key=lambda problem: problem.line)  # stable: same-line order kept
    return valid, report


def validate_chat(path, **kwargs):
    return validate_file(path, "chat", **kwargs)


def validate_legacy(path, **kwargs):
    return validate_file(path, "legacy", **kwargs)


def validate_table(path, text_field: str = "text", label_field: str = "label", **kwargs):
    return validate_file(path, "table", text_field=text_field, label_field=label_field, **kwargs)
