"""The zero-shot base model: candidate labels scored with a general lexicon.

``sandbox-base`` is not a language model. Given the candidate labels and the
text (``reading`` finds them in any prompt), it maps every label to a general
topic (or a sentiment scale) through a synonym table, and scores
it by how many of that topic's keywords occur in the text, plus a small bonus
for characters the label itself shares with the text. Highest score wins; ties
go to the label listed first. The lexicon is written from general knowledge,
not from any dataset, so the answer depends only on the request.

In-context examples: when the request carries few-shot examples, each example
also votes for its own label, weighted by the character-bigram overlap
(Jaccard) between the example's text and the text to classify. This
nearest-neighbour reading of the examples is the sandbox's honest stand-in
for in-context learning: it uses nothing but what the request contains.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache

# topic -> (synonyms a label may use, keywords that suggest the topic)
TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "story": (("故事", "民生", "story", "stories"),
              ("故事", "老人", "孩子", "母亲", "父亲", "感动", "回忆", "当年", "村里", "一生",
               "妻子", "婆婆", "经历", "人生", "life", "family")),
    "culture": (("文化", "艺术", "历史", "culture", "art", "arts", "history"),
                ("文化", "历史", "古代", "传统", "书法", "文物", "诗", "博物馆", "艺术", "朝代",
                 "皇帝", "文学", "小说", "作家", "非遗", "museum", "poetry", "painting")),
    "entertainment": (("娱乐", "明星", "影视", "entertainment", "movies", "music", "celebrity"),
                      ("明星", "电影", "电视剧", "综艺", "演员", "歌手", "导演", "票房", "演唱会",
                       "粉丝", "网红", "娱乐圈", "热播", "主演", "movie", "film", "singer", "actor",
                       "album", "concert")),
    "sports": (("体育", "运动", "sports", "sport"),
               ("比赛", "球队", "球员", "冠军", "联赛", "足球", "篮球", "NBA", "CBA", "奥运",
                "进球",
                "教练", "世界杯", "赛季", "夺冠", "主场", "国足", "决赛", "排球", "乒乓", "网球",
                "马拉松", "game", "team", "season", "coach", "player", "league", "championship")),
    "finance": (("财经", "金融", "经济", "商业", "finance", "business", "economy"),
                ("经济", "金融", "银行", "投资", "理财", "市场", "企业", "GDP", "利率", "贷款",
                 "融资",
                 "消费", "收入", "公司", "财报", "保险", "央行", "降息", "加息", "债券", "通胀",
                 "汇率", "人民币", "税", "bank", "market", "economy", "company",
                 "profit", "investor")),
    "real_estate": (("房产", "房地产", "楼市", "real estate", "housing"),
                    ("房价", "楼盘", "房子", "买房", "房地产", "楼市", "小区", "二手房", "租房",
                     "开发商", "首付", "房贷", "户型", "住宅", "mortgage", "housing")),
    "autos": (("汽车", "车", "autos", "auto", "cars", "car"),
              ("汽车", "车型", "发动机", "SUV", "新车", "驾驶", "轿车", "油耗", "电动车",
               "新能源车",
               "车主", "4S", "变速箱", "奔驰", "宝马", "丰田", "大众", "特斯拉", "engine",
               "vehicle", "dealer")),
    "education": (("教育", "education", "school"),
                  ("学生", "学校", "高考", "考研", "老师", "教育", "大学", "考试", "孩子学习",
                   "中考", "毕业", "招生", "课程", "幼儿园", "留学", "student", "school", "teacher",
                   "university", "exam")),
    "tech": (("科技", "技术", "科学", "tech", "technology", "science", "sci/tech", "computers"),
             ("手机", "科技", "互联网", "芯片", "人工智能", "AI", "5G", "苹果", "华为", "小米",
              "软件",
              "电脑", "数据", "机器人", "App", "算法", "iPhone", "computer", "software", "internet",
              "chip", "windows", "data")),
    "military": (("军事", "国防", "military", "defense"),
                 ("军队", "导弹", "航母", "战斗机", "士兵", "军事", "战争", "部队", "武器",
                  "解放军", "坦克", "军舰", "国防", "演习", "missile", "army", "weapon", "troops")),
    "travel": (("旅游", "旅行", "travel", "tourism"),
               ("旅游", "景点", "景区", "游客", "旅行", "自驾", "酒店", "风景", "度假", "门票",
                "古镇", "攻略", "签证", "hotel", "tourist", "trip")),
    "world": (("国际", "世界", "world", "international", "global"),
              ("美国", "日本", "俄罗斯", "欧洲", "总统", "外交", "英国", "韩国", "联合国", "印度",
               "德国", "法国", "朝鲜", "国外", "president", "minister", "foreign", "UN",
               "election")),
    "stocks": (("股票", "证券", "股市", "stock", "stocks"),
               ("股票", "A股", "股市", "涨停", "大盘", "上证", "个股", "板块", "股价", "基金",
                "牛市", "熊市", "券商", "指数", "shares", "stock", "nasdaq", "dow")),
    "agriculture": (("农业", "农村", "三农", "agriculture", "farming"),
                    ("农民", "种植", "农业", "农村", "养殖", "庄稼", "农产品", "化肥", "小麦",
                     "水稻", "玉米", "蔬菜", "果树", "养猪", "土地", "farm", "crop", "harvest")),
    "games": (("游戏", "电竞", "games", "gaming", "game"),
              ("游戏", "玩家", "电竞", "王者荣耀", "英雄联盟", "LOL", "手游", "网游", "吃鸡",
               "steam", "主机", "副本", "装备", "英雄", "player", "console", "nintendo")),
    "society": (("社会", "society", "local"),
                ("警方", "男子", "女子", "法院", "事故", "村民", "网友", "医院", "派出所", "市民",
                 "police", "court", "accident")),
    "health": (("健康", "医疗", "health", "medicine", "medical", "sci.med"),
               ("医生", "疾病", "健康", "医院", "治疗", "癌症", "药", "患者", "饮食", "减肥",
                "doctor", "patient", "disease", "drug", "treatment")),
    "politics": (("政治", "时政", "politics", "talk.politics"),
                 ("政府", "政策", "会议", "领导", "改革", "government", "policy", "congress",
                  "senate", "law", "vote")),
    "space": (("航天", "太空", "space", "sci.space"),
              ("航天", "火箭", "卫星", "太空", "宇航员", "NASA", "orbit", "rocket", "shuttle",
               "launch", "moon", "satellite")),
    "religion": (("宗教", "religion", "christian", "atheism"),
                 ("宗教", "佛教", "教堂", "god", "church", "bible", "jesus", "faith", "atheist")),
    "baseball": (("棒球", "baseball"),
                 ("棒球", "baseball", "pitcher", "inning", "hitter", "batting", "bullpen", "homer",
                  "home run", "mlb", "braves", "yankees", "dodgers", "mets", "cubs", "pitch",
                  "era", "rbi", "shortstop")),
    "hockey": (("冰球", "hockey"),
               ("冰球", "hockey", "nhl", "goalie", "puck", "ice", "playoffs", "penguins", "bruins",
                "rangers", "leafs", "canucks", "stanley cup", "power play", "goal", "penalty")),
}
POSITIVE = ("great", "excellent", "love", "loved", "perfect", "amazing", "good", "best", "happy",
            "recommend", "works well", "nice", "fantastic", "awesome", "satisfied", "beautiful",
            "好", "喜欢", "满意", "推荐", "不错", "完美", "棒")
NEGATIVE = ("bad", "terrible", "awful", "poor", "broke", "broken", "waste", "disappointed",
            "return", "returned", "worst", "useless", "cheap", "refund", "doesn't work",
            "does not work", "not work", "never", "差", "失望", "退货", "垃圾", "坏")
SENTIMENT_LABELS = {"positive": 1.0, "negative": -1.0, "neutral": 0.0, "正面": 1.0,
                    "负面": -1.0, "中性": 0.0, "good": 1.0, "bad": -1.0}
POSITIVE_LABELS = ("positive", "pos", "good", "正面", "积极", "好评", "满意", "喜欢", "like",
                   "👍", "😀", "😊", "🙂", "😃", "❤", "❤️")
NEGATIVE_LABELS = ("negative", "neg", "bad", "负面", "消极", "差评", "不满意", "不喜欢", "dislike",
                   "👎", "😞", "😠", "🙁", "😡", "💔")
NEUTRAL_LABELS = ("neutral", "mixed", "中性", "中立", "一般", "😐")
_WORD = re.compile(r"[a-z0-9']+")
_STARS = re.compile(r"^\s*([1-5])(\s*(stars?|星|分)|\s*/\s*5|\s+out of\s+5)?\s*$", re.I)
_STAR_CHARS = re.compile(r"^\s*([★⭐]\ufe0f?){1,5}\s*$")
_EDGE = re.compile(r"^[\W_]+|[\W_]+$")


def _norm(s: str) -> str:
    """A label as the lexicon matches it: lower case, emoji and punctuation trimmed at the edges."""
    low = s.strip().lower()
    return _EDGE.sub("", low) or low


def star_value(label: str) -> int | None:
    """1-5 for a star-rating label ("4", "4 stars", "4星", "★★★★"), else None."""
    m = _STARS.match(label)
    if m:
        return int(m.group(1))
    if _STAR_CHARS.match(label):
        return sum(c in "★⭐" for c in label)
    return None


def sentiment_value(label: str) -> float | None:
    """+1 / -1 / 0 for a sentiment label ("Positive 😀", "负面", "👎"), else None."""
    key = _norm(label)
    if key in SENTIMENT_LABELS:
        return SENTIMENT_LABELS[key]
    raw = label.strip().lower()
    for value, names in ((-1.0, NEGATIVE_LABELS), (1.0, POSITIVE_LABELS), (0.0, NEUTRAL_LABELS)):
        if any((n in raw) if not n.isascii() else re.search(rf"(?<![a-z]){n}(?![a-z])", raw)
               for n in names):
            if value == 1.0 and re.search(r"\b(?:not|non)[ -]?positive|不满意|不喜欢", raw):
                continue
            return value
    return None


@lru_cache(maxsize=4096)
def topic_of(label: str) -> str | None:
    """The lexicon topic a label names, by exact synonym, then by containment
    (whole words for English synonyms, so "art" is not found in "smartphones")."""
    lab = _norm(label)
    for topic, (synonyms, _) in TOPICS.items():
        if lab in synonyms:
            return topic
    best = None
    for topic, (synonyms, _) in TOPICS.items():
        for syn in synonyms:
            found = (re.search(rf"(?<![a-z]){re.escape(syn)}(?![a-z])", lab) if syn.isascii()
                     else syn in lab)
            if len(syn) >= 2 and found and (best is None or len(syn) > best[1]):
                best = (topic, len(syn))
    return best[0] if best else None


def _count(text: str, words, tokens: set[str]) -> int:
    hits = 0
    for w in words:
        w = w.lower()
        if w.isascii() and " " not in w:
            hits += w in tokens
        else:
            hits += w in text
    return hits


def sentiment(text: str) -> float:
    """Polarity in [-1, 1] from positive and negative cue words."""
    low = text.lower()
    tokens = set(_WORD.findall(low))
    pos, neg = _count(low, POSITIVE, tokens), _count(low, NEGATIVE, tokens)
    return 0.0 if pos + neg == 0 else (pos - neg) / (pos + neg)


@lru_cache(maxsize=256)
def _plan(labels: tuple[str, ...]):
    """How each label is scored: ("stars", values) for a star scale, else one entry per
    label: ("sentiment", value) or ("topic", token words, substring words, label chars)."""
    stars = [star_value(lab) for lab in labels]
    if labels and all(v is not None for v in stars):
        return "stars", tuple(stars)
    entries = []
    for lab in labels:
        value = sentiment_value(lab)
        if value is not None:
            entries.append(("sentiment", value))
            continue
        topic = topic_of(lab)
        words = {w.lower() for w in TOPICS[topic][1]} if topic else set()
        token_words = frozenset(w for w in words if w.isascii() and " " not in w)
        grams = frozenset(w for w in words if not w.isascii())  # found among the text's n-grams
        phrases = tuple(sorted(w for w in words if w.isascii() and " " in w))
        chars = frozenset(c for c in _norm(lab) if not c.isspace() and not c.isascii())
        entries.append(("topic", token_words, grams, phrases, chars))
    return "labels", tuple(entries)


def _gram_lengths(plan) -> tuple[int, ...]:
    lengths = {len(w) for e in plan if e[0] == "topic" for w in e[2]}
    return tuple(sorted(lengths | ({1} if any(e[0] == "topic" and e[4] for e in plan) else set())))


def score_matrix(labels, texts) -> list[list[float]]:
    """``score_labels`` for many texts at once (one row per text): the label plan is built once."""
    kind, plan = _plan(tuple(labels))
    lengths = _gram_lengths(plan) if kind == "labels" else ()
    rows = []
    for text in texts:
        if kind == "stars":
            target = 3.0 + 2.0 * sentiment(text)  # polarity -1..1 -> 1..5 stars
            rows.append([-abs(v - target) for v in plan])
            continue
        low = text.lower()
        tokens = set(_WORD.findall(low))
        # Every substring of the lengths the keywords have: set lookups instead of scans.
        grams = set() if low.isascii() else {low[i:i + n] for n in lengths
                                             for i in range(len(low) - n + 1)}
        polarity, row = None, []
        for entry in plan:
            if entry[0] == "sentiment":
                polarity = sentiment(text) if polarity is None else polarity
                row.append(-abs(entry[1] - polarity) * 2)
                continue
            _, token_words, keyword_grams, phrases, chars = entry
            score = float(len(token_words & tokens) + len(keyword_grams & grams)
                          + sum(p in low for p in phrases))
            score += 0.3 * len(chars & grams) / max(len(chars), 1)
            row.append(score)
        rows.append(row)
    return rows


def score_labels(labels: list[str], text: str) -> list[float]:
    """One score per candidate label (higher is more likely)."""
    return score_matrix(labels, [text])[0]


EXAMPLE_WEIGHT = 6.0


def _bigrams(text: str) -> set[str]:
    t = "".join(text.lower().split())
    return {t[i:i + 2] for i in range(len(t) - 1)} or {t}


def example_votes(labels: list[str], text: str, examples) -> list[float]:
    """Per label, the summed bigram-Jaccard similarity of examples that carry it."""
    grams = _bigrams(text)
    votes = dict.fromkeys(labels, 0.0)
    for ex_text, ex_label in examples:
        if ex_label in votes:
            other = _bigrams(ex_text)
            votes[ex_label] += len(grams & other) / len(grams | other)
    return [EXAMPLE_WEIGHT * votes[lab] for lab in labels]


SHARPNESS = 1.5  # logit = SHARPNESS x score: how confident the base model is


def probabilities(scores: list[float], sharpness: float = SHARPNESS) -> list[float]:
    """A softmax over scores: the base model's (uncalibrated) confidence."""
    top = max(scores)
    exps = [math.exp(sharpness * (s - top)) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]
