"""The course prompt: labels one per line, examples one per line, nothing split or merged."""
import pytest

from helpers import prompts

LABELS = ["科技", "体育", "财经"]
# Labels that a separator-joined list would split or merge.
TRICKY = ["Business, Finance", "Sci/Tech", "房产、家居", "😀 happy", "World", "C++ (lang)",
          "- dash"]


def test_zero_shot_prompt_text_is_exactly_this():
    assert prompts.classification_prompt("国足1比0取胜", LABELS, "zh") == (
        "对给定文本进行分类，类别包括：\n- 科技\n- 体育\n- 财经\n\n"
        "给定文本：\n国足1比0取胜\n类别：")
    assert prompts.classification_prompt("Great puck handling", ["baseball", "hockey"], "en") == (
        "Classify the text into one of these categories:\n- baseball\n- hockey\n\n"
        "Text:\nGreat puck handling\nCategory:")


def test_zero_shot_prompt_round_trips():
    p = prompts.classification_prompt("国足1比0取胜", LABELS, "zh")
    parsed = prompts.parse_prompt(p)
    assert parsed.labels == LABELS and parsed.text == "国足1比0取胜" and parsed.examples == ()
    assert parsed.answer == "text" and parsed.lang == "zh"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_labels_with_separators_are_neither_split_nor_merged(lang):
    text = "A text, with commas、顿号 / slashes\n\nand a blank line\n类别：Category:"
    p = prompts.classification_prompt(text, TRICKY, lang)
    for label in TRICKY:
        assert f"\n- {label}\n" in p
    parsed = prompts.parse_prompt(p)
    assert parsed.labels == TRICKY and parsed.text == text


def test_few_shot_examples_are_one_line_each_even_with_newlines_and_arrows():
    shots = [("苹果发布新手机", "科技"), ("line one\nline two => 体育\n\n", "Business, Finance"),
             ('he said "hi"\\', "😀 happy"), ("a\u2028b\x85c", "World")]
    p = prompts.classification_prompt("华为发布新芯片", TRICKY + LABELS, "zh", examples=shots)
    block = p.split("\n\n对给定文本进行分类")[0].split("\n")
    assert block[0] == prompts.FEW_SHOT_HEADERS["zh"] and len(block) == 1 + len(shots)
    assert block[1] == '"苹果发布新手机" => 科技'
    assert block[2] == '"line one\\nline two => 体育\\n\\n" => Business, Finance'
    assert len(p.splitlines()) == p.count("\n") + 1  # no hidden line breaks anywhere
    parsed = prompts.parse_prompt(p)
    assert parsed.examples == tuple(shots) and parsed.text == "华为发布新芯片"
    assert parsed.labels == TRICKY + LABELS


def test_json_answer_prompt_asks_for_json_and_round_trips():
    p = prompts.classification_prompt("Great puck handling", ["baseball", "hockey"], "en",
                                      answer="json")
    assert p.endswith('\n\nAnswer with JSON only, in the form {"label": "<category>"}')
    parsed = prompts.parse_prompt(p)
    assert parsed.answer == "json" and parsed.text == "Great puck handling"
    zh = prompts.classification_prompt("国足取胜", LABELS, "zh", answer="json")
    assert "JSON" in zh and prompts.parse_prompt(zh).answer == "json"
    with pytest.raises(ValueError, match="answer must be"):
        prompts.classification_prompt("x", LABELS, answer="xml")


def test_prompt_frame_is_head_and_tail_of_the_prompt():
    head, tail = prompts.prompt_frame(TRICKY, "en")
    assert prompts.classification_prompt("body", TRICKY, "en") == head + "body" + tail
    assert head.endswith("Text:\n") and tail == "\nCategory:"


def test_language_detection():
    assert prompts.detect_language(["今天股市大涨", "央行降息"]) == "zh"
    assert prompts.detect_language(["a plain English sentence"]) == "en"


def test_prompts_not_built_here_give_none():
    assert prompts.parse_prompt("What is the capital of France?") is None
    assert prompts.parse_prompt(None) is None
    broken_shots = prompts.FEW_SHOT_HEADERS["zh"] + "\nnot json => 科技\n\n" + \
        prompts.classification_prompt("x", LABELS)
    assert prompts.parse_prompt(broken_shots) is None


def test_prompts_of_earlier_course_versions_are_still_read():
    zh = "对给定文本进行分类，类别包括：科技、体育。\n\n给定文本：\n国足\n赢了\n类别："
    parsed = prompts.parse_prompt(zh)
    assert parsed.legacy and parsed.labels == ["科技", "体育"] and parsed.text == "国足\n赢了"
    en = ("Examples:\nA goal\n=> hockey\n\nClassify the text into one of these categories: "
          "baseball, hockey.\n\nText:\nA home run\nCategory:")
    parsed = prompts.parse_prompt(en)
    assert parsed.legacy and parsed.lang == "en" and parsed.labels == ["baseball", "hockey"]
    assert parsed.examples == (("A goal", "hockey"),) and parsed.text == "A home run"
    assert not prompts.parse_prompt(prompts.classification_prompt("x", LABELS)).legacy


@pytest.mark.parametrize("labels,problem", [
    ([], "no labels"),
    (["体育", ""], "is empty"),
    (["体育", "   "], "is empty"),
    (["体育", "财经\n股票"], "line break"),
    (["体育", "财经\u2028股票"], "line break"),
    (["体育", "tab\tinside"], "control character"),
    (["体育", " 财经"], "whitespace"),
    (["Sports", "sports"], "same label once normalised"),
    (["ｓｐｏｒｔｓ", "Sports"], "same label once normalised"),
    (["Business, Finance", "Business,Finance"], "same label once normalised"),
    (["Business  Finance", "business finance"], "same label once normalised"),
    (["体育", "体育"], "listed twice"),
    (["体育", 3], "not text"),
])
def test_label_problems_name_the_label_and_prompts_refuse_them(labels, problem):
    problems = prompts.label_problems(labels)
    assert problems and any(problem in p for p in problems)
    with pytest.raises(ValueError, match="cannot be listed"):
        prompts.classification_prompt("x", labels)


def test_usable_label_sets_have_no_problems():
    assert prompts.label_problems(TRICKY + LABELS) == []
    assert prompts.label_problems(["car", "cars and trucks", "科技", "科技新闻"]) == []


def test_example_labels_are_checked_too():
    with pytest.raises(ValueError, match="example label"):
        prompts.classification_prompt("x", LABELS, examples=[("t", "a\nb")])


def test_examples_vote_for_their_labels_by_overlap():
    from helpers.sandbox import lexicon  # the sandbox's reading of the few-shot examples

    votes = lexicon.example_votes(["A", "B"], "华为发布新芯片",
                                  [("华为发布新手机", "A"), ("足球比赛结束", "B")])
    assert votes[0] > 0 and votes[1] == 0
    flipped = lexicon.example_votes(["A", "B"], "华为发布新芯片",
                                    [("华为发布新手机", "B"), ("足球比赛结束", "A")])
    assert flipped == votes[::-1]
