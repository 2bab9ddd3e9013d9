"""Evaluation metrics: scikit-learn scores, relaxed ordinal scores, cost,
latency, confidence from logprobs and calibration (reliability, coverage).

Predictions that could not be parsed (``"unknown"``) or failed stay in every
metric as wrong answers; nothing is dropped before scoring.

The calibration tables are written here rather than taken from
``sklearn.calibration.calibration_curve`` because that one drops empty bins
and returns no counts; a reliability diagram needs both (an empty or tiny bin
is exactly what a reader must see).
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from .answers import UNKNOWN, fold


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
    """Precision, recall, F1 and support (an integer) per class, then the macro and
    weighted averages. Accuracy is not a row here (it has no per-class precision or
    recall); take it from ``scores``."""
    y_true, y_pred = list(y_true), list(y_pred)
    _check_lengths(y_true, y_pred)
    report = skm.classification_report(y_true, y_pred, labels=_labels_seen(y_true, y_pred, labels),
                                       output_dict=True, zero_division=0)
    report.pop("accuracy", None)
    report.pop("micro avg", None)  # sklearn adds it instead of accuracy for a label subset
    frame = pd.DataFrame(report).T
    frame["support"] = frame["support"].round().astype(int)
    return frame


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
    bad = [t for t, r in zip(y_true, true_ranks, strict=True) if r is None]
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
            for t, p in zip(true_ranks, pred_ranks, strict=True)]
    return float(np.mean(hits)) if hits else float("nan")


def one_off_accuracy(y_true, y_pred, order=None) -> float:
    """Share of predictions at most one rank away from the truth."""
    y_true, y_pred = list(y_true), list(y_pred)
    true_ranks, pred_ranks = _ranks(y_true, y_pred, order)
    hits = [p is not None and abs(t - p) <= 1 for t, p in zip(true_ranks, pred_ranks, strict=True)]
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
    pieces = [fold(t["token"]) for t in tokens]
    needle = fold(predicted)
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
        piece = fold(cand).strip()
        if not piece:
            continue
        owners = [lab for lab in labels
                  if fold(lab).startswith(piece) or piece.startswith(fold(lab))]
        for lab in owners:
            credit[lab] = credit.get(lab, 0.0) + math.exp(logprob) / len(owners)
    alternatives = sorted(((lab, p) for lab, p in credit.items() if lab != predicted),
                          key=lambda kv: -kv[1])[:top]
    return prob, alternatives


# --- calibration: does a higher confidence mean a better answer? ---------------

def _correct_and_confidence(y_true, y_pred, confidence):
    y_true, y_pred, confidence = list(y_true), list(y_pred), list(confidence)
    _check_lengths(y_true, y_pred)
    _check_lengths(y_true, confidence)
    correct = np.array([t == p for t, p in zip(y_true, y_pred, strict=True)], dtype=bool)
    conf = np.array([np.nan if c is None or pd.isna(c) else float(c) for c in confidence])
    if np.any((conf < 0) | (conf > 1)):
        raise ValueError("confidence must be a probability between 0 and 1 (or None)")
    return correct, conf


def reliability_table(y_true, y_pred, confidence, n_bins: int = 10) -> pd.DataFrame:
    """Accuracy against confidence in ``n_bins`` equal-width bins of [0, 1].

    One row per bin, empty bins included: ``n`` (predictions in the bin, an
    integer), ``mean_confidence``, ``accuracy`` and ``gap`` (accuracy minus mean
    confidence: below 0 means over-confident), missing (``<NA>``) for an empty
    bin. A bin holds confidences in ``(low, high]`` (the first also holds 0).
    Predictions without a confidence (no logprobs, unparseable) get a last row
    ``none`` with their count and accuracy.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    correct, conf = _correct_and_confidence(y_true, y_pred, confidence)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    known = ~np.isnan(conf)
    # bin i holds (edges[i], edges[i+1]]; 0 goes into the first bin
    index = np.clip(np.searchsorted(edges, conf[known], side="left") - 1, 0, n_bins - 1)
    rows = []
    for i in range(n_bins):
        inside = index == i
        n = int(inside.sum())
        mean_conf = float(conf[known][inside].mean()) if n else None
        acc = float(correct[known][inside].mean()) if n else None
        rows.append({"bin": f"{edges[i]:.2f}–{edges[i + 1]:.2f}", "low": float(edges[i]),
                     "high": float(edges[i + 1]), "n": n, "mean_confidence": mean_conf,
                     "accuracy": acc, "gap": None if n == 0 else acc - mean_conf})
    if (~known).any():
        rows.append({"bin": "none", "low": None, "high": None, "n": int((~known).sum()),
                     "mean_confidence": None, "accuracy": float(correct[~known].mean()),
                     "gap": None})
    frame = pd.DataFrame(rows).set_index("bin")
    for col in ("low", "high", "mean_confidence", "accuracy", "gap"):
        frame[col] = pd.array(frame[col].tolist(), dtype="Float64")
    return frame


def expected_calibration_error(table: pd.DataFrame) -> float:
    """ECE from a ``reliability_table``: the count-weighted mean of |accuracy − confidence|
    over the bins (the ``none`` row is left out)."""
    bins = table[table["low"].notna() & (table["n"] > 0)]
    if bins.empty:
        return float("nan")
    gaps = (bins["accuracy"].astype(float) - bins["mean_confidence"].astype(float)).abs()
    return float((gaps * bins["n"]).sum() / bins["n"].sum())


def coverage_curve(y_true, y_pred, confidence) -> pd.DataFrame:
    """Accuracy if only the most confident predictions are kept, for every cut-off.

    Row k keeps the k most confident predictions (ties keep input order;
    predictions without a confidence come last): ``kept`` (k), ``coverage``
    (k / n), ``threshold`` (the lowest confidence kept) and ``accuracy`` of the
    kept ones. The last row is every prediction, i.e. the plain accuracy.
    """
    correct, conf = _correct_and_confidence(y_true, y_pred, confidence)
    if correct.size == 0:
        raise ValueError("no predictions")
    order = np.argsort(np.where(np.isnan(conf), np.inf, -conf), kind="stable")
    kept = np.arange(1, correct.size + 1)
    hits = np.cumsum(correct[order])
    return pd.DataFrame({"kept": kept, "coverage": kept / correct.size,
                         "threshold": pd.array([None if np.isnan(c) else float(c)
                                                for c in conf[order]], dtype="Float64"),
                         "accuracy": hits / kept})


def accuracy_at_coverage(curve: pd.DataFrame, coverages=(0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
                         ) -> pd.DataFrame:
    """Rows of a ``coverage_curve`` at chosen coverages (the first row reaching each)."""
    rows = []
    for share in coverages:
        if not 0 < share <= 1:
            raise ValueError(f"coverage must be in (0, 1], got {share}")
        k = max(1, math.ceil(round(share * len(curve), 9)))
        row = curve.iloc[k - 1]
        rows.append({"coverage": float(share), "kept": int(row["kept"]),
                     "threshold": row["threshold"], "accuracy": float(row["accuracy"])})
    frame = pd.DataFrame(rows).set_index("coverage")
    frame["threshold"] = pd.array(frame["threshold"].tolist(), dtype="Float64")
    return frame


def non_monotonic_bins(table: pd.DataFrame) -> list[dict]:
    """Where accuracy *falls* from one filled bin of a ``reliability_table`` to the next
    filled, more confident one: ``{"lower", "higher", "accuracy_lower",
    "accuracy_higher", "n_lower", "n_higher"}`` per drop (empty bins are skipped)."""
    bins = table[table["low"].notna() & (table["n"] > 0)]
    drops = []
    for (lo_name, lo), (hi_name, hi) in zip(bins.iterrows(), list(bins.iterrows())[1:],
                                            strict=False):
        if hi["accuracy"] < lo["accuracy"]:
            drops.append({"lower": lo_name, "higher": hi_name,
                          "accuracy_lower": float(lo["accuracy"]),
                          "accuracy_higher": float(hi["accuracy"]),
                          "n_lower": int(lo["n"]), "n_higher": int(hi["n"])})
    return drops


# --- is one model really better than another on the same rows? ----------------

def mcnemar(y_true, pred_a, pred_b) -> dict:
    """Exact McNemar test for two models' predictions on the same rows.

    Only the rows where exactly one of them is right carry information:
    ``a_only`` (a right, b wrong) and ``b_only``. Under "equally good" each such
    row is a fair coin, so ``p_value`` is the two-sided binomial test of
    ``a_only`` out of ``a_only + b_only`` (1.0 when they never disagree).
    """
    from scipy.stats import binomtest

    y_true, pred_a, pred_b = list(y_true), list(pred_a), list(pred_b)
    _check_lengths(y_true, pred_a)
    _check_lengths(y_true, pred_b)
    a_right = [t == a for t, a in zip(y_true, pred_a, strict=True)]
    b_right = [t == b for t, b in zip(y_true, pred_b, strict=True)]
    a_only = sum(a and not b for a, b in zip(a_right, b_right, strict=True))
    b_only = sum(b and not a for a, b in zip(a_right, b_right, strict=True))
    both = sum(a and b for a, b in zip(a_right, b_right, strict=True))
    p = 1.0 if a_only + b_only == 0 else float(binomtest(a_only, a_only + b_only, 0.5).pvalue)
    return {"n": len(y_true), "both_right": both, "a_only": a_only, "b_only": b_only,
            "p_value": p}


# --- how sure is a score measured on a few hundred rows? ------------------------

BOOTSTRAP_SEED = 20270114
BOOTSTRAP_RESAMPLES = 2000


def _codes(y_true, y_pred) -> tuple[np.ndarray, np.ndarray, int]:
    y_true, y_pred = list(y_true), list(y_pred)
    _check_lengths(y_true, y_pred)
    index = {lab: i for i, lab in enumerate(sorted(set(map(str, y_true + y_pred))))}
    return (np.array([index[str(t)] for t in y_true], dtype=np.int64),
            np.array([index[str(p)] for p in y_pred], dtype=np.int64), len(index))


def _macro_f1_rows(t: np.ndarray, p: np.ndarray, k: int) -> np.ndarray:
    """Macro F1 of each row of ``t``/``p`` (resamples × n) over all ``k`` labels of the full
    sample, as sklearn's ``f1_score(labels=those, average="macro", zero_division=0)``: the
    label set stays that of the estimate, so a resample missing a rare label scores it 0."""
    b = t.shape[0]
    offset = (np.arange(b) * k)[:, None]
    hit = t == p
    tp = np.bincount((offset + t)[hit], minlength=b * k).reshape(b, k)
    fn = np.bincount((offset + t)[~hit], minlength=b * k).reshape(b, k)
    fp = np.bincount((offset + p)[~hit], minlength=b * k).reshape(b, k)
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros(denom.shape), where=denom > 0)
    return f1.mean(axis=1)


def bootstrap_ci(y_true, y_pred, metric: str = "accuracy", *, level: float = 0.95,
                 n_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> dict:
    """A percentile bootstrap interval for ``metric`` ("accuracy" or "macro_f1").

    The test rows are resampled with replacement ``n_resamples`` times with a
    fixed ``seed`` (the same interval every run). Returns ``{"metric",
    "estimate" (on all rows), "low", "high", "level", "n", "n_resamples"}``.
    Unknown and failed predictions count as wrong, as everywhere here.
    """
    if metric not in ("accuracy", "macro_f1"):
        raise ValueError(f"metric must be 'accuracy' or 'macro_f1', not {metric!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    t, p, k = _codes(y_true, y_pred)
    if t.size == 0:
        raise ValueError("no predictions to resample")
    rows = np.random.default_rng(seed).integers(0, t.size, size=(n_resamples, t.size))
    if metric == "accuracy":
        values = (t[rows] == p[rows]).mean(axis=1)
    else:
        values = _macro_f1_rows(t[rows], p[rows], k)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return {"metric": metric, "estimate": scores(y_true, y_pred)[metric], "low": float(low),
            "high": float(high), "level": level, "n": int(t.size), "n_resamples": n_resamples}


def against_best_baseline(y_true, y_pred, baselines: dict) -> dict:
    """McNemar (``mcnemar``) of ``y_pred`` against the most accurate of ``baselines``
    (name -> predicted labels on the same rows): ``{"baseline", "baseline_accuracy",
    "n", "both_right", "a_only" (this model right, the baseline wrong), "b_only", "p_value"}``."""
    if not baselines:
        raise ValueError("no baselines to compare with")
    y_true = list(y_true)
    accuracy = {name: scores(y_true, pred)["accuracy"] for name, pred in baselines.items()}
    best = max(accuracy, key=lambda name: accuracy[name])  # the first listed wins a tie
    return {"baseline": best, "baseline_accuracy": accuracy[best],
            **mcnemar(y_true, y_pred, baselines[best])}
