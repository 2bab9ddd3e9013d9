"""The dated price table and cost tables (helpers.prices)."""
from pathlib import Path

import pytest

from helpers import prices


def test_every_row_has_a_date_and_a_source():
    for row in prices.PRICES + prices.CHAT_PRICES:
        assert row.as_of and row.source, row.model


def test_chat_models_are_priced_but_not_trainable_and_not_in_the_fine_tuning_table():
    for model, inp, out in [("gpt-5.4-mini", 0.75, 4.50), ("gpt-5.4-mini-2026-03-17", 0.75, 4.50),
                            ("gpt-5-mini", 0.25, 2.00), ("gpt-6-luna", 0.10, 0.50)]:
        row = prices.price_for(model)
        assert (row.input_per_1m, row.output_per_1m) == (inp, out)
        assert row.training_per_1m is None and prices.training_cost(1_000, model) is None
    shown = set(prices.price_table()["model"])
    assert shown == {p.model for p in prices.PRICES}
    assert not shown & {p.model for p in prices.CHAT_PRICES}


def test_openai_training_prices_from_facts():
    assert prices.price_for("gpt-4o-mini-2024-07-18").training_per_1m == 3.0
    assert prices.price_for("ft:gpt-4o-mini-2024-07-18:org:s:abc").training_per_1m == 3.0
    assert prices.price_for("gpt-4.1-nano").training_per_1m == 1.5
    assert prices.price_for("gpt-3.5-turbo").training_per_1m == 8.0


def test_zhipu_training_prices_are_unknown_and_shown_as_such():
    flash = prices.price_for("glm-4-flash:123:mine:abc")
    assert flash.training_per_1m is None and flash.input_per_1m == 0.0  # chat is free
    assert prices.training_cost(10_000, "glm-4-flash") is None
    table = prices.price_table("zhipu")
    assert set(table["training_per_1m"]) == {prices.UNKNOWN}


def test_unknown_model_is_an_error_not_a_guess():
    with pytest.raises(prices.UnknownModelError, match="no price row") as error:
        prices.price_for("gpt-5-imaginary")
    assert "gpt-5.4-mini" in str(error.value)  # the message lists what is known


def test_cost_table_over_epochs_and_models():
    table = prices.cost_table(1_000_000, ["gpt-4o-mini-2024-07-18", "glm-4-flash",
                                          "sandbox-base"])
    assert list(table.index) == [1, 2, 3, 4]
    assert list(table["gpt-4o-mini-2024-07-18"]) == [3.0, 6.0, 9.0, 12.0]
    assert table.loc[4, "gpt-4o-mini-2024-07-18"] / table.loc[1, "gpt-4o-mini-2024-07-18"] == 4
    assert list(table["glm-4-flash"]) == [prices.UNKNOWN] * 4
    assert list(table["sandbox-base"]) == [0.0] * 4
    assert list(table["billed_tokens"]) == [1_000_000 * e for e in range(1, 5)]


def test_zhipu_token_estimate_is_labelled():
    est = prices.zhipu_token_estimate(
        [{"messages": [{"role": "user", "content": "一二三四五六七八"}]}])
    assert est["tokens"] == 5 and est["is_estimate"] and "1.6" in est["method"]


def test_training_cost_is_none_for_unpriced_or_other_currency_models():
    assert prices.training_cost(1_000_000, "gpt-4o-mini-2024-07-18") == 3.0
    assert prices.training_cost(2_000_000, "ft:gpt-4o-mini-2024-07-18:org:s:abc") == 6.0
    assert prices.training_cost(1_000_000, "llama3.2:3b") is None  # no price row
    assert prices.training_cost(1_000_000, "glm-4-flash") is None  # training price unknown
    yuan = prices.Price("zhipu", "glm-made-up", "CNY", 50.0, 1.0, 2.0, "2026-12", "a test row")
    assert prices.training_cost(200_000, yuan) is None  # asked in USD
    assert prices.training_cost(200_000, yuan, currency=None) == 10.0
    assert prices.training_cost(200_000, yuan, currency="CNY") == 10.0


def test_training_cost_is_the_only_training_cost_function():
    names = [n for n in dir(prices) if "training_cost" in n and callable(getattr(prices, n))]
    assert names == ["training_cost"]
    # and no other module prices training itself: only prices reads the training rate
    helpers = Path(prices.__file__).parent
    readers = sorted(str(p.relative_to(helpers)) for p in helpers.rglob("*.py")
                     if "training_per_1m" in p.read_text(encoding="utf-8"))
    assert readers == ["prices.py"]


def test_calling_a_base_model_is_priced_at_its_own_rates_not_its_fine_tunes():
    from helpers import prices

    base = prices.inference_price("gpt-4o-mini-2024-07-18")
    tuned = prices.inference_price("ft:gpt-4o-mini-2024-07-18:org:course:abc123")
    assert (base.input_per_1m, base.output_per_1m) == (0.15, 0.60)
    assert (tuned.input_per_1m, tuned.output_per_1m) == (0.30, 1.20)
    # no base-model price in the table: unknown, never the fine-tuned rate
    unknown = prices.inference_price("gpt-4.1-mini-2025-04-14")
    assert unknown.input_per_1m is None and unknown.output_per_1m is None
    assert prices.price_for("gpt-4.1-mini-2025-04-14").training_per_1m == 5.00  # training intact
    # Zhipu: base chat is free, a fine-tune's inference price is not confirmed
    assert prices.inference_price("glm-4-flash").input_per_1m == 0.0
    assert prices.inference_price("glm-4-flash:100001:course:abc").input_per_1m is None
    assert prices.inference_price("gpt-5.4-mini").input_per_1m == 0.75
