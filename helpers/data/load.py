"""Load the course's named datasets and any JSON / JSON-lines / CSV file the same way.

Every loader returns a DataFrame with a ``text`` and a ``label`` column (label
as a string) followed by the file's original columns, indexed by the source
line number (``line``), so a row can always be traced back to its file.
An original column literally named ``text`` or ``label`` that is not the
chosen field is kept as ``text_original`` / ``label_original``.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import chat_format
from .report import DataFileError, Report
from .validate import validate_table

DATASET_DIR = Path(__file__).resolve().parents[2] / "dataset"


@dataclass(frozen=True)
class DatasetSpec:
    """What a named dataset is: where it lives and how to read its columns."""

    name: str
    file: str
    text_field: str
    label_field: str
    language: str
    label_map: dict = field(default_factory=dict)  # raw label -> name shown to the model

    @property
    def path(self) -> Path:
        return DATASET_DIR / self.file

    @property
    def labels(self) -> list[str]:
        return list(self.label_map)

    @property
    def label_names(self) -> list[str]:
        return list(self.label_map.values())


def _news_labels() -> dict:
    return json.loads((DATASET_DIR / "news_zh_labels.json").read_text(encoding="utf-8"))


def spec(name: str) -> DatasetSpec:
    """The spec of a named dataset: news_zh, sports_en or reviews_en."""
    if name == "news_zh":
        return DatasetSpec("news_zh", "news_zh.jsonl", "sentence", "label_desc", "zh",
                           _news_labels())
    if name == "sports_en":
        return DatasetSpec("sports_en", "sports_en.jsonl", "text", "label", "en",
                           {"baseball": "baseball", "hockey": "hockey"})
    if name == "reviews_en":
        return DatasetSpec("reviews_en", "reviews_en.jsonl", "text", "stars", "en",
                           {str(s): str(s) for s in range(1, 6)})
    raise KeyError(f"no dataset named {name!r}; choose one of {', '.join(NAMES)}")


NAMES = ("news_zh", "sports_en", "reviews_en")


def to_frame(rows, text_field: str, label_field: str) -> pd.DataFrame:
    """DataFrame from ``(line, record)`` pairs: ``text``, ``label``, then the originals."""
    lines = [line for line, _ in rows]
    originals = pd.DataFrame([record for _, record in rows],
                             index=pd.Index(lines, name="line"))
    renames = {c: f"{c}_original" for c in ("text", "label")
               if c in originals.columns and c not in (text_field, label_field)}
    originals = originals.rename(columns=renames)
    front = pd.DataFrame({
        "text": [record[text_field] for _, record in rows],
        "label": [str(record[label_field]).strip() for _, record in rows],
    }, index=originals.index)
    rest = originals.drop(columns=[c for c in ("text", "label") if c in originals.columns])
    return pd.concat([front, rest], axis=1)


def load_named(name: str) -> tuple[pd.DataFrame, DatasetSpec]:
    """A dataset shipped in ``dataset/``, and its spec.

    Read with ``chat_format.json_lines`` (UTF-8, split on "\\n" only, lines
    numbered as in the file); a bad line raises DataFileError naming it.
    """
    ds = spec(name)
    if not ds.path.is_file():
        raise FileNotFoundError(f"{ds.path}: shipped dataset {name!r} is missing")
    rows, report = [], Report(str(ds.path))
    for line, value in chat_format.json_lines(ds.path.read_text(encoding="utf-8")):
        if isinstance(value, chat_format.LineError):
            report.add(line, *value.problem)
        else:
            rows.append((line, value))
    if report.problems:
        raise DataFileError(report)
    return to_frame(rows, ds.text_field, ds.label_field), ds


def load_records(path, text_field: str = "text", label_field: str = "label", *,
                 labels=None, on_error: str = "raise") -> pd.DataFrame:
    """Any JSON (array or object of records), JSON-lines or CSV file as a DataFrame.

    Rows are validated first. Errors (malformed rows, missing fields, a wrong
    encoding...): with ``on_error="raise"`` they raise ``DataFileError`` listing
    every ``file:line: code: message``; with ``"warn"`` those rows are left
    out and a warning names them. Rows with data problems only (empty texts,
    duplicates) are kept: ``preparation_plan`` drops and reports them. The full
    report is in ``df.attrs["report"]``.
    """
    if on_error not in ("raise", "warn"):
        raise ValueError("on_error must be 'raise' or 'warn'")
    rows, report = validate_table(path, text_field, label_field, labels=labels,
                                  keep_data_problems=True)
    if report.errors and on_error == "raise":
        raise DataFileError(report)
    if report.errors:
        warnings.warn(f"{report.summary()}; rows with errors were skipped, all are listed in "
                      "df.attrs['report']:\n" + "\n".join(map(str, report.errors[:10])),
                      stacklevel=2)
    if not rows:
        df = pd.DataFrame({"text": pd.Series(dtype=str), "label": pd.Series(dtype=str)})
        df.index.name = "line"
    else:
        df = to_frame(rows, text_field, label_field)
    df.attrs["report"] = report
    return df
