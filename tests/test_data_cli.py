"""`python -m helpers.data validate`: exit codes, one `PATH:LINE: code: message` line per
problem."""
import json
import re
import subprocess
import sys

import pytest

from helpers.data.__main__ import main

LINE = re.compile(r"^(?P<path>.+):(?P<line>\d+): (?P<code>[a-z0-9_]+): (?P<message>.+)$")


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_clean_file_exits_0(tmp_path, capsys):
    path = write(tmp_path / "ok.jsonl", [{"text": "Hat trick!", "label": "hockey"},
                                         {"text": "Bases loaded walk.", "label": "baseball"}])
    assert main(["validate", str(path), "--kind", "table", "--labels", "hockey", "baseball"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [f"{path}: 2 records, no problems"]


def test_data_problems_say_what_preparation_does_and_still_exit_1(tmp_path, capsys):
    rows = [{"text": f"Post number {i}: " + "xyz"[i % 3] * (i + 2), "label": "hockey" if i % 2 else
             "baseball"} for i in range(12)]
    path = write(tmp_path / "d.jsonl", rows + [rows[3], {"text": "Curling", "label": "curling"}])
    assert main(["validate", str(path), "--min-class-rows", "2"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out[:-1] == [
        f"{path}:13: duplicate_example: same text as line 4 (same label) [data problem: "
        "preparation drops this row]",
        f"{path}:14: rare_class: class 'curling' has 1 row after the drops above, fewer than "
        "min_class_rows=2 [data problem: preparation drops this row]"]
    assert out[-1] == (f"{path}: 2 problems in 14 records (duplicate_example=1, rare_class=1): "
                       "2 data problems (preparation drops these rows and reports them)")


def test_problems_exit_1_with_one_line_each_and_a_count(tmp_path, capsys):
    path = write(tmp_path / "bad.jsonl", [{"text": "Hat trick!", "label": "hockey"},
                                          {"text": "", "label": "hockey"},
                                          {"text": "Curling final", "label": "curling"}])
    assert main(["validate", str(path), "--labels", "hockey", "baseball"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    parsed = [LINE.match(line) for line in out[:-1]]
    assert all(parsed), out
    assert [(m["path"], int(m["line"]), m["code"]) for m in parsed] == [
        (str(path), 2, "empty_text"), (str(path), 3, "unknown_label")]
    assert out[-1].startswith(f"{path}: 2 problems in 3 records")
    assert out[-1].endswith("1 error to fix before the file can be used; 1 data problem "
                            "(preparation drops this row)")


def test_missing_file_and_bad_usage_exit_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["validate", str(tmp_path), "--kind", "chat"]) == 2  # a directory
    assert main(["validate", str(write(tmp_path / "x.jsonl", [])), "--model", "unknown-model"]) == 2
    try:
        main(["validate", "x.jsonl", "--kind", "poem"])
    except SystemExit as exit_:
        assert exit_.code == 2
    else:
        raise AssertionError("argparse accepted a bad --kind")


@pytest.mark.slow
def test_runs_as_a_module(tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "helpers.data", "validate", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stdout.splitlines()[:2] == [
        f"{path}:1: example_missing_assistant_message: no assistant message",
        f"{path}:1: too_few_examples: 0 of 1 record are usable examples; the fine-tuning "
        "service needs at least 10"]


def test_a_label_may_contain_a_comma(tmp_path, capsys):
    path = write(tmp_path / "comma.jsonl",
                 [{"text": "Shares rallied.", "label": "Business, Finance"},
                                            {"text": "A late goal.", "label": "Sports"}])
    assert main(["validate", str(path), "--kind", "table", "--labels", "Business, Finance",
                 "Sports"]) == 0
    assert main(["validate", str(path), "--kind", "table", "--labels", "Business", "Sports"]) == 1
    assert "unknown_label" in capsys.readouterr().out
