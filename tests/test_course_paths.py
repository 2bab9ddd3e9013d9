"""Paths the runner writes are relative to the run directory; kernels warm what notebooks import."""
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from conftest import REPO
from helpers.course.kernels import warm_modules
from helpers.course.paths import relative, relative_notebook, relative_text


def test_absolute_paths_under_known_roots_become_relative_to_the_run(tmp_path):
    run = tmp_path / "runs" / "x"
    text = (f"File {REPO}/helpers/pipeline.py:12, wrote {run}/work/data/train.jsonl "
            f"and {tmp_path}/news.csv; '{sys.prefix}/lib/site.py' ok")
    to_repo, to_prefix = relative(REPO, run), relative(sys.prefix, run)
    assert not to_repo.startswith("/") and not to_prefix.startswith("/")
    assert relative_text(text, run) == (
        f"File {to_repo}/helpers/pipeline.py:12, wrote work/data/train.jsonl and ../../news.csv; "
        f"'{to_prefix}/lib/site.py' ok")
    assert relative_text("see /v1/chat/completions and http://127.0.0.1:8000/v1", run) == \
        "see /v1/chat/completions and http://127.0.0.1:8000/v1"  # not files: left alone


def test_an_executed_notebook_is_rewritten_but_its_images_are_not(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    cell = new_code_cell(f'WORK_DIR = "{run}/work"')
    png = "iVBORw0KGgo" + f"+{tmp_path}/".replace("/", "/") * 2  # base64-looking, holds a root
    cell.outputs = [new_output("stream", name="stdout", text=f"saved {run}/work/a.jsonl\n"),
                    new_output("display_data", data={"image/png": png, "text/plain": f"{run}"}),
                    new_output("error", ename="E", evalue=f"{REPO}/x.py",
                               traceback=[f"\x1b[0;32m{REPO}/helpers/x.py\x1b[0m"])]
    nb = new_notebook(cells=[cell])
    nb.metadata["papermill"] = {"input_path": str(REPO / "notebooks" / "01.ipynb"),
                                "output_path": str(run / "01.ipynb"),
                                "parameters": {"WORK_DIR": str(run / "work")}}
    path = run / "01.ipynb"
    nbformat.write(nb, path)
    relative_notebook(path, run, source=REPO / "notebooks" / "01.ipynb")
    done = nbformat.read(path, as_version=4)
    out = done.cells[0].outputs
    assert done.cells[0].source == 'WORK_DIR = "work"'
    assert out[0]["text"] == "saved work/a.jsonl\n" and out[1]["data"]["text/plain"] == "."
    assert out[1]["data"]["image/png"] == png
    assert out[2]["evalue"] == f"{relative(REPO, run)}/x.py"
    assert out[2]["traceback"] == [f"\x1b[0;32m{relative(REPO, run)}/helpers/x.py\x1b[0m"]
    assert done.metadata.papermill.output_path == "01.ipynb"
    assert done.metadata.papermill.parameters == {"WORK_DIR": "work"}
    assert not Path(done.metadata.papermill.input_path).is_absolute()


def test_the_kernel_warms_what_the_notebook_imports(tmp_path):
    nb = new_notebook(cells=[
        new_code_cell("import json, os.path\nfrom collections import Counter"),
        new_code_cell("from helpers import data, pipeline\nclient = run.client()"),
        new_code_cell("!ls {ROOT}\nimport never_seen"),  # IPython syntax: skipped
        new_code_cell("def f():\n    import inside_a_function"),
    ])
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    assert warm_modules(path) == ["json", "os.path", "collections.Counter", "helpers.data",
                                  "helpers.pipeline"]
    assert warm_modules(path, "sandbox")[-2:] == ["helpers.sandbox", "encoding:o200k_base"]
    assert "helpers.sandbox" not in warm_modules(path, "compatible")
