"""A lesson that demonstrates retries and faults never reads answers cached by others.

Notebook 01 fills the shared response cache with the test split's answers; 07
then classifies the same texts through a client with injected 429/500 errors
and the same cache. Before, 07's first pass came entirely from 01's entries
(requests 0, retries 0) and the course summary reported no retries at all.
"""
from helpers import clients, config, sandbox
from helpers.cache import open_cache
from helpers.classify import classify

LABELS = ["体育", "科技", "财经"]
TEXTS = [f"第{i}条：{LABELS[i % 3]}新闻" for i in range(24)]


def test_a_faulty_client_makes_its_own_requests_then_reuses_only_its_own(tmp_path):
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sb")
    store = open_cache(tmp_path / "work")
    plain = clients.openai_client(settings)
    lesson_01 = classify(plain, TEXTS, LABELS, "sandbox-base", cache=store, progress=False)
    assert lesson_01.summary()["requests"] == len(TEXTS)

    faulty = clients.openai_client(settings, faults=sandbox.Faults(
        rate_429=0.3, rate_500=0.1, retry_after=0.0, seed=1))
    # enough retries that no request runs out of them (0.4 ** 9 per request)
    first = classify(faulty, TEXTS, LABELS, "sandbox-base", cache=store, progress=False,
                     max_retries=8)
    counts = first.summary(timing=False)
    assert (counts["requests"], counts["cached"], counts["errors"]) == (len(TEXTS), 0, 0)
    assert counts["retries"] > 0

    second = classify(faulty, TEXTS, LABELS, "sandbox-base", cache=store, progress=False)
    assert second.summary(timing=False)["cached"] == len(TEXTS)
    assert second.labels == first.labels

    again = clients.openai_client(settings, faults=sandbox.Faults(rate_429=0.3, seed=1))
    rerun = classify(again, TEXTS, LABELS, "sandbox-base", cache=store, progress=False)
    assert rerun.summary(timing=False)["cached"] == 0  # a rerun of the lesson shows retries again


def test_plain_clients_of_one_backend_share_a_namespace(tmp_path):
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sb")
    one, two = clients.openai_client(settings), clients.openai_client(settings)
    faulty = clients.openai_client(settings, faults=sandbox.Faults())
    assert clients.cache_namespace(one) == clients.cache_namespace(two)
    assert clients.cache_namespace(faulty).startswith(clients.cache_namespace(one) + ":faults-")
