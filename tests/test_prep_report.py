"""Views and broken demo files used by notebook 02."""
import pandas as pd
import pytest

from helpers import chat_format, data
from helpers.lessons import prep_report as L


def _frame(n=12):
    words = ["apple", "harbour", "violin", "glacier", "tractor", "comet", "lantern", "orchid",
             "canyon", "pepper", "satellite", "marble", "falcon", "copper", "meadow", "thunder"]
    texts = [f"{words[i % 16]} {words[(i * 7 + 3) % 16]} story {i}: " + words[(i * 5 + 1) % 16] * 2
             for i in range(n)]
    return pd.DataFrame({"text": texts, "label": [f"Label, {i % 3}" for i in range(n)]},
                        index=pd.Index(range(2, n + 2), name="line"))


def _examples(n=12):
    df = _frame(n)
    return data.chat_rows(df, labels=sorted(set(df["label"])), lang="en")


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
    summary = L.order_summary({"x": pd.DataFrame({"label": ["a, b", "a, b", "c"]})}, head=2)
    assert summary.loc["x", "first labels"] == "a, b | a, b"  # labels with commas stay readable
    assert summary.loc["x", "label switches"] == 1


def test_format_checks_name_each_code_and_accept_the_2026_format():
    user = {"role": "user", "content": "text"}
    answer = {"role": "assistant", "content": "A"}
    cases = {
        "plain": {"messages": [user, answer]},
        "developer": {"messages": [{"role": "developer", "content": "be brief"}, user, answer]},
        "parts": {"messages": [{"role": "user", "content": [{"type": "text", "text": "t"}]},
                               answer]},
        "tool call": {"messages": [user, {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "r"}, answer]},
        "weight on user": {"messages": [{**user, "weight": 1}, answer]},
        "human": {"messages": [{**user, "role": "human"}, answer]},
    }
    table = L.format_checks(cases)
    assert table.loc[["plain", "developer", "parts", "tool call"], "problems"].tolist() == [""] * 4
    assert table.loc["weight on user", "problems"] == "invalid_weight"
    assert table.loc["human", "problems"] == "unrecognized_role"
    assert "human" in table.loc["human", "first message"]


def test_severity_table_lists_every_code_errors_first():
    table = L.severity_table()
    assert set(table.index) == set(data.CODES)
    assert table.loc["duplicate_example", "severity"] == "data"
    assert table.loc["invalid_json", "severity"] == "error"
    first_data = list(table["severity"]).index("data")
    assert set(table["severity"].iloc[first_data:]) == {"data"}


def test_validate_dataset_reports_under_the_file_name(tmp_path):
    folder = tmp_path / "deep" / "folder"
    path = L.broken_table(_frame(), folder / "mine.csv")
    report = L.validate_dataset(str(folder / "mine.csv"), min_class_rows=None)
    assert report.path == "mine.csv"
    assert all(str(p).startswith("mine.csv:") for p in report.problems)
    assert path.index.name == "line"


def test_broken_table_plants_errors_that_block_and_data_problems_that_do_not(tmp_path):
    rows = _frame()
    planted = L.broken_table(rows, tmp_path / "broken.csv")
    labels = sorted(set(rows["label"]))
    _, report = data.validate_table(tmp_path / "broken.csv", labels=labels)
    compared = L.planted_vs_found(planted, report)
    assert (compared["planted"] == compared["found"]).all(), compared
    assert compared.loc[compared["planted"] == "duplicate_example", "severity"].item() == "data"
    assert compared.loc[compared["planted"] == "bad_csv_row", "severity"].item() == "error"
    with pytest.raises(data.DataFileError) as err:
        data.load_records(tmp_path / "broken.csv", labels=labels)
    assert {p.code for p in err.value.report.errors} == {"missing_field", "bad_csv_row",
                                                         "unknown_label"}


def test_broken_chat_file_plants_what_the_validator_finds(tmp_path):
    examples = _examples()
    labels = sorted({ex["messages"][-1]["content"] for ex in examples})
    planted = L.broken_chat_file(examples, tmp_path / "broken.jsonl", labels, "en")
    _, report = data.validate_file(tmp_path / "broken.jsonl", "chat")
    compared = L.planted_vs_found(planted, report)
    assert (compared["planted"] == compared["found"]).all(), compared
    assert set(compared.loc[compared["planted"] == "", "found"]) == {""}  # new-style lines valid
    assert compared.loc[9, "severity"] == "data" and compared.loc[4, "severity"] == "error"
    with pytest.raises(ValueError, match="10 examples"):
        L.broken_chat_file(examples[:9], tmp_path / "short.jsonl", labels, "en")


def test_plan_overview_and_label_table():
    rows = _frame(30)
    rows.loc[40] = [rows["text"].iloc[0], rows["label"].iloc[0]]      # a duplicate
    rows.loc[41] = ["", "Label, 1"]                                   # an empty text
    plan = data.preparation_plan(rows, min_class_rows=5)
    overview = L.plan_overview(plan)
    assert overview.loc["duplicate_example", "rows"] == 1
    assert overview.loc["empty_text", "lines"] == "41"
    table = L.label_table(plan.kept, {"Label, 0": "zero"})
    assert table.loc["Label, 0", "shown_to_model"] == "zero"
    assert table.loc["Label, 1", "shown_to_model"] == "Label, 1"  # unmapped: shown as it is
    assert table["rows"].sum() == len(plan.kept)


def test_check_examples_reports_under_the_given_name():
    good = {"messages": [{"role": "user", "content": "hi"},
                         {"role": "assistant", "content": "a", "weight": 0},
                         {"role": "assistant", "content": "b"}]}
    bad = {"messages": [{"role": "user", "content": "hi", "weight": 1},
                        {"role": "assistant", "content": "a"}]}
    report = L.check_examples([good, bad], name="w.jsonl", kind="chat")
    assert [(p.path, p.line, p.code) for p in report.problems] == [
        ("w.jsonl", 1, "too_few_examples"), ("w.jsonl", 2, "invalid_weight")]


def test_code_table_covers_every_code():
    report = data.Report("x.jsonl")
    report.add(3, "bom", "m")
    table = L.code_table([report])
    assert list(table.index) == list(data.CODES) and table.loc["bom", "x.jsonl"] == 1


def test_legacy_records_rename_and_keep_extra_columns():
    df = pd.DataFrame({"text": ["t1"], "label": ["news_tech"], "keywords": ["k"], "other": [1]})
    assert L.legacy_records(df, extra=["keywords"]) == [
        {"prompt": "t1", "completion": "news_tech", "keywords": "k"}]
    assert L.legacy_records(df, extra=None) == [
        {"prompt": "t1", "completion": "news_tech", "keywords": "k", "other": 1}]


def test_examples_used_here_are_valid_chat_examples():
    assert all(chat_format.example_problems(ex) == [] for ex in _examples())
