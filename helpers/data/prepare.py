"""Preparation steps between loading and fine-tuning; each returns what it removed."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .. import chat_format
from ..prompts import detect_language, messages
from .dedup import DEFAULT_THRESHOLD, near_duplicate_matches
from .report import plural

MIN_ROWS_PER_CLASS_TO_SPLIT = 3  # one row in each of train, valid and test


def read_label_map(path) -> dict:
    """A JSON object mapping raw labels to the names shown to the model."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def apply_label_map(df: pd.DataFrame, mapping: dict, column: str = "label") -> pd.DataFrame:
    """Copy of ``df`` with ``column`` mapped; unmapped labels raise instead of becoming NaN."""
    missing = sorted(set(df[column]) - set(mapping))
    if missing:
        raise ValueError(f"labels without a name in the label map: {', '.join(map(repr, missing))}")
    out = df.copy()
    out[column] = out[column].map(mapping)
    return out


def class_counts(df: pd.DataFrame, column: str = "label") -> dict:
    return df[column].value_counts().sort_index().to_dict()


def drop_rare_classes(df: pd.DataFrame, min_count: int, column: str = "label"):
    """``(kept, dropped)``: rows of classes with at least ``min_count`` rows, and
    ``{label: count}`` of the classes removed."""
    counts = df[column].value_counts()
    rare = counts[counts < min_count]
    return df[~df[column].isin(rare.index)], rare.sort_index().to_dict()


def _normalise(text) -> str:
    text = str(text)
    joined = " ".join(text.split())
    return text if joined == text else joined  # the same string, not a copy, when unchanged


def _normalised(texts: pd.Series) -> pd.Series:
    """Whitespace runs made one space, ends stripped; a text already so is kept, not copied
    (a second copy of nearly every text was held while exact duplicates were sought)."""
    return texts.map(_normalise)


def drop_empty_texts(df: pd.DataFrame, column: str = "text"):
    """``(kept, removed)``: rows whose text is empty or only whitespace."""
    empty = _normalised(df[column]) == ""
    return df[~empty], df[empty]


def drop_exact_duplicates(df: pd.DataFrame, column: str = "text"):
    """``(kept, removed)``: later rows whose text equals an earlier one (whitespace-normalised).

    ``removed`` has a ``duplicate_of`` column: the index of the row kept.
    """
    norm = _normalised(df[column])
    dup = norm.duplicated(keep="first")
    first: dict = {}
    for index, text in zip(df.index, norm, strict=True):
        first.setdefault(text, index)
    removed = df[dup].copy()
    removed["duplicate_of"] = [first[t] for t in norm[dup]]
    return df[~dup], removed


def drop_near_duplicates(df: pd.DataFrame, column: str = "text",
                         threshold: float = DEFAULT_THRESHOLD):
    """``(kept, removed)``; ``removed`` has ``duplicate_of`` (index of the kept row) and
    ``jaccard`` (their character 3-gram similarity)."""
    drop = near_duplicate_matches(df[column].tolist(), threshold)
    positions = sorted(drop)
    removed = df.iloc[positions].copy()
    removed["duplicate_of"] = [df.index[drop[p][0]] for p in positions]
    removed["jaccard"] = [drop[p][1] for p in positions]
    keep = [p for p in range(len(df)) if p not in drop]
    return df.iloc[keep], removed


def split(df: pd.DataFrame, seed: int = 42, valid_size: float = 0.1, test_size: float = 0.2,
          column: str = "label"):
    """Deterministic stratified ``(train, valid, test)``; same seed, same split.

    Raises ValueError naming the classes that are too small to appear in every
    split (drop them first with ``drop_rare_classes``).
    """
    counts = df[column].value_counts()
    small = counts[counts < MIN_ROWS_PER_CLASS_TO_SPLIT]
    if len(small):
        listed = ", ".join(f"{k!r} ({plural(v, 'row')})" for k, v in small.sort_index().items())
        raise ValueError(f"cannot stratify: classes need at least "
                         f"{plural(MIN_ROWS_PER_CLASS_TO_SPLIT, 'row')} each; too few in {listed}; "
                         "use drop_rare_classes() first")
    from sklearn.model_selection import train_test_split  # slow import, only when used

    try:
        rest, test = train_test_split(df, test_size=test_size, random_state=seed,
                                      stratify=df[column])
        train, valid = train_test_split(rest, test_size=valid_size / (1 - test_size),
                                        random_state=seed, stratify=rest[column])
    except ValueError as err:
        raise ValueError(f"cannot stratify {plural(len(df), 'row')} in "
                         f"{plural(len(counts), 'class', 'classes')} with "
                         f"valid_size={valid_size}, test_size={test_size}: {err}") from err
    return train, valid, test


def shuffle(df: pd.DataFrame, seed: int = 42) -> pd.DataFrame:
    """Rows in a random order that depends only on ``seed``."""
    return df.sample(frac=1.0, random_state=seed)


def order_by_label(df: pd.DataFrame, column: str = "label") -> pd.DataFrame:
    """Rows grouped by label, original order kept within a label: the "unshuffled"
    training file of the "shuffle your data" lesson (a published real run: 32%
    accuracy unshuffled against 63% shuffled)."""
    return df.sort_values(column, kind="stable")


def chat_example(text: str, answer: str, labels, lang: str = "zh", system: bool = False) -> dict:
    """One fine-tuning example: the zero-shot prompt, and the label name as the reply."""
    return {"messages": [*messages(text, labels, lang, system=system),
                         {"role": "assistant", "content": answer}]}


def chat_rows(df: pd.DataFrame, label_map: dict | None = None, labels=None,
              lang: str | None = None, system: bool = False) -> list[dict]:
    """Chat examples for every row; labels are shown to the model after ``label_map``."""
    label_map = label_map or {}
    names = df["label"].map(lambda x: label_map.get(x, x))
    labels = list(labels) if labels is not None else (
        list(dict.fromkeys(label_map.values())) or sorted(names.unique()))
    lang = lang or detect_language(df["text"].tolist())
    return [chat_example(t, a, labels, lang, system)
            for t, a in zip(df["text"], names, strict=True)]


def write_jsonl(path, rows) -> Path:
    """Write JSON lines as UTF-8, atomically (``chat_format.write_json_lines``, the one writer).

    Not ``pnlp.write_list_dict_to_file``: it opens the file in the platform's
    default encoding, which writes GBK on Chinese Windows.
    """
    return chat_format.write_json_lines(path, rows)


def write_chat_jsonl(path, df: pd.DataFrame, **kwargs) -> Path:
    return write_jsonl(path, chat_rows(df, **kwargs))


ENTITY_PROMPTS = {
    "zh": "从给定文本中找出所有实体，实体类型为：{kinds}。每行写一个实体。\n\n"
          "给定文本：\n{text}\n实体：",
    "en": "List every entity of these types in the text: {kinds}. One entity per line.\n\n"
          "Text:\n{text}\nEntities:",
}
ENTITY_KIND_SEPARATORS = {"zh": "、", "en": ", "}
LEGACY_ENTITY_SEPARATOR = "\n\n###\n\n"
LEGACY_ENTITY_END = " END"


def entity_chat_example(text: str, entities, kinds, lang: str = "zh") -> dict:
    """Chat fine-tuning example for entity extraction: one entity per reply line."""
    prompt = ENTITY_PROMPTS[lang].format(kinds=ENTITY_KIND_SEPARATORS[lang].join(kinds), text=text)
    return {"messages": [{"role": "user", "content": prompt},
                         {"role": "assistant", "content": "\n".join(entities)}]}


def entity_legacy_example(text: str, entities) -> dict:
    """The legacy prompt/completion shape: separator after the text, " END" after the list."""
    return {"prompt": text + LEGACY_ENTITY_SEPARATOR,
            "completion": " " + "\n".join(entities) + LEGACY_ENTITY_END}
