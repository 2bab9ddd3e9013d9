"""jobs.submit reads each training file once: the bytes checked and hashed are the bytes sent.

Before, it read the file three times (examples, hash, upload); a notebook
rewriting the file in between made jobs on bytes the key did not describe
(60 racing submissions made 3 extra jobs, one on a 0-byte file).
"""
from pathlib import Path

from test_jobs_sandbox import write_training

from helpers import clients, config, jobs
from helpers.atomic import sha256_bytes


def test_the_uploaded_bytes_are_the_bytes_hashed_even_if_the_file_changes(tmp_path,
                                                                          monkeypatch):
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sb")
    client = clients.openai_client(settings)
    train = write_training(tmp_path / "train.jsonl", n=12)
    original = train.read_bytes()
    reads = []
    real = Path.read_bytes

    def rewritten_after_first_read(self):
        if self == train:
            reads.append(self)
            return original if len(reads) == 1 else b""  # a notebook cut it meanwhile
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", rewritten_after_first_read)
    record = jobs.submit(client, train, model="sandbox-base", settings=settings,
                         work_dir=tmp_path / "work", n_epochs=1, max_cost_usd=None,
                         verbose=False)
    assert len(reads) == 1
    assert record.training_sha256 == sha256_bytes(original)
    assert client.files.content(record.training_file).content == original
