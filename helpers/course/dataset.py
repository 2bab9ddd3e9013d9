"""Check a course dataset before any notebook runs: fields, rows, labels, label map."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

MAX_SHOWN = 50  # report lines printed before "... and N more"


class DatasetError(ValueError):
    """The dataset cannot be used; ``lines`` are the messages to show, one per line."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass(frozen=True)
class CheckedDataset:
    dataset: str          # a shipped name, or the absolute path of the file
    named: bool
    path: Path
    text_field: str
    label_field: str
    label_counts: dict    # raw label -> rows
    label_map: dict       # raw label -> display name ({} when none)

    @property
    def labels(self) -> list[str]:
        return sorted(self.label_counts)

    @property
    def rows(self) -> int:
        return sum(self.label_counts.values())


def _named_names() -> tuple[str, ...]:
    from ..data import NAMES

    return NAMES


def _read_label_map(path) -> dict:
    """Like ``helpers.data.read_label_map``, but checks the shape and names file and line."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise DatasetError([f"{path}: cannot read the label map ({err.strerror})"]) from None
    except json.JSONDecodeError as err:
        raise DatasetError([f"{path}:{err.lineno}: invalid_json: {err.msg} "
                            f"at column {err.colno}"]) from None
    if not isinstance(data, dict) or not data:
        raise DatasetError([f"{path}:1: data_type: a label map is a JSON object "
                            '{"raw label": "name shown to the model", ...}'])
    bad = [k for k, v in data.items() if not isinstance(v, str) or not v.strip()]
    if bad:
        raise DatasetError([f"{path}: data_type: label map value for {k!r} is not a non-empty "
                            "string" for k in bad])
    return {str(k).strip(): v.strip() for k, v in data.items()}


def _report_lines(report) -> list[str]:
    shown = [str(p) for p in report.problems[:MAX_SHOWN]]
    more = len(report.problems) - MAX_SHOWN
    if more > 0:
        shown.append(f"... and {more} more")
    return [*shown, report.summary()]


def check_dataset(dataset: str, text_field: str | None = None, label_field: str | None = None,
                  label_map=None) -> CheckedDataset:
    """Validate every row (``helpers.data``) and the labels; raise DatasetError if unusable.

    ``dataset`` is a shipped name (news_zh, sports_en, reviews_en) or a path to a
    JSON, JSON-lines or CSV file. Fields default to the shipped spec, or to
    ``text`` / ``label`` for a file.
    """
    from ..data import spec, validate_table

    named = dataset in _named_names() and not Path(dataset).exists()
    mapping: dict = {}
    if named:
        ds = spec(dataset)
        path = ds.path
        text_field = text_field or ds.text_field
        label_field = label_field or ds.label_field
        mapping = dict(ds.label_map)
        if not path.is_file():
            raise DatasetError([f"{path}: the shipped dataset {dataset!r} is missing from this "
                                "checkout"])
    else:
        path = Path(dataset).expanduser().resolve()
        text_field = text_field or "text"
        label_field = label_field or "label"
        if not path.is_file():
            names = ", ".join(_named_names())
            raise DatasetError([f"{dataset}: no such file (and not a shipped dataset: {names})"])
    if label_map is not None:
        mapping = _read_label_map(label_map)
    try:
        valid, report = validate_table(str(path), text_field, label_field)
    except OSError as err:
        raise DatasetError([f"{path}: cannot read the dataset ({err.strerror})"]) from None
    if report.problems:
        raise DatasetError(_report_lines(report))
    counts = Counter(str(rec[label_field]).strip() for _, rec in valid)
    if len(counts) < 2:
        only = f"only the label {next(iter(counts))!r}" if counts else "no rows"
        raise DatasetError([f"{path}: {only} in field {label_field!r}; classification needs "
                            "at least 2 labels"])
    if mapping:
        missing = sorted(set(counts) - set(mapping))
        if missing:
            where = label_map if label_map is not None else path
            raise DatasetError([f"{where}: unknown_label: the label map has no name for "
                                f"{', '.join(map(repr, missing))} (labels in {path.name})"])
    return CheckedDataset(dataset=dataset if named else str(path), named=named, path=path,
                          text_field=text_field, label_field=label_field,
                          label_counts=dict(sorted(counts.items())), label_map=mapping)
