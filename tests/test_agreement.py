"""Confidence without logprobs (agreement across label orders), measured beside the logprob
confidence on the same rows."""
import pytest

from helpers import agreement
from helpers.classify import classify
from helpers.data import load_named


@pytest.fixture(scope="module")
def rows():
    frame, _ = load_named("news_zh")
    frame = frame.sample(60, random_state=0)
    return list(frame["text"]), list(frame["label"]), sorted(frame["label"].unique())


def test_label_orders_start_with_the_given_order_and_are_seeded():
    orders = agreement.label_orders(["a", "b", "c"], 4, seed=1)
    assert orders[0] == ["a", "b", "c"] and len({tuple(o) for o in orders}) == 4
    assert orders == agreement.label_orders(["a", "b", "c"], 4, seed=1)
    assert len(agreement.label_orders(["a", "b"], 3)) == 3  # only 2 orders exist: repeats
    with pytest.raises(ValueError, match="k must be >= 1"):
        agreement.label_orders(["a"], 0)


def test_agreement_gives_a_reasoning_model_a_confidence_that_ranks_its_answers(client, rows):
    texts, truth, labels = rows
    plain = classify(client, texts, labels, "sandbox-reasoning", logprobs=True,
                     reasoning_effort="low", progress=False)
    assert all(p.confidence is None for p in plain)  # no logprobs from a reasoning model
    voted = agreement.agreement(client, texts, labels, "sandbox-reasoning", k=5,
                                reasoning_effort="low")
    assert voted.requests == 5 * len(set(texts))
    assert {round(p.confidence * 5) for p in voted} <= {1, 2, 3, 4, 5}
    assert len({p.confidence for p in voted}) > 1  # the label order moves some answers
    assert voted[0].completion_tokens == sum(  # tokens are summed over the variants
        classify(client, texts[:1], order, "sandbox-reasoning", reasoning_effort="low",
                 progress=False)[0].completion_tokens
        for order in agreement.label_orders(labels, 5))
    logprob = classify(client, texts, labels, "sandbox-base", logprobs=True, top_logprobs=5,
                       progress=False)
    table = agreement.confidence_table(truth, {"logprobs (sandbox-base)": logprob,
                                               "agreement k=5 (sandbox-reasoning)": voted,
                                               "none (sandbox-reasoning)": plain})
    assert table.loc["agreement k=5 (sandbox-reasoning)", "with_confidence"] == 1.0
    assert table.loc["none (sandbox-reasoning)", "with_confidence"] == 0.0
    assert table.loc["agreement k=5 (sandbox-reasoning)", "auroc"] > 0.65
    assert table.loc["logprobs (sandbox-base)", "auroc"] > 0.65
    top = table.loc["agreement k=5 (sandbox-reasoning)"]
    assert top["accuracy_top_half"] > top["accuracy"]  # confident answers are better ones
