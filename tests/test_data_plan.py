"""The preparation plan: what preparation drops and why, and whether 2 classes remain."""
import csv
import json

import pandas as pd
import pytest

from helpers.data import DATASET_DIR, load_records, preparation_plan, validate_file


def frame(rows, start=1):
    return pd.DataFrame(rows, columns=["text", "label"],
                        index=pd.Index(range(start, start + len(rows)), name="line"))


def test_a_real_1000_row_csv_with_3_duplicates_is_prepared_not_refused(tmp_path):
    news = [json.loads(x) for x in (DATASET_DIR / "news_zh.jsonl").read_text(
        encoding="utf-8").splitlines()][:997]
    rows = news + [news[10], news[500], news[996]]
    path = tmp_path / "news.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["headline", "topic"])
        writer.writeheader()
        writer.writerows({"headline": r["sentence"], "topic": r["label_desc"]} for r in rows)
    df = load_records(path, "headline", "topic")  # no DataFileError: duplicates are data problems
    assert len(df) == 1000 and df.attrs["report"].usable
    plan = preparation_plan(df, min_class_rows=20)
    assert plan.counts()["duplicate_example"] == 3
    assert [d.line for d in plan.drops if d.rule == "duplicate_example"] == [999, 1000, 1001]
    assert plan.ok and len(plan.class_counts) >= 10
    assert len(plan.kept) + len(plan.drops) == plan.rows == 1000  # nothing dropped silently
    assert sum(plan.class_counts.values()) == len(plan.kept)
    assert plan.lines(str(path))[0].startswith(f"{path}:")


def test_rules_in_order_with_reasons():
    df = frame([("Hat trick in the final", "hockey"), ("   ", "hockey"),
                ("Hat trick in the final", "baseball"), ("Hat trick in the final!", "hockey"),
                ("Walk-off homer", "baseball"), ("Grand slam", "baseball"),
                ("Curling final tonight", "curling"), ("Power play goal", "hockey")])
    plan = preparation_plan(df, min_class_rows=2)
    assert [(d.line, d.rule) for d in plan.drops] == [
        (2, "empty_text"), (3, "duplicate_example"), (4, "near_duplicate"), (7, "rare_class")]
    reasons = {d.rule: d.reason for d in plan.drops}
    assert reasons["empty_text"] == "field 'text' is only whitespace"
    assert reasons["duplicate_example"] == ("same text as line 1 (label there 'hockey', "
                                            "here 'baseball')")
    assert reasons["near_duplicate"].startswith("nearly the same text as line 1 (character "
                                                "3-gram Jaccard 0.")
    assert reasons["rare_class"] == ("class 'curling' has 1 row after the drops above, fewer "
                                     "than min_class_rows=2")
    assert plan.class_counts == {"baseball": 2, "hockey": 2}
    assert plan.rare_classes == {"curling": 1}
    assert plan.counts_before == {"baseball": 3, "curling": 1, "hockey": 4}
    assert plan.kept.index.tolist() == [1, 5, 6, 8] and plan.ok and plan.message == ""
    assert plan.table()["rule"].tolist() == ["empty_text", "duplicate_example", "near_duplicate",
                                             "rare_class"]
    assert plan.summary() == ("preparation drops 4 of 8 rows (empty_text=1, duplicate_example=1, "
                              "near_duplicate=1, rare_class=1); 4 rows remain in 2 classes: "
                              "'baseball'=2, 'hockey'=2")


def test_fewer_than_two_classes_left_names_the_classes_and_the_rule():
    df = frame([(f"hockey post {i} " + "abcdefghijklmnop"[i] * 5, "hockey") for i in range(12)]
               + [("one baseball post", "baseball"), ("one baseball post", "baseball"),
                  ("a second baseball post about pitchers", "baseball"),
                  ("tennis", "tennis")])
    plan = preparation_plan(df, min_class_rows=3)
    assert not plan.ok
    assert plan.class_counts == {"hockey": 12}
    assert plan.rare_classes == {"baseball": 2, "tennis": 1}
    assert plan.message == (
        "after preparation 1 class remains ('hockey' (12 rows)); classification needs at "
        "least 2. Dropped by the rule min_class_rows=3 (a class needs at least 3 rows once "
        "empty texts and duplicates are removed): 'baseball' (2 rows), 'tennis' (1 row). Add "
        "rows to these classes or lower min_class_rows")
    assert "Cannot continue" in plan.summary()


def test_rule_off_and_labels_compared_as_strings():
    df = frame([("great film", 5), ("dull plot", "1 "), ("fine cast", "5")])
    plan = preparation_plan(df, None)
    assert plan.drops == [] and plan.class_counts == {"1": 1, "5": 2} and plan.ok
    assert plan.kept.equals(df)


def test_duplicate_lines_in_the_index_are_allowed():
    df = pd.DataFrame({"text": ["a b c d", "a b c d", "x y z w"], "label": ["p", "p", "q"]},
                      index=[1, 1, 1])
    plan = preparation_plan(df, None)
    assert [(d.line, d.rule) for d in plan.drops] == [(1, "duplicate_example")]
    assert len(plan.kept) == 2


def test_the_table_validator_reports_exactly_the_plans_drops(tmp_path):
    path = tmp_path / "t.jsonl"
    rows = [{"text": "Hat trick in the final", "label": "hockey"}, {"text": "", "label": "hockey"},
            {"text": "Hat trick in the final", "label": "hockey"},
            {"text": "Walk-off homer", "label": "baseball"}, {"text": "Curling", "label": "curl"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    _, report = validate_file(path, "table", min_class_rows=1)
    df = load_records(path)
    plan = preparation_plan(df, min_class_rows=1)
    assert [(p.line, p.code, p.message) for p in report.problems] == [
        (d.line, d.rule, d.reason) for d in plan.drops]


@pytest.mark.parametrize("name", ["news_zh", "sports_en", "reviews_en"])
def test_shipped_datasets_lose_only_their_rare_classes(name):
    from helpers.data import load_named

    df, _ = load_named(name)
    plan = preparation_plan(df, min_class_rows=20)
    assert {d.rule for d in plan.drops} <= {"rare_class"}
    assert plan.ok
