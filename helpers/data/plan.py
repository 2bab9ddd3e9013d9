"""What preparation drops before splitting, and why: the rules in one place.

``preparation_plan(df, min_class_rows)`` applies, in this order:

1. ``empty_text``: the text is empty or only whitespace;
2. ``duplicate_example``: the text equals an earlier one once whitespace is
   normalised (the earlier row is kept; a different label is named);
3. ``near_duplicate``: character 3-gram Jaccard similarity >= 0.8 with an
   earlier kept text (``helpers.data.dedup``);
4. ``rare_class``: every row of a class left with fewer than
   ``min_class_rows`` rows after steps 1-3;

and says whether at least 2 classes remain. Each dropped row is listed with
its line and reason. The data validator (``validate_file`` on a table), the
course runner's pre-check and ``pipeline.load_data`` all use it, so a dataset
with a few duplicates is prepared, reported, and never refused for them.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pandas as pd

from .dedup import DEFAULT_THRESHOLD
from .prepare import (
    drop_empty_texts,
    drop_exact_duplicates,
    drop_near_duplicates,
    drop_rare_classes,
)
from .report import plural

MIN_CLASSES = 2


def _rows(n: int) -> str:
    return plural(n, "row")


RULES = ("empty_text", "duplicate_example", "near_duplicate", "rare_class")


@dataclass(frozen=True)
class Drop:
    """One row preparation removes: its index label (the source line), the rule and why."""

    line: object
    rule: str
    reason: str


@dataclass
class PreparationPlan:
    rows: int                      # rows given
    min_class_rows: int | None     # None: the rare-class rule is off
    drops: list[Drop]              # in line order
    kept: pd.DataFrame             # the rows left, in their original order
    counts_before: dict            # rows per class as given
    class_counts: dict             # rows per class left after every drop
    rare_classes: dict             # classes dropped as too small: their rows after steps 1-3

    @property
    def ok(self) -> bool:
        """At least 2 classes remain, so there is something to classify."""
        return len(self.class_counts) >= MIN_CLASSES

    def counts(self) -> Counter:
        """Rows dropped per rule."""
        return Counter(d.rule for d in self.drops)

    @property
    def message(self) -> str:
        """'' when ``ok``; else which classes were lost, the rule, and what to do."""
        if self.ok:
            return ""
        n = len(self.class_counts)
        left = ", ".join(f"{k!r} ({_rows(v)})" for k, v in self.class_counts.items())
        text = (f"after preparation {plural(n, 'class', 'classes')} "
                f"remain{'s' if n == 1 else ''}{f' ({left})' if left else ''}; classification "
                f"needs at least {MIN_CLASSES}")
        if self.rare_classes:
            small = ", ".join(f"{k!r} ({_rows(v)})" for k, v in self.rare_classes.items())
            text += (f". Dropped by the rule min_class_rows={self.min_class_rows} (a class needs "
                     f"at least {_rows(self.min_class_rows)} once empty texts and duplicates are "
                     f"removed): {small}. Add rows to these classes or lower min_class_rows")
        return text

    def lines(self, path: str) -> list[str]:
        """``PATH:LINE: rule: reason`` for every dropped row."""
        return [f"{path}:{d.line}: {d.rule}: {d.reason}" for d in self.drops]

    def table(self) -> pd.DataFrame:
        """The drops as a table (line, rule, reason), for a report such as summary.md."""
        return pd.DataFrame([vars(d) for d in self.drops], columns=["line", "rule", "reason"])

    def summary(self) -> str:
        by_rule = ", ".join(f"{r}={self.counts()[r]}" for r in RULES if self.counts()[r])
        dropped = (f"drops {len(self.drops):,} of {_rows(self.rows)} ({by_rule})" if self.drops
                   else f"drops none of {_rows(self.rows)}")
        kept = ", ".join(f"{k!r}={v}" for k, v in self.class_counts.items())
        return (f"preparation {dropped}; {_rows(len(self.kept))} "
                f"remain{'s' if len(self.kept) == 1 else ''} in "
                f"{plural(len(self.class_counts), 'class', 'classes')}: {kept or 'none'}"
                + ("" if self.ok else f". Cannot continue: {self.message}"))


def preparation_plan(df: pd.DataFrame, min_class_rows: int | None, *, text: str = "text",
                     label: str = "label", threshold: float = DEFAULT_THRESHOLD) -> PreparationPlan:
    """What preparation will drop from ``df`` and why, and what remains.

    ``df`` has a ``text`` and a ``label`` column and is indexed by source line
    (as ``load_records`` / ``load_named`` return it); labels are compared as
    strings. ``min_class_rows=None`` turns the rare-class rule off.
    """
    lines = list(df.index)
    frame = pd.DataFrame({"text": df[text].astype(str).to_numpy(),
                          "label": df[label].astype(str).str.strip().to_numpy()})
    labels = frame["label"].tolist()

    def note(first: int, here: int) -> str:
        a, b = labels[first], labels[here]
        return "same label" if a == b else f"label there {a!r}, here {b!r}"

    drops: list[tuple[int, str, str]] = []  # (position, rule, reason)
    kept, removed = drop_empty_texts(frame)
    drops += [(i, "empty_text", f"field {text!r} is {'empty' if not t else 'only whitespace'}")
              for i, t in removed["text"].items()]

    kept, removed = drop_exact_duplicates(kept)
    drops += [(i, "duplicate_example", f"same text as line {lines[first]} ({note(first, i)})")
              for i, first in removed["duplicate_of"].items()]

    kept, removed = drop_near_duplicates(kept, threshold=threshold)
    drops += [(i, "near_duplicate", f"nearly the same text as line {lines[first]} (character "
               f"3-gram Jaccard {score:.2f} >= {threshold}; {note(first, i)})")
              for i, first, score in zip(removed.index, removed["duplicate_of"], removed["jaccard"],
                                         strict=True)]

    rare: dict = {}
    if min_class_rows is not None:
        before = kept
        kept, rare = drop_rare_classes(kept, min_class_rows)
        drops += [(i, "rare_class", f"class {lab!r} has {_rows(rare[lab])} after the drops above, "
                   f"fewer than min_class_rows={min_class_rows}")
                  for i, lab in before["label"].items() if lab in rare]

    drops.sort()
    return PreparationPlan(
        rows=len(frame), min_class_rows=min_class_rows,
        drops=[Drop(lines[i], rule, reason) for i, rule, reason in drops],
        kept=df.iloc[list(kept.index)],
        counts_before=frame["label"].value_counts().sort_index().to_dict(),
        class_counts=kept["label"].value_counts().sort_index().to_dict(),
        rare_classes=rare)
