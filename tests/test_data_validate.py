"""Each malformed input gives its code on the right line; clean input gives none."""
import codecs
import json

import pytest

from helpers.data import CODES, example_token_limit, mojibake_fix, validate_file
from helpers.prompts import messages

LABELS = ["体育", "财经"]


def chat(text="男篮主场大胜", answer="体育", **extra):
    msgs = [*messages(text, LABELS, "zh"), {"role": "assistant", "content": answer, **extra}]
    return json.dumps({"messages": msgs}, ensure_ascii=False)


GOOD_CHAT = chat()
GOOD_ROW = json.dumps({"text": "Walk-off double in the tenth.", "label": "baseball"})

# (name, file name, content, kind, kwargs, expected code, expected line)
CASES = [
    ("invalid json", "a.jsonl", f'{GOOD_CHAT}\n{{"messages": [\n', "chat", {}, "invalid_json", 2),
    ("blank line", "a.jsonl", f"{GOOD_CHAT}\n\n{chat('沪指收涨', '财经')}\n", "chat", {},
     "invalid_json", 2),
    ("not an object", "a.jsonl", f'{GOOD_CHAT}\n"hello"\n', "chat", {}, "data_type", 2),
    ("no messages", "a.jsonl", f'{GOOD_CHAT}\n{{"message": []}}\n', "chat", {},
     "missing_messages_list", 2),
    ("message without role", "a.jsonl",
     '{"messages": [{"content": "hi"}, {"role": "assistant", "content": "体育"}]}\n', "chat", {},
     "message_missing_key", 1),
    ("unrecognized key", "a.jsonl", chat(score=1) + "\n", "chat", {}, "message_unrecognized_key",
     1),
    ("unrecognized role", "a.jsonl",
     '{"messages": [{"role": "human", "content": "hi"}, {"role": "assistant", "content": '
     '"体育"}]}\n',
     "chat", {}, "unrecognized_role", 1),
    ("missing content", "a.jsonl", f"{GOOD_CHAT}\n{chat(answer='')}\n", "chat", {},
     "missing_content", 2),
    ("no assistant", "a.jsonl", '{"messages": [{"role": "user", "content": "hi"}]}\n', "chat", {},
     "example_missing_assistant_message", 1),
    ("bad weight", "a.jsonl", chat(weight=0.5) + "\n", "chat", {}, "invalid_weight", 1),
    ("empty text in prompt", "a.jsonl", f"{GOOD_CHAT}\n{chat(text='   ')}\n", "chat", {},
     "empty_text", 2),
    ("unknown label", "a.jsonl", f"{GOOD_CHAT}\n{chat(answer='天气')}\n", "chat",
     {"labels": LABELS}, "unknown_label", 2),
    ("duplicate", "a.jsonl", f"{GOOD_CHAT}\n{chat('沪指收涨', '财经')}\n{GOOD_CHAT}\n", "chat", {},
     "duplicate_example", 3),
    ("too long", "a.jsonl", f"{GOOD_CHAT}\n{chat(text='很长的文本' * 40)}\n", "chat",
     {"max_tokens": 150}, "too_long", 2),
    ("mojibake", "a.jsonl",
     f"{GOOD_CHAT}\n{chat(text='股市大涨'.encode().decode('cp1252', 'replace'))}\n",
     "chat", {}, "mojibake", 2),
    ("bom", "a.jsonl", codecs.BOM_UTF8 + GOOD_CHAT.encode() + b"\n", "chat", {}, "bom", 1),
    ("gbk file", "a.csv", "text,label\n好球,体育\n股市收涨,财经\n".encode("gbk"), "table", {},
     "non_utf8", 2),
    ("csv row with extra field", "a.csv", "text,label\nNice goal,hockey\nGrand slam,baseball,x\n",
     "table", {}, "bad_csv_row", 3),
    ("missing label field", "a.jsonl", f'{GOOD_ROW}\n{{"text": "Icing again."}}\n', "table", {},
     "missing_field", 2),
    ("empty table text", "a.jsonl", f'{GOOD_ROW}\n{{"text": " ", "label": "hockey"}}\n', "table",
     {}, "empty_text", 2),
    ("legacy empty completion", "a.jsonl",
     '{"prompt": "a ->", "completion": " x"}\n{"prompt": "b ->", "completion": ""}\n', "legacy", {},
     "empty_text", 2),
    ("legacy too long", "a.jsonl", json.dumps({"prompt": "x" * 10_001, "completion": " y"}) + "\n",
     "legacy", {}, "too_long", 1),
    ("nul byte", "a.jsonl", f"{GOOD_CHAT}\n{GOOD_CHAT[:-1]}\x00}}\n", "chat", {}, "nul_byte", 2),
    ("json array in json lines", "a.jsonl", f"[\n{GOOD_CHAT}\n]\n", "chat", {}, "not_json_lines",
     1),
    ("semicolons", "a.csv", "text;label\nNice goal;hockey\n", "table", {}, "csv_delimiter", 1),
    ("near duplicate", "a.jsonl", f'{GOOD_ROW}\n{GOOD_ROW.replace("tenth", "tenth!")}\n', "table",
     {}, "near_duplicate", 2),
    ("rare class", "a.jsonl", f'{GOOD_ROW}\n{{"text": "Icing again.", "label": "hockey"}}\n',
     "table", {"min_class_rows": 2}, "rare_class", 1),
    ("empty file", "a.jsonl", "", "chat", {}, "empty_file", 1),
    ("too few examples", "a.jsonl", f"{GOOD_CHAT}\n", "chat", {}, "too_few_examples", 1),
]


@pytest.mark.parametrize("name,filename,content,kind,kwargs,code,line", CASES,
                         ids=[c[0] for c in CASES])
def test_malformed_input_gives_code_and_line(tmp_path, name, filename, content, kind, kwargs,
                                             code, line):
    path = tmp_path / filename
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    valid, report = validate_file(path, kind, **kwargs)
    assert (line, code) in [(p.line, p.code) for p in report.problems], str(report)
    assert all(p.path == str(path) for p in report.problems)
    assert code in CODES


USERS_FILES_CODES = {"binary_file", "line_endings", "duplicate_column", "label_variants",
                     "class_imbalance"}  # covered by tests/test_data_files_users_have.py


def test_cases_cover_every_code_at_least_once():
    assert {c[5] for c in CASES} == set(CODES) - USERS_FILES_CODES


def test_nothing_is_dropped_silently(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([GOOD_CHAT, "{oops", chat("沪指收涨", "财经"), '"x"',
                               GOOD_CHAT]) + "\n",
                    encoding="utf-8")
    valid, report = validate_file(path, "chat", min_examples=0)
    bad_lines = {p.line for p in report.problems}
    assert [line for line, _ in valid] == [1, 3]
    assert bad_lines == {2, 4, 5}
    assert report.records == 5


def test_clean_chat_with_weight_keys_is_valid(tmp_path):
    example = json.loads(chat())
    example["messages"][1:1] = [{"role": "assistant", "content": "财经", "weight": 0},
                                {"role": "user", "content": "再想想"}]
    example["messages"][-1]["weight"] = 1
    path = tmp_path / "ok.jsonl"
    path.write_text(json.dumps(example, ensure_ascii=False) + "\n"
                    + chat("沪指收涨", "财经") + "\n", encoding="utf-8")
    valid, report = validate_file(path, labels=LABELS, min_examples=0)  # kind inferred
    assert report.ok, str(report)
    assert len(valid) == 2


def test_weight_on_user_message_is_invalid(tmp_path):
    example = json.loads(chat())
    example["messages"][0]["weight"] = 1
    path = tmp_path / "w.jsonl"
    path.write_text(json.dumps(example, ensure_ascii=False) + "\n", encoding="utf-8")
    _, report = validate_file(path, "chat", min_examples=0)
    assert report.counts() == {"invalid_weight": 1}


def test_gbk_message_says_how_to_convert(tmp_path):
    path = tmp_path / "news.csv"
    path.write_bytes("text,label\n股市收涨,财经\n".encode("gbk"))
    valid, report = validate_file(path, "table")
    message = report.problems[0].message
    assert "GBK" in message and "iconv -f GBK -t UTF-8" in message
    assert valid[0][1]["text"] == "股市收涨"  # still readable, so other problems can be found


def test_conflicting_duplicate_labels_are_named(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("text,label\nSame post,hockey\nSame  post,baseball\n", encoding="utf-8")
    _, report = validate_file(path, "table")
    assert report.problems[0].code == "duplicate_example"
    assert "'hockey'" in report.problems[0].message and "'baseball'" in report.problems[0].message


def test_developer_role_parts_and_tool_calls_are_valid(tmp_path):
    tool_call = {"id": "c1", "type": "function", "function": {"name": "label", "arguments": "{}"}}
    example = {"messages": [{"role": "developer", "content": "Label the news."},
                            {"role": "user", "content": [{"type": "text", "text": "沪指收涨"}]},
                            {"role": "assistant", "content": None, "tool_calls": [tool_call]},
                            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
                            {"role": "assistant", "content": "财经"}]}
    path = tmp_path / "tools.jsonl"
    path.write_text(json.dumps(example, ensure_ascii=False) + "\n", encoding="utf-8")
    valid, report = validate_file(path, "chat", labels=LABELS, min_examples=0)
    assert report.ok, str(report)
    assert len(valid) == 1


def test_severities_errors_block_data_problems_are_handled(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join([GOOD_ROW, GOOD_ROW, '{"text": " ", "label": "hockey"}',
                               '{"text": "x"}']) + "\n", encoding="utf-8")
    valid, report = validate_file(path, "table")
    assert [(p.line, p.code, p.severity) for p in report.problems] == [
        (2, "duplicate_example", "data"), (3, "empty_text", "data"), (4, "missing_field", "error")]
    assert [line for line, _ in valid] == [1] and not report.usable
    kept, _ = validate_file(path, "table", keep_data_problems=True)
    assert [line for line, _ in kept] == [1, 2, 3]
    text = str(report)
    assert "t.jsonl:2: duplicate_example: same text as line 1 (same label) [data problem: " \
           "preparation drops this row]" in text
    assert text.splitlines()[-1].endswith(
        "1 error to fix before the file can be used; 2 data "
        "problems (preparation drops these rows and reports them)")


def test_example_token_limits():
    assert example_token_limit("gpt-4o-mini-2024-07-18") == 65_536
    assert example_token_limit("ft:gpt-4o-2024-08-06:org::abc") == 65_536
    assert example_token_limit("sandbox-base") == 65_536
    assert example_token_limit("gpt-3.5-turbo-0125") == 16_385
    with pytest.raises(ValueError, match="no example-length limit"):
        example_token_limit("davinci-002")


def test_mojibake_detection_does_not_flag_clean_text():
    for text in ["新闻：股市大涨，沪指收复三千点", "don’t stop — café", "Ça marche très bien"]:
        assert mojibake_fix(text) is None
    assert mojibake_fix("CafÃ© au lait") == "Café au lait"
    assert mojibake_fix("股市".encode().decode("cp1252")) == "股市"
    # 0x90 (in 某) is undefined in cp1252, so that byte is lost and ftfy cannot repair it
    assert mojibake_fix("海军某舰艇".encode().decode("cp1252", "replace")) == ""
