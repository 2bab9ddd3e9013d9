"""The course run checks a dataset before running any notebook, with the notebooks' own rules."""
import csv
import json
import random

import pytest

from conftest import REPO
from helpers import pipeline
from helpers.course.dataset import DatasetError, check_dataset


def news_rows():
    """The shipped Chinese news as (text, raw label) pairs: real texts with real duplicates."""
    lines = (REPO / "dataset" / "news_zh.jsonl").read_text(encoding="utf-8").splitlines()
    return [(r["sentence"], r["label_desc"]) for r in map(json.loads, lines)]


def distinct(rows):
    seen, out = set(), []
    for text, label in rows:
        if " ".join(text.split()) not in seen:
            seen.add(" ".join(text.split()))
            out.append((text, label))
    return out


def write_csv(path, rows, header=("headline", "topic")):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


def test_csv_dataset_with_three_labels_and_a_label_map(tmp_path):
    wanted = {"news_finance": "fin", "news_sports": "sport", "news_tech": "tech"}
    rows = [(t, wanted[lab]) for t, lab in distinct(news_rows()) if lab in wanted]
    data = write_csv(tmp_path / "news.csv", rows)
    names = tmp_path / "names.json"
    names.write_text(json.dumps({"fin": "财经", "sport": "体育", "tech": "科技"}), encoding="utf-8")
    ds = check_dataset(str(data), "headline", "topic", names)
    assert not ds.named and ds.path == data.resolve() and ds.dataset == str(data.resolve())
    assert sorted(ds.label_counts) == ["fin", "sport", "tech"] and ds.rows == len(rows)
    assert ds.label_map["sport"] == "体育" and ds.labels_kept == ["财经", "体育", "科技"]
    assert ds.shown_from(tmp_path / "run") == "../news.csv"


def test_two_label_json_array_dataset(tmp_path):
    rows = [{"text": t, "label": lab} for t, lab in distinct(news_rows())
            if lab in ("news_car", "news_game")]
    data = tmp_path / "pairs.json"
    data.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    ds = check_dataset(str(data))
    assert ds.labels == ["news_car", "news_game"]
    assert (ds.text_field, ds.label_field) == ("text", "label")


def test_bad_row_is_reported_by_file_and_line(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl",
                       [{"text": "a", "label": "x"}, {"text": "b", "label": "y"},
                                              {"text": "c"}, {"text": "  ", "label": "x"}])
    with pytest.raises(DatasetError) as err:
        check_dataset(str(data))
    lines = err.value.lines
    assert lines[0] == f"{data}:3: missing_field: field 'label' is missing"
    assert len(lines) == 2  # the error, then the summary; the empty text is preparation's to drop
    assert lines[-1].startswith(f"{data}: 2 problems in 4 records") and "1 error" in lines[-1]


def test_a_single_label_is_a_clear_error(tmp_path):
    rows = [{"text": t, "label": "x"} for t, _ in distinct(news_rows())[:40]]
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    with pytest.raises(DatasetError, match=r"1 class remains \('x' \(40 rows\)\); .*at least 2"):
        check_dataset(str(data))


def test_label_map_must_name_every_label(tmp_path):
    rows = [{"text": t, "label": "x" if i % 2 else "y"} for i, (t, _) in
            enumerate(distinct(news_rows())[:60])]
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    names = tmp_path / "m.json"
    names.write_text('{"x": "Ex"}', encoding="utf-8")
    with pytest.raises(DatasetError,
                       match=r"m\.json: unknown_label: the label map has no name for 'y'"):
        check_dataset(str(data), label_map=names)
    names.write_text('{"x": "Ex",', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"m\.json:1: invalid_json"):
        check_dataset(str(data), label_map=names)


def test_shipped_dataset_by_name_uses_its_own_fields():
    ds = check_dataset("sports_en")
    assert ds.named and ds.dataset == "sports_en"
    assert ds.labels == ["baseball", "hockey"] and ds.rows == 320


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DatasetError, match=r"nope\.csv: no such file \(and not a shipped dataset"):
        check_dataset(str(tmp_path / "nope.csv"))


def test_a_tiny_class_is_dropped_and_reported_and_the_rest_goes_on(tmp_path):
    rows = [(r["text"], r["label"]) for r in map(json.loads, (REPO / "dataset" / "sports_en.jsonl")
                                                 .read_text(encoding="utf-8").splitlines())]
    curling = [t for t, lab in distinct(news_rows()) if lab == "news_sports"][:6]
    data = write_csv(tmp_path / "sports.csv", rows + [(t, "curling") for t in curling],
                     header=("text", "label"))
    ds = check_dataset(str(data))
    assert ds.labels == ["baseball", "curling", "hockey"]           # what the file holds
    assert ds.labels_kept == ["baseball", "hockey"]                 # what 01 will list
    rare = [d for d in ds.preparation["drops"] if d["rule"] == "rare_class"]
    assert rare == [{"rule": "rare_class", "what": "class 'curling'", "rows": 6,
                     "why": f"fewer than min_class_rows={pipeline.MIN_CLASS_ROWS} rows after the "
                            "drops above"}]
    assert sum(":rare_class:" in ln.replace(" ", "") for ln in ds.drop_lines) == 6
    # the notebooks' own loader keeps exactly the announced classes
    run = pipeline.Run(notebook="01", settings=None, work_dir=tmp_path, dataset=str(data))
    assert pipeline.load_data(run).labels == ds.labels_kept


def test_every_class_too_small_stops_naming_the_classes_and_the_rule(tmp_path):
    texts = [t for t, _ in distinct(news_rows())]
    rows = [(texts[i], ["sci", "art", "law"][i % 3]) for i in range(27)]
    data = write_csv(tmp_path / "small.csv", rows, header=("text", "label"))
    with pytest.raises(DatasetError) as err:
        check_dataset(str(data))
    message = "\n".join(err.value.lines)
    assert ("'art' (9 rows)" in message and "'law' (9 rows)" in message
            and "'sci' (9 rows)" in message)
    assert f"min_class_rows={pipeline.MIN_CLASS_ROWS}" in message and "at least 2" in message


def test_a_real_1000_row_csv_with_3_duplicate_rows_is_prepared_not_refused(tmp_path):
    rows = distinct(news_rows())
    random.Random(3).shuffle(rows)
    rows = rows[:997]
    rows += [rows[10], rows[500], rows[996]]  # the same row again, as exports often have
    data = write_csv(tmp_path / "news.csv", rows, header=("text", "label"))
    ds = check_dataset(str(data), label_map=REPO / "dataset" / "news_zh_labels.json")
    dups = [d for d in ds.preparation["drops"] if d["rule"] == "duplicate_example"]
    assert dups and dups[0]["rows"] == 3 and "lines 999, 1000, 1001" in dups[0]["why"]
    assert ds.preparation["rows"] == 1000
    assert ds.preparation["rows_kept"] == 1000 - sum(d["rows"] for d in ds.preparation["drops"])
    assert [ln for ln in ds.drop_lines if "duplicate_example" in ln][0].startswith("news.csv:999: ")


@pytest.mark.parametrize("names", [
    ["Business, Finance", "Sports", "Science/Tech", "Games 🎮"],
    ["财经、金融", "体育", "科技/互联网", "游戏🎮"],
])
def test_labels_with_list_separators_and_emoji_are_usable(tmp_path, names):
    wanted = ["news_finance", "news_sports", "news_tech", "news_game"]
    rows = [(t, names[wanted.index(lab)]) for t, lab in distinct(news_rows()) if lab in wanted]
    data = write_csv(tmp_path / "sep.csv", rows, header=("text", "label"))
    ds = check_dataset(str(data))
    assert sorted(ds.labels_kept) == sorted(names)  # none split, none merged


@pytest.mark.parametrize("labels, problem, code", [
    (["Sport", "sport "], "written 2 ways", "label_variants"),  # caught when the file is read
    (["a\nb", "c"], "line break", "label_unusable"),
])
def test_labels_no_prompt_can_tell_apart_are_an_error(tmp_path, labels, problem, code):
    texts = [t for t, _ in distinct(news_rows())]
    rows = [(texts[i], labels[i % 2]) for i in range(60)]
    data = tmp_path / "bad.jsonl"
    write_jsonl(data, [{"text": t, "label": lab} for t, lab in rows])
    with pytest.raises(DatasetError) as err:
        check_dataset(str(data))
    assert problem in "\n".join(err.value.lines) and code in err.value.lines[0]
