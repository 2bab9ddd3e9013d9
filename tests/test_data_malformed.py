"""Malformed files never crash the validator and never pass: one finding per problem, then on.

Each file is written to a temporary folder by the test. Besides the exact
findings, every case checks that the lines around the bad one are still read.
"""
import codecs
import json
import re
import subprocess
import sys

import pytest

from helpers.data import load_records, validate_file
from helpers.data.__main__ import main

LINE = re.compile(r"^(?P<path>.+):(?P<line>\d+): (?P<code>[a-z0-9_]+): (?P<message>.+)$")


def chat(i):
    return json.dumps({"messages": [{"role": "user", "content": f"Classify headline number {i}"},
                                    {"role": "assistant", "content": "sports"}]})


def row(i, label="sports"):
    return json.dumps({"text": f"headline {i} " + "abcdefghij"[i % 10] * (i + 1), "label": label})


CHATS = [chat(i) for i in range(12)]
TABLE_JSONL = "".join(row(i) + "\n" for i in range(4))
CSV_ROWS = "text,label\nGoal in the last minute,sports\nRates fall again,finance\n"


def text_file(*lines):
    return ("\n".join(lines) + "\n").encode("utf-8")


# (name, file name, content, kind, kwargs, {(line, code)}, lines that must come back valid)
CASES = [
    ("line nested 50k deep", "a.jsonl",
     text_file(CHATS[0], '{"messages": ' + "[" * 50_000 + "]" * 50_000 + "}", *CHATS[1:11]),
     "chat", {}, {(2, "invalid_json")}, [1, 3, 12]),
    ("integer of 5,000 digits", "a.jsonl",
     text_file(CHATS[0], '{"messages": [], "n": ' + "9" * 5000 + "}", *CHATS[1:11]),
     "chat", {}, {(2, "invalid_json")}, [1, 3, 12]),
    ("NaN literal", "a.jsonl", text_file(*CHATS[:5], CHATS[5].replace('"sports"', "NaN"),
                                         *CHATS[6:11]),
     "chat", {}, {(6, "invalid_json")}, [5, 7]),
    ("Infinity and -Infinity", "t.jsonl",
     (TABLE_JSONL + '{"text": "x", "label": Infinity}\n{"text": "y", "label": -Infinity}\n'
      ).encode(), "table", {}, {(5, "invalid_json"), (6, "invalid_json")}, [1, 4]),
    ("float too large", "t.jsonl", (TABLE_JSONL + '{"text": "x", "label": 1e999}\n').encode(),
     "table", {}, {(5, "invalid_json")}, [1, 4]),
    ("NUL byte in JSON lines", "a.jsonl",
     text_file(*CHATS[:3], CHATS[3].replace("headline", "head\x00line"), *CHATS[4:11]),
     "chat", {}, {(4, "nul_byte")}, [3, 5]),
    ("NUL byte in CSV", "t.csv", (CSV_ROWS + "Chip\x00 sales up,tech\nNew coach named,sports\n"
                                  ).encode(), "table", {}, {(4, "nul_byte")}, [2, 3, 5]),
    ("CSV field over 131,072 characters", "t.csv",
     (CSV_ROWS + "\"" + "long text " * 20_000 + "\",sports\nLast row,tech\n").encode(), "table",
     {}, set(), [2, 3, 4, 5]),
    ("CSV field too long for the model", "t.csv",
     (CSV_ROWS + "\"" + "word " * 70_000 + "\",sports\nLast row,tech\n").encode(), "table",
     {}, {(4, "too_long")}, [2, 3, 5]),
    ("empty JSON-lines file", "a.jsonl", b"", "chat", {}, {(1, "empty_file")}, []),
    ("whitespace-only file", "a.jsonl", b"\n  \n\n", "chat", {}, {(1, "empty_file")}, []),
    ("CSV with a header only", "t.csv", b"text,label\n", "table", {}, {(1, "empty_file")}, []),
    ("UTF-8 BOM and nothing else", "a.jsonl", codecs.BOM_UTF8, "chat", {},
     {(1, "bom"), (1, "empty_file")}, []),
    ("two examples", "a.jsonl", text_file(*CHATS[:2]), "chat", {}, {(1, "too_few_examples")},
     [1, 2]),
    ("twelve lines, nine usable", "a.jsonl",
     text_file(*CHATS[:9], "{oops", '"text"', "[1, 2]"), "chat", {},
     {(1, "too_few_examples"), (10, "invalid_json"), (11, "data_type"), (12, "data_type")},
     list(range(1, 10))),
    ("blank lines inside", "a.jsonl", text_file(*CHATS[:5], "", *CHATS[5:10], "  ", CHATS[10]),
     "chat", {}, {(6, "invalid_json"), (12, "invalid_json")}, [5, 7, 13]),
    ("JSON array in a JSON-lines file", "a.jsonl",
     json.dumps([json.loads(c) for c in CHATS[:11]], indent=2).encode(), "chat", {},
     {(1, "not_json_lines")}, None),
    ("one-line JSON array in a JSON-lines file", "t.jsonl",
     json.dumps([json.loads(row(i)) for i in range(3)]).encode(), "table", {},
     {(1, "not_json_lines")}, [1]),
    ("broken JSON array in a JSON-lines file", "a.jsonl",
     ("[\n" + ",\n".join(CHATS[:11]) + ",\n").encode(), "chat", {},
     {(1, "not_json_lines"), (13, "invalid_json")}, []),
    ("NaN inside a JSON array", "t.json",
     ("[\n" + ",\n".join([row(0), '{"text": "x", "label": NaN}', row(2)]) + "\n]\n").encode(),
     "table", {}, {(3, "invalid_json")}, [2, 4]),
    ("huge integer inside a JSON object of records", "t.json",
     ('{\n"a": {"text": "first", "label": "x"},\n"b": {"text": "second", "label": '
      + "1" * 4400 + "},\n\"c\": {\"text\": \"third\", \"label\": \"y\"}\n}\n").encode(),
     "table", {}, {(3, "invalid_json")}, [2, 4]),
    ("JSON document nested too deep", "t.json",
     ("[\n" + row(0) + ",\n" + "[" * 50_000 + "]" * 50_000 + "\n]\n").encode(), "table", {},
     {(3, "invalid_json")}, []),
    ("semicolon-separated CSV", "t.csv",
     b"text;label\nGoal in the last minute;sports\nRates fall, again;finance\n", "table",
     {}, {(1, "csv_delimiter")}, [2, 3]),
    ("tab-separated .csv", "t.csv", b"text\tlabel\nGoal\tsports\nRates\tfinance\n",
     "table", {}, {(1, "csv_delimiter")}, [2, 3]),
    ("UTF-16 LE with BOM", "t.csv", CSV_ROWS.encode("utf-16"), "table", {}, {(1, "non_utf8")},
     [2, 3]),
    ("UTF-16 BE with BOM", "t.jsonl", codecs.BOM_UTF16_BE + TABLE_JSONL.encode("utf-16-be"),
     "table", {}, {(1, "non_utf8")}, [1, 4]),
    ("UTF-16 LE without BOM", "t.jsonl", TABLE_JSONL.encode("utf-16-le"), "table", {},
     {(1, "non_utf8")}, [1, 4]),
    ("UTF-16 BE without BOM, Chinese", "t.csv", "text,label\n股市大涨,财经\n男篮夺冠,体育\n".encode(
        "utf-16-be"), "table", {}, {(1, "non_utf8")}, [2, 3]),
    ("UTF-32 LE with BOM", "t.jsonl", TABLE_JSONL.encode("utf-32"), "table", {},
     {(1, "non_utf8")}, [1, 4]),
    ("UTF-32 BE without BOM", "a.jsonl", "\n".join(CHATS[:11]).encode("utf-32-be"), "chat", {},
     {(1, "non_utf8")}, [1, 11]),
    ("unterminated CSV quote", "t.csv", (CSV_ROWS + '"Never closed,sports\nMore,tech\n').encode(),
     "table", {}, {(4, "bad_csv_row")}, [2, 3]),
]


@pytest.mark.parametrize("name,filename,content,kind,kwargs,expected,valid_lines", CASES,
                         ids=[c[0] for c in CASES])
def test_malformed_file(tmp_path, name, filename, content, kind, kwargs, expected, valid_lines):
    path = tmp_path / filename
    path.write_bytes(content)
    valid, report = validate_file(path, kind, **kwargs)  # never raises
    assert {(p.line, p.code) for p in report.problems} == expected, str(report)
    if valid_lines is not None:
        got = [line for line, _ in valid]
        assert set(valid_lines) <= set(got), got
    assert all(LINE.match(report.annotated(p)) for p in report.problems)
    assert report.ok == (not expected)


def test_at_least_twenty_malformed_files():
    assert sum(bool(c[5]) for c in CASES) >= 20


def test_the_json_array_in_a_jsonl_file_is_one_line_and_its_rows_are_read(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(CASES[16][2])
    valid, report = validate_file(path, "chat")
    assert [p.code for p in report.problems] == ["not_json_lines"]
    assert len(valid) == 11 and "one per line" in report.problems[0].message


def test_encoding_messages_say_how_to_convert(tmp_path):
    for content, name in ((TABLE_JSONL.encode("utf-16-le"), "UTF-16LE"),
                          (TABLE_JSONL.encode("utf-16"), "UTF-16"),
                          (TABLE_JSONL.encode("utf-32-be"), "UTF-32BE")):
        path = tmp_path / "t.jsonl"
        path.write_bytes(content)
        _, report = validate_file(path, "table")
        message = report.problems[0].message
        assert f"iconv -f {name} -t UTF-8" in message and f"encoding='{name.lower()}'" in message


def test_the_delimiter_is_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(CASES[22][2])
    valid, report = validate_file(path, "table")
    assert "semicolons (';'), not commas" in report.problems[0].message
    assert [r["label"] for _, r in valid] == ["sports", "finance"]


def test_huge_csv_field_keeps_the_csv_limit_unchanged(tmp_path):
    import csv

    before = csv.field_size_limit()
    path = tmp_path / "t.csv"
    path.write_bytes(CASES[7][2])
    valid, _ = validate_file(path, "table")
    assert csv.field_size_limit() == before
    assert len(valid[2][1]["text"]) == len("long text ") * 20_000


def test_errors_block_loading_and_name_the_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(CASES[6][2])
    with pytest.raises(ValueError, match=r"t\.csv:4: nul_byte"):
        load_records(path)


@pytest.mark.parametrize("index", [0, 1, 16, 22, 26])
def test_command_line_gives_one_line_per_finding_then_a_count(tmp_path, capsys, index):
    name, filename, content, kind, kwargs, expected, _ = CASES[index]
    path = tmp_path / filename
    path.write_bytes(content)
    assert main(["validate", str(path), "--kind", kind]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == len(expected) + 1
    assert {(int(m["line"]), m["code"]) for m in map(LINE.match, out[:-1])} == expected
    n = len(expected)
    assert out[-1].startswith(f"{path}: {n} problem{'' if n == 1 else 's'} in ")


@pytest.mark.slow
def test_command_line_survives_the_deep_line_in_a_real_process(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_bytes(CASES[0][2])
    done = subprocess.run([sys.executable, "-m", "helpers.data", "validate", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stdout.splitlines()[0].startswith(f"{path}:2: invalid_json: nested too deeply")


@pytest.mark.parametrize("content", [
    codecs.BOM_UTF8 + text_file(row(1), "{oops", "", row(2) + "\r", '{"text": "a\u2028b\u0085c"}',
                                '{"text": "NaN", "label": NaN}', row(2)),
    text_file(*[row(i) for i in range(30)]) + b'{"text": "no newline at the end", "label": "x"}',
])
def test_a_plain_json_lines_file_is_read_from_the_open_file_with_the_same_findings(
        tmp_path, monkeypatch, content):
    from pathlib import Path

    from helpers.data import sources
    from helpers.data.report import Report

    path = tmp_path / "rows.jsonl"
    path.write_bytes(content)

    def read(report):
        return [(r.line, r.value) for r in sources.read_records(str(path), report)]

    streamed_report = Report(str(path))
    with monkeypatch.context() as m:
        m.setattr(Path, "read_bytes", lambda self: pytest.fail("the whole file was read"))
        streamed = read(streamed_report)
    whole_report = Report(str(path))
    monkeypatch.setattr(sources, "_plain_json_lines", lambda *args: False)
    assert streamed == read(whole_report)
    assert streamed_report.problems == whole_report.problems
    assert streamed_report.records == whole_report.records == len(streamed)
