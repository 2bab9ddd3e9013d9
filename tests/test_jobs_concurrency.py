"""Never charged twice: concurrent submissions make one upload, one job and one batch.

Two real processes start at once on one work directory (existing, and not yet
existing) and one sandbox directory (each process runs the in-process sandbox
over it), and submit the same fine-tuning job and the same batch. The sandbox
is then asked how many jobs, uploads and batches it holds: one each.
"""
import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest
from test_jobs_sandbox import LABELS, write_training

from conftest import REPO
from helpers import batch, clients, config, jobs

TRIALS = 5  # the old code doubled jobs in 2 of 5 such trials (3 of 3 without the directory)

WORKER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from helpers import batch, clients, config, jobs

    root, me, trials = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])

    def barrier(name):
        (root / f"{name}-{me}").touch()
        deadline = time.monotonic() + 120
        while len(list(root.glob(f"{name}-*"))) < 2:
            if time.monotonic() > deadline:  # the other process died: say so, do not hang
                sys.exit(f"{me}: the other process never reached {name}")
            time.sleep(0.001)

    for i in range(trials):
        settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=root / f"sb-{i}")
        client = clients.openai_client(settings)
        work = root / f"work-{i}"
        barrier(f"go-{i}")  # both processes are warm: they submit within a millisecond or so
        record = jobs.submit(client, root / "train.jsonl", model="sandbox-base",
                             settings=settings, work_dir=work, verbose=False)
        made = batch.submit_batch(client, root / "requests.jsonl", metadata={"name": "test"},
                                  settings=settings, work_dir=work, verbose=False)
        print(json.dumps({"trial": i, "job": record.job_id, "batch": made.id}), flush=True)
""")


def _count(sandbox_dir) -> dict:
    client = clients.openai_client(config.resolve(backend="sandbox", mode="live",
                                                  sandbox_dir=sandbox_dir))
    return {"jobs": len(client.fine_tuning.jobs.list(limit=100).data),
            "training uploads": len(client.files.list(purpose="fine-tune").data),
            "batch uploads": len(client.files.list(purpose="batch").data),
            "batches": len(client.batches.list(limit=100).data)}


def _inputs(root):
    write_training(root / "train.jsonl")
    lines = batch.build_batch_requests(["国足获胜", "股市上涨", "新手机发布"], LABELS,
                                       "sandbox-base")
    batch.write_jsonl(lines, root / "requests.jsonl")


@pytest.mark.slow
@pytest.mark.parametrize("work_dir_exists", [True, False], ids=["existing", "new"])
def test_two_processes_at_once_create_one_job_one_upload_one_batch(tmp_path, work_dir_exists):
    _inputs(tmp_path)
    for i in range(TRIALS):
        if work_dir_exists:
            (tmp_path / f"work-{i}").mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), name, str(TRIALS)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for name in ("a", "b")]
    try:
        outputs = [p.communicate(timeout=600) for p in procs]
    finally:  # a failed or timed-out test leaves no worker behind
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_out, _err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, "\n".join(e[-3000:] for _o, e in outputs)
    seen = [json.loads(line) for out, _err in outputs for line in out.splitlines()]
    counts = []
    for i in range(TRIALS):
        mine = [s for s in seen if s["trial"] == i]
        assert len(mine) == 2
        assert mine[0]["job"] == mine[1]["job"] and mine[0]["batch"] == mine[1]["batch"]
        counts.append(_count(tmp_path / f"sb-{i}"))
        # the store is a file inside the work directory, which was created if missing
        store = tmp_path / f"work-{i}" / jobs.store.STORE_NAME
        assert store.is_file() and len(jobs.JobStore(store.parent).jobs()) == 1
        assert len(jobs.JobStore(store.parent).batches()) == 1
    print(f"\nper trial ({'existing' if work_dir_exists else 'new'} work dir):", counts)
    assert counts == [{"jobs": 1, "training uploads": 1, "batch uploads": 1, "batches": 1}] * TRIALS


def test_threads_at_once_create_one_job_and_one_batch(tmp_path):
    _inputs(tmp_path)
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sb")
    start = threading.Barrier(4)
    results, errors = [], []

    def submit():
        try:
            client = clients.openai_client(settings)
            start.wait()
            record = jobs.submit(client, tmp_path / "train.jsonl", model="sandbox-base",
                                 settings=settings, work_dir=tmp_path / "work", verbose=False)
            made = batch.submit_batch(client, tmp_path / "requests.jsonl", settings=settings,
                                      work_dir=tmp_path / "work", verbose=False)
            results.append((record.job_id, made.id))
        except BaseException as err:  # reported below, in the test's thread
            errors.append(err)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert len(results) == 4 and len(set(results)) == 1
    assert _count(tmp_path / "sb") == {"jobs": 1, "training uploads": 1, "batch uploads": 1,
                                       "batches": 1}


def test_batch_submission_is_idempotent_and_force_makes_another(tmp_path, capsys):
    _inputs(tmp_path)
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sb")
    client = clients.openai_client(settings)
    path, work = tmp_path / "requests.jsonl", tmp_path / "work"
    first = batch.submit_batch(client, path, settings=settings, work_dir=work)
    assert "Attached" not in capsys.readouterr().out
    again = batch.submit_batch(client, path, settings=settings, work_dir=work)
    assert again.id == first.id and "Attached to existing batch" in capsys.readouterr().out
    # a new work directory finds it through the API (the key is in the batch's metadata)
    assert batch.submit_batch(client, path, work_dir=tmp_path / "other", verbose=False).id == \
        first.id
    forced = batch.submit_batch(client, path, settings=settings, work_dir=work, force=True,
                                verbose=False)
    assert forced.id != first.id and forced.metadata["course_attempt"] == "2"
    assert batch.submit_batch(client, path, work_dir=work, verbose=False).id == forced.id
    other_meta = batch.submit_batch(client, path, metadata={"name": "x"}, work_dir=work,
                                    verbose=False)
    assert other_meta.id not in (first.id, forced.id)
    assert _count(tmp_path / "sb")["batches"] == 3
    assert _count(tmp_path / "sb")["batch uploads"] == 1  # the same file, uploaded once


def test_batch_errors_are_course_errors_without_the_key(tmp_path, monkeypatch):
    planted = "sk-" + "PLANTEDbatchKEY0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", planted)
    _inputs(tmp_path)
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sb")
    client = clients.openai_client(settings)
    with pytest.raises(jobs.NotFoundError) as info:
        batch.wait_for_batch(client, f"batch_{planted}", progress=False)
    text = str(info.value)
    assert "HTTP 404" in text and planted not in text and planted[-10:] not in text

