"""Where no training price is published (Zhipu), a budget in billed tokens guards the run."""
import pytest

from helpers import clients, config, jobs, pipeline, tokens
from tests.test_jobs_sandbox import write_training


def test_token_budget_refuses_an_unpriced_estimate_over_it():
    est = tokens.TrainingEstimate("glm-4-flash", 500, 3, None, 40_000, 120_000)
    with pytest.raises(jobs.CostLimitError, match=r"120,000 billed tokens .* over "
                                                  r"max_trained_tokens=100,000 \(no published "
                                                  r"training price for glm-4-flash"):
        jobs.check_cost(est, None, None, max_trained_tokens=100_000)
    jobs.check_cost(est, None, None, max_trained_tokens=120_000)  # at the budget: allowed
    jobs.check_cost(est, None, None)  # no budget at all: the explicit opt-out
    priced = tokens.TrainingEstimate("gpt-4o-mini-2024-07-18", 100, 3, 65_536, 1_000, 3_000)
    with pytest.raises(jobs.CostLimitError, match="max_trained_tokens=2,000"):
        jobs.check_cost(priced, 0.009, 1.0, max_trained_tokens=2_000)  # both guards apply


def test_submit_with_a_token_budget_refuses_before_uploading(tmp_path):
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sbx")
    client = clients.openai_client(settings)
    train = write_training(tmp_path / "train.jsonl")
    with pytest.raises(jobs.CostLimitError, match="over max_trained_tokens=10"):
        jobs.submit(client, train, model="glm-4-flash", settings=settings,
                    work_dir=tmp_path / "work", max_cost_usd=None, max_trained_tokens=10,
                    verbose=False)
    assert client.files.list(purpose="fine-tune").data == []
    record = jobs.submit(client, train, model="sandbox-base", settings=settings,
                         work_dir=tmp_path / "work", max_trained_tokens=1_000_000, verbose=False)
    assert record.job_id


def test_the_zhipu_run_is_guarded_by_tokens_and_says_so(capsys):
    run = pipeline.start("04_fine_tuning_jobs", backend="zhipu", mode="live")
    assert pipeline.cost_limit(run) is None
    assert pipeline.token_limit(run) == jobs.DEFAULT_MAX_TRAINED_TOKENS
    assert "a budget of 2,000,000 billed tokens guards the job" in capsys.readouterr().out
    mine = pipeline.start("04_fine_tuning_jobs", backend="zhipu", mode="live",
                          max_trained_tokens=50_000)
    assert pipeline.token_limit(mine) == 50_000
    sandbox = pipeline.start("04_fine_tuning_jobs", backend="sandbox", mode="replay")
    assert pipeline.token_limit(sandbox) is None
    assert pipeline.cost_limit(sandbox) == jobs.DEFAULT_MAX_COST_USD
