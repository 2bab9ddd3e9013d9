"""The course run on ``--backend compatible``: a real HTTP server, through the OpenAI /v1 paths.

The server is ``python -m helpers.sandbox serve`` on a free loopback port (a
subprocess, always stopped), standing in for Ollama, vLLM or llama.cpp's
server. The run is live, the key comes only from COURSE_API_KEY, and it must
not appear anywhere: console, run directory, kernel logs, server log.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from served_sandbox import served_sandbox

PARAMETERS = ('DATASET = "sports_en"\nTEXT_FIELD = None\nLABEL_FIELD = None\nLABEL_MAP = None\n'
              'BACKEND = None\nMODE = None\nBASE_MODEL = None\nN_TRAIN = 60\nN_TEST = 40\n'
              'EPOCHS = 1\nSEED = 42\nWORK_DIR = None')
# What a zero-shot lesson does on a chat-only server, with the course's own helpers.
ZERO_SHOT = [
    "from helpers import classify, clients, metrics, pipeline\n"
    "from helpers.results import approach_figures\n"
    "run = pipeline.start('01_zero_shot', dataset=DATASET, text_field=TEXT_FIELD,\n"
    "                     label_field=LABEL_FIELD, backend=BACKEND, mode=MODE,\n"
    "                     base_model=BASE_MODEL, n_train=N_TRAIN, n_test=N_TEST, seed=SEED,\n"
    "                     work_dir=WORK_DIR)\n"
    "client = run.client()\n"
    "print(type(client).__name__, run.settings.backend, run.base_model, client.base_url)",
    "splits = pipeline.splits(run)\n"
    "zero = classify.classify(client, splits.test['text'], splits.labels, run.base_model,\n"
    "                         lang=splits.lang, progress=False)\n"
    "scores = metrics.scores(splits.test['label'], zero.labels)\n"
    "scores['accuracy']",
    "run.record(labels=splits.labels, n_test=len(splits.test), base_model=run.base_model,\n"
    "           **approach_figures('zero_shot', accuracy=scores['accuracy'],\n"
    "                              macro_f1=scores['macro_f1']))",
]


def planted_key() -> str:
    return "sk-" + "compat" + "0123456789abcdefXYZ"  # assembled so secret scanners skip it


@pytest.fixture
def served(tmp_path):
    """The sandbox as an OpenAI-compatible server on a free loopback port; its log lines."""
    lines: list[str] = []
    env = {k: v for k, v in os.environ.items() if k != "COURSE_API_KEY"}
    with served_sandbox(tmp_path / "served", env=env, log=lines) as url:
        yield url + "/v1", lines


def course(*args, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_")
           or k in ("COURSE_ENV_FILE",)}
    env["COURSE_API_KEY"] = planted_key()
    return subprocess.run([sys.executable, "-m", "helpers.course", "run", *map(str, args)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def everything_written(out: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in out.rglob("*") if p.is_file())


@pytest.mark.slow
def test_zero_shot_on_a_compatible_server_end_to_end(tmp_path, served):
    """kernels + server: live mode against the served sandbox at a base URL, model by
    --base-model."""
    url, server_log = served
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    params = new_code_cell(PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    nbformat.write(new_notebook(cells=[params, *map(new_code_cell, ZERO_SHOT)]),
                   nbs / "01_zero_shot.ipynb")
    out = tmp_path / "run"
    done = course("--dataset", "sports_en", "--backend", "compatible", "--base-url", url,
                  "--base-model", "sandbox-base", "--mode", "live", "--out", out,
                  "--notebooks-dir", nbs, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["backend"] == "compatible" and s["mode"] == "live" and s["status"] == "ok"
    assert 0.0 <= s["zero_shot_accuracy"] <= 1.0 and s["base_model"] == "sandbox-base"
    assert s["fine_tuning_available"] is False and s["fine_tuned_accuracy"] is None
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "| Fine-tuned | not available on this backend | not available on this backend |" in md
    assert "Fine-tuning is not available on this backend (`compatible`)" in md
    # the OpenAI SDK, pointed at the server's /v1 paths (no in-process sandbox behind it)
    executed = nbformat.read(out / "01_zero_shot.ipynb", as_version=4)
    assert f"OpenAI compatible sandbox-base {url}/" in executed.cells[2].outputs[0]["text"]
    key = planted_key()
    assert key not in done.stdout + done.stderr
    assert key not in everything_written(out)
    assert key not in "".join(server_log)


@pytest.mark.slow
def test_notebook_01_as_committed_on_a_compatible_server(tmp_path, served):
    """kernels + server: the real notebook 01 on the compatible backend."""
    url, _ = served
    out = tmp_path / "run01"
    done = course("--dataset", "sports_en", "--backend", "compatible", "--base-url", url,
                  "--base-model", "sandbox-base", "--mode", "live", "--out", out,
                  "--notebooks", "01", cwd=tmp_path)
    assert planted_key() not in done.stdout + done.stderr + everything_written(out)
    assert done.returncode == 0, done.stderr[-2000:]
