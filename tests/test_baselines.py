"""Baselines (TF-IDF and embeddings + logistic regression), bootstrap intervals, McNemar
against the best baseline, and the decision table's baseline rows."""
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from helpers import baselines, metrics
from helpers.cache import ResponseCache
from helpers.classify import ClassificationResults, Prediction
from helpers.data import load_named
from helpers.lessons import compare
from helpers.results import APPROACHES, BASELINES


def _split(name, n_test=60, seed=0):
    frame, _ = load_named(name)
    frame = frame.sample(frac=1.0, random_state=seed)
    test, train = frame.iloc[:n_test], frame.iloc[n_test:]
    return list(train["text"]), list(train["label"]), list(test["text"]), list(test["label"])


@pytest.mark.parametrize("name", ["sports_en", "news_zh"])
def test_tfidf_lr_beats_the_majority_class_and_reads_cjk_by_characters(name):
    train_x, train_y, test_x, test_y = _split(name)
    res = baselines.tfidf_lr(train_x, train_y, test_x)
    assert len(res) == len(test_x) and res.requests == 0 and res.model == "local"
    accuracy = metrics.scores(test_y, res.labels)["accuracy"]
    majority = max(test_y.count(y) for y in set(test_y)) / len(test_y)
    assert accuracy > majority + 0.1, (accuracy, majority)
    first = res[0]
    assert 0 < first.confidence <= 1 and first.alternatives[0][1] <= first.confidence
    assert [p.index for p in res] == list(range(len(test_x)))


def test_tfidf_lr_refuses_a_single_label():
    with pytest.raises(ValueError, match="at least two labels"):
        baselines.tfidf_lr(["a", "b"], ["x", "x"], ["c"])
    with pytest.raises(ValueError, match="3 training texts but 2 labels"):
        baselines.tfidf_lr(["a", "b", "c"], ["x", "y"], ["c"])


def test_embeddings_lr_batches_caches_and_counts_setup_tokens(client, tmp_path):
    train_x, train_y, test_x, test_y = _split("sports_en", n_test=40)
    train_x, train_y = train_x[:120], train_y[:120]
    cache = ResponseCache(tmp_path / "cache.sqlite")
    res = baselines.embeddings_lr(client, train_x, train_y, test_x, model="sandbox-embed",
                                  batch_size=50, cache=cache)
    assert res.requests == 3 + 1  # 120 training rows in batches of 50, then 40 test rows
    assert res.setup_tokens > 0 and all(p.prompt_tokens > 0 for p in res)
    accuracy = metrics.scores(test_y, res.labels)["accuracy"]
    majority = max(test_y.count(y) for y in set(test_y)) / len(test_y)
    assert accuracy > majority, (accuracy, majority)
    again = baselines.embeddings_lr(client, train_x, train_y, test_x, model="sandbox-embed",
                                    batch_size=50, cache=cache)
    assert again.requests == 0 and again.labels == res.labels
    assert again.setup_tokens == res.setup_tokens


def test_bootstrap_interval_is_fixed_by_its_seed_and_surrounds_the_estimate():
    rng = np.random.default_rng(1)
    labels = list("abcd")
    truth = [labels[i] for i in rng.integers(0, 4, 300)]
    pred = [t if rng.random() < 0.7 else labels[rng.integers(0, 4)] for t in truth]
    pred[0] = "unknown"
    acc = metrics.bootstrap_ci(truth, pred)
    assert acc == metrics.bootstrap_ci(truth, pred)  # same seed, same interval
    assert acc["low"] < acc["estimate"] < acc["high"]
    assert acc["estimate"] == skm.accuracy_score(truth, pred)
    assert 0.05 < acc["high"] - acc["low"] < 0.15  # about ±2 standard errors at n=300
    f1 = metrics.bootstrap_ci(truth, pred, "macro_f1")
    assert f1["low"] < f1["estimate"] < f1["high"]
    narrow = metrics.bootstrap_ci(truth * 4, pred * 4)
    assert narrow["high"] - narrow["low"] < acc["high"] - acc["low"]
    with pytest.raises(ValueError, match="metric must be"):
        metrics.bootstrap_ci(truth, pred, "weighted_f1")


def test_macro_f1_of_each_resample_matches_sklearn():
    truth = list("aabbccdd")
    pred = list("abbbcadx")
    t, p, k = metrics._codes(truth, pred)
    rows = np.random.default_rng(0).integers(0, 8, size=(25, 8))
    ours = metrics._macro_f1_rows(t[rows], p[rows], k)
    names = sorted(set(truth + pred))
    theirs = [skm.f1_score(np.array(truth)[r], np.array(pred)[r], labels=names,
                           average="macro", zero_division=0) for r in rows]
    assert np.allclose(ours, theirs)


def test_against_best_baseline_picks_the_most_accurate():
    truth = ["a"] * 10
    weak, strong, model = ["b"] * 10, ["a"] * 9 + ["b"], ["a"] * 5 + ["b"] * 5
    test = metrics.against_best_baseline(truth, model, {"weak": weak, "strong": strong})
    assert test["baseline"] == "strong" and test["baseline_accuracy"] == 0.9
    assert (test["a_only"], test["b_only"]) == (0, 4) and test["p_value"] == 0.125


def _results(labels, outcome="answered"):
    return ClassificationResults([Prediction(index=i, label=lab, outcome=outcome,
                                             prompt_tokens=10, completion_tokens=2)
                                  for i, lab in enumerate(labels)], requests=len(labels),
                                 seconds=0.0)


def test_decision_table_has_baseline_rows_intervals_and_budget_counts():
    assert set(BASELINES) <= set(APPROACHES) and "zero_shot_reasoning" in APPROACHES
    truth = ["a", "b"] * 20
    local = baselines.BaselineResults(_results(truth[:30] + ["a"] * 10).predictions, 0, 0.0)
    llm = _results(truth[:36] + ["b"] * 4)
    trap = _results(truth[:20] + ["unknown"] * 20)
    for p in trap.predictions[20:]:
        p.outcome = "budget_exhausted"
    table = compare.decision_table(truth, {
        "tf-idf": compare.Approach(local, baselines.LOCAL_MODEL, "tfidf_lr"),
        "zero-shot": compare.Approach(llm, "gpt-4o-mini", "zero_shot"),
        "reasoning": compare.Approach(trap, "sandbox-reasoning", "zero_shot_reasoning")})
    assert table.loc["tf-idf", "cost_per_1000"] == 0.0
    assert pd.isna(table.loc["tf-idf", "vs_baseline"])
    assert table.loc["zero-shot", "vs_baseline"] == "tf-idf"
    assert 0 < table.loc["zero-shot", "p_vs_baseline"] <= 1
    assert table.loc["reasoning", "budget_exhausted"] == 20
    assert table.loc["zero-shot", "accuracy_low"] < 0.9 < table.loc["zero-shot", "accuracy_high"]
    assert table.loc["zero-shot", "price_label"] == "gpt-4o-mini (base inference)"
    view = compare.shown(table, intervals=True)
    assert view.loc["zero-shot", "accuracy 95% CI"].endswith("%")
    assert view.loc["zero-shot", "vs best baseline (McNemar)"].endswith("vs tf-idf")
    assert view.loc["tf-idf", "vs best baseline (McNemar)"] == compare.MISSING
    assert view.loc["reasoning", "budget exhausted"] == 20
    assert list(compare.shown(table).columns) == [  # the default view is unchanged
        "accuracy", "macro-F1", "prompt tokens / request", "cost / 1,000 predictions",
        "one-time training", "median latency", "priced as"]
    figures = compare.decision_figures(table)
    assert figures["tfidf_lr_accuracy"] == 0.875 and "zero_shot_reasoning_accuracy" in figures


def test_embedding_setup_tokens_are_a_one_time_cost():
    truth = ["a", "b"] * 5
    res = baselines.BaselineResults(_results(truth).predictions, 1, 0.0, setup_tokens=2_000_000,
                                    model="gpt-6-luna")
    table = compare.decision_table(truth, {"e": compare.Approach(res, "gpt-6-luna",
                                                                 "embeddings_lr")})
    assert table.loc["e", "training_cost"] == pytest.approx(0.20)  # 2M tokens at $0.10 / 1M
    assert pd.isna(table.loc["e", "p_vs_baseline"])
