"""load_records reads JSON, JSON lines and CSV to the same DataFrame; real loaders fail
clearly offline."""
import json
import urllib.error
import urllib.request

import pandas as pd
import pytest

from helpers.data import (
    DataFileError,
    DatasetUnavailable,
    fetch_newsgroups,
    fetch_tnews,
    load_records,
)

ROWS = [
    {"sentence": "男篮主场大胜对手二十分", "label_desc": "news_sports", "label": "103"},
    {"sentence": "央行下调存款准备金率", "label_desc": "news_finance", "label": "104"},
    {"sentence": "新款掌机续航实测", "label_desc": "news_game", "label": "116"},
]


@pytest.fixture
def files(tmp_path):
    jsonl = tmp_path / "n.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS),
                     encoding="utf-8")
    array = tmp_path / "n.json"
    array.write_text(json.dumps(ROWS, ensure_ascii=False, indent=2), encoding="utf-8")
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"data": ROWS}, ensure_ascii=False), encoding="utf-8")
    csv = tmp_path / "n.csv"
    pd.DataFrame(ROWS).to_csv(csv, index=False)
    return {"jsonl": jsonl, "json": array, "wrapped": wrapped, "csv": csv}


def test_formats_give_the_same_frame(files):
    frames = {k: load_records(p, "sentence", "label_desc") for k, p in files.items()}
    base = frames["jsonl"].reset_index(drop=True)
    assert list(base.columns) == ["text", "label", "sentence", "label_desc", "label_original"]
    assert base["label"].tolist() == ["news_sports", "news_finance", "news_game"]
    assert base["label_original"].tolist() == ["103", "104", "116"]
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(frame.reset_index(drop=True), base, obj=name)


def test_index_is_the_source_line(files):
    assert load_records(files["jsonl"], "sentence", "label_desc").index.tolist() == [1, 2, 3]
    assert load_records(files["csv"], "sentence", "label_desc").index.tolist() == [2, 3, 4]
    # indent=2 array: each record starts on its own line
    assert load_records(files["json"], "sentence", "label_desc").index.tolist() == [2, 7, 12]


def test_object_of_records_keeps_the_key(tmp_path):
    path = tmp_path / "obj.json"
    path.write_text(json.dumps({"a1": {"text": "Hat trick", "label": "hockey"},
                                "b2": {"text": "Home run", "label": "baseball"}}), encoding="utf-8")
    df = load_records(path)
    assert df["key"].tolist() == ["a1", "b2"]
    assert df["label"].tolist() == ["hockey", "baseball"]


def test_numeric_labels_become_strings_alike(tmp_path):
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text('{"text": "Great", "stars": 5}\n{"text": "Bad", "stars": 1}\n',
                     encoding="utf-8")
    csv = tmp_path / "r.csv"
    csv.write_text("text,stars\nGreat,5\nBad,1\n", encoding="utf-8")
    assert load_records(jsonl, label_field="stars")["label"].tolist() == ["5", "1"]
    assert load_records(csv, label_field="stars")["label"].tolist() == ["5", "1"]


def test_bad_rows_raise_with_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "label": "a"}\n{"text": "", "label": "a"}\n{nope\n',
                    encoding="utf-8")
    with pytest.raises(DataFileError) as err:
        load_records(path)
    assert f"{path}:2: empty_text" in str(err.value)
    assert f"{path}:3: invalid_json" in str(err.value)
    assert len(err.value.report.problems) == 2


def test_bad_rows_can_be_skipped_with_a_warning_and_report(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "label": "a"}\n{"text": "no label"}\n', encoding="utf-8")
    with pytest.warns(UserWarning, match="1 problem in 2 records"):
        df = load_records(path, on_error="warn")
    assert df.index.tolist() == [1]
    assert df.attrs["report"].lines("missing_field") == [2]


def test_data_problems_do_not_block_loading_they_are_left_for_preparation(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label\nGoal,sport\nGoal,sport\n  ,sport\nRates,finance\n",
                    encoding="utf-8")
    df = load_records(path)  # no error: duplicates and empty texts are data problems
    assert df.index.tolist() == [2, 3, 4, 5]
    report = df.attrs["report"]
    assert [(p.line, p.code) for p in report.problems] == [(3, "duplicate_example"),
                                                           (4, "empty_text")]
    assert report.usable and not report.ok


def test_tnews_offline_points_to_the_sample(monkeypatch, tmp_path):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DatasetUnavailable, match=r"load_named\('news_zh'\)"):
        fetch_tnews(cache_dir=tmp_path)


def test_newsgroups_offline_points_to_the_sample(monkeypatch):
    import sklearn.datasets

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(sklearn.datasets, "fetch_20newsgroups", offline)
    with pytest.raises(DatasetUnavailable, match=r"load_named\('sports_en'\)"):
        fetch_newsgroups()


def test_tnews_reads_the_cached_archive(tmp_path, monkeypatch):
    import zipfile

    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS)
    with zipfile.ZipFile(tmp_path / "tnews_public.zip", "w") as zf:
        zf.writestr("tnews_public/train.json", lines)
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("downloaded again"))
    df = fetch_tnews("train", cache_dir=tmp_path)
    assert df["label"].tolist() == ["news_sports", "news_finance", "news_game"]


def _tnews_zip() -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    rows = [{"label": "109", "label_desc": "news_tech", "sentence": "芯片新品发布", "keywords": ""},
            {"label": "103", "label_desc": "news_sports", "sentence": "主队逆转取胜",
             "keywords": ""}]
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("tnews_public/train.json",
                    "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return buf.getvalue()


def test_tnews_download_is_checked_against_the_pinned_sha256(tmp_path, monkeypatch):
    import hashlib

    from helpers.data import real

    blob = _tnews_zip()
    monkeypatch.setattr(real, "_download", lambda url: blob)
    with pytest.raises(DatasetUnavailable, match=hashlib.sha256(blob).hexdigest()):
        fetch_tnews(cache_dir=tmp_path / "a")  # not the pinned archive: refused
    assert not (tmp_path / "a" / "tnews_public.zip").exists()
    monkeypatch.setattr(real, "TNEWS_SHA256", hashlib.sha256(blob).hexdigest())
    assert fetch_tnews(cache_dir=tmp_path / "b")["text"].tolist() == [
        "芯片新品发布", "主队逆转取胜"]
