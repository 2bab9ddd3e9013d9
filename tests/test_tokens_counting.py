"""Token counting, limits, distributions, epochs and billing (helpers.tokens)."""
import json

import numpy as np
import pytest

from helpers import chat_format, tokens

ENC = tokens.encoding_for("gpt-4o-mini")


def _example(user, label="体育", system="你是一个文本分类助手。", **extra):
    msgs = [{"role": "system", "content": system}, {"role": "user", "content": user},
            {"role": "assistant", "content": label, **extra}]
    return {"messages": msgs}


def test_formula_matches_documented_overheads():
    ex = _example("hello world")
    contents = [m["content"] for m in ex["messages"]]
    expected = 3 + sum(3 + len(ENC.encode(c)) for c in contents)
    assert chat_format.example_tokens(ex, ENC) == expected


def test_count_equals_per_example_formula_on_awkward_examples():
    examples = [
        _example("体育新闻：比赛结束 final score 3:1"),
        _example("same prefix\n\n text ends with punctuation。"),
        _example("special token <|endoftext|> in text"),
        _example("", label=""),
        _example("weighted", weight=0),
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "part one"},
                                                   {"type": "text", "text": " part two"}]},
                      {"role": "assistant", "name": "bot", "content": "ok"}]},
    ] * 300  # over the threading threshold, with many repeated strings
    naive = [chat_format.example_tokens(ex, ENC) for ex in examples]
    assert tokens.count_chat_tokens(examples, ENC) == naive
    assert tokens.count_chat_tokens(examples, "gpt-3.5-turbo-0125") == [
        chat_format.example_tokens(ex, tokens.encoding_for("gpt-3.5-turbo")) for ex in examples]


def test_encodings_per_model_family():
    assert tokens.encoding_name("gpt-4o-mini-2024-07-18") == "o200k_base"
    assert tokens.encoding_name("gpt-4.1-nano") == "o200k_base"
    assert tokens.encoding_name("gpt-3.5-turbo-0125") == "cl100k_base"
    assert tokens.encoding_name("gpt-4-0613") == "cl100k_base"


def test_training_token_limits():
    assert tokens.training_token_limit("gpt-4o-mini-2024-07-18") == 65_536
    assert tokens.training_token_limit("gpt-4.1-mini-2025-04-14") == 65_536
    assert tokens.training_token_limit("sandbox-base") == 65_536
    assert tokens.training_token_limit("gpt-3.5-turbo-0125") == 16_385
    assert tokens.training_token_limit("ft:gpt-3.5-turbo-0125:org:x:abc") == 16_385
    assert tokens.training_token_limit("glm-4-flash") is None


def test_distribution_uses_the_5th_and_95th_percentiles():
    values = list(range(1, 101))
    d = tokens.distribution(values)
    assert d["p5"] == pytest.approx(np.percentile(values, 5)) == pytest.approx(5.95)
    assert d["p95"] == pytest.approx(95.05)
    assert d["p5"] != pytest.approx(np.percentile(values, 10))  # the cookbook's mix-up
    assert (d["min"], d["max"], d["mean"], d["median"]) == (1, 100, 50.5, 50.5)
    with pytest.raises(ValueError, match="no values to describe"):
        tokens.distribution([])


@pytest.mark.parametrize("n, epochs", [(10, 10), (30, 3), (34, 3), (33, 3), (20, 5),
                                       (5, 20), (1, 25), (8_333, 3), (8_334, 2), (30_000, 1)])
def test_default_epochs_heuristic(n, epochs):
    assert chat_format.auto_epochs(n) == epochs


def test_billed_tokens_caps_long_examples_and_multiplies_by_epochs():
    assert tokens.billed_tokens([10, 20, 100], epochs=3, limit=50) == (10 + 20 + 50) * 3
    assert tokens.billed_tokens([10, 20], epochs=2) == 60
    assert tokens.over_limit([10, 60, 50, 70], 50) == [1, 3]


def test_estimate_training_combines_counts_epochs_and_limit():
    examples = [_example(f"文本 {i}") for i in range(20)]
    est = tokens.estimate_training(examples, "gpt-4o-mini-2024-07-18")
    per = [chat_format.example_tokens(ex, ENC) for ex in examples]
    assert est.epochs == 5 and est.tokens_per_epoch == sum(per)
    assert est.billed_tokens == sum(per) * 5 and est.over_limit == []
    assert tokens.estimate_training(examples, "sandbox-base", n_epochs=2).billed_tokens == \
        sum(per) * 2


def test_published_run_gap_is_what_the_ledger_reports():
    # A published real run: cookbook estimate 11,990 / epoch vs billed 23,580 for 2 epochs.
    from helpers.jobs import accounting

    assert accounting.diff_pct(11_990 * 2, 23_580) == pytest.approx(1.696, abs=0.01)
    assert "1.7% high" in tokens.TrainingEstimate.__doc__


def test_published_job_three_numbers_and_the_role_tokens_between_them():
    job = tokens.published_job()
    assert (job.model, job.encoding) == ("gpt-3.5-turbo-0125", "cl100k_base")
    assert (job.cookbook_per_epoch, job.course_per_epoch, job.billed_per_epoch) == (11_990, 11_790,
                                                                                  11_790)
    assert job.role_tokens == job.n_messages == 200  # one token per role string
    assert job.cookbook_gap_pct == pytest.approx(1.696, abs=0.01)


def test_cookbook_formula_is_the_course_formula_plus_one_role_token_per_message():
    enc = tokens.encoding_for("gpt-3.5-turbo-0125")

    def cookbook(messages):  # the cookbook's num_tokens_from_messages, for role/content/name
        total = 3
        for message in messages:
            total += 3
            for key, value in message.items():
                total += len(enc.encode(value))
                total += 1 if key == "name" else 0
        return total

    ex = _example("国足1比0取胜", label="体育")
    ex["messages"][1]["name"] = "reader"
    assert cookbook(ex["messages"]) - chat_format.example_tokens(ex, enc) == len(ex["messages"])


def test_zhipu_estimate_is_characters_over_1_6():
    ex = {"messages": [{"role": "user", "content": "一" * 16}, {"role": "assistant",
                                                              "content": "a" * 16}]}
    assert tokens.zhipu_estimated_tokens([ex]) == 20


@pytest.mark.parametrize("line, problem", [
    ("{not json", "invalid_json: Expecting property name"),
    ('{"prompt": "x"}', "missing_messages_list: 'messages' is missing"),
    ('{"messages": [{"content": "x"}]}', "message_missing_key: message 1 has no 'role'"),
    ("", "invalid_json: blank line"),
    ('{"messages": [{"role": "user", "content": NaN}]}', "invalid_json: NaN is not JSON"),
])
def test_load_chat_jsonl_names_file_line_and_problem(tmp_path, line, problem):
    path = tmp_path / "train.jsonl"
    good = json.dumps(_example("ok"), ensure_ascii=False)
    path.write_text(good + "\n" + line + "\n" + good + "\n", encoding="utf-8")
    with pytest.raises(tokens.ChatFileError) as info:
        tokens.load_chat_jsonl(path)
    assert str(info.value).startswith(f"{path}:2: {problem}")


def test_load_chat_jsonl_lists_every_bad_line_and_accepts_tool_calls(tmp_path):
    path = tmp_path / "train.jsonl"
    tool = {"messages": [{"role": "developer", "content": "use tools"},
                         {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
                         {"role": "assistant", "content": None, "tool_calls": [
                             {"id": "c1", "type": "function",
                              "function": {"name": "weather", "arguments": "{}"}}]},
                         {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
                         {"role": "assistant", "content": "Sunny."}]}
    path.write_text(json.dumps(tool) + "\n{bad\n\n", encoding="utf-8")
    with pytest.raises(tokens.ChatFileError) as info:
        tokens.load_chat_jsonl(path)
    assert [x.split(": ")[0] for x in str(info.value).splitlines()] == [f"{path}:2", f"{path}:3"]
    path.write_text(json.dumps(tool) + "\n", encoding="utf-8")
    assert tokens.load_chat_jsonl(path) == [tool]
    enc = tokens.encoding_for("gpt-4o-mini")
    texts = ["use tools", "weather?", "weather", "{}", "sunny", "Sunny."]
    assert (chat_format.example_tokens(tool, enc)
            == 3 + 5 * 3 + sum(len(enc.encode(t)) for t in texts))


def test_count_handles_empty_examples_names_and_parts():
    enc = tokens.encoding_for("gpt-4o-mini-2024-07-18")
    examples = [{"messages": []}, {"messages": [{"role": "user", "content": "hi"}]},
                {"messages": []}, {"messages": [{"role": "user", "content": "a", "name": "bob"},
                              {"role": "assistant", "content": [{"type": "text", "text": "x"}]}]},
                {"messages": []}]
    assert tokens.count_chat_tokens(examples, enc) == [chat_format.example_tokens(e, enc)
                                                       for e in examples]
    assert tokens.count_chat_tokens([], enc) == []
