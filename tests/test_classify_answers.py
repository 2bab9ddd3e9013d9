"""Answer parsing: verbose replies map to a label; unparseable ones to 'unknown'."""
import pytest

from helpers.answers import UNKNOWN, parse_label, parse_labels

ZH = ["体育", "财经", "科技", "科技新闻"]
EN = ["baseball", "hockey", "car", "cars and trucks", "space"]


@pytest.mark.parametrize("reply,expected", [
    ("这条新闻属于科技类。", "科技"),
    ("类别：财经", "财经"),
    ("「体育」", "体育"),
    ("这是一条科技新闻", "科技新闻"),  # the longer label that contains the shorter wins
    ("Category: hockey", "hockey"),
    ("I think it's about baseball.", "baseball"),
    ("HOCKEY", "hockey"),
    ("ｈｏｃｋｅｙ", "hockey"),  # full-width letters
    ("It is about baseball, not hockey", "baseball"),  # earliest mention
    ("Cars and trucks", "cars and trucks"),
    ("This one is about cars.", "car"),  # plural of a label
    ("a scary story", UNKNOWN),  # 'car' inside a word is not a mention
    ("I don't know", UNKNOWN),
    ("", UNKNOWN),
    (None, UNKNOWN),
    (42, UNKNOWN),
])
def test_parse_label(reply, expected):
    labels = ZH if expected in ZH or (isinstance(reply, str) and any("\u4e00" <= c <= "\u9fff"
                                                                     for c in reply)) else EN
    assert parse_label(reply, labels) == expected


def test_custom_unknown_and_batch_order():
    assert parse_label("nothing here", EN, unknown="?") == "?"
    assert parse_labels(["space!", "no idea", "hockey"], EN) == ["space", UNKNOWN, "hockey"]


def test_labels_with_regex_characters_do_not_crash():
    assert parse_label("it is c++ (probably)", ["c++", "java"]) == "c++"
    assert parse_label("???", ["a.b", "(x"]) == UNKNOWN
