"""Metrics: scikit-learn scores, relaxed ordinal scores, cost, latency, confidence."""
import math

import pandas as pd
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
        {"token": "科", "logprob": math.log(0.8),
         "top": [["科", math.log(0.8)], ["体", math.log(0.15)],
                                                          ["财", math.log(0.05)]]},
        {"token": "技", "logprob": math.log(0.9), "top": [["技", math.log(0.9)]]},
    ]
    p, alts = metrics.label_confidence(tokens, ["体育", "财经", "科技"], "科技")
    assert p == pytest.approx(0.72)
    assert alts == [("体育", pytest.approx(0.15)), ("财经", pytest.approx(0.05))]
    assert metrics.label_confidence(tokens, ["体育"], "unknown") == (None, [])


def test_per_class_report_has_integer_support_and_no_accuracy_row():
    report = metrics.per_class_report(["a", "a", "b"], ["a", "b", "b"], labels=["a", "b"])
    assert list(report.index) == ["a", "b", "macro avg", "weighted avg"]
    assert report["support"].dtype.kind == "i" and report.loc["macro avg", "support"] == 3


def test_reliability_table_counts_every_bin_and_the_unscored():
    truth = ["a", "a", "a", "b", "b", "a"]
    pred = ["a", "b", "a", "b", "a", "a"]
    conf = [0.95, 0.92, 0.6, 0.3, None, 0.0]
    table = metrics.reliability_table(truth, pred, conf, n_bins=5)
    assert list(table.index) == ["0.00–0.20", "0.20–0.40", "0.40–0.60", "0.60–0.80",
                                 "0.80–1.00", "none"]
    assert list(table["n"]) == [1, 1, 1, 0, 2, 1]
    assert table.loc["0.80–1.00", "accuracy"] == 0.5
    assert table.loc["0.80–1.00", "mean_confidence"] == pytest.approx(0.935)
    assert table.loc["0.40–0.60", "n"] == 1  # 0.6 is in (0.4, 0.6]
    assert table.loc["0.60–0.80", "accuracy"] is pd.NA  # empty bin: missing, not 0
    assert table.loc["none", "n"] == 1 and table.loc["none", "accuracy"] == 0.0
    # ECE: |1-0| (0.0 bin, n=1), |1-0.3|, |1-0.6|, |0.5-0.935| x2, over 5 scored
    assert metrics.expected_calibration_error(table) == pytest.approx(
        (1.0 + 0.7 + 0.4 + 2 * 0.435) / 5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        metrics.reliability_table(["a"], ["a"], [1.5])


def test_coverage_curve_keeps_the_most_confident_first():
    truth = ["a", "a", "a", "a", "a"]
    pred = ["a", "b", "a", "a", "b"]
    conf = [0.5, 0.9, 0.8, None, 0.5]  # tie at 0.5 keeps input order; None comes last
    curve = metrics.coverage_curve(truth, pred, conf)
    assert list(curve["kept"]) == [1, 2, 3, 4, 5]
    assert list(curve["accuracy"]) == pytest.approx([0.0, 0.5, 2 / 3, 0.5, 0.6])
    assert curve["threshold"].iloc[2] == 0.5 and curve["threshold"].iloc[4] is pd.NA
    assert curve["accuracy"].iloc[-1] == metrics.scores(truth, pred)["accuracy"]
    points = metrics.accuracy_at_coverage(curve, coverages=(0.2, 0.5, 1.0))
    assert list(points["kept"]) == [1, 3, 5]
    assert points.loc[0.5, "accuracy"] == pytest.approx(2 / 3)


def test_non_monotonic_bins_name_each_drop_with_its_counts():
    truth = ["a"] * 6
    pred = ["a", "a", "b", "a", "b", "a"]
    conf = [0.15, 0.18, 0.55, 0.58, 0.95, 0.99]  # 100%, then 50%, then 50%
    table = metrics.reliability_table(truth, pred, conf, n_bins=5)
    (drop,) = metrics.non_monotonic_bins(table)
    assert drop["lower"] == "0.00–0.20" and drop["higher"] == "0.40–0.60"  # empty bin skipped
    assert drop["accuracy_higher"] == 0.5 and drop["n_higher"] == 2


def test_mcnemar_counts_only_the_rows_where_the_models_disagree():
    truth = list("aaaaaaaaaa")
    a = list("aaaaaaaaab")       # 9 right
    b = list("aaaaaabbbb")       # 6 right; a alone right on 3 rows, b alone on none
    out = metrics.mcnemar(truth, a, b)
    assert (out["both_right"], out["a_only"], out["b_only"]) == (6, 3, 0)
    assert out["p_value"] == pytest.approx(0.25)  # 2 x 0.5**3
    assert metrics.mcnemar(truth, a, a)["p_value"] == 1.0
