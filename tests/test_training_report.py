"""helpers.lessons.training_report: smoothing, final losses and the ledger table."""
import pandas as pd
import pytest

from helpers.lessons import training_report


def _results():
    return pd.DataFrame({"step": [3, 1, 2, 4], "train_loss": [3.0, 1.0, 2.0, 4.0],
                         "train_accuracy": [0.0, 1.0, 0.5, 1.0],
                         "valid_loss": [30.0, 10.0, 20.0, 40.0],
                         "valid_mean_token_accuracy": [0.0, 0.0, 1.0, 1.0]})


def test_smoothed_is_a_rolling_mean_in_step_order_and_keeps_steps():
    out = training_report.smoothed(_results(), window=2)
    assert out["step"].tolist() == [1, 2, 3, 4]
    assert out["train_loss"].tolist() == [1.0, 1.5, 2.5, 3.5]
    assert out["valid_mean_token_accuracy"].tolist() == [0.0, 0.5, 0.5, 0.5]


def test_smoothed_leaves_the_input_alone_and_rejects_bad_windows():
    frame = _results()
    training_report.smoothed(frame, window=3)
    assert frame["train_loss"].tolist() == [3.0, 1.0, 2.0, 4.0]
    with pytest.raises(ValueError, match="window"):
        training_report.smoothed(frame, window=0)
    with pytest.raises(ValueError, match="step"):
        training_report.smoothed(frame.drop(columns="step"))


def test_final_losses_average_the_last_steps():
    assert training_report.final_losses(_results(), window=2) == {
        "final_train_loss": 3.5, "final_valid_loss": 35.0}
    with pytest.raises(ValueError, match="valid_loss"):
        training_report.final_losses(_results().drop(columns="valid_loss"))
    with pytest.raises(ValueError, match="no rows"):
        training_report.final_losses(_results().iloc[:0])


def test_ledger_table_lays_out_estimated_billed_and_difference():
    ledger = {"job_id": "ftjob-1", "model": "m", "estimated_tokens": 11990,
              "billed_tokens": 11790, "tokens_diff_pct": 1.7, "estimated_cost_usd": 0.036,
              "billed_cost_usd": None, "cost_diff_pct": None}
    table = training_report.ledger_table(ledger)
    assert table.loc["tokens"].tolist() == [11990, 11790, 1.7]
    assert table.loc["cost_usd", "estimated"] == 0.036
    assert table.loc["cost_usd", "billed"] is None
    with pytest.raises(ValueError, match="billed_tokens"):
        training_report.ledger_table({k: v for k, v in ledger.items() if k != "billed_tokens"})


def _two_epochs():
    return pd.DataFrame({"step": [1, 2, 3, 4], "train_loss": [4.0, 2.0, 1.0, 1.0],
                         "train_accuracy": [0.0, 0.5, 1.0, 1.0],
                         "valid_loss": [4.0, 3.0, 3.0, 2.0],
                         "valid_mean_token_accuracy": [0.0, 0.5, 0.5, 0.5]})


def test_epoch_means_average_each_epoch_and_give_the_loss_gap():
    table = training_report.epoch_means(_two_epochs(), n_epochs=2)
    assert table.index.tolist() == [1, 2] and table.index.name == "epoch"
    assert table["train_loss"].tolist() == [3.0, 1.0]
    assert table["valid_loss"].tolist() == [3.5, 2.5]
    assert table["loss_gap"].tolist() == [0.5, 1.5]
    assert training_report.steps_per_epoch(_two_epochs(), 2) == 2


def test_epochs_must_split_the_steps_evenly():
    with pytest.raises(ValueError, match="3 equal epochs"):
        training_report.epoch_means(_two_epochs(), n_epochs=3)
    with pytest.raises(ValueError, match="0 equal epochs"):
        training_report.steps_per_epoch(_two_epochs(), 0)


def test_with_epochs_names_the_epoch_each_checkpoint_ends():
    checkpoints = pd.DataFrame({"step": [400, 800, 1200], "full_valid_loss": [1.9, 1.5, 1.4]})
    out = training_report.with_epochs(checkpoints, 400)
    assert list(out.columns) == ["epoch", "step", "full_valid_loss"]
    assert out["epoch"].tolist() == [1, 2, 3] and str(out["epoch"].dtype) == "Int64"
    assert "epoch" not in checkpoints.columns
