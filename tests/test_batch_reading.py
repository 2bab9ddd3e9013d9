"""Batch results are read like helpers.classify reads replies: echoes, aliases,
structured replies; custom_ids have one parser; run_batch waits with the given sleep."""
import pytest
from test_batch_join import _ok  # one batch output line, in the Batch API's shape

from helpers import clients, config
from helpers.batch import custom_id, index_of, join_results, run_batch

LABELS = ["体育", "财经", "国际"]


def test_index_of_is_the_one_parser_of_custom_ids():
    assert index_of(custom_id(12)) == 12
    assert index_of("req-12", n=13) == 12
    assert index_of("req-12", n=12) is None
    for foreign in ("abc", "req-", "req-1a", "row-3", "req-١٢", "req--1"):
        assert index_of(foreign) is None, foreign


def test_an_echo_of_the_text_naming_another_label_does_not_decide():
    text = "国际油价大涨，航空公司股价应声下跌"
    output = [_ok("req-0", f"{text}\n财经")]
    assert join_results(1, LABELS, output, []).labels == ["国际"]  # the echo's mention comes first
    assert join_results(1, LABELS, output, [], texts=[text]).labels == ["财经"]


def test_aliases_map_to_their_label():
    res = join_results(2, LABELS, [_ok("req-0", "这是一条世界新闻。"), _ok("req-1", "世界")], [],
                       aliases={"国际": ["世界"]})
    assert res.labels == ["国际", "国际"]


def test_structured_replies_are_validated_not_guessed():
    output = [_ok("req-0", '{"label": "体育"}'), _ok("req-1", "体育"),
              _ok("req-2", '{"label": "体育。"}')]
    res = join_results(3, LABELS, output, [], structured="json_schema")
    assert res.labels == ["体育", "unknown", "unknown"]
    assert res.predictions[1].parse_error and res.predictions[2].parse_error
    assert res.summary()["unparseable"] == 2


def test_texts_must_match_the_requests():
    with pytest.raises(ValueError, match="2 texts for 3 requests"):
        join_results(3, LABELS, [], [], texts=["a", "b"])


def test_run_batch_waits_with_the_sleep_it_is_given(tmp_path):
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sb")
    client = clients.openai_client(settings)
    slept = []
    res = run_batch(client, ["中超联赛今晚开战", "央行宣布降准"], LABELS, "sandbox-base",
                    tmp_path / "w", poll_seconds=7.0, progress=False, lang="zh", sleep=slept.append,
                    settings=settings)
    assert slept and set(slept) == {7.0}
    assert len(res.predictions) == 2 and not res.failures
