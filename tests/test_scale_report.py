"""Helpers for notebook 07: batch polling options, failing requests, file order, completeness."""
import time
import pytest

from helpers import clients, config
from helpers.batch import build_batch_requests, download_results, submit_batch, wait_for_batch
from helpers.batch import join_results, write_jsonl
from helpers.classify import Prediction
from helpers.scale_report import (arrival_order, batch_wait_options, completeness, input_index,
                                   labels_in_file_order, summary_counts, with_model)

LABELS = ["体育", "财经", "科技"]
TEXTS = ["湖人队在季后赛中击败勇士队", "央行宣布下调存款准备金率", "苹果发布新款智能手机芯片",
         "足球联赛冠军今晚产生", "股市今日大幅上涨", "新款笔记本电脑发布"]


def test_wait_options_follow_backend_and_mode(tmp_path):
    replay = batch_wait_options(config.resolve(backend="sandbox", mode="replay",
                                               sandbox_dir=tmp_path))
    assert replay["poll_seconds"] < 1 and replay["sleep"] is not time.sleep
    live = batch_wait_options(config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path))
    assert "sleep" not in live
    openai_live = batch_wait_options(config.Settings("openai", "live", tmp_path))
    assert openai_live["poll_seconds"] >= 30


def test_with_model_changes_only_the_chosen_lines():
    lines = build_batch_requests(TEXTS[:3], LABELS, "m", lang="zh")
    changed = with_model(lines, [1], "missing")
    assert [c["body"]["model"] for c in changed] == ["m", "missing", "m"]
    assert lines[1]["body"]["model"] == "m"  # the input is not modified
    assert [c["custom_id"] for c in changed] == [c["custom_id"] for c in lines]
    with pytest.raises(IndexError, match="outside the 3"):
        with_model(lines, [3], "missing")


def test_input_index_rejects_foreign_ids():
    assert input_index("req-12") == 12
    with pytest.raises(ValueError, match="abc"):
        input_index("abc")


def test_completeness_counts_lost_duplicated_misordered():
    preds = [Prediction(0, "a"), Prediction(2, "b"), Prediction(2, "b"), Prediction(3, "x", error="e")]
    assert completeness(preds, 4) == {"n": 4, "lost": 2, "duplicated": 1, "misordered": 1}
    assert completeness([Prediction(i, "a") for i in range(3)], 3)["lost"] == 0


def test_sandbox_batch_with_unknown_model_fills_the_error_file(tmp_path):
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sb")
    client = clients.openai_client(settings)
    lines = with_model(build_batch_requests(TEXTS, LABELS, "sandbox-base", lang="zh"), [4],
                       "no-such-model")
    created = submit_batch(client, write_jsonl(lines, tmp_path / "req.jsonl"))
    done = wait_for_batch(client, created.id, progress=False, **batch_wait_options(settings))
    output, errors, problems = download_results(client, done)
    assert done.request_counts.failed == 1 and arrival_order(errors) == [4]
    assert sorted(arrival_order(output)) == [0, 1, 2, 3, 5]
    joined = join_results(len(TEXTS), LABELS, output, errors, problems)
    assert [f["index"] for f in joined.failures] == [4]
    by_index = dict(zip(arrival_order(output), labels_in_file_order(output, LABELS)))
    assert [by_index[i] for i in (0, 1, 2, 3, 5)] == [joined.labels[i] for i in (0, 1, 2, 3, 5)]
    assert completeness(joined.predictions, len(TEXTS))["lost"] == 1


def test_summary_counts_drops_only_the_timing():
    from helpers.classify import ClassificationResults

    results = ClassificationResults([Prediction(0, "a", retries=2)], requests=1, seconds=1.5)
    counts = summary_counts(results)
    assert "seconds" not in counts and counts["retries"] == 2 and counts["requests"] == 1
