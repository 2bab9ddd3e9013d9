"""Before/after comparison tables (notebook 06): predictions with their
confidence, the error analysis, the cost of predictions and the training
experiments. (``run_for_dataset`` is a deprecated alias kept for notebook 06.)
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from . import metrics, prices
from .pipeline import Run


def run_for_dataset(run: Run, dataset: str, **changes) -> Run:
    """Deprecated: ``run`` with another dataset and its own work directory.

    It was a workaround for ``config.resolve()`` making a new sandbox directory
    on every call in record mode; settings are now the same for every call in a
    process, so a second ``pipeline.start(run.notebook, dataset=..., backend=...,
    mode=..., work_dir=str(run.work_dir / "datasets" / name))`` shares the backend,
    sandbox and cassette by itself. Kept so notebook 06 runs until it calls that.
    """
    name = Path(dataset).stem if Path(dataset).suffix else dataset
    work_dir = run.work_dir / "datasets" / name
    work_dir.mkdir(parents=True, exist_ok=True)
    fields = dict(dataset=dataset, text_field=None, label_field=None, label_map=None,
                  work_dir=work_dir)
    fields.update(changes)
    return dataclasses.replace(run, **fields)


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
        "correct": [t == p.label for t, p in zip(y_true, preds)],
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
