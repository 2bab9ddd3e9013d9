"""The model-capability table, the run-time shutdown check and the dated OpenAI default."""
import warnings
from datetime import date, timedelta

import pytest
from openai.types import Model

from helpers import lifecycle, prices
from helpers.lifecycle import capabilities_for


def test_reasoning_models_take_max_completion_tokens_and_no_sampling():
    for model in ("gpt-5-mini", "gpt-5", "gpt-5-nano", "sandbox-reasoning"):
        c = capabilities_for(model)
        assert c.reasoning and c.token_param == "max_completion_tokens"
        assert not c.accepts_sampling() and c.logprobs is False
    assert capabilities_for("gpt-5-mini").efforts == ("minimal", "low", "medium", "high")
    assert capabilities_for("sandbox-reasoning").accepts_sampling("none")


@pytest.mark.parametrize("model", ["gpt-4o-mini", "gpt-4.1-mini-2025-04-14",
                                   "ft:gpt-4o-mini-2024-07-18:org:x:abc", "sandbox-base"])
def test_classic_chat_models_take_max_tokens_sampling_and_logprobs(model):
    c = capabilities_for(model)
    assert not c.reasoning and c.token_param == "max_tokens"
    assert c.accepts_sampling() and c.logprobs and c.fine_tunable


def test_gpt6_luna_marks_what_is_not_confirmed_and_sends_nothing_unconfirmed():
    c = capabilities_for("gpt-6-luna")
    assert c.reasoning and not c.fine_tunable and c.preferred_api == "responses"
    assert {"sampling", "logprobs", "efforts"} <= set(c.unconfirmed)
    assert c.sampling is None and c.logprobs is None and c.efforts is None
    assert not c.accepts_sampling() and not c.accepts_sampling("none")
    table = lifecycle.capability_table(["gpt-6-luna", "gpt-4o-mini", "llama3.2"])
    assert table.loc["gpt-6-luna", "logprobs"] == "unconfirmed"
    assert table.loc["gpt-6-luna", "reasoning efforts"] == "unconfirmed"
    assert table.loc["gpt-4o-mini", "shutdown"] == "2027-01-14"
    assert table.loc["llama3.2", "token limit (chat)"] == "max_tokens"


def test_unknown_models_get_a_plain_chat_completions_default():
    c = capabilities_for("llama3.2:3b")
    assert c is lifecycle.DEFAULT_CAPABILITIES
    assert c.apis == ("chat",) and c.efforts == () and not c.reasoning


def test_shutdown_dates_of_the_capability_rows():
    assert capabilities_for("gpt-5-nano").shutdown()[0] == date(2026, 12, 11)
    assert capabilities_for("gpt-4.1").shutdown()[0] == date(2027, 1, 14)
    assert capabilities_for("gpt-6-luna").shutdown()[0] is None
    for model in ("o3", "o3-pro", "gpt-5"):
        assert lifecycle.model_status(model, "2026-12-06").shutdown == date(2026, 12, 11)
    assert lifecycle.model_status("o4-mini", "2026-12-06").state == "shut-down"


def test_openai_default_is_not_near_an_announced_shutdown_today():
    """Fails on the day the course's OpenAI default is within 30 days of its shutdown."""
    model = prices.default_model("openai", "chat")
    status = lifecycle.model_status(model, date.today())
    assert status.state != "shut-down"
    assert status.days_left is None or status.days_left > 30, status.message


def test_fine_tuning_ended_names_three_stages_and_every_method():
    text = lifecycle.fine_tuning_ended("openai", "2027-02-01")
    assert "ended in three stages" in text
    for day in ("2026-05-07", "2026-07-02", "2027-01-06"):
        assert day in text
    for method in ("supervised", "DPO", "reinforcement", "vision"):
        assert method in text
    assert "ends in three stages" in lifecycle.fine_tuning_ended("openai", "2026-12-06")


def _models(**dates):
    return [Model(id=m, created=0, object="model", owned_by="system", shutdown_date=d)
            for m, d in dates.items()]


def test_service_shutdown_reads_the_model_list():
    listed = _models(**{"gpt-4o-mini": "2027-01-14", "gpt-6-luna": None,
                        "gpt-5-mini": "2026-12-11"})  # openai 3.x types it Optional[str]
    soon = lifecycle.service_shutdown(listed, "gpt-4o-mini", today="2026-12-06")
    assert soon.shutdown == date(2027, 1, 14) and soon.days_left == 39
    assert "choose another model" in soon.message
    assert lifecycle.service_shutdown(listed, "gpt-6-luna", "2026-12-06").shutdown is None
    gone = lifecycle.service_shutdown(listed, "gpt-5-mini", "2026-12-20")
    assert gone.shutdown == date(2026, 12, 11) and "shut down on" in gone.message
    stamp = lifecycle.service_shutdown([{"id": "x", "shutdown_date": 1765411200}], "x")
    assert stamp.shutdown == date(2025, 12, 11)  # a Unix timestamp is read too
    missing = lifecycle.service_shutdown(listed, "gpt-4.1", "2026-12-06")
    assert not missing.listed and "not in the service's model list" in missing.message
    far = lifecycle.service_shutdown([{"id": "m", "shutdown_date": "2030-01-01"}], "m",
                                     today=date(2029, 1, 1))
    assert far.days_left == 365 and "choose" not in far.message


def test_check_service_shutdown_warns_through_the_client():
    class Fake:
        class models:  # noqa: N801 - mimics client.models
            @staticmethod
            def list():
                return type("Page", (), {"data": _models(m=(date.today() + timedelta(days=3))
                                                         .isoformat())})()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = lifecycle.check_service_shutdown(Fake(), "m")
    assert result.days_left == 3
    assert [w.category for w in caught] == [lifecycle.ModelLifecycleWarning]
    with pytest.raises(ValueError, match="neither an ISO date"):
        lifecycle.service_shutdown([{"id": "m", "shutdown_date": [1]}], "m")


def test_base_and_fine_tuned_inference_rates_never_share_a_label():
    base = prices.inference_price("gpt-4o-mini")
    tuned = prices.inference_price("ft:gpt-4o-mini-2024-07-18:org:x:abc")
    assert base.label == "gpt-4o-mini (base inference)"
    assert tuned.label == "gpt-4o-mini-2024-07-18 (fine-tuned inference)"
    assert (base.input_per_1m, tuned.input_per_1m) == (0.15, 0.30)
    snapshot = prices.inference_price("gpt-4.1-mini-2025-04-14")  # the base, called as itself
    assert snapshot.label.endswith("(base inference)") and snapshot.input_per_1m is None
    luna = prices.inference_price("gpt-6-luna")
    assert (luna.input_per_1m, luna.output_per_1m, luna.rate) == (0.10, 0.50, "base")
    labels = {}
    for row in prices.PRICES + prices.CHAT_PRICES:
        assert labels.setdefault(row.label, row) is row, row.label


def test_reasoning_model_is_one_the_service_lists(tmp_path):
    from helpers import clients, config, lifecycle

    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sbx")
    client = clients.openai_client(settings, max_retries=0)
    assert lifecycle.reasoning_model(client, "sandbox") == "sandbox-reasoning"
    # an openai backend pointed at a served sandbox: gpt-6-luna is not listed, the stand-in is
    assert lifecycle.reasoning_model(client, "openai") == "sandbox-reasoning"
    assert lifecycle.reasoning_model(client, "zhipu") is None
    assert lifecycle.reasoning_model(client, "compatible") is None
