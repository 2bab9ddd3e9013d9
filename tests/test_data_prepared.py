"""The pre-check and every notebook share one read-and-plan pass per run, verified on reuse."""
import json
import os

import pytest

from helpers import atomic
from helpers.course.dataset import check_dataset
from helpers.data import DataFileError, load_prepared, prepared
from helpers.pipeline import MIN_CLASS_ROWS


def _write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")


ROWS = [{"text": f"第{i}条新闻讲的是{'体育财经'[i % 4]}方面的事情{i * 7919}", "label": "ab"[i % 2]}
        for i in range(40)]
ROWS.append(dict(ROWS[0]))  # one exact duplicate for the plan to drop


def _count_reads(monkeypatch):
    calls = []
    real = prepared._read
    monkeypatch.setattr(prepared, "_read", lambda *a: calls.append(a) or real(*a))
    return calls


def test_the_pre_check_stores_the_plan_and_load_prepared_reuses_it(tmp_path, monkeypatch):
    data, work = tmp_path / "d.jsonl", tmp_path / "work"
    _write(data, ROWS)
    calls = _count_reads(monkeypatch)
    checked = check_dataset(str(data), work_dir=str(work))
    rows, plan = load_prepared(str(data.resolve()), None, None, MIN_CLASS_ROWS, work_dir=work)
    rows2, plan2 = load_prepared(str(data), "text", "label", MIN_CLASS_ROWS, work_dir=work)
    assert len(calls) == 1  # one read for the pre-check and two "notebooks"
    assert plan.counts()["duplicate_example"] == 1 and len(plan.kept) == checked.preparation[
        "rows_kept"] == len(plan2.kept)
    assert list(rows.index) == list(rows2.index)
    assert atomic.stale_temporaries(work / "data") == []


def test_a_changed_dataset_or_a_damaged_cache_is_read_again(tmp_path, monkeypatch):
    data, work = tmp_path / "d.jsonl", tmp_path / "work"
    _write(data, ROWS)
    calls = _count_reads(monkeypatch)
    load_prepared(str(data), None, None, 2, work_dir=work)
    (cache,) = (work / "data").glob("prepared-*.pkl")
    raw = cache.read_bytes()
    cache.write_bytes(raw[:-5] + b"xxxxx")  # payload no longer matches its hash
    load_prepared(str(data), None, None, 2, work_dir=work)
    assert len(calls) == 2
    _write(data, ROWS[:20])  # same name, new content
    st = data.stat()
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    rows, _ = load_prepared(str(data), None, None, 2, work_dir=work)
    assert len(calls) == 3 and len(rows) == 20
    rows, _ = load_prepared(str(data), None, None, 3, work_dir=work)  # other rules: other key
    assert len(calls) == 4


def test_a_file_with_errors_is_never_stored(tmp_path):
    data, work = tmp_path / "bad.jsonl", tmp_path / "work"
    data.write_text('{"text": "a", "label": "x"}\n{oops\n', encoding="utf-8")
    with pytest.raises(DataFileError, match=r"bad\.jsonl:2: invalid_json"):
        load_prepared(str(data), None, None, 2, work_dir=work)
    assert not list(work.glob("data/prepared-*"))
