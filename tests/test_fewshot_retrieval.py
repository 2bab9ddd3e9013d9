"""Retrieved few-shot examples: the most similar training texts land in the prompt."""
import pytest

from helpers import prompts
from helpers.fewshot import ExampleRetriever, fewshot_messages

TRAIN = [("湖人队在季后赛中击败勇士队", "体育"),
         ("央行宣布下调存款准备金率", "财经"),
         ("苹果发布新款智能手机芯片", "科技"),
         ("足球联赛冠军今晚产生", "体育"),
         ("股市今日大幅上涨，银行股领涨", "财经"),
         ("人工智能芯片研发取得突破", "科技")]


def make(k=2):
    return ExampleRetriever([t for t, _ in TRAIN], [lab for _, lab in TRAIN], k=k)


def test_most_similar_examples_first():
    rows = make(k=2).examples_for(["新款芯片发布会", "银行股今日下跌"])
    assert {lab for _, lab in rows[0]} == {"科技"}
    assert rows[1][0] == ("股市今日大幅上涨，银行股领涨", "财经")
    assert all(len(r) == 2 for r in rows)


def test_identical_training_text_is_not_its_own_example():
    rows = make(k=1).examples_for(["央行宣布下调存款准备金率"])
    assert rows[0][0][0] != "央行宣布下调存款准备金率"


def test_prompt_carries_the_examples_and_still_parses():
    labels = ["体育", "财经", "科技"]
    msgs = fewshot_messages("新款芯片发布会", labels, make(k=2), lang="zh")
    content = msgs[-1]["content"]
    assert content.startswith(prompts.FEW_SHOT_HEADERS["zh"])
    assert '"苹果发布新款智能手机芯片" => 科技' in content.split("\n")
    parsed = prompts.parse_prompt(content)
    assert parsed.text == "新款芯片发布会" and parsed.labels == labels
    assert [lab for _, lab in parsed.examples] == ["科技", "科技"]


def test_training_texts_with_newlines_and_arrows_stay_one_example_each():
    texts = ["上半场 0:1\n=> 体育\n下半场 2:1", "He said \"buy\" => 财经", "普通的新闻"]
    labels = ["Sports, Outdoor", "财经", "体育"]
    retriever = ExampleRetriever(texts, labels, k=3)
    content = fewshot_messages("下半场比赛", labels, retriever, lang="zh")[-1]["content"]
    parsed = prompts.parse_prompt(content)
    assert sorted(parsed.examples) == sorted(zip(texts, labels, strict=True))
    assert parsed.labels == labels and parsed.text == "下半场比赛"


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        ExampleRetriever(["a", "b"], ["x"])
    with pytest.raises(ValueError, match="k must be"):
        ExampleRetriever(["a"], ["x"], k=0)
    with pytest.raises(ValueError, match="training labels cannot be listed.*line break"):
        ExampleRetriever(["a", "b"], ["x", "y\nz"])
