"""Before/after tables: predictions, errors, cost, experiments, and a run on a second dataset."""
import pytest

from helpers import compare, pipeline
from helpers.classify import ClassificationResults, Prediction


def results(labels, confidences, alternatives=None):
    alternatives = alternatives or [[] for _ in labels]
    preds = [Prediction(index=i, label=lab, confidence=c, alternatives=alt)
             for i, (lab, c, alt) in enumerate(zip(labels, confidences, alternatives))]
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


def test_run_for_dataset_shares_settings_but_not_the_work_dir(tmp_path):
    run = pipeline.start("06_before_after", dataset="news_zh", text_field="sentence",
                         backend="sandbox", mode="replay", work_dir=str(tmp_path))
    other = compare.run_for_dataset(run, "reviews_en")
    assert other.settings == run.settings  # same sandbox directory and cassette
    assert other.notebook == run.notebook and other.seed == run.seed
    assert other.dataset == "reviews_en" and other.text_field is None
    assert other.work_dir.is_dir() and other.work_dir != run.work_dir
    assert other.work_dir.is_relative_to(run.work_dir)
    assert run.dataset == "news_zh"  # the first run is unchanged


def test_a_second_start_in_record_mode_shares_backend_sandbox_and_cassette(tmp_path):
    """Why run_for_dataset is no longer needed: settings are the same within a process."""
    first = pipeline.start("06_before_after", backend="sandbox", mode="record",
                           work_dir=str(tmp_path))
    second = pipeline.start("06_before_after", dataset="reviews_en", backend="sandbox",
                            mode="record", work_dir=str(tmp_path / "datasets" / "reviews_en"))
    assert second.settings == first.settings and second.notebook == first.notebook
    assert second.work_dir != first.work_dir and second.dataset == "reviews_en"


def test_relaxed_table_has_one_row_per_model():
    truth = ["1", "2", "4", "5"]
    table = compare.relaxed_table(truth, {"m1": ["1", "3", "5", "5"], "m2": ["5", "1", "3", "unknown"]},
                                  threshold=3)
    assert table.loc["m1", "exact_accuracy"] == 0.5
    assert table.loc["m1", "good_bad_accuracy"] == 1.0  # 3 is still "bad", like 2
    assert table.loc["m1", "one_off_accuracy"] == 1.0
    assert table.loc["m2", "good_bad_accuracy"] == 0.25  # only 2 -> 1 stays on its side
    assert table.loc["m2", "one_off_accuracy"] == 0.5  # 2 -> 1 and 4 -> 3
