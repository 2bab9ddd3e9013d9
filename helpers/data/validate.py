"""Validate fine-tuning and classification data; every finding gets a line, a code and a severity.

``validate_file(path, kind=...)`` returns ``(valid_rows, report)``: the rows
without findings (as ``(line, record)`` pairs) and a report listing every
finding as ``(path, line, code, message)``. Nothing is dropped without an
entry in the report, and no input makes it raise (only a file that cannot be
opened does). Codes and severities are in ``helpers.data.report``.

What a chat example is comes from ``helpers.chat_format`` (the sandbox checks
files with the same module); on top of it this adds the course's checks:
empty texts, labels, mis-decoded text, duplicates and length. For a table the
data problems (empty texts, duplicates, near duplicates, small classes) come
from ``preparation_plan``, the rules preparation applies.
"""
from __future__ import annotations

import json
import sys

import ftfy
import pandas as pd
from ftfy.badness import BADNESS_RE, is_bad

from .. import chat_format
from ..prompts import parse_prompt
from ..tokens import TRAINING_TOKEN_LIMITS, encoding_for, training_token_limit
from . import labels
from .plan import preparation_plan
from .report import ERROR, Report, plural
from .sources import Record, file_format, read_records

KINDS = ("chat", "legacy", "table")
DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"

LEGACY_MAX_CHARS = 10_000  # the removed prepare_data tool flagged longer prompt+completion

CHAT_ROLES = chat_format.ROLES
MESSAGE_KEYS = chat_format.MESSAGE_KEYS


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
        return next((i for i, (a, b) in enumerate(zip(text, fixed, strict=False)) if a != b), 0)
    match = BADNESS_RE.search(text)
    return match.start() if match else 0


def _check_mojibake(report: Report, line: int, where: str, text) -> None:
    if not isinstance(text, str):
        return
    fixed = mojibake_fix(text)
    if fixed is None:
        return
    start = _bad_spot(text, fixed)
    hint = (f"; ftfy repairs it as {fixed[start:start + 20]!r}" if fixed
            else "; bytes were lost, re-export the source as UTF-8")
    report.add(line, "mojibake", f"{where} looks mis-decoded: {text[start:start + 20]!r}{hint}")


def _label_set(labels):
    return None if labels is None else {str(x).strip() for x in labels}


def _check_chat(report: Report, line: int, example, labels) -> None:
    """chat_format's checks, then empty texts, labels and mojibake."""
    problems = chat_format.example_problems(example)
    for problem in problems:
        report.add(line, *problem)
    if problems:
        return
    messages = example["messages"]
    for i, msg in enumerate(messages, 1):
        where = f"message {i}"
        text = chat_format.flatten_content(msg.get("content"))
        if text and not text.strip():
            report.add(line, "empty_text", f"{where} content is only whitespace")
        elif msg["role"] == "user" and isinstance(msg.get("content"), str):
            parsed = parse_prompt(text)  # the course's own prompt: check the text inside it
            if parsed is not None and not parsed.text.strip():
                report.add(line, "empty_text", f"{where} asks to classify an empty text")
        _check_mojibake(report, line, where, text)
    answer = [m for m in messages if m["role"] == "assistant"][-1].get("content")
    if (labels is not None and isinstance(answer, str) and answer.strip()
        and answer.strip() not in labels):
        report.add(line, "unknown_label",
                   f"assistant answer {answer!r:.40} is not one of the labels")


def _check_fields(report: Report, line: int, record, text_field: str, label_field: str,
                  labels) -> None:
    """Table rows: both fields present, text a string, label text or a number."""
    if not isinstance(record, dict):
        report.add(line, "data_type",
                   f"record is a JSON {type(record).__name__}, expected an object")
        return
    missing = [key for key in (text_field, label_field) if record.get(key) is None]
    for key in missing:
        report.add(line, "missing_field", f"field {key!r} is missing")
    if missing:
        return
    text, label = record[text_field], record[label_field]
    if not isinstance(text, str):
        report.add(line, "data_type",
                   f"field {text_field!r} is a {type(text).__name__}, expected text")
        return
    if isinstance(label, (dict, list, bool)):
        report.add(line, "data_type",
                   f"field {label_field!r} is {label!r:.20}, expected text or a number")
        return
    label_text = str(label).strip()
    if not label_text:
        report.add(line, "missing_field", f"field {label_field!r} is empty")
    elif labels is not None and label_text not in labels:
        report.add(line, "unknown_label", f"label {label_text!r} is not one of the labels")
    _check_mojibake(report, line, f"field {text_field!r}", text)
    _check_mojibake(report, line, f"field {label_field!r}", label)


def _check_legacy(report: Report, line: int, record, labels) -> None:
    problems = chat_format.legacy_problems(record)
    for problem in problems:
        report.add(line, *problem)
    if problems:
        return
    for key in ("prompt", "completion"):
        if not record[key].strip():
            report.add(line, "empty_text", f"key {key!r} is empty")
    completion = record["completion"].strip()
    if labels is not None and completion and completion not in labels:
        report.add(line, "unknown_label", f"label {completion!r} is not one of the labels")
    _check_mojibake(report, line, "key 'prompt'", record["prompt"])
    _check_mojibake(report, line, "key 'completion'", record["completion"])


def _duplicate_key(kind: str, record):
    if kind == "chat":
        return json.dumps(record["messages"], sort_keys=True, ensure_ascii=False)
    return (record["prompt"], record["completion"])


def _utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _length_problem(kind: str, record, text_field: str, model: str, limit: int) -> str | None:
    if kind == "legacy":
        chars = len(record["prompt"]) + len(record["completion"])
        if chars > LEGACY_MAX_CHARS:
            return f"prompt+completion is {chars:,} characters (over {LEGACY_MAX_CHARS:,})"
        return None
    example = record if kind == "chat" else {
        "messages": [{"role": "user", "content": record[text_field]}]}
    # A token is at least one byte, so the formula over byte counts bounds the count from
    # above: short examples never need the tokenizer (which takes a second or two to load).
    if chat_format.example_tokens(example, _utf8_bytes) <= limit:
        return None
    tokens = chat_format.example_tokens(example, encoding_for(model))
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


def _has_error(report: Report, since: int) -> bool:
    return any(p.severity == ERROR for p in report.problems[since:])


def _table_data_problems(report: Report, rows: list[tuple[int, dict]], text_field: str,
                         label_field: str, min_class_rows: int | None) -> set[int]:
    """Report what preparation will drop from the error-free rows; return their lines."""
    if not rows:
        return set()
    frame = pd.DataFrame({"text": [r[text_field] for _, r in rows],
                          "label": [str(r[label_field]).strip() for _, r in rows]},
                         index=pd.Index([line for line, _ in rows], name="line"))
    labels.check_label_variants(report, list(zip(frame.index, frame["label"], strict=True)))
    plan = preparation_plan(frame, min_class_rows)
    for drop in plan.drops:
        reason = drop.reason.replace("field 'text'", f"field {text_field!r}")
        report.add(drop.line, drop.rule, reason)
    kept = plan.kept["label"]
    first = {label: line for line, label in reversed(list(kept.items()))}
    labels.check_imbalance(report, plan.class_counts, first)
    return {drop.line for drop in plan.drops}


def validate_file(path, kind: str | None = None, *, text_field: str = "text",
                  label_field: str = "label", labels=None, model: str = DEFAULT_MODEL,
                  max_tokens: int | None = None, min_examples: int | None = None,
                  min_class_rows: int | None = None, keep_data_problems: bool = False):
    """Return ``(valid_rows, report)``; ``valid_rows`` is a list of ``(line, record)``.

    ``kind`` is chat (``{"messages": [...]}``), legacy (``{"prompt", "completion"}``)
    or table (any records with ``text_field`` and ``label_field``); inferred when
    None. ``min_examples`` (default: ``chat_format.MIN_EXAMPLES`` for chat and
    legacy files, off for tables) adds ``too_few_examples`` when fewer rows are
    free of errors; ``min_class_rows`` turns on the rare-class rule for tables.
    ``keep_data_problems=True`` also returns rows whose only findings are data
    problems (for preparation to drop and report). Raises OSError when the file
    cannot be read at all.
    """
    path = str(path)
    report = Report(path)
    records = read_records(path, report)
    kind = kind or infer_kind(path, records)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    report.kind = kind
    if min_examples is None:
        min_examples = 0 if kind == "table" else chat_format.MIN_EXAMPLES
    label_set = _label_set(labels)
    limit = max_tokens or (example_token_limit(model) if kind != "legacy" else None)
    if not records and all(p.code in ("bom", "non_utf8") for p in report.problems):
        report.add(1, "empty_file", "the file holds no records" + (
            "" if kind == "table" else f"; fine-tuning needs at least {chat_format.MIN_EXAMPLES} "
            "examples"))
    seen: dict = {}
    checked: list[tuple[int, object]] = []   # rows without errors
    flagged: set[int] = set()                # lines with a data problem
    for rec in records:
        if rec.value is None:
            continue  # already reported by the reader
        since = len(report.problems)
        try:
            if kind == "chat":
                _check_chat(report, rec.line, rec.value, label_set)
            elif kind == "legacy":
                _check_legacy(report, rec.line, rec.value, label_set)
            else:
                _check_fields(report, rec.line, rec.value, text_field, label_field, label_set)
            if _has_error(report, since):
                continue
            too_long = _length_problem(kind, rec.value, text_field, model, limit)
        except RecursionError:
            report.add(rec.line, "invalid_json", "nested too deeply to check")
            continue
        if too_long:
            report.add(rec.line, "too_long", too_long)
            continue
        if kind != "table":
            key = _duplicate_key(kind, rec.value)
            if key in seen:
                report.add(rec.line, "duplicate_example", f"same as line {seen[key]}")
            seen.setdefault(key, rec.line)
        if len(report.problems) > since:
            flagged.add(rec.line)
        value = rec.value
        if kind == "table" and isinstance(value, dict) and isinstance(value.get(label_field), str):
            # one string object per distinct label instead of one per row (equal values)
            value[label_field] = sys.intern(value[label_field])
        checked.append((rec.line, rec.value))
    n_records = len(records)
    del records  # the rows live on in ``checked``; the Record wrappers can go before dedup
    if kind == "table":
        flagged |= _table_data_problems(report, checked, text_field, label_field, min_class_rows)
    clean = [(line, value) for line, value in checked if line not in flagged]
    if n_records and min_examples and len(checked) < min_examples:
        report.add(1, "too_few_examples", f"{len(checked)} of {plural(n_records, 'record')} "
                   f"{'is a usable example' if len(checked) == 1 else 'are usable examples'}"
                   f"; the fine-tuning service needs at least {min_examples}")
    report.problems.sort(key=lambda problem: problem.line)  # stable: same-line order kept
    return (checked if keep_data_problems else clean), report


def validate_chat(path, **kwargs):
    return validate_file(path, "chat", **kwargs)


def validate_legacy(path, **kwargs):
    return validate_file(path, "legacy", **kwargs)


def validate_table(path, text_field: str = "text", label_field: str = "label", **kwargs):
    return validate_file(path, "table", text_field=text_field, label_field=label_field, **kwargs)
