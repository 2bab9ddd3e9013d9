"""The course run checks a dataset before running any notebook."""
import csv
import json

import pytest

from helpers.course.dataset import DatasetError, check_dataset


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
    data = write_csv(tmp_path / "news.csv", [("股市大涨", "fin"), ("球队夺冠", "sport"),
                                             ("新手机发布", "tech"), ("银行降息", "fin")])
    names = tmp_path / "names.json"
    names.write_text(json.dumps({"fin": "财经", "sport": "体育", "tech": "科技"}), encoding="utf-8")
    ds = check_dataset(str(data), "headline", "topic", names)
    assert not ds.named and ds.path == data.resolve() and ds.dataset == str(data.resolve())
    assert ds.label_counts == {"fin": 2, "sport": 1, "tech": 1} and ds.rows == 4
    assert ds.label_map["sport"] == "体育"


def test_two_label_json_array_dataset(tmp_path):
    data = tmp_path / "pairs.json"
    data.write_text(json.dumps([{"text": "great film", "label": "pos"},
                                {"text": "dull plot", "label": "neg"}]), encoding="utf-8")
    ds = check_dataset(str(data))
    assert ds.labels == ["neg", "pos"] and (ds.text_field, ds.label_field) == ("text", "label")


def test_bad_row_is_reported_by_file_and_line(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [{"text": "a", "label": "x"}, {"text": "b", "label": "y"},
                                              {"text": "c"}, {"text": "  ", "label": "x"}])
    with pytest.raises(DatasetError) as err:
        check_dataset(str(data))
    lines = err.value.lines
    assert lines[0] == f"{data}:3: missing_field: field 'label' is missing"
    assert lines[1].startswith(f"{data}:4: empty_text:")
    assert lines[-1].startswith(f"{data}: 2 problems in 4 records")


def test_a_single_label_is_a_clear_error(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [{"text": "a", "label": "x"}, {"text": "b", "label": "x"}])
    with pytest.raises(DatasetError, match="only the label 'x' in field 'label'; .* at least 2"):
        check_dataset(str(data))


def test_label_map_must_name_every_label(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [{"text": "a", "label": "x"}, {"text": "b", "label": "y"}])
    names = tmp_path / "m.json"
    names.write_text('{"x": "Ex"}', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"m\.json: unknown_label: the label map has no name for 'y'"):
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
