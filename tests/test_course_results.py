"""The results protocol notebooks use to report figures to the run summary."""
import json
import subprocess
import sys

import numpy as np
import pytest

from helpers.course import merged_results, read_results, record_results


def test_figures_merge_per_notebook_and_later_notebooks_win(tmp_path):
    record_results(tmp_path, notebook="06", zero_shot_accuracy=0.5, fine_tuned_accuracy=0.9)
    record_results(tmp_path, notebook="01", zero_shot_accuracy=0.4, labels=["a", "b"])
    record_results(tmp_path, notebook="01", n_test=20)  # adds to 01, keeps its other keys
    per_notebook = read_results(tmp_path)
    assert per_notebook["01"] == {"zero_shot_accuracy": 0.4, "labels": ["a", "b"], "n_test": 20}
    merged = merged_results(tmp_path)
    assert merged["zero_shot_accuracy"] == 0.5  # 06 wins although 01 wrote last
    assert merged["fine_tuned_accuracy"] == 0.9 and merged["n_test"] == 20


def test_no_work_dir_means_the_one_config_picks(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_WORK_DIR", str(tmp_path / "picked"))
    path = record_results(None, notebook="01", n_test=3)
    assert path == tmp_path / "picked" / "results.json"
    assert read_results(tmp_path / "picked") == {"01": {"n_test": 3}}


def test_numpy_values_nan_paths_and_sets_become_plain_json(tmp_path):
    path = record_results(tmp_path, notebook="05", acc=np.float64(0.75), n=np.int64(3),
                          curve=np.array([1.5, 2.5]), loss=float("nan"), where=tmp_path,
                          labels={"b", "a"}, nested={"k": (np.int32(1), 2)})
    data = json.loads(path.read_text(encoding="utf-8"))["05"]
    assert data == {"acc": 0.75, "n": 3, "curve": [1.5, 2.5], "loss": None,
                    "where": str(tmp_path), "labels": ["a", "b"], "nested": {"k": [1, 2]}}
    assert type(data["n"]) is int


def test_unsupported_value_is_named_and_nothing_is_written(tmp_path):
    with pytest.raises(TypeError, match=r"model\['client'\] is a object"):
        record_results(tmp_path, notebook="04", model={"client": object()})
    assert not (tmp_path / "results.json").exists()


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path):
    record_results(tmp_path, notebook="01", a=1)
    record_results(tmp_path, notebook="02", b=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_corrupt_results_file_is_reported_with_its_path(tmp_path):
    (tmp_path / "results.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"results\.json:1: invalid_json"):
        record_results(tmp_path, notebook="01", a=1)


@pytest.mark.slow
def test_importing_the_package_does_not_import_papermill():
    code = "import sys, helpers.course; print('papermill' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
