"""Small views for the data-preparation lesson (notebook 02).

Split sizes per class, how ordered a training file is, the validation reports
of the shipped dirty files (with repository-relative paths, exactly as the
``python -m helpers.data validate`` command prints them), and legacy
prompt/completion records built from a dataset.
"""
from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from .data import CODES, DATASET_DIR, Report, validate_file, write_jsonl

REPO_DIR = DATASET_DIR.parent
DIRTY_DIR = "dataset/dirty"

_NEWS_NAMES = list(json.loads((DATASET_DIR / "news_zh_labels.json").read_text(encoding="utf-8")).values())

# Each shipped dirty file with the validate_file arguments its README line uses.
DIRTY_FILES: dict[str, dict] = {
    "news_chat_dirty.jsonl": {"kind": "chat", "labels": _NEWS_NAMES},
    "news_legacy_dirty.jsonl": {"kind": "legacy", "labels": [
        " car", " sports", " story", " military", " world", " game"]},
    "sports_table_dirty.csv": {"kind": "table", "labels": ["baseball", "hockey"]},
    "reviews_table_dirty.jsonl": {"kind": "table", "label_field": "stars",
                                  "labels": [1, 2, 3, 4, 5]},
    "news_table_dirty_gbk.csv": {"kind": "table", "text_field": "sentence",
                                 "label_field": "label_desc",
                                 "labels": ["news_car", "news_edu", "news_game", "news_culture"]},
}


def split_table(parts: Mapping[str, pd.DataFrame], column: str = "label") -> pd.DataFrame:
    """Rows per class (index) in each split (columns), with a ``total`` row."""
    table = pd.DataFrame({name: df[column].value_counts() for name, df in parts.items()})
    table = table.fillna(0).astype(int).sort_index()
    table.loc["total"] = table.sum()
    return table


def label_switches(labels: Iterable) -> int:
    """How often the label changes from one row to the next."""
    seq = list(labels)
    return sum(a != b for a, b in zip(seq, seq[1:]))


def longest_run(labels: Iterable) -> int:
    """Length of the longest stretch of consecutive rows with the same label."""
    best = run = 0
    previous = object()
    for label in labels:
        run = run + 1 if label == previous else 1
        previous = label
        best = max(best, run)
    return best


def order_summary(frames: Mapping[str, pd.DataFrame], head: int = 12,
                  column: str = "label") -> pd.DataFrame:
    """For each training order: its first ``head`` labels, label switches and longest run."""
    rows = {}
    for name, df in frames.items():
        labels = df[column].tolist()
        rows[name] = {"first labels": " ".join(map(str, labels[:head])),
                      "label switches": label_switches(labels),
                      "longest run": longest_run(labels)}
    return pd.DataFrame(rows).T


def dirty_report(name: str, **overrides) -> Report:
    """Validate ``dataset/dirty/<name>`` with its README arguments.

    Runs from the repository root with a relative path, so the report's lines
    read ``dataset/dirty/NAME:LINE: code: message`` on every machine, like the
    command-line tool run from the root.
    """
    if name not in DIRTY_FILES:
        raise KeyError(f"{name!r} is not a shipped dirty file; known: {', '.join(DIRTY_FILES)}")
    kwargs = {**DIRTY_FILES[name], **overrides}
    with contextlib.chdir(REPO_DIR):
        _, report = validate_file(f"{DIRTY_DIR}/{name}", **kwargs)
    return report


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
