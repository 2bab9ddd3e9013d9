"""One chat-format contract: the validator, the sandbox and token counting judge 30 lines alike."""
import json

import pytest

from helpers import chat_format, tokens
from helpers.data import validate_file
from helpers.sandbox.validation import InvalidFileError, parse_examples

ENC = tokens.encoding_for("sandbox-base")
USER = {"role": "user", "content": "Classify: the striker scored twice."}
REPLY = {"role": "assistant", "content": "sports"}
CALL = {"id": "call_1", "type": "function",
        "function": {"name": "set_label", "arguments": '{"label": "sports"}'}}


def line(*messages, **top):
    return json.dumps({"messages": list(messages), **top}, ensure_ascii=False)


# (name, the line, valid?) — every case the contract names, valid and invalid
CASES = [
    ("user and assistant", line(USER, REPLY), True),
    ("system message", line({"role": "system", "content": "You label news."}, USER, REPLY), True),
    ("developer message", line({"role": "developer", "content": "Answer with one word."}, USER,
                               REPLY), True),
    ("content as text parts", line({"role": "user", "content": [
        {"type": "text", "text": "Classify: "}, {"type": "text", "text": "a late winner."}]},
                                   REPLY),
     True),
    ("image part in a user message", line({"role": "user", "content": [
        {"type": "text", "text": "What sport is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.org/a.png"}}]}, REPLY), True),
    ("tool call with null content", line(USER, {"role": "assistant", "content": None,
                                                "tool_calls": [CALL]}), True),
    ("tool call, then the tool, then a reply", line(
        USER, {"role": "assistant", "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "ok"}, REPLY), True),
    ("weights 0 and 1", line(USER, {"role": "assistant", "content": "finance", "weight": 0},
                             {"role": "user", "content": "Try again."},
                             {"role": "assistant", "content": "sports", "weight": 1}), True),
    ("names", line({**USER, "name": "editor"}, {**REPLY, "name": "labeller"}), True),
    ("legacy function role", line(
        USER, {"role": "assistant", "function_call": CALL["function"]},
        {"role": "function", "name": "set_label", "content": "done"}, REPLY), True),
    ("tools list at the top", line(USER, REPLY, tools=[{"type": "function", "function": {
        "name": "set_label", "parameters": {"type": "object"}}}], parallel_tool_calls=False), True),
    ("assistant text parts", line(USER, {"role": "assistant", "content": [
        {"type": "text", "text": "sports"}]}), True),
    ("other top-level keys are ignored", line(USER, REPLY, id=17), True),
    ("blank line", "   ", False),
    ("not JSON", '{"messages": [', False),
    ("NaN literal", '{"messages": [{"role": "user", "content": "x"}], "score": NaN}', False),
    ("integer of 5,000 digits", '{"messages": [], "n": ' + "7" * 5000 + "}", False),
    ("nested 50,000 deep", '{"messages": ' + "[" * 50_000 + "]" * 50_000 + "}", False),
    ("NUL byte", line(USER, REPLY).replace("twice", "tw\x00ice"), False),
    ("not an object", '"just a string"', False),
    ("no messages", json.dumps({"message": [USER, REPLY]}), False),
    ("empty messages", line(), False),
    ("message without role", line({"content": "hi"}, REPLY), False),
    ("unknown role", line({"role": "human", "content": "hi"}, REPLY), False),
    ("unknown key", line({**USER, "score": 3}, REPLY), False),
    ("empty content", line({"role": "user", "content": ""}, REPLY), False),
    ("assistant with neither content nor call", line(USER, {"role": "assistant"}), False),
    ("no assistant", line(USER), False),
    ("weight 0.5", line(USER, {**REPLY, "weight": 0.5}), False),
    ("weight on a user message", line({**USER, "weight": 1}, REPLY), False),
    ("tool message without tool_call_id", line(
        USER, {"role": "assistant", "tool_calls": [CALL]}, {"role": "tool", "content": "ok"},
        REPLY), False),
    ("content a number", line({"role": "user", "content": 42}, REPLY), False),
]


def test_thirty_cases_cover_both_sides():
    assert len(CASES) >= 30 and len({name for name, _, _ in CASES}) == len(CASES)
    assert {ok for _, _, ok in CASES} == {True, False}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    """For every case: (validator ok, sandbox ok, token loader ok, three token counts)."""
    folder = tmp_path_factory.mktemp("agree")
    together = folder / "all.jsonl"
    together.write_text("".join(text + "\n" for _, text, _ in CASES), encoding="utf-8")
    _, report = validate_file(together, "chat", min_examples=0)
    error_lines = {p.line for p in report.errors}
    out = {}
    for number, (name, text, _) in enumerate(CASES, 1):
        one = folder / f"{number}.jsonl"
        one.write_text(text + "\n", encoding="utf-8")
        try:
            [example] = parse_examples(one.read_bytes(), ENC, minimum=1)
            sandbox_ok, sandbox_tokens = True, example.tokens
        except InvalidFileError:
            sandbox_ok, sandbox_tokens = False, None
        try:
            [loaded] = tokens.load_chat_jsonl(one)
            loader_ok, counted = True, tokens.count_chat_tokens([loaded], ENC)[0]
        except tokens.ChatFileError:
            loader_ok, counted = False, None
        out[name] = (number not in error_lines, sandbox_ok, loader_ok, sandbox_tokens, counted)
    return out


@pytest.mark.parametrize("name,text,valid", CASES, ids=[c[0] for c in CASES])
def test_three_consumers_agree(verdicts, name, text, valid):
    validator_ok, sandbox_ok, loader_ok, sandbox_tokens, counted = verdicts[name]
    assert (validator_ok, sandbox_ok, loader_ok) == (valid, valid, valid)
    if valid:
        example = json.loads(text)
        assert sandbox_tokens == counted == chat_format.example_tokens(example, ENC)


@pytest.mark.parametrize("name,text", [(n, t) for n, t, ok in CASES if ok])
def test_the_validator_measures_length_with_the_same_count(tmp_path, name, text):
    path = tmp_path / "one.jsonl"
    path.write_text(text + "\n", encoding="utf-8")
    n = chat_format.example_tokens(json.loads(text), ENC)
    _, at_limit = validate_file(path, "chat", model="sandbox-base", max_tokens=n, min_examples=0)
    _, under = validate_file(path, "chat", model="sandbox-base", max_tokens=n - 1, min_examples=0)
    assert at_limit.ok and under.counts() == {"too_long": 1}


def test_every_invalid_case_has_a_code_and_message():
    for name, text, valid in CASES:
        if valid:
            continue
        try:
            problems = chat_format.example_problems(chat_format.parse_json_line(text))
        except chat_format.LineError as err:
            problems = [err.problem]
        assert problems, name
        assert all(p.code and p.message for p in problems), name


def test_the_sandbox_error_names_the_line_and_the_problem():
    data = "\n".join([line(USER, REPLY)] * 10 + [line({"role": "human", "content": "x"}, REPLY)])
    with pytest.raises(InvalidFileError) as info:
        parse_examples(data.encode(), ENC)
    assert info.value.message == ("Invalid file format. Line 11, message 1 has role 'human'; roles "
                                  "are system, developer, user, assistant, tool, function.")


def test_the_sandbox_learns_the_tool_call_when_there_is_no_text():
    [example] = parse_examples((line(USER, {"role": "assistant", "tool_calls": [CALL]}) + "\n")
                               .encode(), ENC, minimum=1)
    assert example.label == 'set_label({"label": "sports"})'


def test_flatten_content_keeps_text_parts_only():
    parts = [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "u"}},
             {"type": "text", "text": "b"}]
    assert chat_format.flatten_content(parts) == "ab"
    assert chat_format.flatten_content(None) == "" and chat_format.flatten_content("x") == "x"


@pytest.mark.parametrize("n, epochs", [(1, 25), (3, 25), (4, 25), (5, 20), (10, 10), (20, 5),
                                       (33, 3), (34, 3), (100, 3), (8_333, 3), (8_334, 2),
                                       (12_500, 2), (12_501, 1), (30_000, 1)])
def test_auto_epochs_is_the_cookbook_heuristic(n, epochs):
    assert chat_format.auto_epochs(n) == epochs


# The cookbook's stated bounds: aim for 3 epochs, but see at least 100 and at most 25,000
# examples in total, with 1 to 25 epochs.
TARGET, LEAST_SEEN, MOST_SEEN, FEWEST, MOST = 3, 100, 25_000, 1, 25
SIZES = sorted({*range(1, 200), *range(8_300, 8_400), *range(12_450, 12_550),
                *range(200, 60_000, 97), 25_000, 25_001, 100_000})


def test_auto_epochs_stays_within_the_cookbook_bounds():
    for n in SIZES:
        epochs = chat_format.auto_epochs(n)
        assert FEWEST <= epochs <= MOST, n
        if LEAST_SEEN <= n * TARGET <= MOST_SEEN:
            assert epochs == TARGET, n
        elif n * TARGET < LEAST_SEEN:  # as many epochs as fit in 100 examples seen, up to 25
            assert n * epochs <= LEAST_SEEN, n
            assert epochs == MOST or n * (epochs + 1) > LEAST_SEEN, n
        else:  # as many epochs as fit in 25,000 examples seen, at least 1
            assert epochs == FEWEST or n * epochs <= MOST_SEEN, n
            assert n * (epochs + 1) > MOST_SEEN, n


def test_auto_epochs_never_grows_with_more_examples():
    epochs = [chat_format.auto_epochs(n) for n in SIZES]
    assert all(a >= b for a, b in zip(epochs, epochs[1:], strict=False))


def test_tokens_keeps_no_alias_of_the_formula_or_the_heuristic():
    assert chat_format.MIN_EXAMPLES == 10
    for name in ("default_epochs", "chat_example_tokens", "MIN_EXAMPLES", "flatten_content"):
        assert not hasattr(tokens, name), name


def test_the_sandbox_trains_by_chat_formats_heuristic_and_minimum(monkeypatch):
    """The sandbox keeps no alias of either: it reads them from chat_format when it runs."""
    from helpers.sandbox import training

    for n in (1, 5, 34, 8_334, 30_000):
        assert training.resolve_hyperparameters({}, n)["n_epochs"] == chat_format.auto_epochs(n)
    monkeypatch.setattr(chat_format, "auto_epochs", lambda n: 7)
    assert training.resolve_hyperparameters({}, 100)["n_epochs"] == 7
    ten = ("\n".join([line(USER, REPLY)] * 10) + "\n").encode()
    assert len(parse_examples(ten, ENC)) == 10
    with pytest.raises(InvalidFileError, match="has 9 example"):
        parse_examples(("\n".join([line(USER, REPLY)] * 9) + "\n").encode(), ENC)


def test_chat_format_imports_no_course_module():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(chat_format.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for a in node.names}
    assert not [m for m in imported if m and (m.startswith("helpers") or m.startswith("."))]
    assert not [m for m in imported if m and m.split(".")[0] in ("tiktoken", "pandas")]


# --- the one JSON-lines reader and writer (issue 22) ------------------------------------------

def test_reader_splits_on_newline_only_and_numbers_from_one():
    from helpers import chat_format

    text = '{"t": "a\u2028b"}\r\n{"t": "c\u0085d"}\n{"t": "raw\x0cfeed"}\n\n{"t": 1}\n'
    got = list(chat_format.json_lines(text))
    assert [n for n, _ in got] == [1, 2, 3, 4, 5]  # str.splitlines would give 7 lines
    assert got[0][1] == {"t": "a\u2028b"} and got[1][1] == {"t": "c\u0085d"}
    assert got[2][1].problem.code == "invalid_json"  # a raw form feed is not JSON, one line
    assert chat_format.is_blank(got[3][1]) and got[4][1] == {"t": 1}



def test_reader_reads_bytes_and_binary_files_line_by_line_as_it_reads_text(tmp_path):
    from helpers import chat_format

    text = '{"t": "a\u2028b"}\r\n{"t": "c\u0085d"}\n{"t": "raw\x0cfeed"}\n\n{"t": 1}'
    path = tmp_path / "rows.jsonl"
    path.write_bytes(text.encode("utf-8") + b"\n{\"t\": \"\xff\"}\n")

    def shown(rows):
        return [(n, v.problem if isinstance(v, chat_format.LineError) else v) for n, v in rows]

    expected = shown(chat_format.json_lines(text))
    with path.open("rb") as fh:
        from_file = shown(chat_format.json_lines(fh))
    from_bytes = shown(chat_format.json_lines(path.read_bytes()))
    assert from_file == from_bytes
    assert from_file[:5] == expected and len(expected) == 5
    number, problem = from_file[5]
    assert number == 6 and problem.code == "non_utf8" and "0xff" in problem.message

def test_writer_round_trips_through_the_reader_atomically(tmp_path):
    from helpers import atomic, chat_format

    rows = [{"text": "第一\u2028行", "label": "体育"}, {"text": "x\ny\u0085z", "label": 1}]
    path = chat_format.write_json_lines(tmp_path / "out.jsonl", rows)
    raw = path.read_bytes()
    assert raw.count(b"\n") == 2 and b"\r" not in raw and "体育".encode() in raw
    assert [v for _, v in chat_format.json_lines(raw.decode("utf-8"))] == rows
    assert atomic.stale_temporaries(tmp_path) == []
    with pytest.raises(ValueError, match="Out of range float"):
        chat_format.dumps_json_lines([{"x": float("nan")}])


def test_batch_output_with_u2028_in_a_reply_is_one_record():
    from helpers.batch import read_jsonl_text

    line = '{"custom_id": "r-1", "response": {"body": {"text": "好\u2028的\u0085"}}}'
    records, problems = read_jsonl_text(line + "\r\n\n" + "not json\n", "output_file_id f")
    assert [r["custom_id"] for r in records] == ["r-1"] and len(problems) == 1
    assert problems[0].startswith("output_file_id f:3: invalid JSON: ")
