"""The Batch API path and concurrent classify against the in-process sandbox."""
import json

from helpers import clients, config
from helpers.batch import run_batch
from helpers.classify import classify
from helpers.sandbox import Faults

LABELS = ["体育", "财经", "科技", "娱乐"]
TEXTS = ["湖人队在季后赛中击败勇士队", "央行宣布下调存款准备金率", "苹果发布新款智能手机芯片",
         "电影票房创下新纪录", "足球联赛冠军今晚产生", "股市今日大幅上涨"]


def _settings(tmp_path):
    return config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sandbox")


def test_batch_results_match_direct_calls(tmp_path):
    client = clients.openai_client(_settings(tmp_path))
    direct = classify(client, TEXTS, LABELS, "sandbox-base", lang="zh", progress=False)
    res = run_batch(client, TEXTS, LABELS, "sandbox-base", tmp_path / "work", poll_seconds=0,
                    progress=False, lang="zh")
    assert res.batch.status == "completed"
    assert res.failures == [] and res.problems == []
    assert res.labels == direct.labels
    lines = (tmp_path / "work" / "batches" / "eval.requests.jsonl").read_text().splitlines()
    assert len(lines) == len(TEXTS) and json.loads(lines[0])["custom_id"] == "req-0"


def test_batch_results_on_the_zhipu_sdk_match_direct_calls(tmp_path):
    """zhipuai's file content has ``text()`` as a method: the results are read from its bytes."""
    client = clients.zhipu_client(_settings(tmp_path))
    direct = classify(client, TEXTS, LABELS, "sandbox-base", lang="zh", progress=False)
    res = run_batch(client, TEXTS, LABELS, "sandbox-base", tmp_path / "work", poll_seconds=0,
                    progress=False, lang="zh")
    assert type(client).__module__.startswith("zhipuai") and res.batch.status == "completed"
    assert res.failures == [] and res.problems == []
    assert res.labels == direct.labels

def test_concurrent_classify_with_injected_faults_matches_sequential(tmp_path):
    settings = _settings(tmp_path)
    texts = [f"{t}（第{i}条）" for i in range(5) for t in TEXTS]
    seq = classify(clients.openai_client(settings), texts, LABELS, "sandbox-base", lang="zh",
                   concurrency=1, logprobs=True, top_logprobs=2, progress=False)
    faulty = clients.openai_client(settings, faults=Faults(rate_429=0.15, rate_500=0.05,
                                                           retry_after=0.001, seed=3))
    con = classify(faulty, texts, LABELS, "sandbox-base", lang="zh", concurrency=8,
                   max_retries=10, logprobs=True, top_logprobs=2, progress=False)
    assert con.summary()["errors"] == 0 and con.summary()["retries"] > 0
    assert [(p.label, p.prompt_tokens, p.confidence) for p in con] == \
        [(p.label, p.prompt_tokens, p.confidence) for p in seq]
