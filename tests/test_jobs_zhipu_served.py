"""The jobs flow with the zhipuai SDK against a served sandbox's Zhipu paths (/api/paas/v4).

This is notebook 04 on ``COURSE_BACKEND=zhipu`` at the helper level: the
backend is pointed at another base URL (``COURSE_BASE_URL``), the SDK talks real
HTTP, and the endpoint Zhipu lacks (checkpoints) says so instead of failing.
"""
import pytest
from served_sandbox import served_sandbox
from test_jobs_sandbox import write_training

from helpers import clients, config, jobs

# A Zhipu-shaped fake key (<id>.<secret>), assembled at run time for secret scanners.
FAKE_ZHIPU = "0123abcd" * 4 + "." + "PLANTEDzhipuSecret"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with served_sandbox(tmp_path_factory.mktemp("served") / "sandbox") as url:
        yield url


@pytest.mark.slow
def test_zhipu_jobs_flow_on_a_served_sandbox(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZHIPUAI_API_KEY", FAKE_ZHIPU)
    monkeypatch.setenv("COURSE_BASE_URL", f"{server}/api/paas/v4")
    settings = config.resolve(backend="zhipu", mode="live")
    assert settings.identity == f"zhipu@{server}/api/paas/v4"
    client = clients.client(settings)
    assert clients.sdk_of(client) == "zhipu" and clients.supports_fine_tuning(client)
    train = write_training(tmp_path / "train.jsonl", n=12)
    valid = write_training(tmp_path / "valid.jsonl", n=6, tag="验证")
    work = tmp_path / "work"

    file_id = jobs.upload(client, train, settings=settings, work_dir=work)
    assert jobs.upload(client, train, settings=settings, work_dir=work) == file_id
    record = jobs.submit(client, train, validation_file=valid, model="sandbox-base",
                         settings=settings, work_dir=work, n_epochs=1, max_cost_usd=None,
                         verbose=False)
    assert record.training_file == file_id and record.backend == settings.identity
    job = jobs.wait(client, record, settings=settings, poll_interval=0.05, max_interval=0.2,
                    progress=False)
    assert job.status == "succeeded" and job.trained_tokens == record.estimated_tokens
    assert jobs.ledger(record)["tokens_diff_pct"] == 0.0

    events = jobs.events(client, job.id)
    assert events["train_loss"].notna().any() and events["valid_loss"].notna().any()
    assert events["step"].max() == events["total_steps"].max()
    capsys.readouterr()
    checkpoints = jobs.checkpoints(client, job.id)
    said = capsys.readouterr().out.strip()
    assert checkpoints.empty and said == checkpoints.attrs["not_available"]
    assert "no checkpoints endpoint" in said and said.endswith(".") and ". " not in said
    assert list(checkpoints[["step", "fine_tuned_model_checkpoint"]].columns)  # cell still runs
    frame = jobs.result_frame(client, job)
    assert len(frame) == events["step"].max() and frame["valid_loss"].notna().any()

    again = jobs.submit(client, train, validation_file=valid, model="sandbox-base",
                        settings=settings, work_dir=work, n_epochs=1, max_cost_usd=None,
                        verbose=False)
    assert again.attached and again.job_id == job.id
    assert len(jobs.list_jobs(client)) == 1
    jobs.delete_model(client, job.fine_tuned_model)
    with pytest.raises(jobs.NotFoundError, match=r"Deleting model .* failed: the API answered"):
        jobs.delete_model(client, job.fine_tuned_model)
