"""Before/after tables: the decision table, predictions, errors, cost, experiments,
the label-sorted file's effect, and a run on a second dataset."""
import pandas as pd
import pytest

from helpers import pipeline
from helpers.classify import ClassificationResults, Prediction
from helpers.lessons import compare
from helpers.results import APPROACH_FIGURES


def results(labels, confidences, alternatives=None):
    alternatives = alternatives or [[] for _ in labels]
    preds = [Prediction(index=i, label=lab, confidence=c, alternatives=alt)
             for i, (lab, c, alt) in enumerate(zip(labels, confidences, alternatives,
                                                   strict=False))]
    return ClassificationResults(preds, requests=len(preds), seconds=0.0)


def test_error_table_keeps_only_wrong_rows_most_confident_first():
    res = results(["a", "b", "a", "b"], [0.9, 0.4, None, 0.8],
                  [[("b", 0.05)], [("a", 0.3)], [], [("a", 0.15), ("c", 0.05)]])
    table = compare.error_table(["t0", "t1", "t2", "t3"], ["a", "a", "b", "a"], res)
    assert list(table["text"]) == ["t3", "t1", "t2"]  # 0.8, 0.4, then no confidence
    assert list(table["predicted"]) == ["b", "b", "a"]
    assert table.loc[3, "alternatives"] == "a 0.15; c 0.05"
    assert "correct" not in table.columns


def test_prediction_table_refuses_rows_that_do_not_line_up():
    with pytest.raises(ValueError, match="2 texts, 2 true labels and 3 predictions"):
        compare.prediction_table(["x", "y"], ["a", "b"], results(["a", "b", "a"], [None] * 3))


def test_cost_table_prices_the_same_usage_per_model_and_never_guesses():
    usage = {"n": 200, "prompt_tokens": 14_000, "completion_tokens": 200}
    table = compare.cost_table(usage, {"run": "ft:sandbox-base:sandbox-org:course:1",
                                       "openai": "gpt-4o-mini-2024-07-18",
                                       "zhipu": "glm-4-9b", "nobody": "no-such-model"})
    assert table.loc["run", "cost_per_1000"] == 0.0
    # (14,000 × 0.30 + 200 × 1.20) / 1e6 per 200 predictions, scaled to 1,000
    assert table.loc["openai", "cost_per_1000"] == pytest.approx(
        (14_000 * 0.30 + 200 * 1.20) / 1e6 * 5)
    assert table.loc["zhipu", "cost_per_1000"] == "unknown"
    assert table.loc["nobody", "currency"] == "unknown"


def test_experiment_table_compares_against_the_baseline():
    truth = ["a", "b", "a", "b"]
    rows = [compare.experiment_row("3 epochs", truth, ["a", "b", "a", "a"], 300, epochs=3),
            compare.experiment_row("1 epoch", truth, ["a", "a", "a", "a"], 100, epochs=1)]
    table = compare.experiment_table(rows)
    assert table.loc["1 epoch", "accuracy"] == 0.5
    assert table.loc["1 epoch", "accuracy_change"] == pytest.approx(-0.25)
    assert table.loc["1 epoch", "token_ratio"] == pytest.approx(1 / 3)
    assert table.loc["3 epochs", "epochs"] == 3
    with pytest.raises(ValueError, match="baseline 'x'"):
        compare.experiment_table(rows, baseline="x")


def test_a_second_start_in_record_mode_shares_backend_sandbox_and_cassette(tmp_path):
    """What 06 does for its side datasets: settings are the same within a process."""
    first = pipeline.start("06_before_after", backend="sandbox", mode="record",
                           work_dir=str(tmp_path))
    second = pipeline.start("06_before_after", dataset="reviews_en", backend="sandbox",
                            mode="record", work_dir=str(tmp_path / "datasets" / "reviews_en"))
    assert second.settings == first.settings and second.notebook == first.notebook
    assert second.work_dir != first.work_dir and second.dataset == "reviews_en"


def test_relaxed_table_has_one_row_per_model():
    truth = ["1", "2", "4", "5"]
    table = compare.relaxed_table(truth,
                                  {"m1": ["1", "3", "5", "5"], "m2": ["5", "1", "3", "unknown"]},
                                  threshold=3)
    assert table.loc["m1", "exact_accuracy"] == 0.5
    assert table.loc["m1", "good_bad_accuracy"] == 1.0  # 3 is still "bad", like 2
    assert table.loc["m1", "one_off_accuracy"] == 1.0
    assert table.loc["m2", "good_bad_accuracy"] == 0.25  # only 2 -> 1 stays on its side
    assert table.loc["m2", "one_off_accuracy"] == 0.5  # 2 -> 1 and 4 -> 3


def usage_results(labels, prompt_tokens, completion_tokens=1, latency=0.01, **extra):
    preds = [Prediction(index=i, label=lab, prompt_tokens=prompt_tokens,
                        completion_tokens=completion_tokens, latency=latency * (i + 1), **extra)
             for i, lab in enumerate(labels)]
    return ClassificationResults(preds, requests=len(preds), seconds=0.0)


TRUTH = ["a", "a", "b", "b"]


def approaches():
    return {
        "zero-shot": compare.Approach(usage_results(["a", "b", "b", "a"], 100), "gpt-4o-mini",
                                      "zero_shot"),
        "few-shot": compare.Approach(usage_results(["a", "a", "b", "b"], 300), "gpt-4o-mini",
                                     "few_shot"),
        "fine-tuned": compare.Approach(usage_results(["a", "a", "b", "a"], 100),
                                       "ft:gpt-4o-mini-2024-07-18:org::x", "fine_tuned",
                                       trained_tokens=1_000_000),
    }


def test_decision_table_measures_every_approach_on_the_same_rows():
    table = compare.decision_table(TRUTH, approaches())
    assert list(table.index) == ["zero-shot", "few-shot", "fine-tuned"]
    assert table.loc["few-shot", "accuracy"] == 1.0 and table.loc["zero-shot", "accuracy"] == 0.5
    assert table.loc["few-shot", "prompt_tokens"] == 300
    # few-shot pays for its examples: 300 prompt + 1 completion tokens at $0.15 / $0.60 per 1M
    assert table.loc["few-shot", "cost_per_1000"] == pytest.approx((300 * 0.15 + 0.60) / 1e3)
    # the fine-tuned model: its own (higher) inference price and the training price, $3 per 1M
    assert table.loc["fine-tuned", "cost_per_1000"] == pytest.approx((100 * 0.30 + 1.20) / 1e3)
    assert table.loc["fine-tuned", "training_cost"] == pytest.approx(3.0)
    assert table.loc["zero-shot", "training_cost"] == 0.0
    assert table.loc["zero-shot", "latency_s"] == pytest.approx(0.025)  # median of .01..0.04
    with pytest.raises(ValueError, match="3 predictions for 4 test rows"):
        compare.decision_table(TRUTH, {"x": compare.Approach(
            usage_results(["a"] * 3, 1), "gpt-4o-mini", "zero_shot")})


def test_decision_table_at_another_models_prices_and_unknown_prices():
    table = compare.decision_table(TRUTH, approaches(), priced_as={
        "zero_shot": "glm-4-9b", "fine_tuned": "sandbox-base"})
    assert table.loc["zero-shot", "priced_as"] == "glm-4-9b"
    assert table.loc["zero-shot", "cost_per_1000"] is pd.NA  # unconfirmed: never guessed
    assert table.loc["fine-tuned", "cost_per_1000"] == 0.0
    assert table.loc["few-shot", "priced_as"] == "gpt-4o-mini"  # not in priced_as: its own
    shown = compare.shown(table)
    assert shown.loc["zero-shot", "cost / 1,000 predictions"] == compare.MISSING
    assert shown.loc["zero-shot", "one-time training"] == "0.0000 CNY"
    assert shown.loc["few-shot", "accuracy"] == "100.0%"
    assert shown.loc["few-shot", "median latency"] == "< 0.1 s"
    slow = compare.decision_table(TRUTH, {"x": compare.Approach(
        usage_results(["a"] * 4, 1, latency=0.5), "gpt-4o-mini", "zero_shot")})
    assert compare.shown(slow).loc["x", "median latency"] == "1.2 s"  # median of 0.5..2.0


def test_decision_figures_use_the_summary_keys():
    figures = compare.decision_figures(compare.decision_table(TRUTH, approaches()))
    assert set(figures) == {f"{k}_{f}" for k in ("zero_shot", "few_shot", "fine_tuned")
                            for f in APPROACH_FIGURES}
    assert figures["fine_tuned_training_cost_usd"] == pytest.approx(3.0)
    assert isinstance(figures["few_shot_accuracy"], float)
    cny = compare.decision_figures(compare.decision_table(
        TRUTH, approaches(), priced_as={"zero_shot": "glm-4-flash"}))
    assert cny["zero_shot_cost_per_1000_usd"] is None  # not in USD: not a USD figure


def test_break_even_pays_back_training_with_cheaper_predictions():
    table = compare.decision_table(TRUTH, approaches())
    # fine-tuned: $3 once, then $0.0312 per 1,000; few-shot: $0.0456 per 1,000
    saving = (0.0456 - 0.0312) / 1000
    assert compare.break_even(table, "fine-tuned", "few-shot") == pytest.approx(3.0 / saving)
    # against zero-shot (cheaper per prediction than the fine-tuned model) it never pays back
    assert compare.break_even(table, "fine-tuned", "zero-shot") is None
    assert compare.break_even(table, "zero-shot", "few-shot") == 0.0


def test_answers_table_flags_low_confidence():
    res = results(["a", "b", "a"], [0.9, 0.3, None], [[("b", 0.1)], [], []])
    table = compare.answers_table(["x", "y", "z"], res, threshold=0.5)
    assert list(table["below_threshold"]) == [False, True, True]
    assert table.loc[0, "alternatives"] == "b 0.10"


def test_order_table_shows_where_each_class_sits_in_the_file():
    file_order = ["a", "a", "b", "b", "b", "c"]
    table = compare.order_table(file_order, ["b", "b", "c", "x"])
    assert list(table.index) == ["a", "b", "c", "x"]
    assert table.loc["b", "first_row"] == 3 and table.loc["b", "last_row"] == 5
    assert table.loc["b", "train_rows"] == 3 and table.loc["b", "predicted"] == 2
    assert table.loc["x", "first_row"] is pd.NA and table.loc["x", "predicted"] == 1
    assert table.loc["a", "predicted"] == 0 and table["predicted_share"].sum() == 1.0


def test_epoch_comparison_puts_the_quoted_lesson_beside_the_measurement():
    truth = ["a", "b", "a", "b"]
    exp = compare.experiment_table([
        compare.experiment_row("3 epochs", truth, ["a", "b", "a", "a"], 300, epochs=3),
        compare.experiment_row("1 epoch", truth, ["a", "a", "a", "a"], 100, epochs=1)])
    table = compare.epoch_comparison(exp, more="3 epochs", fewer="1 epoch")
    quoted, measured = table.columns
    assert quoted == "quoted, not measured here (Ozdemir, Table 4.1)"
    assert table.loc["accuracy change", quoted] == "+1.0 points"
    assert table.loc["accuracy change", measured] == "+25.0 points"
    assert table.loc["training cost, more / fewer", quoted] == "4.0×"
    assert table.loc["training cost, more / fewer", measured] == "3.0× (billed tokens)"
    assert table.loc["epochs compared", measured] == "1 vs 3"
