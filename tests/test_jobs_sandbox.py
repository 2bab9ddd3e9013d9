"""Job management against the embedded sandbox: idempotency, restart, guard, failures."""
import json
import os
import subprocess
import sys
import textwrap
import time
import traceback

import pytest

from conftest import REPO
from helpers import chat_format, clients, config, jobs, prompts, tokens
from helpers.sandbox import Faults

LABELS = ["体育", "财经", "科技"]


def write_training(path, n=12, tag="新闻"):
    lines = []
    for i in range(n):
        label = LABELS[i % 3]
        msgs = prompts.messages(f"{tag}{i}：{label}的消息", LABELS, system=True)
        msgs.append({"role": "assistant", "content": label})
        lines.append(json.dumps({"messages": msgs}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def env(tmp_path):
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sandbox")
    return settings, tmp_path / "work", write_training(tmp_path / "train.jsonl")


def _submit(client, env, **kw):
    settings, work, train = env
    kw.setdefault("model", "sandbox-base")
    return jobs.submit(client, train, settings=settings, work_dir=work, verbose=False, **kw)


def _wait(client, record, env, **kw):
    return jobs.wait(client, record, settings=env[0], progress=False, **kw)


@pytest.mark.parametrize("sdk", ["openai", "zhipu"])
def test_submitting_twice_creates_exactly_one_job(env, sdk):
    client = clients.client(env[0], sdk=sdk)
    first = _submit(client, env, n_epochs=2)
    second = _submit(client, env, n_epochs=2)
    assert second.job_id == first.job_id and second.attached and not first.attached
    assert len(jobs.list_jobs(client)) == 1
    assert len(client.files.list(purpose="fine-tune").data) == 1  # upload reused too
    third = _submit(client, env, n_epochs=2, force=True)
    assert third.job_id != first.job_id and third.attempt == 2
    assert len(jobs.list_jobs(client)) == 2
    assert _submit(client, env, n_epochs=2).job_id == third.job_id  # latest attempt wins


def test_other_hyperparameters_are_another_job(env):
    client = clients.openai_client(env[0])
    assert _submit(client, env, n_epochs=1).job_id != _submit(client, env, n_epochs=2).job_id


@pytest.mark.parametrize("sdk", ["openai", "zhipu"])
def test_remote_lookup_when_the_work_dir_is_new(env, tmp_path, sdk):
    """OpenAI finds the job by metadata, Zhipu by the request_id it echoes."""
    client = clients.client(env[0], sdk=sdk)
    first = _submit(client, env)
    fresh = (env[0], tmp_path / "other-work", env[2])
    again = _submit(client, fresh)
    assert again.job_id == first.job_id and again.attached
    assert jobs.upload(client, env[2], settings=env[0], work_dir=tmp_path / "third") == \
        first.training_file


# About 4 s: most of it is the new interpreter importing helpers, pandas and the SDKs.
@pytest.mark.slow
def test_kernel_restart_attaches_to_the_existing_job(env):
    settings, work, train = env
    client = clients.openai_client(settings)
    first = _submit(client, env)
    script = textwrap.dedent(f"""
        from helpers import clients, config, jobs
        s = config.resolve(backend="sandbox", mode="live",
                           sandbox_dir={str(settings.sandbox_dir)!r})
        c = clients.openai_client(s)
        r = jobs.submit(c, {str(train)!r}, model="sandbox-base", settings=s,
                        work_dir={str(work)!r}, verbose=False)
        print(r.job_id, r.attached, len(jobs.list_jobs(c)))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [first.job_id, "True", "1"]


def test_estimate_equals_sandbox_billed_trained_tokens_and_ledger_is_stored(env):
    client = clients.openai_client(env[0])
    record = _submit(client, env, n_epochs=2)
    examples = tokens.load_chat_jsonl(env[2])
    expected = sum(chat_format.example_tokens(e, tokens.encoding_for("sandbox-base"))
                   for e in examples) * 2
    assert record.estimated_tokens == expected
    sleeps = []
    job = _wait(client, record, env, sleep=sleeps.append)
    assert job.status == "succeeded" and job.trained_tokens == expected
    assert sleeps and all(b >= a for a, b in zip(sleeps, sleeps[1:], strict=False))  # backoff
    ledger = jobs.ledger(record)
    assert ledger["billed_tokens"] == expected and ledger["tokens_diff_pct"] == 0.0
    stored = jobs.JobStore(env[1]).job(record.backend, record.sdk, record.job_id)
    assert stored.status == "succeeded" and stored.billed_tokens == expected
    frame = jobs.result_frame(client, job)
    assert list(frame.columns[:5]) == jobs.results.RESULT_COLUMNS and len(frame) > 0
    events = jobs.events(client, job.id)
    assert events["train_loss"].notna().any() and events["step"].max() == frame["step"].max()
    assert len(jobs.checkpoints(client, job.id)) >= 1
    assert jobs.delete_model(client, job.fine_tuned_model).deleted
    with pytest.raises(jobs.NotFoundError, match="HTTP 404"):
        jobs.delete_model(client, job.fine_tuned_model)


@pytest.mark.parametrize("sdk", ["openai", "zhipu"])
def test_progress_bar_shows_status_steps_and_loss(env, sdk, capsys):
    client = clients.client(env[0], sdk=sdk)
    record = _submit(client, env, n_epochs=1)
    jobs.wait(client, record.job_id, settings=env[0], work_dir=env[1], sleep=lambda s: None)
    err = capsys.readouterr().err
    assert f"{record.job_id} succeeded" in err and "loss=" in err
    assert "12/12" in err  # 12 examples, 1 epoch, batch size 1
    assert jobs.ledger(jobs.JobStore(env[1]).job(record.backend, sdk, record.job_id))[
        "tokens_diff_pct"] == 0.0


def test_zhipu_wait_events_and_result(env):
    client = clients.zhipu_client(env[0])
    record = _submit(client, env, n_epochs=1)
    job = _wait(client, record, env, sleep=lambda s: None)
    assert job.status == "succeeded" and job.trained_tokens == record.estimated_tokens
    assert jobs.events(client, job.id)["train_loss"].notna().any()
    assert len(jobs.result_frame(client, job.id)) > 0
    # Zhipu has no checkpoints endpoint: an empty table (same columns) and one sentence
    checkpoints = jobs.checkpoints(client, job.id, quiet=True)
    assert checkpoints.empty and "fine_tuned_model_checkpoint" in checkpoints.columns
    assert "no checkpoints endpoint" in checkpoints.attrs["not_available"]
    with pytest.raises(jobs.NotAvailableError, match="no checkpoints endpoint"):
        jobs.sdk.raw_checkpoints(client, job.id)
    jobs.delete_model(client, job.fine_tuned_model)
    with pytest.raises(jobs.NotFoundError, match=r"Deleting model .* failed: the API answered"):
        jobs.delete_model(client, job.fine_tuned_model)  # already gone (Zhipu: 400, code 1211)


def test_cost_guard_refuses_before_uploading(env):
    client = clients.openai_client(env[0])
    with pytest.raises(jobs.CostLimitError, match=r"estimated cost is \$0\.\d\d for [\d,]+ billed"):
        _submit(client, env, model="gpt-4o-mini-2024-07-18", n_epochs=4, max_cost_usd=0.0)
    with pytest.raises(jobs.CostLimitError, match="price of glm-4-flash is unknown.*"
                                                  "max_cost_usd=None"):
        _submit(client, env, model="glm-4-flash")
    with pytest.raises(jobs.CostLimitError, match="chatglm3-6b is unknown"):
        _submit(client, env, model="chatglm3-6b")  # no tokenizer: the chars/1.6 estimate
    assert client.files.list(purpose="fine-tune").data == []
    assert len(jobs.list_jobs(client)) == 0


def test_cost_guard_message_has_the_estimate():
    est = tokens.TrainingEstimate("gpt-4o-mini-2024-07-18", 100, 3, 65_536, 400_000, 1_200_000)
    with pytest.raises(jobs.CostLimitError, match=r"\$3\.60 for 1,200,000 billed tokens"):
        jobs.check_cost(est, 3.6, 1.0)
    jobs.check_cost(est, 3.6, 5.0)
    jobs.check_cost(est, None, None)  # explicit opt-in for an unknown price


def test_failed_job_raises_with_its_own_error(env):
    client = clients.openai_client(env[0], faults=Faults(fail_jobs=True))
    record = _submit(client, env)
    with pytest.raises(jobs.JobFailedError) as info:
        _wait(client, record, env, sleep=lambda s: None)
    job = client.fine_tuning.jobs.retrieve(record.job_id)
    assert job.status == "failed" and job.error.message in str(info.value)
    assert "force=True" in str(info.value)


def test_cancelled_job_says_so(env):
    client = clients.openai_client(env[0])
    record = _submit(client, env)
    jobs.cancel(client, record.job_id)
    with pytest.raises(jobs.JobCancelledError, match="was cancelled"):
        _wait(client, record, env, sleep=lambda s: None)
    assert jobs.JobStore(env[1]).job(record.backend, record.sdk, record.job_id).status == \
        "cancelled"


def test_timeout_while_in_progress(env):
    client = clients.openai_client(env[0])
    record = _submit(client, env)
    slept = []
    with pytest.raises(jobs.JobTimeoutError, match="still (validating_files|queued|running)"):
        _wait(client, record, env, timeout=1.0, poll_interval=1.0, sleep=slept.append)
    assert sum(slept) == 1.0
    assert _wait(client, record, env, sleep=slept.append).status == "succeeded"  # resumes


def test_training_not_available_explains_the_wind_down(env):
    client = clients.openai_client(env[0], faults=Faults(training_not_available=True))
    with pytest.raises(jobs.TrainingNotAvailableError) as info:
        _submit(client, env)
    text = str(info.value)
    for needed in ("2026-05-07", "2026-07-02", "2027-01-06", "COURSE_BACKEND=zhipu",
                   "COURSE_BACKEND=sandbox"):
        assert needed in text
    assert "Traceback" not in "".join(traceback.format_exception_only(info.value))


def test_replay_mode_skips_sleeping():
    replay = config.resolve(backend="openai", mode="replay")
    live = config.resolve(backend="openai", mode="live")
    assert jobs.wait_module.default_sleep(live) is time.sleep
    skip = jobs.wait_module.default_sleep(replay)
    assert skip is not time.sleep
    skip(3600)  # returns at once (a real sleep would stall the suite for an hour)


def test_key_sent_to_the_api_does_not_depend_on_the_sandbox_dir(tmp_path):
    train = write_training(tmp_path / "train.jsonl")
    sent = []
    for name in ("a", "b"):
        settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / name)
        client = clients.openai_client(settings)
        record = jobs.submit(client, train, model="sandbox-base", settings=settings,
                             work_dir=tmp_path / "work", verbose=False)
        assert not record.attached  # another sandbox never matches this store's record
        sent.append(client.fine_tuning.jobs.retrieve(record.job_id).metadata["course_key"])
    assert sent[0] == sent[1]


def test_validation_file_seed_and_metadata_reach_the_job(env, tmp_path):
    client = clients.openai_client(env[0])
    valid = write_training(tmp_path / "valid.jsonl", n=6, tag="验证")
    record = _submit(client, env, validation_file=valid, seed=7, suffix="demo",
                     metadata={"lesson": "03"})
    job = client.fine_tuning.jobs.retrieve(record.job_id)
    assert job.validation_file == record.validation_file != record.training_file
    assert job.seed == 7 and job.metadata["lesson"] == "03"
    assert ":demo:" in _wait(client, record, env, sleep=lambda s: None).fine_tuned_model
    assert _submit(client, env).job_id != record.job_id  # without validation: another key


@pytest.mark.parametrize("sdk", ["openai", "zhipu"])
def test_events_come_oldest_first_with_every_page(env, sdk):
    client = clients.client(env[0], sdk=sdk)
    job = _wait(client, _submit(client, env, n_epochs=3), env, sleep=lambda s: None)
    events = jobs.events(client, job.id)
    from helpers.jobs import sdk as jobs_sdk

    paged = jobs_sdk.raw_events(client, job.id, limit=7)  # many pages of 7
    assert len(events) > 14 and [e.message for e in paged] == events["message"].tolist()
    messages = events.loc[events["type"] == "message", "message"].tolist()
    assert messages[0].startswith("Created fine-tuning job") and "completed" in messages[-1]
    steps = events.loc[events["type"] == "metrics", "step"].tolist()
    assert steps == sorted(steps) and steps[-1] == events["total_steps"].max()
