"""Submissions racing a notebook that makes the training files again create one job.

Before, every notebook rewrote ``train_chat_*.jsonl`` in place and ``submit``
read it three times: 60 racing submissions created 3 extra jobs, one on a
0-byte file. Now a correct file is never rewritten, a changed one is replaced
atomically, and each submission reads it once.
"""
import threading

from helpers import jobs, pipeline


def test_submissions_racing_training_files_make_one_job(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_SANDBOX_DIR", str(tmp_path / "sandbox"))
    run = pipeline.start("04_race_test", backend="sandbox", mode="live",
                         work_dir=str(tmp_path / "work"), n_train=60, n_test=30)
    s = pipeline.splits(run)
    train, valid = pipeline.training_files(run, s)
    client = run.client()
    done = threading.Event()
    records, errors = [], []

    def notebook():
        while not done.is_set():
            pipeline.training_files(run, s)

    def submission():
        try:
            records.append(jobs.submit(client, train, validation_file=valid,
                                       model=run.base_model, settings=run.settings,
                                       work_dir=run.work_dir, n_epochs=1, max_cost_usd=None,
                                       verbose=False))
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    rewriter = threading.Thread(target=notebook)
    rewriter.start()
    workers = [threading.Thread(target=submission) for _ in range(16)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done.set()
    rewriter.join()
    assert errors == []
    assert len({r.job_id for r in records}) == 1 and len(records) == 16
    made = client.fine_tuning.jobs.list(limit=100).data
    assert [j.id for j in made] == [records[0].job_id]
