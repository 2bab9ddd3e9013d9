"""Check a course dataset before any notebook runs, with the rules the notebooks apply.

Errors stop the run: the file cannot be read or parsed, a field is missing,
the encoding is wrong, a label map does not name a class, a label cannot be
listed in a prompt (``helpers.prompts.label_problems``), or fewer than 2
classes survive preparation. Data problems do not: the pre-check reads and
plans the rows with ``helpers.data.load_prepared`` — the call
``pipeline.load_data`` makes, with the same ``pipeline.MIN_CLASS_ROWS``; the
result is stored in the run's work directory so the notebooks reuse this one
pass — and so knows what will be dropped and why (empty texts, exact and near
duplicates, classes under ``pipeline.MIN_CLASS_ROWS``); the runner prints that and writes it into
``summary.md`` and ``preparation.txt``. Nothing is dropped silently.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .. import pipeline, prompts
from ..data import NAMES, DataFileError, load_prepared, spec
from ..data.sources import NotReadable, check_path
from .paths import relative

MAX_SHOWN = 50  # report lines printed before "... and N more"
RULE_NAMES = {"empty_text": "empty texts", "duplicate_example": "exact duplicates",
              "near_duplicate": "near duplicates", "rare_class": "rare class"}
RULE_WHY = {"empty_text": "the text is empty or only whitespace",
            "duplicate_example": "the same text as an earlier row (the first one is kept)",
            "near_duplicate": "nearly the same text as an earlier row (character 3-gram "
                              "Jaccard >= 0.8; the first one is kept)"}


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
    label_counts: dict    # raw label -> rows as read
    label_map: dict       # raw label -> display name ({} when none)
    preparation: dict = field(default_factory=dict)  # see ``preparation_report``
    drop_lines: tuple = ()  # ``FILE:LINE: rule: reason`` for every row preparation drops

    @property
    def labels(self) -> list[str]:
        return sorted(self.label_counts)

    @property
    def rows(self) -> int:
        return sum(self.label_counts.values())

    @property
    def labels_kept(self) -> list[str]:
        """Display names of the classes preparation keeps (what the notebooks will list)."""
        return list(self.preparation.get("labels_kept") or
                    [self.label_map.get(x, x) for x in self.labels])

    @property
    def shown(self) -> str:
        return self.dataset if self.named else str(self.path)

    def shown_from(self, base) -> str:
        """The dataset's name, or its path relative to ``base`` (for the run directory's files)."""
        return self.dataset if self.named else relative(self.path, base)


def _named_names() -> tuple[str, ...]:
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


def _limited(lines: list[str], tail: str) -> list[str]:
    shown = lines[:MAX_SHOWN]
    more = len(lines) - MAX_SHOWN
    if more > 0:
        shown.append(f"... and {more} more")
    return [*shown, tail]


def preparation_report(plan, mapping: dict) -> dict:
    """The plan as plain JSON for summary.json: rows, rows kept, labels kept, drops grouped
    by why."""
    drops = []
    for rule in ("empty_text", "duplicate_example", "near_duplicate"):
        lines = [d.line for d in plan.drops if d.rule == rule]
        if lines:
            listed = ", ".join(map(str, lines[:10])) + (" …" if len(lines) > 10 else "")
            word = "line" if len(lines) == 1 else "lines"
            drops.append({"rule": rule, "what": RULE_NAMES[rule], "rows": len(lines),
                          "why": f"{RULE_WHY[rule]}; {word} {listed}"})
    for label, rows in plan.rare_classes.items():
        drops.append({"rule": "rare_class", "what": f"class {mapping.get(label, label)!r}",
                      "rows": rows, "why": f"fewer than min_class_rows={plan.min_class_rows} "
                                          "rows after the drops above"})
    kept = sorted(plan.class_counts)
    return {"rows": plan.rows, "rows_kept": len(plan.kept), "min_class_rows": plan.min_class_rows,
            "labels_kept": [mapping.get(x, x) for x in kept], "drops": drops}


def check_dataset(dataset: str, text_field: str | None = None, label_field: str | None = None,
                  label_map=None, work_dir=None) -> CheckedDataset:
    """Validate the file and plan its preparation; raise DatasetError if it cannot be used.

    ``dataset`` is a shipped name (news_zh, sports_en, reviews_en) or a path to a
    JSON, JSON-lines or CSV file. Fields default to the shipped spec, or to
    ``text`` / ``label`` for a file. The rows and plan are stored in ``work_dir``
    (default: ``COURSE_WORK_DIR``, which the runner sets to the run's work
    directory) for the notebooks' ``pipeline.load_data`` to reuse.
    """
    work_dir = work_dir or os.environ.get("COURSE_WORK_DIR")
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
        text_field = text_field or "text"
        label_field = label_field or "label"
        if not os.path.lexists(os.path.expanduser(dataset)):
            names = ", ".join(_named_names())
            raise DatasetError([f"{dataset}: no such file (and not a shipped dataset: {names})"])
        try:  # a directory, FIFO, symlink loop or unreadable file: say which
            check_path(os.path.expanduser(dataset))
        except NotReadable as err:
            raise DatasetError([f"{dataset}: cannot read the dataset: it is {err.what}"]) from None
        path = Path(dataset).expanduser().resolve()
    if label_map is not None:
        mapping = _read_label_map(label_map)
    try:  # as the notebooks read it, and stored for them in the run's work directory
        raw, plan = load_prepared(dataset if named else str(path), text_field, label_field,
                                  pipeline.MIN_CLASS_ROWS, work_dir=work_dir)
    except DataFileError as err:
        report = err.report
        raise DatasetError(_limited([report.annotated(p) for p in report.errors],
                                    report.summary())) from None
    except OSError as err:
        raise DatasetError([f"{path}: cannot read the dataset ({err.strerror})"]) from None
    counts = Counter(raw["label"])
    if not plan.ok:
        raise DatasetError([f"{path}: {plan.message}"])
    kept = sorted(plan.class_counts)
    if mapping:
        missing = [x for x in kept if x not in mapping]
        if missing:
            where = label_map if label_map is not None else path
            raise DatasetError([f"{where}: unknown_label: the label map has no name for "
                                f"{', '.join(map(repr, missing))} (labels in {path.name})"])
    problems = prompts.label_problems([mapping.get(x, x) for x in kept])
    if problems:
        raise DatasetError([f"{path}: label_unusable: {p}; rename it in the data or with "
                            "--label-map" for p in problems])
    return CheckedDataset(dataset=dataset if named else str(path), named=named, path=path,
                          text_field=text_field, label_field=label_field,
                          label_counts=dict(sorted(counts.items())), label_map=mapping,
                          preparation=preparation_report(plan, mapping),
                          drop_lines=tuple(plan.lines(path.name)))
