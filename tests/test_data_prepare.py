"""Label maps, rare classes, duplicates, stratified split, shuffling, chat JSONL."""
import json

import pandas as pd
import pytest

from helpers.data import (
    apply_label_map,
    chat_rows,
    drop_exact_duplicates,
    drop_near_duplicates,
    drop_rare_classes,
    entity_chat_example,
    entity_legacy_example,
    near_duplicate_pairs,
    order_by_label,
    shuffle,
    split,
    validate_file,
    write_chat_jsonl,
)
from helpers.prompts import messages, parse_prompt


def frame(counts):
    rows = [{"text": f"{label} text number {i} " + "x" * i, "label": label}
            for label, n in counts.items() for i in range(n)]
    return pd.DataFrame(rows, index=pd.Index(range(1, len(rows) + 1), name="line"))


def test_split_is_deterministic_and_stratified():
    df = frame({"a": 50, "b": 30, "c": 20})
    first = split(df, seed=7)
    again = split(df, seed=7)
    other = split(df, seed=8)
    for x, y in zip(first, again, strict=True):
        assert x.index.tolist() == y.index.tolist()
    assert first[2].index.tolist() != other[2].index.tolist()
    train, valid, test = first
    assert (len(train), len(valid), len(test)) == (70, 10, 20)
    assert set(train.index) | set(valid.index) | set(test.index) == set(df.index)
    assert test["label"].value_counts().to_dict() == {"a": 10, "b": 6, "c": 4}
    assert valid["label"].value_counts().to_dict() == {"a": 5, "b": 3, "c": 2}


def test_split_names_classes_too_small_to_stratify():
    with pytest.raises(ValueError, match=r"'news_stock' \(2 rows\)"):
        split(frame({"news_tech": 40, "news_stock": 2}))


def test_drop_rare_classes_reports_what_it_dropped():
    kept, dropped = drop_rare_classes(frame({"a": 20, "b": 3}), min_count=5)
    assert dropped == {"b": 3}
    assert set(kept["label"]) == {"a"}


def test_label_map_refuses_unmapped_labels():
    df = frame({"news_tech": 2, "news_game": 1})
    assert apply_label_map(df, {"news_tech": "科技", "news_game": "游戏"})["label"].tolist() == [
        "科技", "科技", "游戏"]
    with pytest.raises(ValueError, match="news_game"):
        apply_label_map(df, {"news_tech": "科技"})


def test_exact_and_near_duplicates():
    df = pd.DataFrame({"text": ["国产大模型又出新玩家，这次能打吗？",
                                " 国产大模型又出新玩家，这次能打吗？\n",
                                "国产大模型又出新玩家，这次能打吗", "小米澎湃OS全量推送时间表曝光"],
                       "label": ["t"] * 4})
    kept, removed = drop_exact_duplicates(df)
    assert removed.index.tolist() == [1]
    kept, removed = drop_near_duplicates(kept)
    assert removed.index.tolist() == [2] and removed["duplicate_of"].tolist() == [0]
    assert kept.index.tolist() == [0, 3]


def test_near_duplicate_pairs_match_a_direct_jaccard():
    texts = ["the quick brown fox jumps", "the quick brown fox jumped", "a slow green turtle",
             "the quick brown fox", "x"]

    def jaccard(a, b):
        ga = {a.replace(" ", "")[i:i + 3] for i in range(len(a.replace(" ", "")) - 2)}
        gb = {b.replace(" ", "")[i:i + 3] for i in range(len(b.replace(" ", "")) - 2)}
        return len(ga & gb) / len(ga | gb) if ga | gb else 0

    expected = [(i, j) for i in range(5) for j in range(i + 1, 5)
                if jaccard(texts[i], texts[j]) >= 0.7]
    got = near_duplicate_pairs(texts, threshold=0.7, block=2)  # small blocks exercise the chunking
    assert [(i, j) for i, j, _ in got] == expected and expected


def test_shuffle_is_deterministic_and_order_by_label_groups():
    df = frame({"a": 5, "b": 5})
    assert shuffle(df, 3).index.tolist() == shuffle(df, 3).index.tolist()
    assert shuffle(df, 3).index.tolist() != shuffle(df, 4).index.tolist()
    mixed = shuffle(df, 3)
    grouped = order_by_label(mixed)
    assert grouped["label"].tolist() == ["a"] * 5 + ["b"] * 5
    assert grouped[grouped.label == "a"].index.tolist() == mixed[mixed.label == "a"].index.tolist()


def test_chat_rows_use_the_zero_shot_prompt_and_label_names(tmp_path):
    df = pd.DataFrame({"text": ["华为发布新芯片", "男篮大胜"],
                       "label": ["news_tech", "news_sports"]})
    names = {"news_tech": "科技", "news_sports": "体育"}
    rows = chat_rows(df, label_map=names, system=True)
    assert rows[0]["messages"][:2] == messages("华为发布新芯片", ["科技", "体育"], "zh",
                                               system=True)
    assert [r["messages"][-1] for r in rows] == [{"role": "assistant", "content": "科技"},
                                                 {"role": "assistant", "content": "体育"}]
    assert parse_prompt(rows[1]["messages"][1]["content"]).text == "男篮大胜"
    path = write_chat_jsonl(tmp_path / "train.jsonl", df, label_map=names)
    valid, report = validate_file(path, labels=["科技", "体育"], min_examples=0)
    assert report.ok and len(valid) == 2
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_entity_examples():
    chat = entity_chat_example("李明在杭州开会", ["李明", "杭州"], ["人名", "地名"], "zh")
    assert chat["messages"][1] == {"role": "assistant", "content": "李明\n杭州"}
    assert "人名、地名" in chat["messages"][0]["content"]
    legacy = entity_legacy_example("Portugal left the UK list.", ["Portugal", "UK"])
    assert legacy == {"prompt": "Portugal left the UK list.\n\n###\n\n",
                      "completion": " Portugal\nUK END"}
    assert json.loads(json.dumps(chat, ensure_ascii=False)) == chat  # JSONL-safe
