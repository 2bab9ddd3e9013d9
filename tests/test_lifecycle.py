"""Model lifecycle facts, the shutdown warning and the course defaults
(helpers.lifecycle, prices)."""
import warnings
from datetime import date

import pytest

from helpers import lifecycle, prices

TODAY = date(2026, 12, 1)  # the course's "today"; every call below passes it explicitly


def _check(model, purpose="chat", today=TODAY):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = lifecycle.check_model(model, purpose, today=today)
    return status, [w for w in caught if issubclass(w.category, lifecycle.ModelLifecycleWarning)]


def test_every_lifecycle_fact_names_a_dated_source():
    for row in lifecycle.LIFECYCLE:
        assert row.sources, row.model
        for source in row.sources:
            assert source.title and source.url and date.fromisoformat(source.checked)
    for item in lifecycle.FINE_TUNABLE:
        assert item.source.title and item.source.url, item.model


@pytest.mark.parametrize("model", [
    "gpt-4o-mini-2024-07-18", "gpt-4o-mini", "gpt-4.1-mini-2025-04-14", "gpt-4.1-mini",
    "gpt-4.1-2025-04-14", "gpt-4o-2024-08-06", "ft:gpt-4o-mini-2024-07-18:org:suffix:abc123",
    "ft:gpt-4.1-mini-2025-04-14:org:suffix:abc123:ckpt-step-100"])
def test_gpt4o_and_gpt41_families_and_their_fine_tunes_shut_down_2027_01_14(model):
    status = lifecycle.model_status(model, TODAY)
    assert status.shutdown == date(2027, 1, 14)
    assert status.days_left == 44 and status.state == "shutting-down"
    assert "developers.openai.com/api/docs/deprecations" in status.message


@pytest.mark.parametrize("model", ["gpt-3.5-turbo-0125", "gpt-3.5-turbo", "gpt-4.1-nano",
                                   "ft:gpt-3.5-turbo-0125:personal::9RLH3nut"])
def test_gpt35_and_gpt41_nano_shut_down_2026_10_23(model):
    status = lifecycle.model_status(model, TODAY)
    assert status.shutdown == date(2026, 10, 23) and status.state == "shut-down"
    assert status.message.startswith(model.split(":")[1] if model.startswith("ft:") else model)


def test_openai_fine_tuning_wind_down_dates():
    access = lifecycle.OPENAI_FINE_TUNING
    assert access.jobs_end == date(2027, 1, 6)
    assert access.error_code == "training_not_available"
    assert access.refused[0][0] == date(2026, 5, 7)
    assert any("llm_engineering/issues/3258" in s.url for s in access.sources)


def test_small_chat_models_2026():
    assert lifecycle.model_status("gpt-5-mini", TODAY).shutdown == date(2026, 12, 11)
    live = lifecycle.model_status("gpt-5.4-mini", TODAY)
    assert live.state == "no-date-announced" and live.shutdown is None
    assert lifecycle.fine_tunable_for("gpt-5.4-mini") is None
    price = prices.price_for("gpt-5.4-mini")
    assert (price.input_per_1m, price.output_per_1m, price.training_per_1m) == (0.75, 4.50, None)


def test_zhipu_fine_tunable_models_and_unknown_training_prices():
    zhipu = {f.model: f.methods for f in lifecycle.FINE_TUNABLE if f.provider == "zhipu"}
    assert zhipu == {"glm-4-flash": ("lora", "full"), "glm-4.5-air": ("full",),
                     "glm-4-air": ("lora", "full"), "glm-4-air-250414": ("full",),
                     "glm-4-9b": ("lora", "full"), "chatglm3-6b": ("lora",)}
    table = prices.model_table("fine-tunable", "zhipu", today=TODAY)
    assert set(table["training_per_1m"]) == {prices.UNKNOWN}
    assert set(table["status"]) == {"unknown"}  # no Zhipu shutdown date was confirmed
    assert prices.price_for("glm-4-flash").input_per_1m == 0.0  # chat is free


def test_fine_tunable_models_are_listed_apart_from_chat_models():
    tunable = {f.model for f in lifecycle.FINE_TUNABLE}
    assert not tunable & {p.model for p in prices.CHAT_PRICES}
    chat = prices.model_table("chat", today=TODAY).set_index("model")
    assert not chat.loc["gpt-5.4-mini", "fine_tunable"]
    assert chat.loc["gpt-5-mini", "shutdown"] == "2026-12-11"
    fine = prices.model_table("fine-tunable", "openai", today=TODAY).set_index("model")
    assert fine.loc["gpt-4o-mini-2024-07-18", "new_jobs_until"] == "2027-01-06"
    assert fine.loc["gpt-4.1-nano-2025-04-14", "status"] == "shut-down"
    assert fine.loc["davinci-002", "shutdown"] == prices.UNKNOWN  # not confirmed, not guessed
    with pytest.raises(ValueError, match="kind"):
        prices.model_table("embeddings")


def test_warns_past_shutdown_naming_date_and_source():
    status, caught = _check("gpt-3.5-turbo-0125")
    assert status.warning and len(caught) == 1
    text = str(caught[0].message)
    assert "2026-10-23" in text and "https://developers.openai.com/api/docs/deprecations" in text
    assert caught[0].filename == __file__  # the warning points at the caller


def test_warns_when_shutdown_is_soon_and_not_when_far_or_unknown():
    soon, caught = _check("ft:gpt-4o-mini-2024-07-18:org:s:abc")
    assert soon.state == "shutting-down" and caught and "in 44 days" in str(caught[0].message)
    far, caught = _check("gpt-4o-mini-2024-07-18", today="2026-06-01")
    assert far.state == "live" and far.days_left == 227 and not caught
    live, caught = _check("gpt-5.4-mini")
    assert not live.warning and not caught
    other, caught = _check("llama3.2:3b")  # a compatible server's model: reported, not warned
    assert other.state == "unknown" and other.provider is None and not caught
    assert other.message.startswith("llama3.2:3b: no lifecycle information")
    sandbox, caught = _check("sandbox-base", "fine-tune")
    assert sandbox.state == "live" and not caught


def test_date_is_injectable_and_defaults_to_the_real_date():
    assert lifecycle.model_status("gpt-4o-mini", "2027-02-01").state == "shut-down"
    assert lifecycle.model_status("gpt-4o-mini", date(2026, 1, 1)).state == "live"
    assert lifecycle.model_status("gpt-4o-mini").days_left == (
        date(2027, 1, 14) - date.today()).days


def test_fine_tune_purpose_checks_the_provider_accepts_jobs():
    base, caught = _check("gpt-4.1-mini-2025-04-14", "fine-tune")
    assert base.fine_tunable and base.jobs_end == date(2027, 1, 6) and caught
    assert "training_not_available" in base.message and "2027-01-06" in base.message
    closed, caught = _check("gpt-4.1-mini-2025-04-14", "fine-tune", today="2027-01-07")
    assert "stopped accepting new fine-tuning jobs" in str(caught[0].message)
    chat_only, caught = _check("gpt-5.4-mini", "fine-tune")
    assert chat_only.fine_tunable is False and "not listed as a fine-tunable" in chat_only.message
    assert caught
    continued, _ = _check("ft:gpt-4o-mini-2024-07-18:org:first:abc", "fine-tune")
    assert continued.fine_tunable and continued.base == "gpt-4o-mini-2024-07-18"
    zhipu, caught = _check("glm-4-flash:123:mine:abc", "fine-tune")
    assert zhipu.fine_tunable and not caught
    with pytest.raises(ValueError, match="purpose"):
        lifecycle.check_model("gpt-5.4-mini", "train")


def test_openai_defaults_are_live_and_fit_their_purpose():
    chat = prices.default_model("openai", "chat")
    assert chat == "gpt-6-luna" and prices.default_for("openai", "chat").api == "responses"
    assert lifecycle.model_status(chat, TODAY).state == "no-date-announced"
    assert lifecycle.fine_tunable_for(chat) is None
    assert "$0.10 / $0.50" in prices.default_note("openai", "chat", today=TODAY)
    # OpenAI's fine-tuning ends: no default, and the message gives the three stages
    with pytest.raises(KeyError, match="2026-05-07.*2026-07-02.*2027-01-06.*zhipu"):
        prices.default_model("openai", "fine-tune")
    assert prices.default_model("zhipu", "fine-tune") == "glm-4-flash"
    assert "Training price: unknown" in prices.default_note("zhipu", "fine-tune", today=TODAY)
    assert prices.default_model("sandbox") == "sandbox-base"
    assert prices.default_model("sandbox", "fine-tune") == "sandbox-base"
    with pytest.raises(KeyError, match="compatible"):
        prices.default_model("compatible")


def test_warn_false_returns_the_same_status_without_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet = lifecycle.check_model("gpt-3.5-turbo-0125", "fine-tune", today=TODAY, warn=False)
    assert quiet.warning and not caught
    loud, caught = _check("gpt-3.5-turbo-0125", "fine-tune")
    assert loud == quiet and len(caught) == 1


def test_status_table_one_row_per_model_and_no_warning_issued():
    models = ["sandbox-base", "gpt-4.1-mini-2025-04-14", "gpt-3.5-turbo-0125", "gpt-5.4-mini",
              "llama3.2:3b"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = lifecycle.status_table(models, "fine-tune", today=TODAY)
    assert not caught and list(table.index) == models
    assert table.loc["gpt-4.1-mini-2025-04-14", "days_left"] == 44
    assert table.loc["gpt-4.1-mini-2025-04-14", "new_jobs_until"] == "2027-01-06"
    assert table.loc["gpt-3.5-turbo-0125", "new_jobs_until"] == "none (shut down)"
    assert table["warning"].tolist() == [False, True, True, True, False]
    assert table.loc["gpt-5.4-mini", "new_jobs_until"] == "not fine-tunable"
    assert not table.loc["gpt-5.4-mini", "fine_tunable"]
    assert "fine_tunable" not in lifecycle.status_table(models, "chat", today=TODAY).columns
    assert table.loc["llama3.2:3b", "state"] == "unknown"
    assert table.loc["sandbox-base", ["shutdown", "days_left", "new_jobs_until"]].isna().all()


def test_model_table_no_new_jobs_on_a_shut_down_base():
    fine = prices.model_table("fine-tunable", "openai", today=TODAY).set_index("model")
    assert fine.loc["gpt-3.5-turbo-0125", "new_jobs_until"] == "none (shut down)"
    assert fine.loc["gpt-4.1-mini-2025-04-14", "new_jobs_until"] == "2027-01-06"
    chat = prices.model_table("chat", today=TODAY).set_index("model")
    assert chat.loc["gpt-4o-mini", "fine_tunable"]  # OpenAI accepts the alias as a job's model
    assert "gpt-4o-mini-2024-07-18" in chat.loc["gpt-4o-mini", "note"]
