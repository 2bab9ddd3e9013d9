"""The dirty files in dataset/dirty/ show the row-level problems the validator catches.

File-level codes (empty file, JSON array, delimiter, NUL bytes...) are shown by
tests/test_data_malformed.py on files it writes.
"""
import json

import pytest

from helpers.data import CODES, DATASET_DIR, validate_file

DIRTY = DATASET_DIR / "dirty"
NEWS_NAMES = list(json.loads((DATASET_DIR / "news_zh_labels.json")
                              .read_text(encoding="utf-8")).values())

# file -> (validate_file arguments, {line: code} the file was written to show)
EXPECTED = {
    "news_chat_dirty.jsonl": ({"kind": "chat", "labels": NEWS_NAMES, "min_examples": 0}, {
        1: "bom", 3: "duplicate_example", 4: "invalid_json", 5: "data_type",
        6: "missing_messages_list", 7: "message_missing_key", 8: "message_unrecognized_key",
        9: "unrecognized_role", 10: "missing_content", 11: "example_missing_assistant_message",
        12: "invalid_weight", 13: "empty_text", 14: "unknown_label", 15: "mojibake"}),
    "news_legacy_dirty.jsonl": ({"kind": "legacy", "min_examples": 0, "labels": [
        " car", " sports", " story", " military", " world", " game"]}, {
        3: "duplicate_example", 4: "missing_field", 5: "invalid_json", 6: "data_type",
        7: "empty_text", 8: "too_long", 9: "mojibake", 10: "unknown_label"}),
    "sports_table_dirty.csv": ({"kind": "table", "labels": ["baseball", "hockey"]}, {
        4: "duplicate_example", 5: "bad_csv_row", 6: "empty_text", 7: "missing_field",
        8: "unknown_label", 9: "mojibake"}),
    "reviews_table_dirty.jsonl": ({"kind": "table", "label_field": "stars",
                                   "labels": [1, 2, 3, 4, 5]}, {
        3: "unknown_label", 4: "missing_field", 5: "missing_field", 6: "data_type",
        7: "duplicate_example", 8: "data_type"}),
    "news_table_dirty_gbk.csv": ({"kind": "table", "text_field": "sentence",
                                  "label_field": "label_desc", "labels": [
        "news_car", "news_edu", "news_game", "news_culture"]}, {
        2: "non_utf8", 5: "empty_text", 6: "unknown_label"}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dirty_file_gives_exactly_its_intended_problems(name):
    kwargs, expected = EXPECTED[name]
    valid, report = validate_file(DIRTY / name, **kwargs)
    assert {(p.line, p.code) for p in report.problems} == set(expected.items()), str(report)
    valid_lines = {line for line, _ in valid}
    row_problems = {line for line, code in expected.items() if code not in ("bom", "non_utf8")}
    assert valid_lines and not valid_lines & row_problems
    assert len(valid) + len(row_problems) == report.records  # every row accounted for


@pytest.mark.parametrize("name", ["news_chat_dirty.jsonl", "news_legacy_dirty.jsonl"])
def test_dirty_training_files_are_also_too_small_for_the_service(name):
    kwargs, _ = EXPECTED[name]
    _, report = validate_file(DIRTY / name, **{**kwargs, "min_examples": None})
    assert (1, "too_few_examples") in {(p.line, p.code) for p in report.problems}


FILE_LEVEL = {"nul_byte", "not_json_lines", "csv_delimiter", "near_duplicate", "rare_class",
              "empty_file", "too_few_examples",
              # covered by tests/test_data_files_users_have.py
              "binary_file", "line_endings", "duplicate_column", "label_variants",
              "class_imbalance"}


def test_dirty_files_cover_every_row_level_code():
    covered = {code for _, expected in EXPECTED.values() for code in expected.values()}
    assert covered == set(CODES) - FILE_LEVEL
    assert sorted(p.name for p in DIRTY.iterdir()) == sorted(EXPECTED)
