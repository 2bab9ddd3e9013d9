"""Evaluation metrics: scikit-learn scores, relaxed ordinal scores, cost,
latency and confidence from logprobs.

Predictions that could not be parsed (``"unknown"``) or failed stay in every
metric as wrong answers; nothing is dropped before scoring.
"""
from __future__ import annotations

import math
import re
import unicodedata

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from .answers import UNKNOWN

DEFAULT_CONFIDENCE_BINS = (0.0, 0.5, 0.7, 0.9, 1.0)


def _labels_seen(y_true, y_pred, labels=None) -> list[str]:
    order = list(labels) if labels is not None else sorted(set(y_true))
    extra = sorted(set(y_pred) - set(order) - {UNKNOWN})
    tail = [UNKNOWN] if UNKNOWN in set(y_pred) else []
    return order + extra + tail


def scores(y_true, y_pred) -> dict[str, float]:
    """Accuracy, macro F1 and weighted F1."""
    y_true, y_pred = list(y_true), list(y_pred)
    _check_lengths(y_true, y_pred)
    return {
        "n": len(y_true),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "macro_f1": float(skm.f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "weighted_f1": float(skm.f1_score(y_true, y_pred, average="weighted", zero_division=0)),
    }


def per_class_report(y_true, y_pred, labels=None) -> pd.DataFrame:
    """Precision, recall, F1 and support per class (rows), plus the averages."""
    y_true, y_pred = list(y_true), list(y_pred)
    _check_lengths(y_true, y_pred)
    report = skm.classification_report(y_true, y_pred, labels=_labels_seen(y_true, y_pred, labels),
                                       output_dict=True, zero_division=0)
    return pd.DataFrame(report).T


def confusion_frame(y_true, y_pred, labels=None) -> pd.DataFrame:
    """Confusion matrix: rows are true labels, columns predicted (incl. 'unknown')."""
    y_true, y_pred = list(y_true), list(y_pred)
    _check_lengths(y_true, y_pred)
    order = _labels_seen(y_true, y_pred, labels)
    matrix = skm.confusion_matrix(y_true, y_pred, labels=order)
    frame = pd.DataFrame(matrix, index=pd.Index(order, name="true"),
                         columns=pd.Index(order, name="predicted"))
    # Predicted-only labels (e.g. 'unknown') get a column but no empty row.
    rows = set(y_true) | set(labels if labels is not None else [])
    return frame.loc[[lab for lab in order if lab in rows]]


def _check_lengths(y_true, y_pred) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} items but y_pred has {len(y_pred)}")


# --- relaxed metrics for ordinal labels (e.g. 1-5 stars) ---------------------

def _rank(label, order) -> float | None:
    if label is None or label == UNKNOWN:
        return None
    if order is not None:
        return order.get(label)
    m = re.search(r"-?\d+(?:\.\d+)?", str(label))
    return float(m.group()) if m else None


def _ranks(y_true, y_pred, order):
    _check_lengths(y_true, y_pred)
    order = {lab: i for i, lab in enumerate(order)} if order is not None else None
    true_ranks = [_rank(t, order) for t in y_true]
    bad = [t for t, r in zip(y_true, true_ranks) if r is None]
    if bad:
        raise ValueError(f"true label {bad[0]!r} has no rank; pass order=[...] lowest first")
    return true_ranks, [_rank(p, order) for p in y_pred]


def good_bad_accuracy(y_true, y_pred, threshold, order=None) -> float:
    """Accuracy after collapsing ordinal labels into bad (rank ≤ threshold) and good.

    Ranks are the number in the label ("4 stars" → 4) or, with ``order``
    (lowest first), the position in it. Unknown predictions count as wrong.
    """
    y_true, y_pred = list(y_true), list(y_pred)
    true_ranks, pred_ranks = _ranks(y_true, y_pred, order)
    hits = [p is not None and (t <= threshold) == (p <= threshold)
            for t, p in zip(true_ranks, pred_ranks)]
    return float(np.mean(hits)) if hits else float("nan")


def one_off_accuracy(y_true, y_pred, order=None) -> float:
    """Share of predictions at most one rank away from the truth."""
    y_true, y_pred = list(y_true), list(y_pred)
    true_ranks, pred_ranks = _ranks(y_true, y_pred, order)
    hits = [p is not None and abs(t - p) <= 1 for t, p in zip(true_ranks, pred_ranks)]
    return float(np.mean(hits)) if hits else float("nan")


# --- cost and latency ---------------------------------------------------------

def cost_per_1000(prompt_tokens: int, completion_tokens: int, n_predictions: int,
                  input_per_1m: float | None, output_per_1m: float | None) -> float | None:
    """Price of 1,000 predictions from total usage and per-1M-token prices.

    Returns None when a price is unknown (never guessed) or nothing was predicted.
    """
    if input_per_1m is None or output_per_1m is None or n_predictions <= 0:
        return None
    total = prompt_tokens * input_per_1m / 1e6 + completion_tokens * output_per_1m / 1e6
    return total / n_predictions * 1000


def latency_summary(seconds) -> dict[str, float]:
    """Count, mean, p50, p90, p95, p99 and max of request latencies (None skipped)."""
    values = np.array([s for s in seconds if s is not None], dtype=float)
    if values.size == 0:
        return {"n": 0}
    p50, p90, p95, p99 = np.percentile(values, [50, 90, 95, 99])
    return {"n": int(values.size), "mean": float(values.mean()), "p50": float(p50),
            "p90": float(p90), "p95": float(p95), "p99": float(p99), "max": float(values.max())}


# --- confidence from logprobs --------------------------------------------------

def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def label_confidence(tokens, labels, predicted: str, top: int = 3):
    """Probability of ``predicted`` and the top alternatives, from reply logprobs.

    ``tokens`` is a list of ``{"token", "logprob", "top": [[token, logprob], ...]}``
    for the reply. The label's probability is the product of the probabilities
    of the tokens that spell its first mention in the reply. Alternatives come
    from the top logprobs at the label's first token: each candidate token is
    credited to the labels it starts (split evenly when several share it).
    Returns ``(probability or None, [(label, probability), ...])``.
    """
    if not tokens or predicted in (None, UNKNOWN):
        return None, []
    pieces = [_fold(t["token"]) for t in tokens]
    needle = _fold(predicted)
    start = "".join(pieces).find(needle)
    if start < 0:
        return None, []
    end = start + len(needle)
    pos, span = 0, []
    for i, piece in enumerate(pieces):
        tok_end = pos + len(piece)
        if tok_end > start and pos < end:
            span.append(i)
        pos = tok_end
    if not span:
        return None, []
    prob = math.exp(sum(tokens[i]["logprob"] for i in span))
    first = tokens[span[0]]
    credit: dict[str, float] = {}
    for cand, logprob in first.get("top") or []:
        piece = _fold(cand).strip()
        if not piece:
            continue
        owners = [lab for lab in labels
                  if _fold(lab).startswith(piece) or piece.startswith(_fold(lab))]
        for lab in owners:
            credit[lab] = credit.get(lab, 0.0) + math.exp(logprob) / len(owners)
    alternatives = sorted(((lab, p) for lab, p in credit.items() if lab != predicted),
                          key=lambda kv: -kv[1])[:top]
    return prob, alternatives


def accuracy_by_confidence(y_true, y_pred, confidence,
                           bins=DEFAULT_CONFIDENCE_BINS) -> pd.DataFrame:
    """Accuracy and count per confidence bucket; predictions without a confidence
    are reported in their own 'none' row."""
    y_true, y_pred, confidence = list(y_true), list(y_pred), list(confidence)
    _check_lengths(y_true, y_pred)
    _check_lengths(y_true, confidence)
    frame = pd.DataFrame({"correct": [t == p for t, p in zip(y_true, y_pred)],
                          "confidence": pd.array(confidence, dtype="Float64")})
    frame["bucket"] = pd.cut(frame["confidence"].astype(float), bins=list(bins),
                             include_lowest=True)
    grouped = frame.groupby("bucket", observed=False).agg(
        n=("correct", "size"), accuracy=("correct", "mean"),
        mean_confidence=("confidence", "mean"))
    grouped.index = grouped.index.astype(str)
    missing = frame[frame["confidence"].isna()]
    if len(missing):
        grouped.loc["none"] = [len(missing), missing["correct"].mean(), float("nan")]
    return grouped
