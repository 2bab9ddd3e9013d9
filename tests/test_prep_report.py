"""Views used by notebook 02: split tables, training order, dirty-file reports."""
import pandas as pd

from helpers import prep_report as L
from helpers.data import CODES


def test_split_table_counts_each_class_per_split():
    parts = {"train": pd.DataFrame({"label": list("aab")}), "test": pd.DataFrame({"label": ["c"]})}
    table = L.split_table(parts)
    assert table.loc["a", "train"] == 2 and table.loc["a", "test"] == 0
    assert table.loc["c", "test"] == 1
    assert table.loc["total"].tolist() == [3, 1]


def test_order_measures():
    assert L.label_switches("aabbbca") == 3
    assert L.longest_run("aabbbca") == 3
    assert L.longest_run([]) == 0 and L.label_switches([]) == 0
    summary = L.order_summary({"x": pd.DataFrame({"label": list("aab")})}, head=2)
    assert summary.loc["x", "first labels"] == "a a"
    assert summary.loc["x", "label switches"] == 1


def test_dirty_reports_use_relative_paths_and_cover_every_code():
    reports = [L.dirty_report(name) for name in L.DIRTY_FILES]
    for report in reports:
        assert report.path.startswith("dataset/dirty/")
        assert all(str(p).startswith(report.path + ":") for p in report.problems)
    table = L.code_table(reports)
    assert list(table.index) == list(CODES)
    # file-level codes (and near duplicates, rare classes) are shown by tests/test_data_malformed.py
    file_level = ["nul_byte", "not_json_lines", "csv_delimiter", "near_duplicate", "rare_class",
                  "empty_file"]
    assert (table["total"].drop(file_level) >= 1).all()
    assert table.loc["bom", "news_chat_dirty.jsonl"] == 1
    assert table.loc["non_utf8", "news_table_dirty_gbk.csv"] == 1


def test_check_examples_reports_under_the_given_name():
    good = {"messages": [{"role": "user", "content": "hi"},
                         {"role": "assistant", "content": "a", "weight": 0},
                         {"role": "assistant", "content": "b"}]}
    bad = {"messages": [{"role": "user", "content": "hi", "weight": 1},
                        {"role": "assistant", "content": "a"}]}
    report = L.check_examples([good, bad], name="w.jsonl", kind="chat")
    assert [(p.path, p.line, p.code) for p in report.problems] == [
        ("w.jsonl", 1, "too_few_examples"), ("w.jsonl", 2, "invalid_weight")]


def test_legacy_records_rename_and_keep_extra_columns():
    df = pd.DataFrame({"text": ["t1"], "label": ["news_tech"], "keywords": ["k"], "other": [1]})
    assert L.legacy_records(df, extra=["keywords"]) == [
        {"prompt": "t1", "completion": "news_tech", "keywords": "k"}]
    assert L.legacy_records(df, extra=None) == [
        {"prompt": "t1", "completion": "news_tech", "keywords": "k", "other": 1}]
