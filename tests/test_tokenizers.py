import shutil
import subprocess
import sys

import pytest

from helpers import tokenizers

ZH = "今天天气很好，适合去北京看故宫。"

OFFLINE_SCRIPT = f"""
import tiktoken, helpers
for name in ("cl100k_base", "o200k_base"):
    enc = tiktoken.get_encoding(name)
    ids = enc.encode({ZH!r})
    assert enc.decode(ids) == {ZH!r}
    print(name, len(ids))
print(tiktoken.encoding_for_model("gpt-4o-mini").name)
"""


def _run(tmp_path, prefix=()):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "TIKTOKEN_CACHE_DIR": str(tmp_path / "tk")}
    return subprocess.run([*prefix, sys.executable, "-c", OFFLINE_SCRIPT], env=env,
                          capture_output=True, text=True, timeout=120)


def _network_off_prefix():
    if not shutil.which("unshare"):
        return None
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    return ["unshare", "-n"] if probe.returncode == 0 else None


@pytest.mark.slow
def test_encodings_work_with_networking_disabled(tmp_path):
    prefix = _network_off_prefix()
    if prefix is None:
        pytest.skip("unshare -n is not permitted here; cannot switch the network off")
    out = _run(tmp_path, prefix)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    # o200k has far more CJK merges than cl100k: fewer tokens for the same text
    assert lines[0] == "cl100k_base" and lines[2] == "o200k_base"
    assert int(lines[3]) < int(lines[1])
    assert lines[-1] == "o200k_base"


def test_vocab_files_match_tiktokens_checksums(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    paths = tokenizers.install()
    import hashlib

    for name, path in paths.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == tokenizers.EXPECTED_SHA256[name]


def test_a_corrupt_vocab_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(tokenizers._SOURCES, "o200k_base", lambda: b"not a vocab\n")
    with pytest.raises(tokenizers.TokenizerFileError, match="o200k_base"):
        tokenizers.install(["o200k_base"])
    assert not tokenizers.cache_path("o200k_base").exists()
