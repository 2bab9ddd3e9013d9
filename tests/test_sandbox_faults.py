"""Injected faults, set per client through app_for(..., faults)."""
import threading
from types import SimpleNamespace

import httpx2
import openai
import pytest

from helpers import prompts
from helpers.sandbox import Faults, app_for, synthetic
from helpers.sandbox import faults as faults_module
from helpers.sandbox.core import BASE_MODEL

LABELS = list(synthetic.WORDS)
ASK = dict(model=BASE_MODEL, messages=prompts.messages("央行宣布降息", LABELS))


def make_client(tmp_path, faults, retries=0):
    app = app_for(tmp_path / "sbx", faults, progression="poll")
    http = httpx2.Client(transport=httpx2.WSGITransport(app=app))
    return openai.OpenAI(api_key="sandbox", base_url="http://sandbox.local/v1", http_client=http,
                         max_retries=retries, _strict_response_validation=True)


def test_faults_reject_bad_values():
    with pytest.raises(ValueError, match="rate_429 must be between 0 and 1, got 1.5"):
        Faults(rate_429=1.5)
    with pytest.raises(ValueError, match="must not exceed 1"):
        Faults(rate_429=0.7, rate_500=0.7)
    with pytest.raises(TypeError, match="faults must be a helpers.sandbox.Faults, got dict"):
        app_for("/tmp/unused-sandbox-dir", faults={"latency": 1})


def test_429_carries_retry_after_and_sdk_retries(tmp_path):
    always = make_client(tmp_path, Faults(rate_429=1.0, retry_after=0.01))
    with pytest.raises(openai.RateLimitError) as err:
        always.chat.completions.create(**ASK)
    assert err.value.response.headers["retry-after"] == "0.01"
    assert err.value.code == "rate_limit_exceeded"
    # With half the requests throttled and retries on, every call still succeeds.
    flaky = make_client(tmp_path, Faults(rate_429=0.5, retry_after=0.001, seed=1), retries=8)
    assert all(flaky.chat.completions.create(**ASK).choices[0].message.content == "财经"
               for _ in range(10))


def test_500_and_timeout(tmp_path):
    with pytest.raises(openai.InternalServerError, match=r"\(injected fault\)"):
        make_client(tmp_path, Faults(rate_500=1.0)).models.list()
    with pytest.raises(openai.APITimeoutError, match="Request timed out"):
        make_client(tmp_path, Faults(rate_timeout=1.0)).models.list()


def test_fault_draws_are_deterministic_by_seed(tmp_path):
    def outcomes(seed):
        c = make_client(tmp_path, Faults(rate_429=0.3, rate_500=0.3, seed=seed))
        out = []
        for _ in range(20):
            try:
                c.models.list()
                out.append("ok")
            except openai.APIStatusError as exc:
                out.append(exc.status_code)
        return out

    first = outcomes(5)
    assert first == outcomes(5) and first != outcomes(6)
    assert {"ok", 429, 500} <= set(first)


def test_each_request_meets_the_same_fault_in_any_order_or_concurrency(tmp_path):
    """Draws are keyed by the request, not by arrival: 40 distinct requests sent in order,
    reversed, and by 8 threads at once (three fresh sandboxes, one seed) meet the same
    faults; a retry of a request draws again."""
    texts = [f"第{i}条新闻：央行宣布降息{i}个基点" for i in range(40)]
    faults = Faults(rate_429=0.3, rate_500=0.2, seed=3)

    def send(client, text, out):
        try:
            client.chat.completions.create(model=BASE_MODEL,
                                           messages=prompts.messages(text, LABELS))
            out[text] = "ok"
        except openai.APIStatusError as exc:
            out[text] = exc.status_code

    in_order, reverse, threaded = {}, {}, {}
    c = make_client(tmp_path / "a", faults)
    for text in texts:
        send(c, text, in_order)
    c = make_client(tmp_path / "b", faults)
    for text in reversed(texts):
        send(c, text, reverse)
    c = make_client(tmp_path / "c", faults)
    threads = [threading.Thread(target=lambda part=texts[i::8]: [send(c, t, threaded)
                                                                  for t in part])
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert in_order == reverse == threaded
    assert {"ok", 429, 500} <= set(in_order.values())
    again = {}
    for text in texts:  # the second time each request is seen
        send(c, text, again)
    assert again != threaded


def test_latency_overlaps_across_threads(tmp_path, monkeypatch):
    """The injected latency holds no lock: all 8 requests are inside it at once.

    Each latency sleep waits at a barrier for the other 7; requests served one at
    a time would break the barrier (its timeout) and fail the calls.
    """
    c = make_client(tmp_path, Faults(latency=0.1))
    c.chat.completions.create(**ASK)  # warm up: the first call opens the sandbox's store
    barrier = threading.Barrier(8, timeout=30)
    monkeypatch.setattr(faults_module, "time", SimpleNamespace(sleep=lambda s: barrier.wait()))
    answers, failures = [], []

    def ask():
        try:
            answers.append(c.chat.completions.create(**ASK))
        except Exception as exc:  # noqa: BLE001 - collected and shown by the assertion
            failures.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures and len(answers) == 8
    assert not barrier.broken


def test_failing_job_and_training_not_available(tmp_path):
    c = make_client(tmp_path, Faults(fail_jobs=True))
    f = c.files.create(file=("t.jsonl", synthetic.chat_jsonl(synthetic.headlines(12), LABELS)),
                       purpose="fine-tune")
    job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
    statuses = [job.status]
    while job.status not in ("succeeded", "failed", "cancelled"):
        job = c.fine_tuning.jobs.retrieve(job.id)
        statuses.append(job.status)
    assert statuses == ["validating_files", "queued", "running", "failed"]
    assert job.error.code == "server_error" and job.fine_tuned_model is None
    levels = [e.level for e in c.fine_tuning.jobs.list_events(job.id)]
    assert levels[0] == "error"

    blocked = make_client(tmp_path, Faults(training_not_available=True))
    with pytest.raises(openai.PermissionDeniedError) as err:
        blocked.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
    assert err.value.code == "training_not_available"
    # Faults belong to the client: another client of the same sandbox is unaffected.
    assert make_client(tmp_path, None).fine_tuning.jobs.create(
        model=BASE_MODEL, training_file=f.id).status == "validating_files"
