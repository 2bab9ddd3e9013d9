"""Token counting, limits, distributions, epochs and billing (helpers.tokens)."""
import json

import numpy as np
import pytest

from helpers import tokens

ENC = tokens.encoding_for("gpt-4o-mini")


def _example(user, label="体育", system="你是一个文本分类助手。", **extra):
    msgs = [{"role": "system", "content": system}, {"role": "user", "content": user},
            {"role": "assistant", "content": label, **extra}]
    return {"messages": msgs}


def test_formula_matches_documented_overheads():
    ex = _example("hello world")
    contents = [m["content"] for m in ex["messages"]]
    expected = 3 + sum(3 + len(ENC.encode(c)) for c in contents)
    assert tokens.chat_example_tokens(ex, ENC) == expected


def test_fast_count_equals_per_example_formula_on_awkward_examples():
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
    naive = [tokens.chat_example_tokens(ex, ENC) for ex in examples]
    assert tokens.count_chat_tokens(examples, ENC, num_threads=2) == naive
    assert tokens.count_chat_tokens(examples, "gpt-3.5-turbo-0125") == [
        tokens.chat_example_tokens(ex, tokens.encoding_for("gpt-3.5-turbo")) for ex in examples]


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
    with pytest.raises(ValueError):
        tokens.distribution([])


@pytest.mark.parametrize("n, epochs", [(10, 10), (30, 3), (34, 3), (33, 3), (20, 5),
                                       (5, 20), (1, 25), (8_333, 3), (8_334, 2), (30_000, 1)])
def test_default_epochs_heuristic(n, epochs):
    assert tokens.default_epochs(n) == epochs


def test_billed_tokens_caps_long_examples_and_multiplies_by_epochs():
    assert tokens.billed_tokens([10, 20, 100], epochs=3, limit=50) == (10 + 20 + 50) * 3
    assert tokens.billed_tokens([10, 20], epochs=2) == 60
    assert tokens.over_limit([10, 60, 50, 70], 50) == [1, 3]


def test_estimate_training_combines_counts_epochs_and_limit():
    examples = [_example(f"文本 {i}") for i in range(20)]
    est = tokens.estimate_training(examples, "gpt-4o-mini-2024-07-18")
    per = [tokens.chat_example_tokens(ex, ENC) for ex in examples]
    assert est.epochs == 5 and est.tokens_per_epoch == sum(per)
    assert est.billed_tokens == sum(per) * 5 and est.over_limit == []
    assert tokens.estimate_training(examples, "sandbox-base", n_epochs=2).billed_tokens == \
        sum(per) * 2


def test_published_run_gap_is_what_the_ledger_reports():
    # A published real run: cookbook estimate 11,990 / epoch vs billed 23,580 for 2 epochs.
    from helpers.jobs import accounting

    assert accounting.diff_pct(11_990 * 2, 23_580) == pytest.approx(1.696, abs=0.01)
    assert "1.7% high" in tokens.TrainingEstimate.__doc__


def test_zhipu_estimate_is_characters_over_1_6():
    ex = {"messages": [{"role": "user", "content": "一" * 16}, {"role": "assistant",
                                                              "content": "a" * 16}]}
    assert tokens.zhipu_estimated_tokens([ex]) == 20


@pytest.mark.parametrize("line, problem", [
    ("{not json", "not valid JSON"),
    ('{"prompt": "x"}', "no 'messages' list"),
    ('{"messages": [{"content": "x"}]}', "message 0 has no 'role'"),
    ("", "empty line"),
])
def test_load_chat_jsonl_names_file_line_and_problem(tmp_path, line, problem):
    path = tmp_path / "train.jsonl"
    good = json.dumps(_example("ok"), ensure_ascii=False)
    path.write_text(good + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(tokens.ChatFileError) as info:
        tokens.load_chat_jsonl(path)
    assert str(info.value).startswith(f"{path}:2: ") and problem in str(info.value)


# ---- the template cut in count_chat_tokens must never change a count

TRICKY_TEXTS = [
    "国足1比0取胜", "今天股市大涨！", "这是真的吗？", "以“数字中国”为题。", "结尾有空格 ", "结尾两个换行\n\n",
    "/开头的斜杠", "\n开头的换行", " 开头的空格", "123456", "ABC", "Mixed 中文 and English.", "emoji 🎉",
    "a/b/c", "ends with slash/", "it's", "tab\tinside", "：冒号开头", "x", "。", "、、、", "\r\nwindows",
    "Price: $3.50/month", "line one\nline two", "ends with colon:", "«quotes»",
]


def _examples():
    from helpers import prompts as p

    out = []
    for labels, lang in ((["科技", "体育", "财经"], "zh"), (["baseball", "hockey"], "en")):
        for text in TRICKY_TEXTS:
            for system in (False, True):
                msgs = p.messages(text, labels, lang, system=system)
                out.append({"messages": msgs + [{"role": "assistant", "content": labels[0]}]})
        shots = [("华为发布新芯片", labels[0])]
        out.append({"messages": p.messages("few-shot prompts stay whole", labels, lang, examples=shots)})
    return out


@pytest.mark.parametrize("model", ["gpt-4o-mini-2024-07-18", "gpt-3.5-turbo-0125"])
def test_cut_prompts_count_exactly_like_whole_prompts(model):
    enc = tokens.encoding_for(model)
    examples = _examples()
    assert tokens.count_chat_tokens(examples, model) == [tokens.chat_example_tokens(e, enc)
                                                         for e in examples]


def test_the_cut_is_used_for_course_prompts_and_skipped_when_unsafe():
    from helpers import prompts as p

    heads = {}
    cut = tokens.split_course_prompt(p.classification_prompt("国足取胜", ["体育"], "zh"), heads)
    assert cut == (p.classification_prompt("", ["体育"], "zh").split("\n类别：")[0], "国足取胜\n", "类别：")
    assert tokens.split_course_prompt(p.classification_prompt("/x", ["体育"], "zh"), heads) is None
    assert tokens.split_course_prompt("not a course prompt", heads) is None


def test_fast_count_handles_empty_examples_names_and_parts():
    enc = tokens.encoding_for("gpt-4o-mini-2024-07-18")
    examples = [{"messages": []}, {"messages": [{"role": "user", "content": "hi"}]}, {"messages": []},
                {"messages": [{"role": "user", "content": "a", "name": "bob"},
                              {"role": "assistant", "content": [{"type": "text", "text": "x"}]}]},
                {"messages": []}]
    assert tokens.count_chat_tokens(examples, enc) == [tokens.chat_example_tokens(e, enc)
                                                       for e in examples]
    assert tokens.count_chat_tokens([], enc) == []
