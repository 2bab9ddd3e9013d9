"""Tables and histogram for notebook 03 agree with helpers.tokens and helpers.prices."""
import matplotlib.figure

from helpers import prices, token_report as T, tokens

EXAMPLE = {"messages": [{"role": "user", "content": "对给定文本进行分类：国产大模型又出新玩家"},
                        {"role": "assistant", "content": "科技", "name": "bot"}]}


def test_breakdown_sums_to_the_formula():
    for model in ("gpt-4o-mini-2024-07-18", "gpt-3.5-turbo-0125"):
        table = T.token_breakdown(EXAMPLE, model)
        total = tokens.chat_example_tokens(EXAMPLE, tokens.encoding_for(model))
        assert table.loc["total", "tokens"] == total
        assert table.loc["reply priming", "tokens"] == tokens.REPLY_PRIMING
        assert table.loc["assistant message", "overhead"] > tokens.TOKENS_PER_MESSAGE  # the name


def test_encoding_and_distribution_tables():
    enc = T.encoding_table(["sandbox-base", "gpt-3.5-turbo-0125"])
    assert enc.loc["gpt-3.5-turbo-0125", "encoding"] == "cl100k_base"
    assert enc.loc["sandbox-base", "example_limit"] == 65_536
    dist = T.distribution_table({"a": [1, 2, 3, 10]})
    assert dist.loc["a", "total"] == 16 and dist.loc["a", "max"] == 10 and dist.loc["a", "n"] == 4


def test_epochs_table_follows_the_heuristic():
    table = T.epochs_table([5, 800, 20_000])
    assert table["epochs"].tolist() == [20, 3, 1]
    assert table.loc[800, "examples_seen"] == 2400


def test_cost_by_model_counts_each_encoding_and_keeps_unknown():
    examples = [EXAMPLE] * 10
    per_model = T.model_tokens(examples, ["gpt-4o-mini-2024-07-18", "gpt-3.5-turbo-0125"])
    assert per_model.loc["gpt-3.5-turbo-0125", "tokens_per_epoch"] == \
        sum(tokens.count_chat_tokens(examples, "gpt-3.5-turbo-0125"))
    costs = T.cost_by_model(examples, ["gpt-4o-mini-2024-07-18", "gpt-3.5-turbo-0125", "glm-4-flash"])
    n35 = per_model.loc["gpt-3.5-turbo-0125", "tokens_per_epoch"]
    assert costs.loc[2, "gpt-3.5-turbo-0125"] == round(prices.training_cost(n35 * 2, "gpt-3.5-turbo-0125"), 4)
    assert set(costs["glm-4-flash"]) == {prices.UNKNOWN}


def test_histogram_returns_a_closed_figure():
    fig = T.token_histogram({"train": [60, 62, 70, 85], "valid": [61, 66]})
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes[0].patches) > 0
    import matplotlib.pyplot as plt

    assert fig.number not in plt.get_fignums()  # closed: a notebook shows it once
