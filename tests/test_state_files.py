"""Course state files check themselves: shuffled cache answers, garbled SQLite, versions."""
import sqlite3

import pytest

from helpers import cache, state
from helpers.jobs.store import JobStore


def _shuffle_values(path):
    conn = sqlite3.connect(path)
    with conn:
        rows = conn.execute("SELECT key, value FROM responses ORDER BY key").fetchall()
        for (key, _), (_, value) in zip(rows, rows[1:] + rows[:1], strict=True):
            conn.execute("UPDATE responses SET value = ? WHERE key = ?", (value, key))
    conn.close()


def test_answers_shuffled_between_keys_are_never_used(tmp_path, capsys):
    store = cache.open_cache(tmp_path)
    keys = [cache.cache_key("sandbox", "m", {"text": t}) for t in "abc"]
    for key, label in zip(keys, "xyz", strict=True):
        store.put(key, {"choices": [{"message": {"content": label}}]})
    assert store.get(keys[0])["choices"][0]["message"]["content"] == "x"
    _shuffle_values(store.path)
    fresh = cache.ResponseCache(store.path)
    assert [fresh.get(k) for k in keys] == [None, None, None]
    assert fresh.rejected == 3 and len(fresh) == 0  # discarded, asked again next time
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(store.path) in err and "did not belong" in err


def _garble(path):
    data = bytearray(path.read_bytes())
    data[:16] = b"garbage garbage!"
    path.write_bytes(bytes(data))


def test_a_garbled_cache_file_is_named_in_one_line_with_its_reset(tmp_path):
    store = cache.open_cache(tmp_path)
    store.put(cache.cache_key("b", "m", {}), {"ok": 1})
    del store
    path = tmp_path / cache.CACHE_DIR_NAME / cache.CACHE_FILE_NAME
    for suffix in ("-wal", "-shm"):
        (path.parent / (path.name + suffix)).unlink(missing_ok=True)
    _garble(path)
    with pytest.raises(state.StateFileError, match=r"responses\.sqlite: not a readable SQLite "
                       r"database \(file is not a database\); reset it with: rm -f ") as err:
        cache.open_cache(tmp_path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_a_garbled_job_store_is_named_in_one_line_with_its_reset(tmp_path):
    JobStore(tmp_path).save_file("b", "openai", "ab" * 32, "fine-tune", "file-1", "t.jsonl", 3)
    _garble(tmp_path / "jobs.sqlite")
    with pytest.raises(state.StateFileError, match=r"jobs\.sqlite: not a readable SQLite "
                       r"database .*reset it with: rm -f .*found again from the API"):
        JobStore(tmp_path)


def test_stores_carry_a_schema_version_and_refuse_a_newer_one(tmp_path):
    JobStore(tmp_path)
    conn = sqlite3.connect(tmp_path / "jobs.sqlite")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    with pytest.raises(state.StateFileError, match=r"newer version of the course \(schema "
                       r"version 7, this one reads up to 1\)"):
        JobStore(tmp_path)


def test_an_unversioned_cache_is_upgraded_and_its_uncheckable_entries_dropped(tmp_path):
    path = tmp_path / cache.CACHE_DIR_NAME / cache.CACHE_FILE_NAME
    path.parent.mkdir()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO responses VALUES ('k', '{\"choices\": []}')")
    conn.commit()
    conn.close()
    store = cache.open_cache(tmp_path)
    assert store.get("k") is None and len(store) == 0
    store.put("k", {"a": 1})
    assert store.get("k") == {"a": 1}


def test_an_unversioned_job_store_is_upgraded_keeping_its_rows(tmp_path):
    store = JobStore(tmp_path)
    store.save_file("b", "openai", "cd" * 32, "fine-tune", "file-9", "t.jsonl", 3)
    conn = sqlite3.connect(store.path)
    conn.execute("PRAGMA user_version = 0")
    conn.close()
    again = JobStore(tmp_path)
    assert again.file_id("b", "openai", "cd" * 32, "fine-tune") == "file-9"


def test_classify_never_scores_answers_shuffled_between_cache_entries(tmp_path):
    from helpers import clients, config
    from helpers.classify import classify

    labels = ["体育", "科技", "财经"]
    texts = [f"第{i}条：{labels[i % 3]}新闻，关于{labels[i % 3]}" for i in range(12)]
    settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sb")
    client = clients.openai_client(settings)
    store = cache.open_cache(tmp_path / "work")
    first = classify(client, texts, labels, "sandbox-base", cache=store, progress=False)
    assert len(set(first.labels)) > 1  # shuffling would change labels
    _shuffle_values(store.path)
    again = classify(client, texts, labels, "sandbox-base", cache=cache.open_cache(
        tmp_path / "work"), progress=False)
    assert again.labels == first.labels
    assert again.summary(timing=False)["cached"] == 0


def test_a_job_row_with_garbled_params_is_named_with_the_reset(tmp_path):
    from helpers.jobs.store import JobRecord

    store = JobStore(tmp_path)
    store.save_job(JobRecord("b", "openai", "ftjob-1", "k", 1, "m", "file-1", "ab"))
    conn = sqlite3.connect(store.path)
    with conn:
        conn.execute("UPDATE jobs SET params = '{\"n_epochs\": 3'")
    conn.close()
    with pytest.raises(state.StateFileError, match=r"jobs\.sqlite: job ftjob-1 has unreadable "
                       r"params .*; reset it with: rm -f "):
        store.latest_for_key("b", "openai", "k")
