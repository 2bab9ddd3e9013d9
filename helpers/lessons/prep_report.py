"""Views and demo files for the data-preparation lesson (notebook 02).

The rules live elsewhere: what a chat example is in ``helpers.chat_format``,
the validator and the preparation plan in ``helpers.data``. This module lays
their results out as tables, validates a dataset so that its report names the
file and not a folder on one machine, and writes the deliberately broken copies
of the learner's own data that the lesson validates (so the lesson reads the
same on any dataset). Each broken copy comes with the list of what was planted
on which line, to compare with what the validator finds.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from .. import chat_format
from ..data import (
    CODES,
    NAMES,
    SEVERITY,
    Report,
    chat_example,
    spec,
    validate_file,
    validate_table,
    write_jsonl,
)

# ------------------------------------------------------------ format checks

def format_checks(cases: Mapping[str, object]) -> pd.DataFrame:
    """For each named example: the codes ``chat_format.example_problems`` finds, and why.

    ``problems`` is "" for an example the fine-tuning format accepts.
    """
    rows = []
    for name, example in cases.items():
        found = chat_format.example_problems(example)
        rows.append({"case": name, "problems": ", ".join(p.code for p in found),
                     "first message": found[0].message if found else ""})
    return pd.DataFrame(rows).set_index("case")


def severity_table(codes: Iterable[str] | None = None) -> pd.DataFrame:
    """Each validator code with its severity ("error" or "data") and meaning, errors first."""
    codes = list(codes or CODES)
    frame = pd.DataFrame({"severity": [SEVERITY[c] for c in codes],
                          "meaning": [CODES[c] for c in codes]},
                         index=pd.Index(codes, name="code"))
    return frame.sort_values("severity", kind="stable", key=lambda s: s != "error")


def problem_table(report: Report) -> pd.DataFrame:
    """A report's findings (line, code, severity, message) as a table."""
    rows = [{"line": p.line, "code": p.code, "severity": p.severity, "message": p.message}
            for p in report.problems]
    return pd.DataFrame(rows, columns=["line", "code", "severity", "message"])


# ------------------------------------------------------------ the learner's dataset

def dataset_file(dataset: str, text_field: str | None = None,
                 label_field: str | None = None) -> tuple[Path, str, str]:
    """``(path, text field, label field)`` of a shipped dataset name or a data file."""
    if dataset in NAMES and not Path(dataset).exists():
        ds = spec(dataset)
        return ds.path, text_field or ds.text_field, label_field or ds.label_field
    return Path(dataset), text_field or "text", label_field or "label"


def validate_dataset(dataset: str, text_field: str | None = None, label_field: str | None = None,
                     *, min_class_rows: int | None = None) -> Report:
    """``helpers.data.validate_table`` on the dataset, reported under its file name.

    Validates from the file's folder, so every line reads ``NAME:LINE: code:
    message`` whatever folder the file is in.
    """
    path, text_field, label_field = dataset_file(dataset, text_field, label_field)
    with contextlib.chdir(path.resolve().parent):
        _, report = validate_table(path.name, text_field, label_field,
                                   min_class_rows=min_class_rows)
    return report


def plan_overview(plan, lines: int = 5) -> pd.DataFrame:
    """Per preparation rule: rows dropped, their first ``lines`` lines, and one reason."""
    table = plan.table()
    rows = []
    for rule, group in table.groupby("rule", sort=False):
        shown = ", ".join(map(str, group["line"].head(lines)))
        more = f" … (+{len(group) - lines})" if len(group) > lines else ""
        rows.append({"rule": rule, "rows": len(group), "lines": shown + more,
                     "first reason": group["reason"].iloc[0]})
    return pd.DataFrame(rows, columns=["rule", "rows", "lines", "first reason"]).set_index("rule")


def label_table(rows: pd.DataFrame, label_map: Mapping[str, str], column: str = "label",
                ) -> pd.DataFrame:
    """Each raw label, the name the model is shown (itself when unmapped) and its rows."""
    counts = rows[column].value_counts().sort_index()
    return pd.DataFrame({"shown_to_model": [label_map.get(k, k) for k in counts.index],
                         "rows": counts.to_numpy()}, index=pd.Index(counts.index, name=column))


# ------------------------------------------------------------ splits and order

def split_table(parts: Mapping[str, pd.DataFrame], column: str = "label") -> pd.DataFrame:
    """Rows per class (index) in each split (columns), with a ``total`` row."""
    table = pd.DataFrame({name: df[column].value_counts() for name, df in parts.items()})
    table = table.fillna(0).astype(int).sort_index()
    table.loc["total"] = table.sum()
    return table


def label_switches(labels: Iterable) -> int:
    """How often the label changes from one row to the next."""
    seq = list(labels)
    return sum(a != b for a, b in zip(seq, seq[1:], strict=False))


def longest_run(labels: Iterable) -> int:
    """Length of the longest stretch of consecutive rows with the same label."""
    best = run = 0
    previous = object()
    for label in labels:
        run = run + 1 if label == previous else 1
        previous = label
        best = max(best, run)
    return best


def order_summary(frames: Mapping[str, pd.DataFrame], head: int = 6,
                  column: str = "label") -> pd.DataFrame:
    """For each training order: its first ``head`` labels, label switches and longest run."""
    rows = {}
    for name, df in frames.items():
        labels = df[column].tolist()
        rows[name] = {"first labels": " | ".join(map(str, labels[:head])),
                      "label switches": label_switches(labels),
                      "longest run": longest_run(labels)}
    return pd.DataFrame(rows).T


# ------------------------------------------------------------ deliberately broken copies

def _one_line(text) -> str:
    return " ".join(str(text).split())


def broken_table(rows: pd.DataFrame, path, text: str = "text", label: str = "label",
                 ) -> pd.DataFrame:
    """Write a CSV of ``rows``' first texts and labels with problems planted; return them.

    Needs at least 4 rows. Texts are put on one line each, so a CSV record is
    one file line. Planted: a duplicate and an empty text (data problems), an
    empty label, a row with a third field and an unknown label (errors).
    """
    pairs = [(_one_line(t), str(lab)) for t, lab in zip(rows[text], rows[label], strict=True)][:4]
    if len(pairs) < 4:
        raise ValueError("broken_table needs at least 4 rows")
    planted = [  # (row written, code the validator should report, what was done)
        ([*pairs[0]], "", "a row as it is in the dataset"),
        ([*pairs[1]], "", "a row as it is in the dataset"),
        ([*pairs[0]], "duplicate_example", "the row of line 2 again"),
        (["", pairs[2][1]], "empty_text", "the text left empty"),
        ([pairs[2][0], ""], "missing_field", "the label left empty"),
        ([pairs[3][0], pairs[3][1], "extra"], "bad_csv_row", "a third field"),
        ([pairs[3][0] + " (copy edited)", "no such label"], "unknown_label",
         "a label the dataset does not have"),
    ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["text", "label"])
        for row, _, _ in planted:
            writer.writerow(row)
    return pd.DataFrame([{"line": i, "planted": code, "what": what}
                         for i, (_, code, what) in enumerate(planted, 2)]).set_index("line")


def broken_chat_file(examples: Sequence[dict], path, labels: Sequence[str],
                     lang: str = "zh") -> pd.DataFrame:
    """Write a chat JSONL built from ``examples`` with problems planted; return them.

    Needs at least 10 examples (a file needs 10 usable ones). The file starts
    with a UTF-8 byte-order mark; lines 3-7 carry format errors, lines 8-9 data
    problems; the rest are valid, among them a ``developer`` message, content as
    a list of parts and an assistant ``tool_calls`` turn with null content.
    """
    if len(examples) < 10:
        raise ValueError("broken_chat_file needs at least 10 examples")
    ex = [json.loads(json.dumps(e)) for e in examples[:10]]  # deep copies
    user, answer = ex[0]["messages"][0], ex[0]["messages"][-1]

    def dump(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    extra_key = json.loads(dump(ex[5]))
    extra_key["messages"][-1]["confidence"] = 0.9
    developer = {"messages": [{"role": "developer", "content": "Answer with the label only."},
                              *ex[7]["messages"]]}
    parts = json.loads(dump(ex[8]))
    parts["messages"][0]["content"] = [{"type": "text", "text": parts["messages"][0]["content"]}]
    tool = {"messages": [ex[9]["messages"][0],
                         {"role": "assistant", "content": None, "tool_calls": [
                             {"id": "call_1", "type": "function", "function": {
                                 "name": "lookup_label", "arguments": "{}"}}]},
                         {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
                         ex[9]["messages"][-1]]}
    planted = [  # (line text, code the validator should report, what was done)
        (dump(ex[0]), "bom", "the file starts with a UTF-8 byte-order mark"),
        (dump(ex[1]), "", "a valid example"),
        (dump(ex[2])[:-3], "invalid_json", "the line cut short"),
        (dump({"messages": [{**user, "role": "human"}, answer]}), "unrecognized_role",
         "role 'human' instead of 'user'"),
        (dump({"messages": [user, {**answer, "weight": 2}]}), "invalid_weight", "weight 2"),
        (dump({"messages": [user]}), "example_missing_assistant_message", "no assistant message"),
        (dump(extra_key), "message_unrecognized_key", "an extra key 'confidence'"),
        (dump(ex[1]), "duplicate_example", "the example of line 2 again"),
        (dump(chat_example("", answer["content"], labels, lang)), "empty_text",
         "the course prompt around an empty text"),
        (dump(ex[3]), "", "a valid example"),
        (dump(ex[4]), "", "a valid example"),
        (dump(ex[6]), "", "a valid example"),
        (dump(developer), "", "valid: a developer message first"),
        (dump(parts), "", "valid: content as a list of text parts"),
        (dump(tool), "", "valid: assistant tool_calls with null content, then a tool message"),
    ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(text + "\n" for text, _, _ in planted)
    path.write_bytes(codecs.BOM_UTF8 + body.encode("utf-8"))
    return pd.DataFrame([{"line": i, "planted": code, "what": what}
                         for i, (_, code, what) in enumerate(planted, 1)]).set_index("line")


def planted_vs_found(planted: pd.DataFrame, report: Report) -> pd.DataFrame:
    """Each planted line beside the codes the validator reported there, and their severity."""
    found: dict[int, list[str]] = {}
    for problem in report.problems:
        found.setdefault(problem.line, []).append(problem.code)
    out = planted.copy()
    out["found"] = [", ".join(found.get(line, [])) for line in out.index]
    out["severity"] = [", ".join(sorted({SEVERITY[c] for c in found.get(line, [])}))
                       for line in out.index]
    return out[["planted", "found", "severity", "what"]]


def code_table(reports: Iterable[Report]) -> pd.DataFrame:
    """Problems per code (rows: every code in ``CODES``) and file (columns), plus the meaning."""
    reports = list(reports)
    table = pd.DataFrame({Path(r.path).name: pd.Series(r.counts(), dtype=int) for r in reports},
                         index=list(CODES)).fillna(0).astype(int)
    table["total"] = table.sum(axis=1)
    table["meaning"] = [CODES[c] for c in table.index]
    table.index.name = "code"
    return table


def check_examples(examples: list, name: str = "examples.jsonl", **kwargs) -> Report:
    """Validate in-memory records as if they were the JSONL file ``name``.

    The file goes to a temporary folder that is the working directory while
    validating, so the report shows ``name`` and no temporary path.
    """
    with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
        write_jsonl(name, examples)
        _, report = validate_file(name, **kwargs)
    return report


def legacy_records(df: pd.DataFrame, text: str = "text", label: str = "label",
                   extra: Iterable[str] | None = ()) -> list[dict]:
    """``{"prompt", "completion", *extra}`` records: the shape the removed tool read.

    ``extra=None`` keeps every other column of ``df`` (a whole exported table).
    """
    if extra is None:
        extra = [c for c in df.columns if c not in (text, label)]
    columns = df[[text, label, *extra]].rename(columns={text: "prompt", label: "completion"})
    return columns.to_dict("records")
