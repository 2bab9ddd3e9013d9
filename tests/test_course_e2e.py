"""The whole course through ``python -m helpers.course run``, on the real notebooks.

This is what CI runs end to end: the shipped English sports dataset against the
sandbox in live mode (no cassettes). It takes a minute or two (seven real
kernels and a real sandbox fine-tuning job), so it runs once per module and the
other checks reuse that run. Skipped until every course notebook exists.
"""
import csv
import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest
from course_checks import absolute_paths, images

from conftest import REPO

NOTEBOOKS = ["01_zero_shot", "02_data_preparation", "03_tokens_and_cost", "04_fine_tuning_jobs",
             "05_training_metrics", "06_before_after", "07_evaluating_at_scale"]
missing = [n for n in NOTEBOOKS if not (REPO / "notebooks" / f"{n}.ipynb").is_file()]
pytestmark = [
    pytest.mark.skipif(bool(missing), reason="course notebooks not written yet: "
                       + ", ".join(f"notebooks/{n}.ipynb" for n in missing)),
    pytest.mark.timeout(900),
    pytest.mark.slow,
]


def course(*args, cwd):
    """Run the course command the way a user does, with no keys and no COURSE_* settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("COURSE_") and k not in ("OPENAI_API_KEY", "ZHIPUAI_API_KEY")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run([sys.executable, "-m", "helpers.course", "run", *map(str, args)],
                          cwd=cwd, env=env, capture_output=True, text=True)


def job_count(out) -> int:
    with sqlite3.connect(out / "sandbox" / "sandbox.sqlite3") as db:
        return db.execute("SELECT count(*) FROM jobs").fetchone()[0]


@pytest.fixture(scope="module")
def sports_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("course") / "sports"
    done = course("--dataset", "sports_en", "--backend", "sandbox", "--mode", "live",
                  "--out", out, cwd=out.parent)
    return out, done


def test_whole_course_on_shipped_sports_data_writes_the_summary(sports_run):
    out, done = sports_run
    assert done.returncode == 0, done.stderr[-3000:]
    for i, name in enumerate(NOTEBOOKS, 1):
        assert f"[{i}/{len(NOTEBOOKS)}] {name} started (" in done.stdout
        assert re.search(rf"^\[{i}/{len(NOTEBOOKS)}\] {name} ok in [\d.]+ s", done.stdout, re.M)
        assert (out / f"{name}.ipynb").is_file() and (out / "logs" / f"{name}.log").is_file()
    assert "IPKernelApp" not in done.stdout + done.stderr
    # every plot the notebooks draw is in the executed notebooks, as PNG
    plotted = {n: images(out / f"{n}.ipynb") for n in NOTEBOOKS}
    assert all(plotted[n] >= 1 for n in ("01_zero_shot", "03_tokens_and_cost",
                                          "05_training_metrics", "06_before_after")), plotted
    assert absolute_paths(out) == []
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["backend"] == "sandbox" and s["mode"] == "live" and s["status"] == "ok"
    assert sorted(s["labels"]) == ["baseball", "hockey"]
    for key in ("zero_shot_accuracy", "fine_tuned_accuracy"):
        assert 0.0 <= s[key] <= 1.0
    # the sandbox is deterministic, so the course's main claim must hold on this data too
    assert s["fine_tuned_accuracy"] > s["zero_shot_accuracy"]
    assert s["estimated_trained_tokens"] == s["trained_tokens"]
    assert s["n_train"] > 0 and s["n_test"] > 0 and s["n_train"] + s["n_test"] <= 320
    assert s["estimated_trained_tokens"] > 0 and s["trained_tokens"] > 0
    assert "sandbox-base" in s["fine_tuned_model"]  # a model fine-tuned from the sandbox base
    assert s["seconds"] >= sum(n["seconds"] for n in s["notebooks"]) > 0
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "[06_before_after](06_before_after.ipynb)" in md and "| Change (fine-tuned" in md
    for heading in ("## Before and after fine-tuning", "## Tokens and cost", "## Data preparation",
                    "## Time per notebook"):
        assert heading in md
    assert "accuracy_unshuffled" not in md and "retries_seen" not in md


def test_second_run_in_the_same_dir_reuses_the_fine_tuning_job(sports_run):
    out, done = sports_run
    assert done.returncode == 0, done.stderr[-3000:]
    before = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    jobs = job_count(out)
    again = course("--dataset", "sports_en", "--backend", "sandbox", "--mode", "live",
                   "--out", out, "--notebooks", "04", cwd=out.parent)
    assert again.returncode == 0, again.stderr[-3000:]
    after = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert job_count(out) == jobs
    assert after["fine_tuned_model"] == before["fine_tuned_model"]


def test_csv_dataset_with_two_labels_and_a_label_map(tmp_path):
    data = tmp_path / "sports.csv"
    rows = [json.loads(x) for x in (REPO / "dataset" / "sports_en.jsonl").read_text(
        encoding="utf-8").splitlines()]
    with open(data, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["post", "sport"])
        writer.writeheader()
        writer.writerows({"post": r["text"], "sport": r["label"]} for r in rows)
    names = tmp_path / "names.json"
    names.write_text('{"baseball": "Baseball", "hockey": "Ice hockey"}', encoding="utf-8")
    out = tmp_path / "csv"
    done = course("--dataset", data, "--text-field", "post", "--label-field", "sport",
                  "--label-map", names, "--out", out, "--notebooks", "01,02", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert sorted(s["labels"]) == ["Baseball", "Ice hockey"]
    assert 0.0 <= s["zero_shot_accuracy"] <= 1.0 and s["n_train"] > 0 and s["n_test"] > 0
