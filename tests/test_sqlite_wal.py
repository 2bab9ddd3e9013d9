"""Two processes creating one SQLite file at once both open it (sandbox store, response cache).

SQLite refuses the second switch to WAL with "database is locked" at once,
without its busy timeout; before ``helpers.sqlite_wal`` this failed about 3
times in 100 such pairs and took a sandbox process down at start.
"""
import multiprocessing

import pytest

from helpers.cache import ResponseCache
from helpers.sandbox.store import Store  # imported before forking: the children only open files

PAIRS = 150


def _open(kind, path, results):
    try:
        if kind == "store":
            results.put(Store(path).instance_id)
        else:
            cache = ResponseCache(path / "responses.sqlite")
            cache.put("k", {"v": 1})
            results.put("cache")
    except Exception as exc:  # reported to the test, which names it
        results.put(f"error: {exc!r}")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["store", "cache"])
def test_two_processes_create_one_database_at_once(tmp_path, kind):
    ctx = multiprocessing.get_context("fork")
    failures, ids = [], []
    for i in range(PAIRS):
        results = ctx.Queue()
        procs = [ctx.Process(target=_open, args=(kind, tmp_path / str(i), results))
                 for _ in range(2)]
        for proc in procs:
            proc.start()
        got = [results.get(timeout=60) for _ in procs]
        for proc in procs:
            proc.join(timeout=60)
        failures += [g for g in got if g.startswith("error")]
        ids.append(set(got))
    assert failures == []
    if kind == "store":  # and both processes agree on the directory's one instance id
        assert all(len(pair) == 1 for pair in ids)
