"""Small helpers for notebook 01 (zero-shot, structured outputs, few-shot).

What the lesson shows, built from the run's own dataset so nothing printed
names a particular one: reply styles real models produce, made from the
dataset's labels (``reply_styles``); aliases taken from a label map
(``aliases_from_label_map``); the side-by-side table of answer modes measured
on the test set (``mode_table``); and the figures 01 records for the run
summary and notebook 06 (``approach_figures``).

The classification is ``helpers.classify``, the reply parser
``helpers.answers.parse_label``, the schemas ``helpers.structured``.
"""
from __future__ import annotations

import re
import statistics

import pandas as pd

from .. import metrics, prices
from ..answers import UNKNOWN, fold, label_key, parse_label
from ..results import approach_figures as keyed

# The sentences real models wrap a label in, per prompt language. {x} is the
# answer, {y} another label, {a} an alias, {t} the classified text.
STYLES = {
    "zh": [
        ("bare label", "{x}"),
        ("full sentence", "这条新闻属于{x}类。"),
        ("answer marker", "类别：{x}"),
        ("markdown bold", "**{x}**"),
        ("quoted", "「{x}」"),
        ("explanation, then the answer", "标题讲的是具体事件的进展，综合来看答案是{x}。"),
        ("echo of the text", "“{t}”这条新闻属于{x}类。"),
        ("negation", "不是{y}，而是{x}。"),
        ("two labels, one preferred", "可能和{y}有关，但更像是{x}。"),
        ("JSON", '{{"label": "{x}"}}'),
        ("alias", "这是一条{a}新闻。"),
        ("no label", "无法判断。"),
    ],
    "en": [
        ("bare label", "{x}"),
        ("full sentence", "This text belongs to the {x} category."),
        ("answer marker", "Category: {x}"),
        ("markdown bold", "The answer is **{x}**."),
        ("quoted", '"{x}"'),
        ("explanation, then the answer", "The text reports how a story developed, so the "
                                         "answer is {x}."),
        ("echo of the text", 'The text "{t}" belongs to {x}.'),
        ("negation", "Not {y}, but {x}."),
        ("two labels, one preferred", "It could be {y}, but I'd say {x}."),
        ("JSON", '{{"label": "{x}"}}'),
        ("alias", "This one is about {a}."),
        ("no label", "I cannot tell from this text."),
    ],
}
# An invented text that names label {y}, for datasets where no text names another label.
INVENTED_ECHO = {"zh": "网友热议：{y}圈最近发生的这件事，到底该怎么看待",
                 "en": "Everyone who follows {y} keeps talking about this story all week"}


def aliases_from_label_map(label_map: dict | None, labels) -> dict[str, list[str]]:
    """Other names of each label that a label map knows: its raw code, and the code
    without a prefix shared by every code (``news_world`` -> ``world`` for ``国际``).

    Only labels in ``labels`` get aliases; an alias equal to a label is left out.
    """
    if not label_map:
        return {}
    labels = list(labels)
    keys = {label_key(lab) for lab in labels}
    raws = [str(r) for r in label_map]
    prefix = _common_prefix(raws)
    out: dict[str, list[str]] = {}
    for raw, name in label_map.items():
        if name not in labels:
            continue
        names = [str(raw)]
        short = str(raw)[len(prefix):]
        if short and short != str(raw):
            names.append(short)
        names = [n for n in dict.fromkeys(names) if label_key(n) not in keys
                 and len(n) >= 2 and any(c.isalpha() for c in n)]
        if names:
            out[name] = names
    return out


def _common_prefix(values) -> str:
    """The prefix every value shares, cut after its last separator (``news_``)."""
    if len(values) < 2:
        return ""
    first, last = min(values), max(values)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    shared = first[:n]
    cut = max(shared.rfind(c) for c in "_-:/. ")
    return shared[:cut + 1] if cut >= 0 else ""


def naive_label(reply, labels) -> str:
    """The 2023-style reading: the label mentioned first in the reply (else ``unknown``)."""
    if not isinstance(reply, str):
        return UNKNOWN
    folded = fold(reply)
    found = [(folded.find(fold(lab)), -len(lab), lab) for lab in labels if fold(lab) in folded]
    return min(found)[2] if found else UNKNOWN


def echo_example(texts, text_labels, labels, lang: str):
    """``(text, its label, another label the text names)`` from the data, or an invented one.

    Real models often repeat the text before answering; when the text names
    another label, a parser that counts every mention picks the wrong one.
    """
    for text, own in zip(texts, text_labels, strict=False):
        if not isinstance(text, str) or len(text) > 80:
            continue
        folded = fold(text)
        for other in labels:
            if other != own and _names(folded, other):
                return text, own, other
    own, other = labels[0], labels[1 % len(labels)]
    return INVENTED_ECHO[lang].format(y=other), own, other


def _names(folded_text: str, label: str) -> bool:
    needle = fold(label)
    if re.search(r"[\u3400-\u9fff]", needle):
        return needle in folded_text
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", folded_text) is not None


def reply_styles(labels, lang: str = "zh", texts=(), text_labels=(), aliases=None) -> pd.DataFrame:
    """Demo replies in the styles real models use, built from ``labels``, each read by
    ``parse_label`` and by ``naive_label``.

    Columns: style, reply, expected, parse_label, naive. The echo row uses a
    text of the dataset that names another label (``echo_example``); the alias
    row appears only when ``aliases`` has one.
    """
    labels = list(labels)
    if len(labels) < 2:
        raise ValueError("reply_styles needs at least two labels")
    lang = lang if lang in STYLES else "en"
    echo_text, echo_label, echo_other = echo_example(list(texts), list(text_labels), labels, lang)
    x, y = labels[0], labels[1]
    # the shortest alias reads most like a word a model would use
    alias_pairs = [(lab, min(names, key=len)) for lab, names in (aliases or {}).items()
                   if lab in labels and names]
    rows = []
    for style, template in STYLES[lang]:
        answer, other, text = x, y, None
        if style == "echo of the text":
            answer, other, text = echo_label, echo_other, echo_text
        if style == "alias":
            if not alias_pairs:
                continue
            answer = alias_pairs[0][0]
        expected = UNKNOWN if style == "no label" else answer
        reply = template.format(x=answer, y=other, t=echo_text,
                                a=alias_pairs[0][1] if alias_pairs else "")
        rows.append({"style": style, "reply": reply, "expected": expected,
                     "parse_label": parse_label(reply, labels, text=text, aliases=aliases),
                     "naive": naive_label(reply, labels)})
    return pd.DataFrame(rows)


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(statistics.fmean(values)) if values else None


def mode_table(y_true, runs: dict) -> pd.DataFrame:
    """One row per way of asking (free text, JSON schema, JSON mode...), measured on the
    same rows: accuracy, macro-F1, replies that gave no label, failed requests, and
    mean prompt / completion tokens per prediction (cached answers count their tokens)."""
    y_true = list(y_true)
    rows = {}
    for name, results in runs.items():
        preds = list(results.predictions)
        answered = [p for p in preds if not p.error]
        score = metrics.scores(y_true, [p.label for p in preds])
        rows[name] = {"accuracy": score["accuracy"], "macro_f1": score["macro_f1"],
                      "unparseable": sum(p.parse_error is not None for p in answered),
                      "failed": len(preds) - len(answered),
                      "prompt_tokens": _mean(p.prompt_tokens for p in answered),
                      "completion_tokens": _mean(p.completion_tokens for p in answered)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "answer mode"
    return table.astype({"unparseable": int, "failed": int})


def _price(model: str):
    try:
        price = prices.inference_price(model)
    except prices.UnknownModelError:
        return None
    return price if price.currency == "USD" else None


def approach_figures(results, y_true, model: str) -> dict:
    """The figures the decision table needs for one way of predicting (names of
    ``helpers.results.APPROACH_FIGURES``): accuracy, macro_f1,
    prompt_tokens_per_request, cost_per_1000_usd (None when the model has no USD
    price), training_cost_usd (0: nothing was trained), latency_s (median seconds
    of the requests sent; None when every answer came from the cache)."""
    preds = list(results.predictions)
    answered = [p for p in preds if not p.error]
    score = metrics.scores(list(y_true), [p.label for p in preds])
    price = _price(model)
    cost = None if price is None else metrics.cost_per_1000(
        sum(p.prompt_tokens for p in answered), sum(p.completion_tokens for p in answered),
        len(answered), price.input_per_1m, price.output_per_1m)
    latencies = [p.latency for p in answered if p.latency is not None and not p.cached]
    return {"accuracy": score["accuracy"], "macro_f1": score["macro_f1"],
            "prompt_tokens_per_request": _mean(p.prompt_tokens for p in answered),
            "cost_per_1000_usd": cost, "training_cost_usd": 0.0,
            "latency_s": statistics.median(latencies) if latencies else None}


def unparseable(results) -> int:
    """Replies that came back but gave no label."""
    return sum(p.parse_error is not None and not p.error for p in results.predictions)


def record_figures(y_true, model: str, free, shots, structured=None,
                   structured_mode: str | None = None) -> dict:
    """Everything 01 records for the run summary and 06's decision table.

    ``zero_shot_*`` and ``few_shot_*`` use the keys of
    ``helpers.results.APPROACH_FIGURES``; the structured run's figures
    get the same names under ``zero_shot_structured_*``, with the mode used.
    """
    y_true = list(y_true)
    zero = approach_figures(free, y_true, model)
    few = approach_figures(shots, y_true, model)
    extra = None
    if None not in (zero["prompt_tokens_per_request"], few["prompt_tokens_per_request"]):
        extra = few["prompt_tokens_per_request"] - zero["prompt_tokens_per_request"]
    out = {**keyed("zero_shot", **zero), **keyed("few_shot", **few),
           "zero_shot_unparseable": unparseable(free), "few_shot_unparseable": unparseable(shots),
           "few_shot_extra_prompt_tokens_per_request": extra}
    if structured is not None:
        figures = approach_figures(structured, y_true, model)
        out.update(keyed("zero_shot_structured", **figures))
        out["zero_shot_structured_mode"] = structured_mode
        out["zero_shot_structured_unparseable"] = unparseable(structured)
    return out


def latency_text(seconds: float | None) -> str:
    """A latency to 0.1 s (finer digits are noise between runs; in-process answers are all
    "< 0.1 s"), or "-" when every answer came from the cache."""
    if seconds is None:
        return "-"
    return "< 0.1 s" if seconds < 0.1 else f"{seconds:.1f} s"


def effort_table(y_true, runs: dict, priced_as: str) -> pd.DataFrame:
    """One row per reasoning effort, measured on the same rows: accuracy, mean reasoning
    tokens, answers lost to the budget, USD per 1,000 predictions at ``priced_as``'s list
    price (the column says whose: a stand-in is priced as the model it stands in for) and
    the median latency. Reasoning tokens are billed as output, so they are in the cost."""
    y_true = list(y_true)
    price = prices.inference_price(priced_as)
    cost_column = f"cost / 1,000 (USD, at {price.label})"
    rows = {}
    for effort, results in runs.items():
        preds = list(results.predictions)
        answered = [p for p in preds if not p.error]
        score = metrics.scores(y_true, [p.label for p in preds])
        latencies = [p.latency for p in answered if p.latency is not None and not p.cached]
        rows[effort] = {
            "accuracy": score["accuracy"],
            "reasoning_tokens": _mean(p.reasoning_tokens for p in answered),
            "completion_tokens": _mean(p.completion_tokens for p in answered),
            "budget_exhausted": sum(p.outcome == "budget_exhausted" for p in preds),
            cost_column: metrics.cost_per_1000(
                sum(p.prompt_tokens for p in answered),
                sum(p.completion_tokens for p in answered), len(answered),
                price.input_per_1m, price.output_per_1m) if answered else None,
            "median latency": latency_text(statistics.median(latencies) if latencies else None)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "reasoning_effort"
    return table


def record_reasoning(y_true, model: str, results, effort: str) -> dict:
    """The ``zero_shot_reasoning_*`` figures (``helpers.results.APPROACH_FIGURES`` names)
    for the decision table, priced at ``model``'s own list price, with the effort used and
    the answers lost to the budget."""
    from ..results import approach_figures as keyed

    figures = keyed("zero_shot_reasoning", **approach_figures(results, list(y_true), model))
    return {**figures, "zero_shot_reasoning_model": model, "zero_shot_reasoning_effort": effort,
            "zero_shot_reasoning_budget_exhausted": len(results.exhausted)}
