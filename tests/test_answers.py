"""parse_label on replies in the styles real chat models write.

Each case is (reply, expected label); the text being classified and the aliases
are passed where the pattern needs them, as ``classify`` does.
"""
import pytest

from helpers.answers import UNKNOWN, fold, label_key, parse_label, parse_labels

ZH = ["体育", "财经", "科技", "国际", "股票", "房产、家居", "科技新闻"]
EN = ["Sports", "Business, Finance", "Sci/Tech", "World", "😀 happy", "car", "cars and trucks"]
ALIASES = {"国际": ["世界", "国际新闻"], "World": "international", "Sci/Tech": ["science", "tech"]}

ZH_TEXT = "央行宣布降准，A股银行板块大涨，体育用品公司股价也随之走高"
EN_TEXT = "Stocks fell sharply as World leaders met to discuss sanctions on Tuesday"

ZH_CASES = [
    # bare and decorated answers
    ("体育", "体育"),
    ("**财经**", "财经"),
    ("「科技」", "科技"),
    ("- 房产、家居", "房产、家居"),
    ("类别：股票", "股票"),
    ("**类别：** 国际", "国际"),
    ("答案是财经。", "财经"),
    # full sentences
    ("这条新闻属于财经类。", "财经"),
    ("根据内容判断，这是一条关于股票市场的新闻，应归为股票。", "股票"),
    ("这是一条科技新闻", "科技新闻"),  # the longer label, not the one inside it
    # an echo of the text names another label before the answer
    (f"给定文本：{ZH_TEXT}\n类别：财经", "财经"),
    (f"“{ZH_TEXT}”这条新闻主要讲银行板块的行情，属于股票。", "股票"),
    # negation, then the real answer
    ("不是财经新闻，而是科技新闻", "科技新闻"),
    ("这并非体育新闻，应属于财经", "财经"),
    ("它不属于体育，类别：财经", "财经"),
    ("与体育无关，是财经新闻", "财经"),
    # two labels with a stated preference
    ("更像是股票，而不是财经", "股票"),
    ("既涉及体育，但主要是财经", "财经"),
    ("可能是体育，也可能是财经，我选财经", "财经"),
    ("财经（也可以归为股票）", "财经"),
    # explanation first, answer last; answer first, explanation after
    ("分析：文中提到“体育用品公司”，可能会被认为是体育。但综合来看，最终答案：财经", "财经"),
    ("类别：财经\n\n理由：虽然提到了体育用品公司，但核心是银行板块和降准。", "财经"),
    # aliases from the label map
    ("世界", "国际"),
    ("这是一条国际新闻", "国际"),
    # JSON-ish replies
    ('{"label": "体育"}', "体育"),
    ('```json\n{"类别": "房产、家居"}\n```', "房产、家居"),
    ('{"text": "' + ZH_TEXT + '", "label": "股票"}', "股票"),
    # an echo of the label list before the answer
    ("类别包括：体育、财经、科技。答案：科技", "科技"),
    ("- 体育\n- 财经\n\n答案：财经", "财经"),
    # nothing usable
    ("不是体育", UNKNOWN),
    ("我无法判断", UNKNOWN),
    (f"给定文本：{ZH_TEXT}", UNKNOWN),  # only an echo
]

EN_CASES = [
    ("Sports", "Sports"),
    ("Neither World nor Sci/Tech: it is Sports.", "Sports"),  # a colon ends the negation's reach
    ("The answer is: **Sports**", "Sports"),
    ("Category: Business, Finance", "Business, Finance"),
    ("business,finance", "Business, Finance"),
    ("Sci/Tech.", "Sci/Tech"),
    ("😀 happy", "😀 happy"),
    ("😀️ Happy", "😀 happy"),  # emoji variation selector and case
    ('"World"', "World"),
    ("I think it's about cars.", "car"),
    ("This one is about cars and trucks.", "cars and trucks"),
    ("a scary story", UNKNOWN),
    (f"Text: {EN_TEXT}\nCategory: Business, Finance", "Business, Finance"),
    (f'The text "{EN_TEXT}" is about markets, so: Business, Finance', "Business, Finance"),
    ("It's not Sports but Business, Finance.", "Business, Finance"),
    ("This isn't World news, it's Sports.", "Sports"),
    ("Sports rather than World.", "Sports"),
    ("It could be World, but I'd say Sports.", "Sports"),
    ("It mentions World leaders, but it's mainly Business, Finance.", "Business, Finance"),
    ("The text mentions leaders, which might suggest World, but the main topic is Sports.",
     "Sports"),
    ("Category: World\n\nExplanation: it also touches on Business, Finance.", "World"),
    ("**Answer:** Sci/Tech\n\nReason: it is about a chip launch, not Sports.", "Sci/Tech"),
    ("Looking at the keywords... Therefore, the final answer is: World", "World"),
    ("international", "World"),
    ("This is science news.", "Sci/Tech"),
    ('{"label": "Business, Finance"}', "Business, Finance"),
    ('Here is my answer: {"category": "Sports", "confidence": 0.9}', "Sports"),
    ("I'm not sure, maybe Sports.", "Sports"),
    ("Not Sports.", UNKNOWN),
    ("I don't know.", UNKNOWN),
]


@pytest.mark.parametrize("reply,expected", ZH_CASES)
def test_chinese_replies(reply, expected):
    assert parse_label(reply, ZH, text=ZH_TEXT, aliases=ALIASES) == expected


@pytest.mark.parametrize("reply,expected", EN_CASES)
def test_english_replies(reply, expected):
    assert parse_label(reply, EN, text=EN_TEXT, aliases=ALIASES) == expected


def test_without_the_text_an_echo_is_just_text():
    reply = f"给定文本：{ZH_TEXT}\n这条新闻"
    assert parse_label(reply, ZH, text=ZH_TEXT) == UNKNOWN
    assert parse_label(reply, ZH) == "体育"  # the first plain mention, inside the echo


def test_aliases_that_cannot_decide_are_ignored():
    # an alias equal to a label, an alias of two labels, an alias of a label not in the set
    aliases = {"体育": ["财经", "新闻"], "财经": ["新闻"], "汽车": ["车"]}
    assert parse_label("财经", ZH, aliases=aliases) == "财经"
    assert parse_label("新闻", ZH, aliases=aliases) == UNKNOWN
    assert parse_label("车", ZH, aliases=aliases) == UNKNOWN
    with pytest.raises(TypeError, match="aliases maps a label"):
        parse_label("x", ZH, aliases=[("世界", "国际")])


@pytest.mark.parametrize("reply",
                         [None, 42, "", "   ", "{", '{"label": 3}', "[]", "\x00", "()" * 50,
                                   "不是" * 100, "\n- \n- \n"])
def test_never_raises(reply):
    assert parse_label(reply, ZH + EN, text="文本", aliases=ALIASES) == UNKNOWN


def test_parse_labels_pairs_replies_with_texts():
    got = parse_labels([f"{ZH_TEXT} 财经", "体育"], ZH, texts=[ZH_TEXT, None])
    assert got == ["财经", "体育"]
    with pytest.raises(ValueError, match="2 replies but 1 texts"):
        parse_labels(["a", "b"], ZH, texts=["x"])


def test_one_normaliser_for_labels():
    assert fold("ＳＰＯＲＴＳ") == "sports"
    assert label_key("Business,  Finance") == label_key("business,finance") == "business,finance"
    assert label_key("😀️ Happy") == label_key("😀 happy")
