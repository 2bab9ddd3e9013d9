"""Result files, event shapes of both SDKs, and the ledger arithmetic."""
import base64

import pytest
from openai.types.fine_tuning import FineTuningJobEvent
from zhipuai.types.fine_tuning.fine_tuning_job_event import JobEvent

from helpers import jobs
from helpers.jobs import accounting, sdk

CSV = ("step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n"
       "1,1.5,0.25,,\n2,0.75,0.5,0.9,0.4\n")


@pytest.mark.parametrize("content", [CSV, CSV.encode(), base64.b64encode(CSV.encode()),
                                     base64.encodebytes(CSV.encode()).decode()])
def test_result_file_plain_or_base64(content):
    frame = jobs.result_frame_from_bytes(content)
    assert list(frame.columns) == jobs.results.RESULT_COLUMNS
    assert frame["train_loss"].tolist() == [1.5, 0.75] and frame["valid_loss"].isna()[0]


def test_result_file_that_is_neither_names_the_file():
    with pytest.raises(jobs.CourseJobError, match="result file file-9: neither a CSV"):
        jobs.result_frame_from_bytes(b"<html>oops</html>", "result file file-9")
    with pytest.raises(jobs.CourseJobError, match="missing column"):
        jobs.result_frame_from_bytes("step,loss\n1,2\n")


def test_openai_metrics_event_and_message_only_event():
    metrics = FineTuningJobEvent(id="e1", created_at=1, level="info",
                                 object="fine_tuning.job.event",
                                 message="Step 3/10: training loss=0.50", type="metrics",
                                 data={"step": 3, "total_steps": 10, "train_loss": 0.5,
                                       "train_mean_token_accuracy": 0.8})
    row = sdk.normalise_event(metrics)
    assert (row["step"], row["total_steps"], row["train_loss"], row["train_accuracy"]) == \
        (3, 10, 0.5, 0.8)
    plain = FineTuningJobEvent(id="e2", created_at=2, level="info",
                               object="fine_tuning.job.event",
                               message="Step 300/300: training loss=0.15, validation loss=0.27")
    row = sdk.normalise_event(plain)
    assert (row["step"], row["total_steps"], row["train_loss"], row["valid_loss"]) == \
        (300, 300, 0.15, 0.27)


def test_zhipu_event_data_shape():
    event = JobEvent(id="z1", created_at=5, level="info", type="metrics", message="training",
                     data={"epoch": "1", "current_steps": 7, "total_steps": 20, "loss": "0.3",
                           "eval_loss": 0.4, "acc": 0.9, "eval_acc": "0.85",
                           "trained_tokens": 1234})
    row = sdk.normalise_event(event)
    assert row["step"] == 7 and row["total_steps"] == 20 and row["epoch"] == 1.0
    assert (row["train_loss"], row["valid_loss"], row["valid_accuracy"]) == (0.3, 0.4, 0.85)


def test_ledger_difference_in_percent():
    assert accounting.diff_pct(11_990, 11_790) == pytest.approx(1.696, abs=0.001)
    assert accounting.diff_pct(100, 100) == 0.0
    assert accounting.diff_pct(None, 100) is None and accounting.diff_pct(5, 0) is None


def test_idempotency_key_covers_every_input():
    base = dict(backend="openai", sdk_name="openai", model="m", training_sha256="a",
                validation_sha256=None, params={"n_epochs": 3, "suffix": None, "seed": None})
    key = jobs.idempotency_key(**base)
    assert key == jobs.idempotency_key(**base)
    for change in ({"backend": "zhipu"}, {"model": "m2"}, {"training_sha256": "b"},
                   {"validation_sha256": "c"}, {"params": {"n_epochs": 4, "suffix": None,
                                                            "seed": None}},
                   {"params": {"n_epochs": 3, "suffix": "x", "seed": None}}):
        assert jobs.idempotency_key(**{**base, **change}) != key
