from helpers import prompts
from helpers.sandbox import lexicon

LABELS = ["科技", "体育", "财经"]


def test_zero_shot_prompt_round_trips():
    p = prompts.classification_prompt("国足1比0取胜", LABELS, "zh")
    parsed = prompts.parse_prompt(p)
    assert parsed.labels == LABELS and parsed.text == "国足1比0取胜" and parsed.examples == ()


def test_few_shot_prompt_round_trips_with_its_examples():
    shots = [("苹果发布新手机", "科技"), ("The Rangers won 3-2", "体育")]
    p = prompts.classification_prompt("华为发布新芯片", LABELS, "zh", examples=shots)
    parsed = prompts.parse_prompt(p)
    assert parsed.examples == tuple(shots) and parsed.text == "华为发布新芯片"


def test_english_prompt_and_language_detection():
    p = prompts.classification_prompt("Great puck handling", ["baseball", "hockey"], "en")
    assert prompts.parse_prompt(p).lang == "en"
    assert prompts.detect_language(["今天股市大涨", "央行降息"]) == "zh"
    assert prompts.detect_language(["a plain English sentence"]) == "en"


def test_unparseable_prompt_gives_none():
    assert prompts.parse_prompt("What is the capital of France?") is None


def test_examples_vote_for_their_labels_by_overlap():
    votes = lexicon.example_votes(["A", "B"], "华为发布新芯片",
                                  [("华为发布新手机", "A"), ("足球比赛结束", "B")])
    assert votes[0] > 0 and votes[1] == 0
    flipped = lexicon.example_votes(["A", "B"], "华为发布新芯片",
                                    [("华为发布新手机", "B"), ("足球比赛结束", "A")])
    assert flipped == votes[::-1]
