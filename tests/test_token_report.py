"""Tables and histogram for notebook 03 agree with helpers.chat_format, tokens and prices."""
import matplotlib.figure
import matplotlib.pyplot as plt
import pytest

from helpers import chat_format, prices, tokens
from helpers.lessons import token_report as T

EXAMPLE = {"messages": [{"role": "user", "content": "对给定文本进行分类：国产大模型又出新玩家"},
                        {"role": "assistant", "content": "科技", "name": "bot"}]}


def test_breakdown_sums_to_both_formulas():
    for model in ("gpt-4o-mini-2024-07-18", "gpt-3.5-turbo-0125"):
        table = T.token_breakdown(EXAMPLE, model)
        encoding = tokens.encoding_for(model)
        assert table.loc["total", "course"] == chat_format.example_tokens(EXAMPLE, encoding)
        assert table.loc["total", "cookbook"] == T.cookbook_example_tokens(EXAMPLE, encoding)
        assert table.loc["reply priming", "course"] == chat_format.REPLY_PRIMING
        assert table.loc["assistant message", "overhead"] > chat_format.TOKENS_PER_MESSAGE  # name
        # "user" and "assistant" are one token each in both encodings
        assert table.loc["user message", "role"] == table.loc["assistant message", "role"] == 1


def test_cookbook_formula_is_the_course_formula_plus_role_tokens():
    examples = [EXAMPLE, {"messages": [{"role": "system", "content": "只回答类别。"},
                                       {"role": "user", "content": "标题"},
                                       {"role": "assistant", "content": "体育"}]}]
    table = T.formula_comparison(examples, ["gpt-3.5-turbo-0125", "gpt-4o-mini-2024-07-18"])
    assert (table["messages"] == 5).all()
    assert (table["difference"] == table["role_tokens"]).all()
    assert (table["difference"] == 5).all()  # system, user and assistant: one token each
    assert table.loc["gpt-3.5-turbo-0125", "encoding"] == "cl100k_base"


def test_cookbook_formula_fails_on_an_int_weight_as_the_cookbook_does():
    weighted = {"messages": [EXAMPLE["messages"][0], {"role": "assistant", "content": "科技",
                                                     "weight": 0}]}
    with pytest.raises(TypeError, match="'weight' is int"):
        T.cookbook_example_tokens(weighted, "gpt-3.5-turbo-0125")
    assert chat_format.example_tokens(weighted, tokens.encoding_for("gpt-3.5-turbo-0125")) > 0


def test_published_job_table_shows_three_figures_and_the_gap_is_the_role_tokens():
    job = tokens.published_job()
    table = T.published_job_table(job)
    assert list(table.index) == ["cookbook formula", "course formula", "billed"]
    assert table["per_epoch"].tolist() == [11_990, 11_790, 11_790]
    assert table["x2_epochs"].tolist() == [23_980, 23_580, 23_580]
    assert table.loc["cookbook formula", "per_epoch"] - table.loc["billed", "per_epoch"] == \
        job.role_tokens == 100 * sum(tokens.count_strings(["user", "assistant"], job.model))
    assert table.loc["billed", "how"].startswith("quoted")
    assert table.loc["course formula", "how"].startswith("derived")


def test_encoding_and_distribution_tables():
    enc = T.encoding_table(["sandbox-base", "gpt-3.5-turbo-0125"])
    assert enc.loc["gpt-3.5-turbo-0125", "encoding"] == "cl100k_base"
    assert enc.loc["sandbox-base", "example_limit"] == 65_536
    dist = T.distribution_table({"a": [1, 2, 3, 10]})
    assert dist.loc["a", "total"] == 16 and dist.loc["a", "max"] == 10 and dist.loc["a", "n"] == 4
    assert str(dist["min"].dtype).startswith("int") and dist.loc["a", "mean"] == 4.0


def test_epochs_table_follows_the_one_heuristic():
    table = T.epochs_table([5, 800, 20_000])
    assert table["epochs"].tolist() == [chat_format.auto_epochs(n) for n in (5, 800, 20_000)]
    assert table["epochs"].tolist() == [20, 3, 1]
    assert table.loc[800, "examples_seen"] == 2400


def test_cost_by_model_counts_each_encoding_and_keeps_unknown():
    examples = [EXAMPLE] * 10
    per_model = T.model_tokens(examples, ["gpt-4o-mini-2024-07-18", "gpt-3.5-turbo-0125"])
    assert per_model.loc["gpt-3.5-turbo-0125", "tokens_per_epoch"] == \
        sum(tokens.count_chat_tokens(examples, "gpt-3.5-turbo-0125"))
    costs = T.cost_by_model(examples,
                            ["gpt-4o-mini-2024-07-18", "gpt-3.5-turbo-0125", "glm-4-flash"])
    n35 = per_model.loc["gpt-3.5-turbo-0125", "tokens_per_epoch"]
    n4o = per_model.loc["gpt-4o-mini-2024-07-18", "tokens_per_epoch"]
    # training prices per 1M tokens, written here (OpenAI pricing page, 2026): $8 and $3
    assert costs.loc[2, "gpt-3.5-turbo-0125"] == pytest.approx(n35 * 2 * 8.00 / 1e6, abs=5e-5)
    assert costs.loc[3, "gpt-4o-mini-2024-07-18"] == pytest.approx(n4o * 3 * 3.00 / 1e6, abs=5e-5)
    assert set(costs["glm-4-flash"]) == {prices.UNKNOWN}


def test_histogram_returns_a_closed_figure_with_the_legend_outside_the_axes():
    fig = T.token_histogram({"train": [60, 62, 70, 85], "valid": [61, 66]})
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    assert len(ax.patches) > 0
    assert fig.number not in plt.get_fignums()  # closed: a notebook shows it once
    fig.canvas.draw()
    legend, axes = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert legend.x0 >= axes.x1  # never over the bars


def test_counting_model_keeps_known_models_and_names_a_stand_in_for_others():
    assert T.counting_model("gpt-3.5-turbo-0125") == (
        "gpt-3.5-turbo-0125", "gpt-3.5-turbo-0125: counted with its own encoding, cl100k_base")
    model, note = T.counting_model("llama3.2:3b")
    assert model == T.TOKEN_STAND_IN  # OpenAI has no fine-tuning default any more
    assert tokens.encoding_name(model) == "o200k_base"
    assert note.startswith("llama3.2:3b: no tokenizer known") and "estimate" in note
