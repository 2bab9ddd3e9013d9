"""Confidence without logprobs: agreement across k prompt variants.

Reasoning models return no logprobs, so ``metrics.label_confidence`` has
nothing to read. What still works on any model: ask the same question k times
in k variants (the label list in a different order each time, variant 0 the
course's own order) and take the share of variants that give the majority
label as its confidence. A model that is sure gives the same label whatever
the order; one that guesses drifts with the order (a listed-first bias) or
with its sampling. The price is k requests per text.

``confidence_table`` measures any confidence (this one, the logprob one) on
the same rows: expected calibration error, AUROC of "confidence separates
right from wrong", and accuracy when only the most confident half is kept.
"""
from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from . import metrics
from .classify import ClassificationResults, Prediction, classify


def label_orders(labels, k: int, seed: int = 0) -> list[list[str]]:
    """``k`` orders of ``labels``: the given order first, then seeded shuffles (distinct
    while there are enough orders to go round)."""
    labels = list(labels)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    rng = random.Random(seed)
    orders, seen = [labels], {tuple(labels)}
    while len(orders) < k:
        order = labels[:]
        rng.shuffle(order)
        if tuple(order) in seen and len(seen) < _orders_possible(len(labels)):
            continue
        seen.add(tuple(order))
        orders.append(order)
    return orders


def _orders_possible(n: int) -> int:
    total = 1
    for i in range(2, n + 1):
        total *= i
        if total > 10_000:
            break
    return total


def _vote(runs: list[ClassificationResults], i: int, k: int) -> Prediction:
    votes = Counter(run[i].answer for run in runs if run[i].outcome == "answered")
    first = runs[0][i]
    if not votes:  # no variant answered: the first variant's prediction stands, unscored
        return Prediction(index=i, label=first.label, error=first.error,
                          parse_error=first.parse_error, outcome=first.outcome)
    top = max(votes.values())
    tied = [label for label, n in votes.items() if n == top]
    label = first.answer if first.answer in tied else tied[0]  # ties: the course's order
    rest = sorted(((lab, n / k) for lab, n in votes.items() if lab != label), key=lambda x: -x[1])
    return Prediction(index=i, label=label, confidence=votes[label] / k, alternatives=rest,
                      prompt_tokens=sum(r[i].prompt_tokens for r in runs),
                      completion_tokens=sum(r[i].completion_tokens for r in runs),
                      reasoning_tokens=sum(r[i].reasoning_tokens for r in runs),
                      cached=all(r[i].cached for r in runs))


def agreement(client, texts, labels, model: str, k: int = 5, *, seed: int = 0,
              **classify_options) -> ClassificationResults:
    """Majority label over ``k`` label orders, confidence = its share of the k variants.

    ``classify_options`` go to every ``classify`` call (``api``, ``reasoning_effort``,
    ``cache``, ...). Tokens and requests are the sum over the variants (k× the cost).
    """
    texts = list(texts)
    classify_options.setdefault("progress", False)
    runs = [classify(client, texts, order, model, desc=f"agreement {j + 1}/{k}",
                     **classify_options)
            for j, order in enumerate(label_orders(labels, k, seed))]
    predictions = [_vote(runs, i, k) for i in range(len(texts))]
    notes = list(dict.fromkeys(n for run in runs for n in run.notes))
    return ClassificationResults(predictions, requests=sum(r.requests for r in runs),
                                 seconds=sum(r.seconds for r in runs), notes=notes,
                                 api=runs[0].api, budget=runs[0].budget,
                                 budget_param=runs[0].budget_param)


def confidence_table(y_true, methods: dict, n_bins: int = 10) -> pd.DataFrame:
    """How well each method's confidence (name -> results with ``.predictions``) tells right
    from wrong on the same rows: ``accuracy``, ``with_confidence`` (share of rows that have
    one), ``ece``, ``auroc`` (missing when all rows are right or all wrong) and
    ``accuracy_top_half`` (accuracy of the most confident 50%)."""
    y_true = list(y_true)
    rows = {}
    for name, results in methods.items():
        preds = list(results.predictions)
        if len(preds) != len(y_true):
            raise ValueError(f"{name}: {len(preds)} predictions for {len(y_true)} rows")
        labels = [p.label for p in preds]
        conf = [p.confidence for p in preds]
        correct = np.array([t == p for t, p in zip(y_true, labels, strict=True)])
        known = np.array([c is not None for c in conf])
        table = metrics.reliability_table(y_true, labels, conf, n_bins)
        scores = np.array([c if c is not None else 0.0 for c in conf], dtype=float)
        separable = known.any() and 0 < correct[known].sum() < known.sum()
        auroc = (float(roc_auc_score(correct[known], scores[known])) if separable else None)
        half = metrics.accuracy_at_coverage(metrics.coverage_curve(y_true, labels, conf), (0.5,))
        rows[name] = {"accuracy": float(correct.mean()), "with_confidence": float(known.mean()),
                      "ece": metrics.expected_calibration_error(table), "auroc": auroc,
                      "accuracy_top_half": float(half["accuracy"].iloc[0])}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame["auroc"] = pd.array(frame["auroc"].tolist(), dtype="Float64")
    return frame
