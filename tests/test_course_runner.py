"""The course runner's mechanics, on small fixture notebooks that follow the notebook contract.

Tests marked ``kernels`` in their docstring start real Jupyter kernels (about
1-3 s each), because the point is that papermill runs the notebooks in this
interpreter, in order, sharing one work directory.
"""
import csv
import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from conftest import REPO
from helpers.course.cli import main
from helpers.course.runner import NotebookSelectionError, discover, redact

FIXTURES = REPO / "tests" / "fixtures" / "notebooks"


def run(*args, notebooks_dir=FIXTURES):
    return main(["run", *map(str, args), "--notebooks-dir", str(notebooks_dir)])


def sports_csv(path: Path) -> Path:
    """The shipped sports posts as a CSV with its own column names (2 labels)."""
    records = [json.loads(line) for line in
               (REPO / "dataset" / "sports_en.jsonl").read_text(encoding="utf-8").splitlines()]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["post", "sport"])
        writer.writeheader()
        writer.writerows({"post": r["text"], "sport": r["label"]} for r in records)
    return path


def test_discover_orders_by_number_and_selects(tmp_path):
    for name in ("02_b.ipynb", "10_c.ipynb", "01_a.ipynb", "notes.ipynb", "3_x.ipynb"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in discover(tmp_path)] == ["01_a.ipynb", "02_b.ipynb", "10_c.ipynb"]
    assert [p.name for p in discover(tmp_path, ["10", "1"])] == ["01_a.ipynb", "10_c.ipynb"]
    with pytest.raises(NotebookSelectionError, match=r"no notebook numbered 04 in .*\(have 01, 02, 10\)"):
        discover(tmp_path, ["04"])


def test_redact_masks_configured_and_key_shaped_secrets(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "my-own-secret-value")
    zhipu_shaped = "0123456789abcdef" * 2 + ".AbCdEfGhIjKlMnOp"  # built so scanners skip it
    text = redact(f"auth my-own-secret-value and sk-proj-ABCDEFGH1234 and {zhipu_shaped} end")
    assert text == "auth [redacted] and [redacted] and [redacted] end"


def test_bad_row_stops_before_any_notebook(tmp_path, capsys):
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "a", "label": "x"}\n{"text": "b"}\n{"text": "c", "label": "y"}\n',
                    encoding="utf-8")
    out = tmp_path / "out"
    assert run("--dataset", data, "--out", out) == 1
    err = capsys.readouterr().err
    assert f"{data}:2: missing_field: field 'label' is missing" in err
    assert "before any notebook" in err
    assert not out.exists()


def test_unknown_notebook_number_and_bad_backend_exit_2(tmp_path, capsys):
    assert run("--dataset", "sports_en", "--notebooks", "05", "--out", tmp_path) == 2
    assert "no notebook numbered 05" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad:  # argparse rejects an unknown backend
        run("--dataset", "sports_en", "--backend", "anthropic", "--out", tmp_path)
    assert bad.value.code == 2 and "invalid choice: 'anthropic'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_csv_two_labels_full_run_then_rerun_reuses_the_job(tmp_path, capsys):
    """kernels: the fixture course on a CSV dataset, then notebook 04 again in the same DIR."""
    data = sports_csv(tmp_path / "sports.csv")
    names = tmp_path / "names.json"
    names.write_text('{"baseball": "Baseball", "hockey": "Ice hockey"}', encoding="utf-8")
    out = tmp_path / "run"
    code = run("--dataset", data, "--text-field", "post", "--label-field", "sport",
               "--label-map", names, "--out", out, "--notebooks", "01,02,04", "--seed", 7,
               "--epochs", 3)
    stdout = capsys.readouterr().out
    assert code == 0, stdout
    assert "[1/3] 01_zero_shot … " in stdout and "[3/3] 04_fine_tuning_jobs … " in stdout

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "ok" and summary["backend"] == "sandbox" and summary["mode"] == "live"
    assert summary["labels"] == ["Baseball", "Ice hockey"]  # names come from the label map
    assert summary["n_train"] == 40 and summary["trained_tokens"] == 10 * 40 * 3
    assert summary["fine_tuned_model"] == "ft:fixture:1"
    assert summary["fine_tuned_accuracy"] is None  # 06 did not run; the key is still there
    assert [n["notebook"] for n in summary["notebooks"]] == [
        "01_zero_shot", "02_data_preparation", "04_fine_tuning_jobs"]
    assert summary["seconds"] >= sum(n["seconds"] for n in summary["notebooks"])
    # the kernel ran this interpreter, in the notebooks folder, with the run's sandbox
    assert Path(summary["kernel_python"]).parent == Path(sys.executable).parent
    assert summary["cwd"] == str(FIXTURES)
    assert summary["sandbox_dir"] == str(out.resolve() / "sandbox")
    assert summary["seed_param"] == 7 and summary["backend_param"] == "sandbox"
    for nb in ("01_zero_shot", "02_data_preparation", "04_fine_tuning_jobs"):
        assert (out / f"{nb}.ipynb").is_file()
    assert "[01_zero_shot](01_zero_shot.ipynb)" in (out / "summary.md").read_text(encoding="utf-8")

    assert run("--dataset", data, "--text-field", "post", "--label-field", "sport",
               "--out", out, "--notebooks", "04") == 0
    again = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert (out / "sandbox" / "jobs_created.txt").read_text() == "1"  # no second job
    assert again["fine_tuned_model"] == "ft:fixture:1" and again["job_id"] == "ftjob-1"
    assert again["labels"] == ["Baseball", "Ice hockey"]  # 01's figures are still in WORK_DIR


def test_failing_cell_stops_the_run_names_the_cell_and_keeps_the_notebook(tmp_path, capsys,
                                                                          monkeypatch):
    """kernels: one notebook raises; the next one must not run."""
    monkeypatch.setenv("ZHIPUAI_API_KEY", "0123456789abcdef" * 2 + ".AbCdEfGhIjKlMnOp")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    params = new_code_cell('DATASET = "news_zh"\nWORK_DIR = None')
    params.metadata["tags"] = ["parameters"]
    broken = new_notebook(cells=[params, new_code_cell("x = 1"), new_code_cell(
        "import os\nraise RuntimeError('upstream said no to key ' + os.environ['ZHIPUAI_API_KEY'])")])
    nbformat.write(broken, nbs / "01_broken.ipynb")
    shutil.copy(FIXTURES / "02_data_preparation.ipynb", nbs / "02_data_preparation.ipynb")
    out = tmp_path / "run"

    assert run("--dataset", "sports_en", "--out", out, notebooks_dir=nbs) == 1
    captured = capsys.readouterr()
    assert "[1/2] 01_broken … failed after" in captured.out
    assert "02_data_preparation" not in captured.out
    # papermill's injected-parameters cell is cell 2, so the raising cell is cell 4 in the output
    assert "FAILED in 01_broken at cell 4 (In [4]): RuntimeError: upstream said no to key [redacted]" \
        in captured.err
    assert "AbCdEfGhIjKlMnOp" not in captured.err + captured.out
    kept = nbformat.read(out / "01_broken.ipynb", as_version=4)
    errors = [o for c in kept.cells if c.cell_type == "code" for o in c.outputs
              if o["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["RuntimeError"]
    assert not (out / "02_data_preparation.ipynb").exists()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "failed" and summary["error"]["notebook"] == "01_broken"
    assert "AbCdEfGhIjKlMnOp" not in (out / "summary.md").read_text(encoding="utf-8")
