"""The sandbox reads prompts it was not written for: labels, the text, in-context examples.

Each foreign style goes through the official OpenAI SDK against the in-process
sandbox and must be answered with one of its labels, the sensible one. The
unit tests below pin the reader's rules one by one.
"""
import subprocess
import sys

import httpx2
import openai
import pytest

from helpers import prompts
from helpers.sandbox import app_for, inference, reading

U = lambda text: {"role": "user", "content": text}  # noqa: E731
S = lambda text: {"role": "system", "content": text}  # noqa: E731
A = lambda text: {"role": "assistant", "content": text}  # noqa: E731

EN_NEWS = ["World News 🌍", "Sports & Games ⚽", "Money, Banking & Finance 💰", "Sci/Tech"]
ZH_NEWS = ["体育 ⚽", "财经、金融", "科技/互联网 📱", "娱乐（明星）"]

# (style, messages, labels the reply must come from, the sensible answer)
EN_STYLES = [
    ("bullets under a header, labels with commas and emoji",
     [U("Labels:\n" + "\n".join(f"- {x}" for x in EN_NEWS)
        + "\n\nInput: The coach said the team won the championship game this season.\nLabel:")],
     EN_NEWS, "Sports & Games ⚽"),
    ("numbered list, Input/Output",
     [U("Classify the article.\n1) " + "\n2) ".join(EN_NEWS)
        + "\n\nArticle: The central bank raised interest rates; the stock market and investor "
          "profit fell.\nOutput:")],
     EN_NEWS, "Money, Banking & Finance 💰"),
    ("inline semicolons, labels with commas",
     [U("Pick one of: Politics, Law; Health, Medicine; Space Exploration 🚀.\n"
        "Text: NASA will launch the rocket to orbit the moon next year.\nAnswer:")],
     ["Politics, Law", "Health, Medicine", "Space Exploration 🚀"], "Space Exploration 🚀"),
    ("pipes, text in triple quotes",
     [U('Options: Real Estate 🏠 | Autos & Cars | Tech\n"""Mortgage rates hit housing: '
        'fewer buyers for new housing this spring."""\nRespond with the option only.')],
     ["Real Estate 🏠", "Autos & Cars", "Tech"], "Real Estate 🏠"),
    ("bracketed slash list and no text header",
     [U("Which sentiment [positive/negative/neutral] does this review express? "
        "Terrible quality, it broke after a day and I want a refund.")],
     ["positive", "negative", "neutral"], "negative"),
    ("X or Y question",
     [U("Is this post about baseball or hockey?\n\nThe goalie stopped every puck in the "
        "playoffs and the Bruins won on a power play goal.")],
     ["baseball", "hockey"], "hockey"),
    ("quoted labels in the system message, bare text from the user",
     [S('You sort forum posts. Reply with exactly one of "⚾ Baseball talk", "🏒 Hockey talk".'),
      U("Our pitcher threw seven innings and the shortstop homered twice.")],
     ["⚾ Baseball talk", "🏒 Hockey talk"], "⚾ Baseball talk"),
    ("markdown headers, fenced text",
     [U("**Categories (choose one):**\n* Education / Schools\n* Military & Defense\n"
        "* Travel, Tourism ✈️\n\n**Text:**\n```\nThe army tested a new missile and troops "
        "joined the weapon drill.\n```")],
     ["Education / Schools", "Military & Defense", "Travel, Tourism ✈️"], "Military & Defense"),
    ("few-shot turns with labels the lexicon does not know",
     [S("Label each support ticket."),
      U("Ticket: my invoice shows the wrong amount\nTopic:"), A("billing"),
      U("Ticket: the app crashes when I log in\nTopic:"), A("bug report"),
      U("Ticket: the invoice amount is wrong again this month\nTopic:")],
     ["billing", "bug report"], "billing"),
    ("star range",
     [U("Rate this review from 1 to 5 stars.\nReview: Excellent, perfect fit, I love it and "
        "recommend it!\nStars:")],
     ["1", "2", "3", "4", "5"], "5"),
]

ZH_STYLES = [
    ("顿号行内列表，标签含空格和表情",
     [U("类别：" + "；".join(ZH_NEWS) + "\n新闻：国足在世界杯预选赛主场进球，球队夺冠\n类别：")],
     ZH_NEWS, "体育 ⚽"),
    ("候选标签逐行列出，标签含顿号和斜杠",
     [U("候选标签：\n- 国际、外交\n- 科技/互联网 📱\n- 股票 📈\n\n给定文本：华为发布新款手机芯片，"
        "人工智能算法升级\n类别：")],
     ["国际、外交", "科技/互联网 📱", "股票 📈"], "科技/互联网 📱"),
    ("编号列表，文本/输出",
     [U("请判断新闻所属类别。\n1. 房产 🏠\n2. 汽车\n3. "
        "教育\n\n文本：高考结束，学生和老师讨论大学招生\n输出：")],
     ["房产 🏠", "汽车", "教育"], "教育"),
    ("全角括号斜杠列表",
     [U("这条评论的情感（正面/负面/中性）是什么？\n评论：质量太差，用了两天就坏了，很失望，要退货。")],
     ["正面", "负面", "中性"], "负面"),
    ("是 X 还是 Y",
     [U("这条新闻是军事还是旅游？\n解放军航母编队进行演习，战斗机起飞")],
     ["军事", "旅游"], "军事"),
    ("「」引号标签",
     [U("只回答「农业 🌾」或「游戏 🎮」之一。\n内容：玩家在电竞比赛中用新英雄通关副本")],
     ["农业 🌾", "游戏 🎮"], "游戏 🎮"),
    ("从 A、B、C 中选择",
     [U("从财经、娱乐、文化中选择一个类别：电影票房创新高，明星主演的电视剧热播")],
     ["财经", "娱乐", "文化"], "娱乐"),
    ("系统消息给出竖线分隔的标签",
     [S("你是新闻分类助手。可选类别：国际 | 体育 | 财经 理财"),
      U("美国总统与日本首相会谈外交政策")],
     ["国际", "体育", "财经 理财"], "国际"),
    ("课程的模板（逐行列出标签）",
     [U(prompts.classification_prompt("央行宣布降息，银行贷款利率下调", ["体育", "财经", "科技"],
                                      "zh"))],
     ["体育", "财经", "科技"], "财经"),
    ("课程的旧模板",
     [U("对给定文本进行分类，类别包括：体育、财经、科技。\n\n给定文本：\nNBA "
        "球队夺冠，球员庆祝\n类别：")],
     ["体育", "财经", "科技"], "体育"),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = app_for(tmp_path_factory.mktemp("sandbox-reading"))
    return openai.OpenAI(api_key="sk-test", base_url="http://sandbox.local/v1", max_retries=0,
                         http_client=httpx2.Client(transport=httpx2.WSGITransport(app=app)))


def _ask(client, messages) -> str:
    reply = client.chat.completions.create(model="sandbox-base", messages=messages)
    return reply.choices[0].message.content


@pytest.mark.parametrize("style,messages,labels,expected", EN_STYLES, ids=[s[0] for s in EN_STYLES])
def test_english_prompt_styles_get_a_sensible_label(client, style, messages, labels, expected):
    answer = _ask(client, messages)
    assert answer in labels
    assert answer == expected


@pytest.mark.parametrize("style,messages,labels,expected", ZH_STYLES, ids=[s[0] for s in ZH_STYLES])
def test_chinese_prompt_styles_get_a_sensible_label(client, style, messages, labels, expected):
    answer = _ask(client, messages)
    assert answer in labels
    assert answer == expected


def test_each_style_reads_exactly_its_labels():
    for _, messages, labels, _ in EN_STYLES + ZH_STYLES:
        if labels == ["1", "2", "3", "4", "5"]:
            continue
        assert list(reading.read(messages).labels) == labels, messages


def test_a_prompt_without_labels_gets_the_fallback_sentence(client):
    answer = _ask(client, [U("What is the capital of France?")])
    assert answer == inference.FALLBACK_ANSWER
    assert inference.base_distribution([U("What is the capital of France?")]) is None


# ------------------------------------------------------------------ unit tests
def test_split_list_uses_the_strongest_separator():
    assert reading.split_list("a, b | c, d") == ["a, b", "c, d"]
    assert reading.split_list("体育、财经；科技/互联网、游戏") == [
        "体育、财经", "科技/互联网、游戏"]
    assert reading.split_list("World, Sports, Business, Sci/Tech.") == [
        "World", "Sports", "Business", "Sci/Tech"]
    assert reading.split_list("positive, negative, or neutral") == [
        "positive", "negative", "neutral"]
    assert reading.split_list("politics, sports and business") == ["politics", "sports", "business"]
    assert reading.split_list("正面、负面或中性") == ["正面", "负面", "中性"]
    assert reading.split_list('"Arts, Culture", "Science & Tech"') == [
        "Arts, Culture", "Science & Tech"]
    assert reading.split_list("[a/b/c]") == ["a", "b", "c"]


def test_header_block_list_stops_at_the_text():
    labels, _, source = reading.find_labels("Categories:\nsports\nbusiness\nThe senate passed "
                                            "the new law today")
    assert labels == ["sports", "business"] and source == "list"
    labels, _, _ = reading.find_labels("Labels:\n- sports: games and teams\n- business: companies "
                                       "and markets\nAnswer with the label only.")
    assert labels == ["sports", "business"]


def test_text_is_read_after_its_header_up_to_the_answer_cue():
    r = reading.read_prompt("Categories: a, b\n\nText:\nfirst line\n\nsecond paragraph\nCategory:")
    assert r.text == "first line\n\nsecond paragraph"
    r = reading.read_prompt("类别：体育、财经\n新闻：央行降息\n\n只回答类别名称。")
    assert r.text == "央行降息"
    r = reading.read_prompt("Classify into sports, business, or politics: The senate passed the "
                            "law.")
    assert r.labels == ("sports", "business", "politics") and r.text == "The senate passed the law."
    r = reading.read_prompt("<text>Stocks fell sharply</text>\nChoose from: 'finance', 'sports'")
    assert r.labels == ("finance", "sports") and r.text == "Stocks fell sharply"


def test_course_prompt_round_trips_with_json_examples_and_json_answer():
    shots = [("Pitcher threw a no-hitter", "baseball"), ('a "quoted" => tricky\nline', "hockey")]
    p = prompts.classification_prompt("Great puck handling\n\nsecond para", ["baseball", "hockey"],
                                      "en", examples=shots)
    r = reading.read_prompt(p)
    assert r.labels == ("baseball", "hockey") and r.text == "Great puck handling\n\nsecond para"
    assert r.examples == tuple(shots)
    p = prompts.classification_prompt("国足取胜", ["科技, 数码", "体育"], "zh", answer="json")
    r = reading.read_prompt(p)
    assert r.labels == ("科技, 数码", "体育") and r.text == "国足取胜"


def test_examples_from_header_pairs_and_from_turns():
    r = reading.read([U("Text: The pitcher threw 100 mph\nCategory: baseball\n\nText: Puck dropped "
                        "at 7pm\nCategory: hockey\n\nText: Great save by the goalie\nCategory:")])
    assert r.examples == (("The pitcher threw 100 mph", "baseball"),
                          ("Puck dropped at 7pm", "hockey"))
    assert r.labels == ("baseball", "hockey") and r.text == "Great save by the goalie"
    turns = [U("Classify: sports or finance?\nText: goal!"), A("sports"), U("Text: stocks up")]
    r = reading.read(turns)
    assert ("goal!", "sports") in r.examples and r.text == "stocks up"


def test_candidates_override_the_prompt_and_restrict_the_answer():
    messages = [U("Categories: sports, finance\nText: the team won the league game\nCategory:")]
    assert reading.read(messages, candidates=["Finance 💰", "Sports ⚽"]).labels == (
        "Finance 💰", "Sports ⚽")
    dist = inference.base_distribution(messages, candidates=["Finance 💰", "Sports ⚽"])
    assert set(dist) == {"Finance 💰", "Sports ⚽"} and max(dist, key=dist.get) == "Sports ⚽"
    assert abs(sum(dist.values()) - 1) < 1e-9


def test_plain_text_is_its_own_input():
    text = "Should I buy this or not? The battery, screen and price are all fine."
    assert reading.input_text(text) == text
    prompt = prompts.classification_prompt("国足取胜", ["体育", "财经"], "zh")
    assert reading.input_text(prompt) == "国足取胜"


def test_content_parts_are_read():
    parts = [{"type": "text", "text": "Categories: hockey, baseball\n"},
             {"type": "text", "text": "Text: the goalie and the puck\nCategory:"}]
    assert inference.base_distribution([{"role": "user", "content": parts}]) is not None
    assert reading.read([{"role": "user", "content": parts}]).text == "the goalie and the puck"


@pytest.mark.slow
def test_the_sandbox_does_not_import_the_course_prompt_module():
    code = ("import sys, helpers.sandbox, helpers.sandbox.core, helpers.sandbox.reading, "
            "helpers.sandbox.inference, helpers.sandbox.validation, helpers.sandbox.synthetic; "
            "print('helpers.prompts' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
