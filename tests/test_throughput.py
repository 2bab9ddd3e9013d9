"""helpers.throughput: the measuring loop takes its client from a factory."""
import pytest

from helpers import clients, config, throughput
from helpers.sandbox import Faults

LABELS = ["体育", "财经", "科技"]
TEXTS = ["湖人队在季后赛中击败勇士队", "央行宣布下调存款准备金率", "苹果发布新款智能手机芯片"]


def test_measure_asks_the_factory_once_for_the_latency_and_reports_each_concurrency(tmp_path):
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sb")
    asked = []

    def make_client(latency):
        asked.append(latency)
        return clients.openai_client(settings, faults=Faults(latency=latency))

    rows = throughput.measure(make_client, TEXTS, LABELS, "zh", concurrencies=(1, 3),
                              latency=0.004)
    assert asked == [0.004]
    assert [r.concurrency for r in rows] == [1, 3]
    assert [r.ideal_requests_per_s for r in rows] == [250.0, 750.0]
    assert all(r.requests == len(TEXTS) and (r.lost, r.duplicated, r.misordered) == (0, 0, 0)
               for r in rows)


def test_measure_refuses_repeated_texts_before_making_a_client():
    def make_client(latency):
        raise AssertionError("no client should be made")

    with pytest.raises(ValueError, match="distinct texts"):
        throughput.measure(make_client, TEXTS + TEXTS[:1], LABELS)
