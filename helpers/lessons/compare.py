"""Comparison tables for notebook 06: the decision table (one row per way of
predicting, measured on one test set), its cost conversion at another model's
prices, predictions with their confidence, the error analysis, the training
experiments and what a label-sorted training file does to the predictions.

A second dataset in the same notebook is a second ``pipeline.start(...,
work_dir=<a folder under the first run's>)``: settings are the same for every
call in a process, so it shares the backend, sandbox and cassette.
"""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, replace

import pandas as pd

from .. import metrics, prices
from ..baselines import LOCAL_MODEL
from ..results import BASELINES, approach_figures


@dataclass
class Approach:
    """One way of predicting, measured on the test set.

    ``results``: a ``ClassificationResults`` (anything with ``.predictions``);
    ``model``: the model that answered; ``key``: its name in the run's results
    (``zero_shot``, ``zero_shot_structured``, ``few_shot``, ``fine_tuned``);
    ``trained_tokens``: tokens billed to train the model (0: nothing trained).
    A baseline (``helpers.baselines``) has the key ``tfidf_lr`` or ``embeddings_lr``
    and the model ``baselines.LOCAL_MODEL`` ("local": free) or its embedding model;
    tokens it paid once (``results.setup_tokens``, embedding the training rows) are
    its one-time cost at that model's input price.
    """

    results: object
    model: str
    key: str
    trained_tokens: int = 0


LOCAL_PRICE = prices.Price("local", "local (this machine)", "USD", 0.0, 0.0, 0.0, "2026-12",
                           "no API call", rate="base")


def _price(model: str, tuned: bool):
    """A fine-tuned approach pays its base's fine-tuned rates (and training price); the
    others pay what calling the model itself costs (``prices.inference_price``)."""
    if model == LOCAL_MODEL:
        return LOCAL_PRICE
    try:
        return (replace(prices.price_for(model), rate="fine-tuned") if tuned
                else prices.inference_price(model))
    except prices.UnknownModelError:
        return None


def _intervals(y_true, labels) -> dict:
    acc = metrics.bootstrap_ci(y_true, labels, "accuracy")
    f1 = metrics.bootstrap_ci(y_true, labels, "macro_f1")
    return {"accuracy_low": acc["low"], "accuracy_high": acc["high"],
            "macro_f1_low": f1["low"], "macro_f1_high": f1["high"]}


def _against_baselines(y_true, rows: dict, labels: dict) -> None:
    """Each non-baseline row's McNemar test against the most accurate baseline row."""
    baselines = {name: labels[name] for name, row in rows.items() if row["key"] in BASELINES}
    for name, row in rows.items():
        if not baselines or row["key"] in BASELINES:
            row.update(vs_baseline=None, p_vs_baseline=None)
            continue
        test = metrics.against_best_baseline(y_true, labels[name], baselines)
        row.update(vs_baseline=test["baseline"], p_vs_baseline=test["p_value"])


def decision_table(y_true, approaches: dict, priced_as: dict | None = None) -> pd.DataFrame:
    """One row per approach (name -> ``Approach``), all measured on the same rows.

    Columns: ``accuracy``, ``macro_f1``, ``prompt_tokens`` and
    ``completion_tokens`` (mean per answered request, from each reply's
    ``usage``), ``priced_as`` (the model whose price row is used), ``currency``,
    ``cost_per_1000`` (1,000 predictions at that model's input/output prices; a
    few-shot prompt pays for its examples here), ``training_cost`` (billed
    trained tokens at its training price; 0 without training) and
    ``latency_s`` (median seconds per request as the client saw them; missing
    when every answer came from a cache). ``priced_as`` maps an approach's key
    to another model id: the same usage at that model's prices, a conversion,
    not a measurement. A price nobody confirmed stays missing (``<NA>``).

    Also: ``accuracy_low``/``_high`` and ``macro_f1_low``/``_high`` (95% bootstrap
    intervals, fixed seed: ``metrics.bootstrap_ci``), ``budget_exhausted`` (answers
    lost to a reasoning model's output budget, counted apart; they score as wrong),
    ``price_label`` (the rate used: base or fine-tuned inference), and for every
    row that is not a baseline ``vs_baseline`` / ``p_vs_baseline``: the most
    accurate baseline row and McNemar's p against it (missing without baselines).
    """
    y_true = list(y_true)
    rows, labels = {}, {}
    for name, item in approaches.items():
        preds = list(item.results.predictions)
        if len(preds) != len(y_true):
            raise ValueError(f"{name}: {len(preds)} predictions for {len(y_true)} test rows")
        answered = [p for p in preds if not p.error]
        labels[name] = [p.label for p in preds]
        score = metrics.scores(y_true, labels[name])
        model = (priced_as or {}).get(item.key, item.model)
        price = _price(model, tuned=bool(item.trained_tokens))
        prompt = sum(p.prompt_tokens for p in answered)
        completion = sum(p.completion_tokens for p in answered)
        cost = None if price is None else metrics.cost_per_1000(
            prompt, completion, len(answered), price.input_per_1m, price.output_per_1m)
        setup = getattr(item.results, "setup_tokens", 0) or 0
        if not item.trained_tokens and setup:
            training = (None if price is None or price.input_per_1m is None
                        else setup * price.input_per_1m / 1e6)
        elif not item.trained_tokens:
            training = 0.0
        else:
            training = (None if price is None
                        else prices.training_cost(item.trained_tokens, price, currency=None))
        latencies = [p.latency for p in answered if p.latency is not None and not p.cached]
        rows[name] = {
            "key": item.key, "accuracy": score["accuracy"], "macro_f1": score["macro_f1"],
            "prompt_tokens": prompt / len(answered) if answered else None,
            "completion_tokens": completion / len(answered) if answered else None,
            "priced_as": price.model if price else model,
            "currency": price.currency if price else prices.UNKNOWN,
            "cost_per_1000": cost, "training_cost": training,
            "latency_s": statistics.median(latencies) if latencies else None,
            **_intervals(y_true, labels[name]),
            "budget_exhausted": sum(getattr(p, "outcome", "") == "budget_exhausted"
                                    for p in preds),
            "price_label": price.label if price else f"{model} (no price row)"}
    _against_baselines(y_true, rows, labels)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "approach"
    for col in ("accuracy", "macro_f1", "prompt_tokens", "completion_tokens", "cost_per_1000",
                "training_cost", "latency_s", "accuracy_low", "accuracy_high", "macro_f1_low",
                "macro_f1_high", "p_vs_baseline"):
        table[col] = pd.array(table[col].tolist(), dtype="Float64")
    return table


MISSING = "—"

# The one OpenAI model pair whose base inference AND fine-tuning prices are both in
# helpers.prices: the same usage priced there is a conversion, not a measurement.
# (gpt-4o-mini and its fine-tunes shut down on 2027-01-14: helpers.lifecycle.)
REAL_PRICES = {"zero_shot": "gpt-4o-mini", "zero_shot_structured": "gpt-4o-mini",
               "few_shot": "gpt-4o-mini", "fine_tuned": "gpt-4o-mini-2024-07-18"}


def _money(value, currency: str) -> str:
    if pd.isna(value):
        return MISSING
    return f"${value:,.4f}" if currency == "USD" else f"{value:,.4f} {currency}"


def _latency(seconds: float) -> str:
    # to 0.1 s: finer digits are noise between runs (and in-process answers are all "< 0.1 s")
    return "< 0.1 s" if seconds < 0.1 else f"{seconds:.1f} s"


def _p_value(baseline, p) -> str:
    if baseline is None or pd.isna(p):
        return MISSING
    return f"p={p:.3f}" + (" (<0.001)" if p < 0.001 else "") + f" vs {baseline}"


def shown(table: pd.DataFrame, intervals: bool = False) -> pd.DataFrame:
    """``decision_table`` as people read it: shares as %, money with its currency,
    latency to 0.1 s, one marker (—) for anything missing or unpriced.

    ``intervals=True`` adds the 95% intervals of accuracy and macro-F1, the answers
    lost to the output budget, McNemar against the best baseline, and names each
    price by its rate ("gpt-4o-mini (base inference)")."""
    out = pd.DataFrame(index=table.index)

    def each(col, fmt):
        return [MISSING if pd.isna(v) else fmt(v) for v in table[col]]

    out["accuracy"] = each("accuracy", lambda v: f"{v:.1%}")
    if intervals:
        out["accuracy 95% CI"] = [f"{lo:.1%}–{hi:.1%}" for lo, hi in
                                  zip(table["accuracy_low"], table["accuracy_high"], strict=True)]
    out["macro-F1"] = each("macro_f1", lambda v: f"{v:.3f}")
    if intervals:
        out["macro-F1 95% CI"] = [f"{lo:.3f}–{hi:.3f}" for lo, hi in
                                  zip(table["macro_f1_low"], table["macro_f1_high"], strict=True)]
    out["prompt tokens / request"] = each("prompt_tokens", lambda v: f"{v:,.1f}")
    out["cost / 1,000 predictions"] = [_money(v, c) for v, c in
                                       zip(table["cost_per_1000"], table["currency"], strict=True)]
    out["one-time training"] = [_money(v, c) for v, c in
                                zip(table["training_cost"], table["currency"], strict=True)]
    out["median latency"] = each("latency_s", _latency)
    out["priced as"] = table["price_label"] if intervals else table["priced_as"]
    if intervals:
        out["budget exhausted"] = table["budget_exhausted"]
        out["vs best baseline (McNemar)"] = [
            _p_value(b, p) for b, p in zip(table["vs_baseline"], table["p_vs_baseline"],
                                           strict=True)]
    return out


def decision_figures(table: pd.DataFrame) -> dict:
    """The run-summary figures of a ``decision_table`` (names of
    ``helpers.results.APPROACH_FIGURES``): ``<key>_accuracy`` and so on;
    money only when it is in USD."""
    out = {}
    for _, row in table.iterrows():
        usd = row["currency"] == "USD"
        values = {"accuracy": row["accuracy"], "macro_f1": row["macro_f1"],
                  "prompt_tokens_per_request": row["prompt_tokens"],
                  "cost_per_1000_usd": row["cost_per_1000"] if usd else None,
                  "training_cost_usd": row["training_cost"] if usd else None,
                  "latency_s": row["latency_s"]}
        out.update(approach_figures(row["key"], **{name: None if pd.isna(v) else float(v)
                                                   for name, v in values.items()}))
    return out


def break_even(table: pd.DataFrame, trained: str, other: str) -> float | None:
    """Predictions after which ``trained``'s one-time training cost is paid back by
    cheaper predictions than ``other``'s (rows of one ``decision_table``).

    None when it never is (``trained`` costs as much or more per prediction) or
    when a price is missing; 0 when ``trained`` is no dearer to start with.
    """
    a, b = table.loc[trained], table.loc[other]
    values = [a["training_cost"], b["training_cost"], a["cost_per_1000"], b["cost_per_1000"]]
    if any(pd.isna(v) for v in values) or a["currency"] != b["currency"]:
        return None
    extra = float(a["training_cost"] - b["training_cost"])
    saving = float(b["cost_per_1000"] - a["cost_per_1000"]) / 1000
    if extra <= 0:
        return 0.0
    if saving <= 0:
        return None
    return extra / saving


def _alternatives_text(alternatives) -> str:
    return "; ".join(f"{label} {p:.2f}" for label, p in alternatives)


def prediction_table(texts, y_true, results) -> pd.DataFrame:
    """One row per input: text, true, predicted, correct, confidence and alternatives.

    ``results`` is a ``ClassificationResults`` or ``BatchResults`` (anything
    with ``.predictions``); confidence is the predicted label's probability
    from the reply's logprobs (None without logprobs).
    """
    texts, y_true, preds = list(texts), list(y_true), list(results.predictions)
    if not len(texts) == len(y_true) == len(preds):
        raise ValueError(f"{len(texts)} texts, {len(y_true)} true labels and "
                         f"{len(preds)} predictions: they must be the same rows")
    return pd.DataFrame({
        "text": texts,
        "true": y_true,
        "predicted": [p.label for p in preds],
        "correct": [t == p.label for t, p in zip(y_true, preds, strict=True)],
        "confidence": pd.array([p.confidence for p in preds], dtype="Float64"),
        "alternatives": [_alternatives_text(p.alternatives) for p in preds],
    })


def error_table(texts, y_true, results) -> pd.DataFrame:
    """The wrong predictions, most confident first (rows without a confidence last)."""
    table = prediction_table(texts, y_true, results)
    wrong = table[~table["correct"]].drop(columns="correct")
    return wrong.sort_values("confidence", ascending=False, na_position="last", kind="stable")


def cost_table(usage: dict, models: dict) -> pd.DataFrame:
    """Cost of 1,000 predictions for the same token usage at each model's price.

    ``usage`` is a classification summary (``n``, ``prompt_tokens``,
    ``completion_tokens``); ``models`` maps a row name to a model id in
    ``helpers.prices``. A model without a price row, or with an unknown
    price, gets "unknown" (never a guess).
    """
    rows = []
    for name, model in models.items():
        try:
            price = prices.price_for(model)
        except prices.UnknownModelError:
            price = None
        cost = None if price is None else metrics.cost_per_1000(
            usage["prompt_tokens"], usage["completion_tokens"], usage["n"],
            price.input_per_1m, price.output_per_1m)
        rows.append({"row": name, "price_model": price.model if price else model,
                     "currency": price.currency if price else prices.UNKNOWN,
                     "input_per_1m": _or_unknown(price and price.input_per_1m),
                     "output_per_1m": _or_unknown(price and price.output_per_1m),
                     "cost_per_1000": prices.UNKNOWN if cost is None else round(cost, 6)})
    return pd.DataFrame(rows).set_index("row")


def _or_unknown(value):
    return prices.UNKNOWN if value is None else value


def experiment_row(name: str, y_true, y_pred, trained_tokens: int | None, **settings) -> dict:
    """One experiment: its settings, test accuracy and billed (trained) tokens."""
    return {"experiment": name, **settings, "accuracy": metrics.scores(y_true, y_pred)["accuracy"],
            "trained_tokens": trained_tokens}


def experiment_table(rows, baseline: str | None = None) -> pd.DataFrame:
    """Experiments side by side, with accuracy change and token ratio against ``baseline``
    (the name of one row; default the first)."""
    table = pd.DataFrame(list(rows)).set_index("experiment")
    if table.index.has_duplicates:
        raise ValueError(f"experiment names repeat: {list(table.index)}")
    base = table.index[0] if baseline is None else baseline
    if base not in table.index:
        raise ValueError(f"baseline {base!r} is not one of {list(table.index)}")
    table["accuracy_change"] = table["accuracy"] - table.loc[base, "accuracy"]
    tokens = pd.to_numeric(table["trained_tokens"], errors="coerce")
    table["token_ratio"] = tokens / tokens.loc[base]
    return table


def relaxed_table(y_true, predictions: dict, threshold, order=None) -> pd.DataFrame:
    """Exact, good/bad (bad = rank ≤ ``threshold``) and one-off accuracy per model.

    ``predictions`` maps a model's name to its predicted labels; ranks as in
    ``metrics.good_bad_accuracy`` (the number in the label, or ``order``).
    """
    y_true = list(y_true)
    rows = {name: {"exact_accuracy": metrics.scores(y_true, pred)["accuracy"],
                   "good_bad_accuracy": metrics.good_bad_accuracy(y_true, pred, threshold, order),
                   "one_off_accuracy": metrics.one_off_accuracy(y_true, pred, order)}
            for name, pred in predictions.items()}
    return pd.DataFrame.from_dict(rows, orient="index")


def answers_table(texts, results, threshold: float | None = None) -> pd.DataFrame:
    """What a model answered for texts without a true label (e.g. out-of-domain checks):
    text, predicted, confidence, alternatives and, with ``threshold``, whether the
    confidence is under it (then a system would route the text elsewhere)."""
    texts, preds = list(texts), list(results.predictions)
    if len(texts) != len(preds):
        raise ValueError(f"{len(texts)} texts but {len(preds)} predictions")
    table = pd.DataFrame({
        "text": texts,
        "predicted": [p.label for p in preds],
        "confidence": pd.array([p.confidence for p in preds], dtype="Float64"),
        "alternatives": [_alternatives_text(p.alternatives) for p in preds]})
    if threshold is not None:
        table["below_threshold"] = [bool(pd.isna(c) or c < threshold)
                                    for c in table["confidence"]]
    return table


def order_table(train_labels, predicted) -> pd.DataFrame:
    """Each class of a training file in file order: where its block starts and ends
    (1-based rows), its rows, and how often a model predicted it on the test set.

    ``train_labels`` are the training file's labels in file order; ``predicted``
    the model's test predictions. Labels it predicted but never saw come last.
    """
    train_labels, predicted = list(train_labels), list(predicted)
    counts = Counter(predicted)
    rows, seen = [], {}
    for i, label in enumerate(train_labels, 1):
        if label not in seen:
            seen[label] = {"label": label, "first_row": i, "last_row": i, "train_rows": 0}
            rows.append(seen[label])
        seen[label]["last_row"] = i
        seen[label]["train_rows"] += 1
    for label in sorted(set(counts) - set(seen), key=str):
        rows.append({"label": label, "first_row": None, "last_row": None, "train_rows": 0})
    table = pd.DataFrame(rows).set_index("label")
    for col in ("first_row", "last_row"):
        table[col] = pd.array(table[col].tolist(), dtype="Int64")
    table["predicted"] = [counts.get(label, 0) for label in table.index]
    table["predicted_share"] = table["predicted"] / max(1, len(predicted))
    return table


@dataclass(frozen=True)
class Published:
    """A published result the course quotes (never measured here), with its source."""

    what: str
    fewer_epochs: int
    more_epochs: int
    accuracy_fewer: float
    accuracy_more: float
    cost_fewer_usd: float
    cost_more_usd: float
    accuracy_unshuffled: float
    source: str
    short: str
    url: str
    note: str


OZDEMIR_EPOCHS = Published(
    what="ada fine-tuned on English Amazon reviews, 1-5 stars (legacy fine-tunes API)",
    fewer_epochs=1, more_epochs=4, accuracy_fewer=0.63, accuracy_more=0.64,
    cost_fewer_usd=4.42, cost_more_usd=17.68, accuracy_unshuffled=0.32,
    source="Sinan Ozdemir, Quick Start Guide to Large Language Models (1st ed.), ch. 4, "
           "Table 4.1", short="Ozdemir, Table 4.1", url="https://github.com/sinanuozdemir/quick-start-guide-to-llms/tree/1e",
    note="read in the book's Chinese translation; the 4-epoch model is the 1-epoch model "
         "trained 3 more epochs; not verified in an English copy")


def epoch_comparison(experiments: pd.DataFrame, more: str, fewer: str,
                     published: Published = OZDEMIR_EPOCHS) -> pd.DataFrame:
    """The quoted epoch lesson beside this run's measurement (rows of an ``experiment_table``:
    ``more`` epochs and ``fewer``). Shares as %, ratios as ×; the quoted column is
    labelled as quoted."""
    m, f = experiments.loc[more], experiments.loc[fewer]
    quoted = f"quoted, not measured here ({published.short})"
    measured = "measured in this run"
    rows = {
        "epochs compared": (f"{published.fewer_epochs} vs {published.more_epochs}",
                            f"{int(f['epochs'])} vs {int(m['epochs'])}"),
        "accuracy, fewer epochs": (f"{published.accuracy_fewer:.0%}", f"{f['accuracy']:.1%}"),
        "accuracy, more epochs": (f"{published.accuracy_more:.0%}", f"{m['accuracy']:.1%}"),
        "accuracy change": (f"{(published.accuracy_more - published.accuracy_fewer) * 100:+.1f} "
                            "points",
                            f"{(m['accuracy'] - f['accuracy']) * 100:+.1f} points"),
        "training cost, more / fewer": (
            f"{published.cost_more_usd / published.cost_fewer_usd:.1f}×",
            f"{m['trained_tokens'] / f['trained_tokens']:.1f}× (billed tokens)"),
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=[quoted, measured])
