"""The one classification prompt the course uses everywhere.

Zero-shot calls, few-shot calls, the chat JSONL written for fine-tuning and the
Batch API requests all build their user message here, so the base model and
the fine-tuned model are asked exactly the same question.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

TEMPLATES = {
    "zh": "对给定文本进行分类，类别包括：{labels}。\n\n给定文本：\n{text}\n类别：",
    "en": "Classify the text into one of these categories: {labels}.\n\nText:\n{text}\nCategory:",
}
SEPARATORS = {"zh": "、", "en": ", "}
SYSTEM_PROMPTS = {
    "zh": "你是一个文本分类助手，只回答类别名称。",
    "en": "You are a text classifier. Answer with the category name only.",
}
FEW_SHOT_HEADERS = {"zh": "参考示例：", "en": "Examples:"}
_CJK = re.compile(r"[\u4e00-\u9fff]")


def detect_language(texts) -> str:
    """'zh' if at least a fifth of the sample's characters are CJK, else 'en'."""
    if isinstance(texts, str):
        texts = [texts]
    sample = "".join(list(texts)[:200])
    return "zh" if sample and len(_CJK.findall(sample)) * 5 >= len(sample) else "en"


def classification_prompt(text: str, labels, lang: str = "zh", examples=()) -> str:
    """User message asking for one of ``labels``; ``examples`` are (text, label) pairs."""
    body = TEMPLATES[lang].format(labels=SEPARATORS[lang].join(labels), text=text)
    if not examples:
        return body
    shots = "\n".join(f"{t}\n=> {lab}" for t, lab in examples)
    return f"{FEW_SHOT_HEADERS[lang]}\n{shots}\n\n{body}"


def messages(text: str, labels, lang: str = "zh", examples=(), system: bool = False) -> list[dict]:
    """Chat messages for one classification request."""
    msgs = [{"role": "system", "content": SYSTEM_PROMPTS[lang]}] if system else []
    msgs.append({"role": "user", "content": classification_prompt(text, labels, lang, examples)})
    return msgs


@dataclass(frozen=True)
class ParsedPrompt:
    labels: list[str]
    text: str
    lang: str
    examples: tuple = ()  # (text, label) pairs of a few-shot prompt


_PARSERS = {
    "zh": re.compile(r"类别包括：(?P<labels>.+?)。\n\n给定文本：\n(?P<text>.*)\n类别：\s*$", re.S),
    "en": re.compile(r"one of these categories: (?P<labels>.+?)\.\n\nText:\n(?P<text>.*)\nCategory:\s*$",
                     re.S),
}


def _parse_examples(head: str, lang: str) -> tuple:
    header = FEW_SHOT_HEADERS[lang] + "\n"
    if header not in head:
        return ()
    block = head.split(header, 1)[1].strip("\n")
    return tuple((t.strip(), lab.strip()) for t, lab in re.findall(r"(.+?)\n=> (.+)", block))


def parse_prompt(prompt: str) -> ParsedPrompt | None:
    """Recover candidate labels, the text and any examples from a prompt built here."""
    for lang, pattern in _PARSERS.items():
        m = pattern.search(prompt)
        if m:
            labels = [s.strip() for s in m.group("labels").split(SEPARATORS[lang]) if s.strip()]
            head = prompt[:prompt.rfind(TEMPLATES[lang].split("{labels}")[0])]
            return ParsedPrompt(labels=labels, text=m.group("text"), lang=lang,
                                examples=_parse_examples(head, lang))
    return None
