"""The course runner's mechanics, on small fixture notebooks that follow the notebook contract.

Tests marked ``kernels`` in their docstring start real Jupyter kernels (about
1-3 s each), because the point is that papermill runs the notebooks in this
interpreter, in order, sharing one work directory.
"""
import json
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from course_checks import absolute_paths, images, notebook, sports_csv
from nbformat.v4 import new_code_cell, new_notebook

from conftest import REPO
from helpers.course.cli import main
from helpers.course.runner import NotebookSelectionError, discover, redact

FIXTURES = REPO / "tests" / "fixtures" / "notebooks"


def run(*args, notebooks_dir=FIXTURES):
    return main(["run", *map(str, args), "--notebooks-dir", str(notebooks_dir)])


def test_discover_orders_by_number_and_selects(tmp_path):
    for name in ("02_b.ipynb", "10_c.ipynb", "01_a.ipynb", "notes.ipynb", "3_x.ipynb"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in discover(tmp_path)] == ["01_a.ipynb", "02_b.ipynb", "10_c.ipynb"]
    assert [p.name for p in discover(tmp_path, ["10", "1"])] == ["01_a.ipynb", "10_c.ipynb"]
    with pytest.raises(NotebookSelectionError,
                       match=r"no notebook numbered 04 in .*\(have 01, 02, 10\)"):
        discover(tmp_path, ["04"])


def test_redact_masks_configured_and_key_shaped_secrets(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "my-own-secret-value")
    zhipu_shaped = "0123456789abcdef" * 2 + ".AbCdEfGhIjKlMnOp"  # built so scanners skip it
    text = redact(f"auth my-own-secret-value and sk-proj-ABCDEFGH1234 and {zhipu_shaped} end")
    assert text == "auth [redacted] and [redacted] and [redacted] end"


@pytest.mark.slow
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
    assert run("--dataset", "sports_en", "--backend", "compatible", "--base-url",
               "http://127.0.0.1:9/v1", "--out", tmp_path / "c") == 2
    assert "has no default model: name the model your server serves with --base-model" in \
        capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
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
    assert "[1/3] 01_zero_shot started (4 cells)" in stdout
    assert re.search(r"^\[1/3\] 01_zero_shot ok in [\d.]+ s · zero-shot accuracy [\d.]+%$", stdout,
                     re.M)
    assert re.search(r"^\[3/3\] 04_fine_tuning_jobs ok in [\d.]+ s · model ft:fixture:1 · "
                     r"trained tokens 1,200$", stdout, re.M)

    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert (summary["status"] == "ok" and summary["backend"] == "sandbox"
            and summary["mode"] == "live")
    assert summary["labels"] == ["Baseball", "Ice hockey"]  # names come from the label map
    assert summary["n_train"] == 40 and summary["trained_tokens"] == 10 * 40 * 3
    assert summary["fine_tuned_model"] == "ft:fixture:1"
    assert summary["fine_tuned_accuracy"] is None  # 06 did not run; the key is still there
    assert [n["notebook"] for n in summary["notebooks"]] == [
        "01_zero_shot", "02_data_preparation", "04_fine_tuning_jobs"]
    assert summary["seconds"] >= sum(n["seconds"] for n in summary["notebooks"])
    # the kernel ran this interpreter, in the run directory, with the run's own sandbox
    kernel_python = Path(os.path.normpath(out.resolve() / summary["kernel_python"]))
    assert kernel_python.parent == Path(sys.executable).parent
    assert summary["sandbox_dir"] == "sandbox" and summary["work_dir_param"] == "work"
    assert summary["seed_param"] == 7 and summary["backend_param"] == "sandbox"
    for nb in ("01_zero_shot", "02_data_preparation", "04_fine_tuning_jobs"):
        assert (out / f"{nb}.ipynb").is_file()
        assert "[course warm-up] imported" in (out / "logs" / f"{nb}.log").read_text()
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "| [01_zero_shot](01_zero_shot.ipynb) |" in md and "[log](logs/01_zero_shot.log)" in md
    assert absolute_paths(out) == []
    injected = nbformat.read(out / "01_zero_shot.ipynb", as_version=4).metadata.papermill
    assert injected.parameters["DATASET"] == "../sports.csv"  # relative to the run directory
    assert injected.parameters["LABEL_MAP"] == "../names.json"

    assert run("--dataset", data, "--text-field", "post", "--label-field", "sport",
               "--out", out, "--notebooks", "04") == 0
    again = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert (out / "sandbox" / "jobs_created.txt").read_text() == "1"  # no second job
    assert again["fine_tuned_model"] == "ft:fixture:1" and again["job_id"] == "ftjob-1"
    assert again["labels"] == ["Baseball", "Ice hockey"]  # 01's figures are still in WORK_DIR


@pytest.mark.slow
def test_failing_cell_stops_the_run_names_the_cell_and_keeps_the_notebook(tmp_path, capsys,
                                                                          monkeypatch):
    """kernels: one notebook raises; the next one must not run."""
    monkeypatch.setenv("ZHIPUAI_API_KEY", "0123456789abcdef" * 2 + ".AbCdEfGhIjKlMnOp")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    params = new_code_cell('DATASET = "news_zh"\nWORK_DIR = None')
    params.metadata["tags"] = ["parameters"]
    broken = new_notebook(cells=[params, new_code_cell("x = 1"), new_code_cell(
        "import os\n"
        "raise RuntimeError('upstream said no to key ' + os.environ['ZHIPUAI_API_KEY'])")])
    nbformat.write(broken, nbs / "01_broken.ipynb")
    shutil.copy(FIXTURES / "02_data_preparation.ipynb", nbs / "02_data_preparation.ipynb")
    out = tmp_path / "run"

    assert run("--dataset", "sports_en", "--out", out, notebooks_dir=nbs) == 1
    captured = capsys.readouterr()
    assert re.search(r"^\[1/2\] 01_broken failed in [\d.]+ s$", captured.out, re.M)
    assert "02_data_preparation" not in captured.out
    # papermill's injected-parameters cell is cell 2, so the raising cell is cell 4 in the output
    assert ("FAILED in 01_broken at cell 4 (In [4]): "
            "RuntimeError: upstream said no to key [redacted]") in captured.err
    assert "AbCdEfGhIjKlMnOp" not in captured.err + captured.out
    kept = nbformat.read(out / "01_broken.ipynb", as_version=4)
    errors = [o for c in kept.cells if c.cell_type == "code" for o in c.outputs
              if o["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["RuntimeError"]
    assert not (out / "02_data_preparation.ipynb").exists()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "failed" and summary["error"]["notebook"] == "01_broken"
    assert "AbCdEfGhIjKlMnOp" not in (out / "summary.md").read_text(encoding="utf-8")
    assert "AbCdEfGhIjKlMnOp" not in (out / "01_broken.ipynb").read_text(encoding="utf-8")
    assert absolute_paths(out) == []  # the traceback's file names too


@pytest.mark.slow
def test_progress_lines_heartbeat_and_a_quiet_console(tmp_path, capfd):
    """kernels: start and end lines, a heartbeat naming the running cell; kernel noise only in
    the log."""
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    notebook(nbs / "01_slow.ipynb", "import time\ntime.sleep(2.5)",
             "import sys\nprint('kernel says hi', file=sys.__stderr__, flush=True)")
    out = tmp_path / "run"
    assert run("--dataset", "sports_en", "--out", out, "--heartbeat", "0.3", notebooks_dir=nbs) == 0
    captured = capfd.readouterr()
    lines = captured.out.splitlines()
    assert "[1/1] 01_slow started (4 cells)" in lines
    beats = [ln for ln in lines if ln.startswith("    01_slow: cell 3 of 4, ")]
    assert beats, captured.out  # cell 3 = the sleeping cell (cell 2 is papermill's parameters)
    assert re.search(r"^\[1/1\] 01_slow ok in [\d.]+ s$", captured.out, re.M)
    console = captured.out + captured.err
    for noise in ("IPKernelApp", "KeyboardInterrupt", "kernel says hi", "without encryption"):
        assert noise not in console
    log = (out / "logs" / "01_slow.log").read_text()
    assert "kernel says hi" in log and "KeyboardInterrupt" not in log


@pytest.mark.slow
def test_plots_are_kept_as_inline_png_even_with_an_agg_shell(tmp_path, monkeypatch):
    """kernels: a closed figure shown as a cell's value (as helpers.plots returns them) and one
    shown with plt.show() are both PNG."""
    monkeypatch.setenv("MPLBACKEND", "Agg")  # a shell set up for scripts
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    notebook(nbs / "01_plots.ipynb",
             "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 3, 2])\n"
             "plt.close(fig)\nfig",
             "plt.figure()\nplt.bar(['a', 'b'], [2, 1])\nplt.show()")
    out = tmp_path / "run"
    assert run("--dataset", "sports_en", "--out", out, notebooks_dir=nbs) == 0
    assert images(out / "01_plots.ipynb") == 2


@pytest.mark.slow
def test_papermill_and_the_test_kernels_keep_plots_too(tmp_path, monkeypatch):
    """kernels: papermill in a plain shell, and a kernel with the test suite's environment
    (nbval's)."""
    import papermill

    source = notebook(tmp_path / "plots.ipynb",
                      "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()")
    assert os.environ["MPLBACKEND"].endswith("backend_inline")  # root conftest: nbval's kernels
    for shell in ("nbval", "plain"):
        if shell == "plain":
            monkeypatch.delenv("MPLBACKEND")
        papermill.execute_notebook(str(source), str(tmp_path / f"{shell}.ipynb"),
                                   kernel_name="python3", language="python", progress_bar=False,
                                   parameters={"WORK_DIR": str(tmp_path)})
        assert images(tmp_path / f"{shell}.ipynb") == 1, shell
