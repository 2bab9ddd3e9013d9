"""The removed ``openai tools fine_tunes.prepare_data`` rules, as one pure function.

The CLI left the openai package in v2.35.0; the course still shows what it did
to prompt/completion data. ``prepare_legacy`` applies the rules in the order of
the tool's ``validators.py`` (openai-python 0.28) and reports what each one changed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import pandas as pd

MIN_EXAMPLES = 100
MAX_CHARS = 10_000
PROMPT_SEPARATORS = [" ->", "\n\n###\n\n", "\n\n===\n\n", "\n\n&&&\n\n", "\n\n@@@\n\n",
                     "\n\n***\n\n", "\n\n$$$\n\n"]
COMPLETION_ENDINGS = ["\n", ".", " END", "***", "+++", "&&&", "$$$", "@@@", "%%%"]
MIN_PROMPT_PREFIX = 13  # "over 12 characters"
MIN_COMPLETION_PREFIX = 5
MAX_VALID = 1000


@dataclass
class Step:
    rule: str
    changed: bool
    detail: str

    def __str__(self) -> str:
        return f"[{'changed' if self.changed else 'ok'}] {self.rule}: {self.detail}"


@dataclass
class LegacyReport:
    steps: list[Step] = field(default_factory=list)
    separator: str | None = None
    ending: str | None = None
    classification: bool = False
    n_classes: int = 0
    suggested_flags: str = ""

    def add(self, rule: str, changed: bool, detail: str) -> None:
        self.steps.append(Step(rule, changed, detail))

    def step(self, rule: str) -> Step:
        return next(s for s in self.steps if s.rule == rule)

    def __str__(self) -> str:
        return "\n".join(map(str, self.steps))


def _uppercase_share(texts) -> float:
    # The tool counted str.isalpha() letters, so Chinese characters (alpha, never
    # upper) dilute the share: Chinese prompts are never lowercased.
    letters = upper = 0
    for text in texts:
        for ch in text:
            if ch.isalpha():
                letters += 1
                upper += ch.isupper()
    return upper / letters if letters else 0.0


def _common_ending(texts, options) -> str | None:
    return next((o for o in options if all(t.endswith(o) for t in texts)), None)


def prepare_legacy(records, *, remove_duplicates: bool = True, lowercase: bool | None = None,
                   split: bool = True, seed: int = 42):
    """``(train_records, valid_records, report)`` from prompt/completion records.

    ``lowercase=None`` lowercases a column when over a third of its letters are
    uppercase (the tool's offer, accepted); True/False force it. Raises
    ValueError when a record lacks ``prompt`` or ``completion``.
    """
    report = LegacyReport()
    df = pd.DataFrame(list(records))
    n = len(df)
    report.add("number of examples", False, f"{n} examples" + (
        f"; fewer than {MIN_EXAMPLES}: more examples usually help" if n < MIN_EXAMPLES else ""))

    for column in ("prompt", "completion"):
        if column not in df.columns or df[column].isna().any():
            bad = list(df.index[df[column].isna()]) if column in df.columns else list(range(n))
            raise ValueError(f"records {bad[:10]} have no {column!r}; the tool requires "
                             "'prompt' and 'completion'")
    report.add("required columns", False, "prompt and completion present")

    extra = [c for c in df.columns if c not in ("prompt", "completion")]
    df = df[["prompt", "completion"]].astype(str)
    report.add("extra columns", bool(extra),
               f"removed {', '.join(extra)}" if extra else "none")

    empty = df["completion"].str.strip() == ""
    df = df[~empty]
    report.add("empty completions", bool(empty.sum()), f"dropped {int(empty.sum())}")

    unique = df["completion"].nunique()
    report.classification = unique < len(df) / 3
    report.n_classes = unique if report.classification else 0
    report.add("task type", False,
               f"{'classification' if report.classification else 'generation'}: "
               f"{unique} unique completions in {len(df)} examples")

    if remove_duplicates:
        dup = df.duplicated(keep="first")
        df = df[~dup]
        report.add("duplicates", bool(dup.sum()), f"removed {int(dup.sum())}")
    else:
        report.add("duplicates", False, f"kept {int(df.duplicated().sum())} (removal off)")

    lengths = df["prompt"].str.len() + df["completion"].str.len()
    long_rows = list(df.index[lengths > MAX_CHARS])
    report.add("long examples", False, f"{len(long_rows)} over {MAX_CHARS:,} characters"
               + (f" (rows {long_rows[:10]})" if long_rows else ""))

    for column in ("prompt", "completion"):
        share = _uppercase_share(df[column])
        do = lowercase if lowercase is not None else share > 1 / 3
        if do:
            df[column] = df[column].str.lower()
        report.add(f"lowercase {column}", bool(do), f"{share:.0%} of letters uppercase")

    existing = _common_ending(df["prompt"], PROMPT_SEPARATORS)
    if existing:
        report.separator = existing
        report.add("prompt separator", False, f"prompts already end with {existing!r}")
    else:
        has_newline = df["prompt"].str.contains("\n", regex=False).any()
        options = [s for s in PROMPT_SEPARATORS if not (s == " ->" and has_newline)]
        sep = next((s for s in options if not df["prompt"].str.contains(s, regex=False).any()),
                   None)
        if sep is None:
            report.add("prompt separator", False, "every candidate separator occurs in some prompt")
        else:
            df["prompt"] = df["prompt"] + sep
            report.separator = sep
            report.add("prompt separator", True, f"added {sep!r}")

    prefix = os.path.commonprefix(df["prompt"].tolist()) if len(df) > 1 else ""
    if len(prefix) >= MIN_PROMPT_PREFIX and (df["prompt"].str.len() > len(prefix)).all():
        df["prompt"] = df["prompt"].str[len(prefix):]
        report.add("common prompt prefix", True, f"removed {prefix!r}")
    else:
        report.add("common prompt prefix", False, "none long enough")
    prefix = os.path.commonprefix(df["completion"].tolist()) if len(df) > 1 else ""
    if len(prefix) >= MIN_COMPLETION_PREFIX and (df["completion"].str.len() > len(prefix)).all():
        df["completion"] = df["completion"].str[len(prefix):]
        report.add("common completion prefix", True, f"removed {prefix!r}")
    else:
        report.add("common completion prefix", False, "none long enough")

    existing = _common_ending(df["completion"], COMPLETION_ENDINGS)
    if report.classification:
        # The tool skipped endings for classification: its prepared files kept bare labels.
        report.add("completion ending", False, "not needed for classification")
    elif existing:
        report.ending = existing
        report.add("completion ending", False, f"completions already end with {existing!r}")
    else:
        end = next((e for e in COMPLETION_ENDINGS
                    if not df["completion"].str.contains(e, regex=False).any()), None)
        if end is not None:
            df["completion"] = df["completion"] + end
            report.ending = end
        report.add("completion ending", end is not None,
                   f"added {end!r}" if end else "every candidate ending occurs in some completion")

    needs_space = ~df["completion"].str.startswith((" ", "\n"))
    df.loc[needs_space, "completion"] = " " + df.loc[needs_space, "completion"]
    report.add("leading space", bool(needs_space.sum()),
               f"added to {int(needs_space.sum())} completions")

    train, valid = df, df.iloc[0:0]
    if split and report.classification and len(df) > 1:
        n = len(df)
        n_train = min(n - 1, max(n - MAX_VALID, int(0.8 * n)))
        from sklearn.model_selection import train_test_split

        train, valid = train_test_split(df, train_size=n_train, random_state=seed)
        classes = df["completion"].nunique()
        if classes == 2:
            positive = sorted(df["completion"].unique())[0]
            report.suggested_flags = f"--classification_positive_class \"{positive}\""
        else:
            report.suggested_flags = f"--classification_n_classes {classes}"
        report.add("train/valid split", True,
                   f"{len(train)} train, {len(valid)} valid (seed {seed}); "
                   f"suggested flags: {report.suggested_flags}")
    else:
        report.add("train/valid split", False, "no split (not classification, or split off)")
    return train.to_dict("records"), valid.to_dict("records"), report
