"""Splits and training files are reused only when they match manifest.json.

A split cut by a kill or a full disk (mid-line, or at a line boundary, which
still parses) is found by its size and SHA-256 and made again from the
dataset, with a line naming it; the training files then come out byte-for-byte
as before, so the job submitted earlier is attached to, not made again.
"""
import pytest

from helpers import jobs, manifest, pipeline
from helpers.atomic import sha256_bytes


def _run(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_SANDBOX_DIR", str(tmp_path / "sandbox"))
    return pipeline.start("04_manifest_test", backend="sandbox", mode="live",
                          work_dir=str(tmp_path / "work"), n_train=60, n_test=30)


def _submit(run, client, train, valid):
    return jobs.submit(client, train, validation_file=valid, model=run.base_model,
                       settings=run.settings, work_dir=run.work_dir, n_epochs=1,
                       max_cost_usd=None, verbose=False)


def _cut(data: bytes, where: str) -> bytes:
    if where == "line_boundary":
        return b"".join(data.splitlines(keepends=True)[:5])
    middle = len(data) // 2
    while data[middle - 1:middle] == b"\n":
        middle += 1
    return data[:middle]


@pytest.mark.parametrize("where", ["mid_line", "line_boundary"])
def test_a_cut_split_is_made_again_and_no_second_job_is_created(tmp_path, monkeypatch, capsys,
                                                                 where):
    run = _run(tmp_path, monkeypatch)
    client = run.client()
    train, valid = pipeline.training_files(run, pipeline.splits(run))
    first = _submit(run, client, train, valid)
    split = run.work_dir / "data" / "train.jsonl"
    whole = split.read_bytes()
    split.write_bytes(_cut(whole, where))
    capsys.readouterr()

    again = pipeline.splits(run)
    said = capsys.readouterr().out
    assert said.count("\n") == 1 and f"{split} has " in said and "made again" in said
    assert split.read_bytes() == whole and len(again.train) == 60
    second = _submit(run, client, *pipeline.training_files(run, again))
    assert second.attached and second.job_id == first.job_id
    assert [j.id for j in jobs.find_jobs(client, first.key)] == [first.job_id]


def test_a_split_edited_in_place_fails_its_hash_and_is_made_again(tmp_path, monkeypatch, capsys):
    run = _run(tmp_path, monkeypatch)
    pipeline.splits(run)
    split = run.work_dir / "data" / "valid.jsonl"
    whole = split.read_bytes()
    edited = whole.replace(b'"label"', b'"lebal"', 1)  # same size, still JSON
    assert len(edited) == len(whole) and edited != whole
    split.write_bytes(edited)
    capsys.readouterr()
    pipeline.splits(run)
    assert "does not match the SHA-256 in manifest.json" in capsys.readouterr().out
    assert split.read_bytes() == whole


def test_manifest_records_size_and_hash_and_correct_files_are_not_rewritten(tmp_path, monkeypatch):
    run = _run(tmp_path, monkeypatch)
    s = pipeline.splits(run)
    train, valid = pipeline.training_files(run, s)
    folder = run.work_dir / "data"
    found, why = manifest.read(folder)
    assert why is None
    for name in ("train.jsonl", "valid.jsonl", "test.jsonl", train.name, valid.name):
        data = (folder / name).read_bytes()
        assert found.files[name] == manifest.FileEntry(len(data), sha256_bytes(data))
    before = {p.name: p.stat().st_ino for p in folder.iterdir()}
    pipeline.training_files(run, pipeline.splits(run))  # the next notebook
    assert {p.name: p.stat().st_ino for p in folder.iterdir()} == before  # nothing replaced
    assert not list(folder.glob(".*.tmp"))


def test_an_unreadable_manifest_makes_the_splits_again(tmp_path, monkeypatch, capsys):
    run = _run(tmp_path, monkeypatch)
    pipeline.splits(run)
    path = run.work_dir / "data" / "manifest.json"
    path.write_bytes(path.read_bytes()[:40])
    capsys.readouterr()
    pipeline.splits(run)
    said = capsys.readouterr().out
    assert f"{path} cannot be read" in said and said.count("\n") == 1
    assert manifest.read(path.parent)[1] is None
