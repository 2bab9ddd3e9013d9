"""Notebook 01's helpers: reply styles built from any label set, aliases from a label map,
the answer-mode table and the figures 01 records."""
import pytest

from helpers.answers import UNKNOWN
from helpers.classify import ClassificationResults, Prediction
from helpers.lessons import zero_shot_report as z
from helpers.results import APPROACH_FIGURES

ODD = ["Business, Finance", "Sci/Tech", "🎮 Games", "Health & Life"]
NEWS = ["体育", "财经", "国际", "科技"]


def test_aliases_from_a_label_map_are_its_codes_and_the_codes_without_their_prefix():
    mapping = {"news_world": "国际", "news_sports": "体育", "news_stock": "股票"}
    assert z.aliases_from_label_map(mapping, ["国际", "体育"]) == {
        "国际": ["news_world", "world"], "体育": ["news_sports", "sports"]}
    assert z.aliases_from_label_map(None, NEWS) == {}
    # a code equal to a label, or without a letter, is no alias
    assert z.aliases_from_label_map({"1": "World", "2": "Sports", "sports": "Sports"},
                                    ["World", "Sports"]) == {}


@pytest.mark.parametrize("labels,lang", [(NEWS, "zh"), (ODD, "en")])
def test_every_reply_style_is_read_as_expected_whatever_the_labels(labels, lang):
    styles = z.reply_styles(labels, lang, aliases={labels[2]: ["alias-word"]})
    assert list(styles.columns) == ["style", "reply", "expected", "parse_label", "naive"]
    assert (styles["parse_label"] == styles["expected"]).all(), styles.to_string()
    assert {"echo of the text", "negation", "alias", "markdown bold",
            "no label"} <= set(styles["style"])
    # the first-mention reading gets the echo and the negation wrong
    wrong = set(styles.loc[styles["naive"] != styles["expected"], "style"])
    assert {"echo of the text", "negation"} <= wrong
    for label in labels[:2]:
        assert any(label in reply for reply in styles["reply"])


def test_the_echo_row_uses_a_text_of_the_data_that_names_another_label():
    texts = ["今天天气很好", "国际足联宣布世界杯扩军到四十八支球队"]
    text, own, other = z.echo_example(texts, ["科技", "体育"], NEWS, "zh")
    assert (text, own, other) == (texts[1], "体育", "国际")
    invented, own, other = z.echo_example([], [], ODD, "en")
    assert other in invented and own == ODD[0]


def test_without_aliases_there_is_no_alias_row_and_two_labels_are_needed():
    assert "alias" not in set(z.reply_styles(NEWS, "zh")["style"])
    with pytest.raises(ValueError, match="two labels"):
        z.reply_styles(["only"], "en")


def test_naive_label_is_the_first_mention():
    assert z.naive_label("不是体育，而是财经", NEWS) == "体育"
    assert z.naive_label(None, NEWS) == UNKNOWN and z.naive_label("无法判断", NEWS) == UNKNOWN


def _results(rows, requests=None):
    preds = [Prediction(i, **row) for i, row in enumerate(rows)]
    return ClassificationResults(preds, requests=len(preds) if requests is None else requests,
                                 seconds=1.0)


def test_mode_table_counts_unparseable_and_failed_and_averages_tokens():
    y = ["体育", "财经", "国际"]
    free = _results([dict(label="体育", prompt_tokens=10, completion_tokens=1),
                     dict(label=UNKNOWN, parse_error="names none of the labels", prompt_tokens=12,
                          completion_tokens=9),
                     dict(label=UNKNOWN, error="HTTP 500")])
    schema = _results([dict(label="体育", prompt_tokens=30, completion_tokens=5, cached=True),
                       dict(label="财经", prompt_tokens=30, completion_tokens=5, cached=True),
                       dict(label="国际", prompt_tokens=30, completion_tokens=5, cached=True)],
                      requests=0)
    table = z.mode_table(y, {"free": free, "schema": schema})
    assert table.loc["free", "unparseable"] == 1 and table.loc["free", "failed"] == 1
    assert table.loc["free", "accuracy"] == pytest.approx(1 / 3)
    assert table.loc["free", "prompt_tokens"] == 11 and table.loc["free", "completion_tokens"] == 5
    # cached answers still count their tokens: the table compares ways of asking, not cache luck
    assert table.loc["schema", "prompt_tokens"] == 30 and table.loc["schema", "accuracy"] == 1


def test_approach_figures_price_known_models_only_and_skip_cached_latency():
    y = ["体育", "财经"]
    res = _results([dict(label="体育", prompt_tokens=1000, completion_tokens=10, latency=0.2),
                    dict(label="国际", prompt_tokens=1000, completion_tokens=10, latency=0.4)])
    figures = z.approach_figures(res, y, "gpt-5.4-mini")
    assert set(figures) == set(APPROACH_FIGURES)
    assert figures["cost_per_1000_usd"] == pytest.approx((1000 * 0.75 + 10 * 4.5) / 1e6 * 1000)
    assert figures["latency_s"] == pytest.approx(0.3) and figures["training_cost_usd"] == 0
    assert z.approach_figures(res, y, "a-model-nobody-priced")["cost_per_1000_usd"] is None
    assert z.approach_figures(res, y, "glm-4-flash")["cost_per_1000_usd"] is None  # CNY, not USD
    cached = _results([dict(label="体育", cached=True, latency=None)] * 2, requests=0)
    assert z.approach_figures(cached, y, "sandbox-base")["latency_s"] is None


def test_record_figures_names_every_approach_and_the_structured_mode():
    y = ["体育", "财经"]
    free = _results([dict(label="体育", prompt_tokens=10), dict(label="财经", prompt_tokens=10)])
    shots = _results([dict(label="体育", prompt_tokens=50), dict(label="体育", prompt_tokens=50)])
    schema = _results([dict(label="体育", prompt_tokens=30),
                       dict(label=UNKNOWN, parse_error="not valid JSON", prompt_tokens=30)])
    figures = z.record_figures(y, "sandbox-base", free, shots, structured=schema,
                               structured_mode="json_schema")
    for approach in ("zero_shot", "few_shot", "zero_shot_structured"):
        assert all(f"{approach}_{name}" in figures for name in APPROACH_FIGURES)
    assert figures["zero_shot_accuracy"] == 1 and figures["few_shot_accuracy"] == 0.5
    assert figures["few_shot_extra_prompt_tokens_per_request"] == 40
    assert figures["zero_shot_structured_unparseable"] == 1
    assert figures["zero_shot_structured_mode"] == "json_schema"
    assert "zero_shot_structured_accuracy" not in z.record_figures(y, "m", free, shots)


def test_effort_table_prices_reasoning_as_output_at_the_named_model_and_counts_lost_answers():
    y = ["体育", "财经"]
    none = _results([dict(label="体育", prompt_tokens=100, completion_tokens=2, latency=0.01),
                     dict(label="国际", prompt_tokens=100, completion_tokens=2, latency=0.01)])
    high = _results([dict(label="体育", prompt_tokens=100, completion_tokens=302,
                          reasoning_tokens=300, latency=1.26),
                     dict(label=UNKNOWN, outcome="budget_exhausted", prompt_tokens=100,
                          completion_tokens=64, reasoning_tokens=64, latency=1.0)])
    table = z.effort_table(y, {"none": none, "high": high}, priced_as="gpt-6-luna")
    cost = [c for c in table.columns if c.startswith("cost / 1,000")]
    assert cost == ["cost / 1,000 (USD, at gpt-6-luna (base inference))"]
    # reasoning tokens are billed as output: $0.10 in, $0.50 out per 1M
    assert table.loc["high", cost[0]] == pytest.approx((200 * 0.10 + 366 * 0.50) / 1e6 / 2 * 1000)
    assert table.loc["high", "reasoning_tokens"] == 182
    assert table.loc["none", "reasoning_tokens"] == 0
    assert table.loc["high", "budget_exhausted"] == 1 and table.loc["none", "budget_exhausted"] == 0
    assert table.loc["none", "accuracy"] == 0.5 and table.loc["high", "accuracy"] == 0.5
    assert table.loc["none", "median latency"] == "< 0.1 s"
    assert table.loc["high", "median latency"] == "1.1 s"


def test_record_reasoning_uses_the_zero_shot_reasoning_names_and_keeps_lost_answers_apart():
    y = ["体育", "财经"]
    res = _results([dict(label="体育", prompt_tokens=10, completion_tokens=40, reasoning_tokens=38),
                    dict(label=UNKNOWN, outcome="budget_exhausted", completion_tokens=16,
                         reasoning_tokens=16)])
    figures = z.record_reasoning(y, "sandbox-reasoning", res, "medium")
    assert all(f"zero_shot_reasoning_{name}" in figures for name in APPROACH_FIGURES)
    assert figures["zero_shot_reasoning_accuracy"] == 0.5
    assert figures["zero_shot_reasoning_effort"] == "medium"
    assert figures["zero_shot_reasoning_budget_exhausted"] == 1
