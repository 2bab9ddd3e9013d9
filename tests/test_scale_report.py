"""Helpers for notebook 07: batch polling options, failing requests, file order, completeness."""
import time

import pandas as pd
import pytest

from helpers import clients, config
from helpers.batch import (
    build_batch_requests,
    download_results,
    join_results,
    submit_batch,
    wait_for_batch,
    write_jsonl,
)
from helpers.classify import Prediction
from helpers.lessons.scale_report import (
    arrival_order,
    batch_wait_options,
    input_index,
    labels_in_file_order,
    summary_counts,
    with_model,
)
from helpers.throughput import completeness

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
    # a served sandbox on this machine (openai/zhipu pointed at it by COURSE_BASE_URL) polls fast
    for url in ("http://127.0.0.1:8000/v1", "http://localhost:8000/api/paas/v4"):
        served = config.Settings("zhipu", "live", tmp_path, base_url=url)
        assert batch_wait_options(served)["poll_seconds"] < 1, url
    remote = config.Settings("openai", "live", tmp_path, base_url="https://api.openai.com/v1")
    assert batch_wait_options(remote)["poll_seconds"] >= 30


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
    preds = [Prediction(0, "a"), Prediction(2, "b"), Prediction(2, "b"),
             Prediction(3, "x", error="e")]
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
    by_index = dict(zip(arrival_order(output), labels_in_file_order(output, LABELS), strict=False))
    assert [by_index[i] for i in (0, 1, 2, 3, 5)] == [joined.labels[i] for i in (0, 1, 2, 3, 5)]
    assert completeness(joined.predictions, len(TEXTS))["lost"] == 1


def test_summary_counts_drops_only_the_timing():
    from helpers.classify import ClassificationResults

    results = ClassificationResults([Prediction(0, "a", retries=2)], requests=1, seconds=1.5)
    counts = summary_counts(results)
    assert "seconds" not in counts and counts["retries"] == 2 and counts["requests"] == 1


def test_batch_costs_price_the_same_tokens_at_standard_and_batch_prices():
    from helpers.lessons.scale_report import BATCH_DISCOUNT, batch_costs

    usage = {"n": 200, "prompt_tokens": 20_000, "completion_tokens": 200}
    table = batch_costs(usage, ["gpt-5.4-mini", "sandbox-base", "no-such-model", "glm-4-9b"])
    standard = (20_000 * 0.75 + 200 * 4.5) / 1e6 / 200 * 1000
    assert table.loc["gpt-5.4-mini", "standard_per_1000"] == pytest.approx(standard)
    assert table.loc["gpt-5.4-mini", "batch_per_1000"] == pytest.approx(standard * BATCH_DISCOUNT)
    assert table.loc["sandbox-base", "batch_per_1000"] == 0
    for unknown in ("no-such-model", "glm-4-9b"):  # no row, or a price nobody confirmed
        assert table.loc[unknown, "standard_per_1000"] is pd.NA
        assert table.loc[unknown, "batch_per_1000"] is pd.NA
    assert table.loc["no-such-model", "currency"] is pd.NA  # one marker, not None beside NaN
    assert table.loc["gpt-5.4-mini", "price_note"] is pd.NA  # priced: nothing to explain
    assert table.loc["no-such-model", "price_note"] == "no row in helpers.prices"
    assert table.loc["glm-4-9b", "price_note"]  # says why there is no price
    base = batch_costs(usage, ["gpt-4.1-mini-2025-04-14"])  # its row prices only its fine-tunes
    assert base.loc["gpt-4.1-mini-2025-04-14", "standard_per_1000"] is pd.NA
    assert "base-model inference price" in base.loc["gpt-4.1-mini-2025-04-14", "price_note"]
    assert table.loc["gpt-5.4-mini", "rate"] == "gpt-5.4-mini (base inference)"  # the rate named


def test_batch_usage_sums_the_answered_records():
    from helpers.lessons.scale_report import batch_usage

    ok = {"custom_id": "req-0", "response": {"status_code": 200, "body": {
        "usage": {"prompt_tokens": 7, "completion_tokens": 2}}}}
    failed = {"custom_id": "req-1", "response": {"status_code": 404, "body": {"error": {}}}}
    assert batch_usage([ok, ok, failed]) == {"n": 2, "prompt_tokens": 14, "completion_tokens": 4}


def test_batch_support_yes_for_known_backends_and_a_reason_for_a_server_without_batches(tmp_path):
    import openai

    from helpers.lessons.scale_report import batch_support

    sandbox_client = clients.openai_client(
        config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sb"))
    assert batch_support(sandbox_client) == (True, "")

    class NoBatches:  # what an Ollama-like server answers on /v1/batches
        base_url = "http://127.0.0.1:11434/v1/"

        class batches:
            @staticmethod
            def list(limit):
                import httpx2
                request = httpx2.Request("GET", "http://127.0.0.1:11434/v1/batches")
                raise openai.NotFoundError("404 page not found",
                                           response=httpx2.Response(404, request=request),
                                           body=None)

    ok, why = batch_support(NoBatches())
    assert not ok and "HTTP 404" in why and "127.0.0.1:11434" in why


def test_measure_throughput_reports_complete_ordered_runs_per_concurrency():
    from helpers.lessons.scale_report import measure_throughput

    frame = measure_throughput(TEXTS, LABELS, "zh", concurrencies=(1, 3), latency=0.01)
    assert list(frame.index) == [1, 3]
    assert (frame["requests"] == len(TEXTS)).all()
    assert (frame[["lost", "duplicated", "misordered"]] == 0).all().all()
    assert list(frame["ideal_requests_per_s"]) == [100.0, 300.0]
    with pytest.raises(ValueError, match="distinct"):
        measure_throughput(TEXTS + TEXTS[:1], LABELS)


@pytest.mark.slow
def test_measure_throughput_runs_apart_from_an_open_cassette(tmp_path, monkeypatch):
    """In live mode it runs in this process; with a cassette open, in a child process,
    so none of its timed requests reach the recording."""
    import subprocess

    from helpers import recording, throughput
    from helpers.lessons import scale_report

    children = []
    real_run = subprocess.run

    def counting_run(cmd, *args, **kwargs):
        children.append(cmd)
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(throughput.subprocess, "run", counting_run)
    scale_report.measure_throughput(TEXTS, LABELS, "zh", concurrencies=(2,), latency=0.001)
    assert children == []

    cassette = tmp_path / "throughput.sandbox.json"
    recording.activate(cassette, config.resolve(backend="sandbox", mode="record",
                                                sandbox_dir=tmp_path / "sb"))
    try:
        frame = scale_report.measure_throughput(TEXTS, LABELS, "zh", concurrencies=(2,),
                                                latency=0.001)
        recorded = len(recording.session_for(cassette).interactions)
    finally:
        recording.deactivate()
    assert len(children) == 1 and "helpers.throughput" in children[0]
    assert int(frame.loc[2, "requests"]) == len(TEXTS) and recorded == 0


def test_raw_demonstration_objects_are_found_again_not_made_twice(tmp_path):
    """07's raw cells: a second run finds the upload (name carries the hash) and the batch
    (metadata key) the first one made; other bytes or another key find nothing."""
    from helpers.lessons.scale_report import (
        earlier_batch,
        earlier_upload,
        raw_batch_key,
        upload_name,
    )

    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sb")
    client = clients.openai_client(settings)
    path = write_jsonl(build_batch_requests(TEXTS[:2], LABELS, "sandbox-base", lang="zh"),
                       tmp_path / "raw.requests.jsonl")
    data = path.read_bytes()
    name = upload_name(path, data)
    assert name.startswith("raw.requests-") and name.endswith(".jsonl")
    assert upload_name(path, data + b"\n") != name
    assert earlier_upload(client, name, len(data)) is None
    made = client.files.create(file=(name, data, "application/jsonl"), purpose="batch")
    assert earlier_upload(client, name, len(data)).id == made.id
    assert earlier_upload(client, name, len(data) + 1) is None
    key = raw_batch_key(made.id, "/v1/chat/completions")
    assert key != raw_batch_key(made.id, "/v1/responses")
    assert earlier_batch(client, key) is None
    batch = client.batches.create(input_file_id=made.id, endpoint="/v1/chat/completions",
                                  completion_window="24h", metadata={"course_key": key})
    assert earlier_batch(client, key).id == batch.id
    assert earlier_batch(client, raw_batch_key(made.id, "/v1/responses")) is None
