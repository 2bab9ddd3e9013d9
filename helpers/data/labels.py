"""Findings about a table's labels as a whole: one label written several ways, lopsided classes.

``label_variants``: labels that are equal once Unicode width is folded (NFKC:
全角 ``Ｓｐｏｒｔｓ`` = ``Sports``), case is ignored and numbers are read as numbers
(``1`` = ``1.0`` = ``01``) are one label written differently; the course would
treat them as separate classes, so they are an error to fix in the file.

``class_imbalance``: when the largest class has more than ``MAX_IMBALANCE``
(20) times the rows of the smallest (e.g. 3,000 against 21), the small class
is learned and scored poorly; a data finding with the counts, rows are kept.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter

from ..words import plural
from .report import MAX_IMBALANCE, Report

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def label_key(label: str) -> str:
    """What two spellings of one label have in common (width, case, number format folded)."""
    text = unicodedata.normalize("NFKC", label).strip()
    if _NUMBER.fullmatch(text):
        return f"#{float(text)!r}"
    return text.casefold()


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def check_label_variants(report: Report, rows: list[tuple[int, str]]) -> None:
    """One ``label_variants`` error per label written more than one way; ``rows``: (line, label)."""
    first_line: dict[str, int] = {}
    counts: Counter = Counter()
    groups: dict[str, list[str]] = {}
    for line, label in rows:
        counts[label] += 1
        if label not in first_line:
            first_line[label] = line
            groups.setdefault(label_key(label), []).append(label)
    for spellings in groups.values():
        if len(spellings) < 2:
            continue
        shown = _listed([f"{s!r} ({plural(counts[s], 'row')})" for s in spellings])
        common = max(spellings, key=lambda s: counts[s])
        report.add(first_line[spellings[1]], "label_variants",
                   f"labels {shown} look like one label written {len(spellings)} ways (number "
                   "format, case or full/half width); the course would count them as "
                   f"{len(spellings)} classes; write them one way (e.g. {common!r})")


def check_imbalance(report: Report, counts: dict, first_line: dict) -> None:
    """A ``class_imbalance`` data finding when largest/smallest class exceeds MAX_IMBALANCE."""
    if len(counts) < 2:
        return
    big = max(counts, key=counts.get)
    small = min(counts, key=counts.get)
    ratio = counts[big] / counts[small]
    if ratio <= MAX_IMBALANCE:
        return
    report.add(first_line[small], "class_imbalance",
               f"class {small!r} has {plural(counts[small], 'row')} and class {big!r} "
               f"{plural(counts[big], 'row')} ({ratio:,.0f}:1, over {MAX_IMBALANCE}:1)")
