"""Metrics: scikit-learn scores, relaxed ordinal scores, cost, latency, confidence."""
import math

import pytest

from helpers import metrics


def test_scores_match_hand_counts():
    y_true = ["a", "a", "b", "b"]
    y_pred = ["a", "b", "b", "unknown"]
    s = metrics.scores(y_true, y_pred)
    assert s["accuracy"] == 0.5 and s["n"] == 4
    # a: P=1 R=.5 F1=2/3; b: P=.5 R=.5 F1=.5; unknown has no true support
    assert s["weighted_f1"] == pytest.approx((2 / 3 + 0.5) / 2)


def test_confusion_frame_keeps_unknown_column():
    cm = metrics.confusion_frame(["a", "b", "b"], ["a", "unknown", "b"], labels=["a", "b"])
    assert list(cm.columns) == ["a", "b", "unknown"]
    assert list(cm.index) == ["a", "b"]  # no empty 'unknown' row
    assert cm.loc["b", "unknown"] == 1 and cm.loc["b", "b"] == 1 and cm.to_numpy().sum() == 3
    report = metrics.per_class_report(["a", "b", "b"], ["a", "unknown", "b"])
    assert report.loc["b", "recall"] == 0.5 and report.loc["b", "support"] == 2


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="3 items but y_pred has 2"):
        metrics.scores([1, 2, 3], [1, 2])


def test_good_bad_and_one_off_on_star_ratings():
    y_true = ["1", "2", "3", "4", "5", "5"]
    y_pred = ["2", "4", "3", "5", "3", "unknown"]
    # bad = <=3: pairs (1,2) ok, (2,4) wrong, (3,3) ok, (4,5) ok, (5,3) wrong, unknown wrong
    assert metrics.good_bad_accuracy(y_true, y_pred, threshold=3) == pytest.approx(3 / 6)
    # |diff|<=1: yes, no, yes, yes, no, no
    assert metrics.one_off_accuracy(y_true, y_pred) == pytest.approx(3 / 6)


def test_relaxed_metrics_with_named_order():
    order = ["terrible", "bad", "ok", "good", "great"]
    assert metrics.one_off_accuracy(["bad", "great"], ["ok", "ok"], order=order) == 0.5
    assert metrics.good_bad_accuracy(["bad", "great"], ["ok", "good"], threshold=2,
                                     order=order) == 1.0
    with pytest.raises(ValueError, match="has no rank"):
        metrics.one_off_accuracy(["meh"], ["ok"], order=order)


def test_cost_per_1000_and_unknown_price():
    # 2,000 predictions, 300k prompt + 10k completion tokens at $0.30 / $1.20 per 1M
    cost = metrics.cost_per_1000(300_000, 10_000, 2000, 0.30, 1.20)
    assert cost == pytest.approx((0.09 + 0.012) / 2)
    assert metrics.cost_per_1000(1, 1, 1, None, 1.0) is None


def test_latency_summary_uses_true_percentiles():
    s = metrics.latency_summary([i / 100 for i in range(1, 101)] + [None])
    assert s["n"] == 100 and s["max"] == 1.0
    assert s["p90"] == pytest.approx(0.901) and s["p95"] == pytest.approx(0.9505)


def test_label_confidence_multi_token_label_and_alternatives():
    tokens = [
        {"token": "科", "logprob": math.log(0.8), "top": [["科", math.log(0.8)], ["体", math.log(0.15)],
                                                          ["财", math.log(0.05)]]},
        {"token": "技", "logprob": math.log(0.9), "top": [["技", math.log(0.9)]]},
    ]
    p, alts = metrics.label_confidence(tokens, ["体育", "财经", "科技"], "科技")
    assert p == pytest.approx(0.72)
    assert alts == [("体育", pytest.approx(0.15)), ("财经", pytest.approx(0.05))]
    assert metrics.label_confidence(tokens, ["体育"], "unknown") == (None, [])


def test_accuracy_by_confidence_buckets():
    table = metrics.accuracy_by_confidence(
        ["a", "a", "a", "b", "b"], ["a", "b", "a", "b", "a"], [0.95, 0.92, 0.6, 0.3, None])
    assert table.loc["(0.9, 1.0]", "n"] == 2 and table.loc["(0.9, 1.0]", "accuracy"] == 0.5
    assert table.loc["(0.5, 0.7]", "accuracy"] == 1.0
    assert table.loc["none", "n"] == 1 and table.loc["none", "accuracy"] == 0.0
