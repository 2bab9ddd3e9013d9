"""The base model every notebook starts with: one per backend, dated, and flagged near shutdown."""
from helpers import lifecycle, pipeline, prices


def test_one_base_model_per_backend_comes_from_the_dated_defaults():
    for backend in ("sandbox", "zhipu"):
        assert pipeline.DEFAULT_BASE_MODELS[backend] == prices.default_model(backend, "fine-tune")
    # OpenAI's fine-tuning ends: its notebooks start from the chat default
    assert pipeline.DEFAULT_BASE_MODELS["openai"] == prices.default_model("openai", "chat")
    assert "compatible" not in pipeline.DEFAULT_BASE_MODELS


def test_start_prints_a_note_for_a_base_model_near_its_shutdown(capsys):
    run = pipeline.start("01_zero_shot", backend="openai", mode="replay",
                         base_model="gpt-4o-mini-2024-07-18")
    out = capsys.readouterr().out
    expected = lifecycle.check_model(run.base_model, "fine-tune", warn=False)
    assert expected.warning  # shuts down 2027-01-14, jobs end 2027-01-06
    assert out.startswith("Note on BASE_MODEL: gpt-4o-mini-2024-07-18")
    assert "2027-01-14" in out
    assert "deprecations" in out


def test_start_is_quiet_for_the_sandbox(capsys):
    pipeline.start("01_zero_shot", backend="sandbox", mode="replay")
    assert capsys.readouterr().out == ""
