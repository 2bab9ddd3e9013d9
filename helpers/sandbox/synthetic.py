"""Synthetic Chinese headlines for tests and the scaling benchmark (no dataset needed).

Each headline mixes two words of its topic, a few neutral words and, often, a
word from another topic, so neither model can be perfect.
"""
from __future__ import annotations

import json
import random

WORDS = {
    "体育": ["主场", "客场", "绝杀", "卫冕", "半决赛", "加时赛", "转会", "后卫", "射门", "亚洲杯",
             "田径", "游泳队", "羽毛球", "退役"],
    "财经": ["央行", "通胀", "降息", "外资", "营收", "净利润", "债券", "汇率", "民营企业", "出口",
             "消费券", "上市公司", "减税", "信贷"],
    "科技": ["芯片", "大模型", "算力", "操作系统", "量子", "卫星互联网", "开源", "处理器",
             "自动驾驶", "云计算", "新款手机", "机器人", "传感器", "网络安全"],
    "娱乐": ["影帝", "新剧", "首映", "综艺节目", "偶像", "恋情", "片酬", "杀青", "选秀", "红毯",
             "音乐节", "演技", "主题曲", "剧组"],
    "汽车": ["车企", "新能源", "混动", "续航", "试驾", "底盘", "车型", "召回", "充电桩", "变速箱",
             "轿跑", "越野", "油耗", "车展"],
    "旅游": ["景区", "古镇", "自驾游", "民宿", "海岛", "签证", "门票", "黄金周", "徒步", "邮轮",
             "露营", "导游", "打卡", "航线"],
}
FILLER = ["今天", "最新", "消息", "表示", "正式", "如何", "为什么", "网友", "热议", "曝光", "首次",
          "回应", "专家", "发布", "全面", "这些", "来了", "背后"]


def headlines(n: int, seed: int = 0, labels=None) -> list[tuple[str, str]]:
    """``n`` (headline, label) pairs, labels cycling through the topics."""
    rng = random.Random(seed)
    labels = list(labels or WORDS)
    out = []
    for i in range(n):
        label = labels[i % len(labels)]
        words = rng.sample(WORDS[label], 2) + rng.sample(FILLER, 3)
        if rng.random() < 0.6:
            words.append(rng.choice(WORDS[rng.choice(labels)]))
        rng.shuffle(words)
        out.append(("".join(words), label))
    return out


def prompt(text: str, labels) -> str:
    """A plain classification prompt of the sandbox's own (not the course's template)."""
    listed = "\n".join(f"- {label}" for label in labels)
    return f"把下面的新闻标题归入一个类别。\n类别：\n{listed}\n\n标题：{text}\n类别："


def messages(text: str, labels) -> list[dict]:
    return [{"role": "user", "content": prompt(text, labels)}]


def chat_jsonl(pairs, labels=None) -> bytes:
    """Chat fine-tuning JSONL: ``prompt`` as the user message, the label as the reply."""
    labels = list(labels or WORDS)
    lines = [json.dumps({"messages": messages(text, labels)
                         + [{"role": "assistant", "content": label}]}, ensure_ascii=False)
             for text, label in pairs]
    return ("\n".join(lines) + "\n").encode()
