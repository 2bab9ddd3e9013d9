"""A full disk stops the course with "no space left on DIR" and leaves nothing half-written;
once space is freed the next run completes, with one uploaded file and one job.

The work directory sits on a 2 MB tmpfs mounted for the test (root only; skipped
with the reason otherwise) and filled to the last byte at chosen moments.
"""
import errno
import subprocess

import pytest

from helpers import atomic, jobs, pipeline

pytestmark = pytest.mark.slow  # mounts a file system (a process)


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                              capture_output=True, text=True, check=False)
    except FileNotFoundError:
        pytest.skip("no mount command here, so no small file system to fill")
    if done.returncode != 0:
        pytest.skip(f"mounting a 2 MB tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder):
    """Take every free byte of ``folder``'s file system; the filler's path."""
    filler = folder / "filler.bin"
    with open(filler, "wb", buffering=0) as fh:
        for size in (1 << 16, 1 << 10, 64, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError as err:
                assert err.errno == errno.ENOSPC
    return filler


def test_full_disk_is_named_and_the_next_run_makes_no_duplicates(small_disk, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setenv("COURSE_SANDBOX_DIR", str(tmp_path / "sandbox"))  # not on the small disk
    run = pipeline.start("04_disk_test", backend="sandbox", mode="live",
                         work_dir=str(small_disk / "work"), n_train=60, n_test=30)
    client = run.client()
    s = pipeline.splits(run)
    store = jobs.open_store(run.settings, run.work_dir)
    folder = run.work_dir / "data"

    filler = _fill(small_disk)
    with pytest.raises(atomic.DiskFullError, match=f"^.*no space left on {folder}: free some "
                       "space there"):
        pipeline.training_files(run, s)
    assert not list(folder.glob("train_chat_*")) and not atomic.stale_temporaries(folder)
    filler.unlink()

    train, valid = pipeline.training_files(run, s)
    filler = _fill(small_disk)
    with pytest.raises(atomic.DiskFullError, match=f"no space left on {run.work_dir}"):
        jobs.submit(client, train, validation_file=valid, model=run.base_model,
                    settings=run.settings, work_dir=run.work_dir, n_epochs=1,
                    max_cost_usd=None, verbose=False)
    filler.unlink()

    record = jobs.submit(client, train, validation_file=valid, model=run.base_model,
                         settings=run.settings, work_dir=run.work_dir, n_epochs=1,
                         max_cost_usd=None, verbose=False)
    again = jobs.submit(client, train, validation_file=valid, model=run.base_model,
                        settings=run.settings, work_dir=run.work_dir, n_epochs=1,
                        max_cost_usd=None, verbose=False)
    assert again.attached and again.job_id == record.job_id
    assert [j.id for j in jobs.find_jobs(client, record.key)] == [record.job_id]
    names = [f.filename for f in client.files.list(purpose="fine-tune").data]
    assert len(names) == len(set(names)) == 2  # training and validation, each once
    assert store.latest_for_key(record.backend, record.sdk, record.key).job_id == record.job_id
