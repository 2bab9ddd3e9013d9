"""The whole course through ``python -m helpers.course run`` on each backend the sandbox mimics.

``sandbox`` runs in-process; ``zhipu`` and ``openai`` are pointed at a served
sandbox (``python -m helpers.sandbox serve``, its Zhipu and OpenAI paths) by
``--base-url``, as a user with a key would run them, with ``--base-model
sandbox-base`` (OpenAI's own default is a reasoning model that cannot be
fine-tuned); ``compatible`` talks to a chat-only server (``chat_only_proxy``:
chat and models relayed, everything else Ollama's 404). Each run must reach
the end: a side experiment needing an endpoint a backend lacks says so in one
sentence in the executed notebook and the run goes on.

Also through the runner: retries injected in 07 are seen even after 01 filled
the response cache of the same work directory (a client made with ``faults=``
caches under its own session), and a rerun into the same directory creates no
new file, job or batch on the served service (counted with the SDK's list calls).

Each run takes minutes on the shipped sports data (the smallest): run these one at a time.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import openai
import pytest
from chat_only_proxy import chat_only
from served_sandbox import served_sandbox

from conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

NOTEBOOKS = ["01_zero_shot", "02_data_preparation", "03_tokens_and_cost", "04_fine_tuning_jobs",
             "05_training_metrics", "06_before_after", "07_evaluating_at_scale"]
FAKE_KEYS = {"openai": "sk-" + "served0sandbox0key0123456789",  # assembled: scanners skip it
             "zhipu": "0123456789abcdef" + "0123456789abcdef" + ".servedSandboxKey"}


def course(*args, cwd, backend: str):
    """The course command as a user runs it: no COURSE_* settings, a key where one is needed."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("COURSE_") and k not in ("OPENAI_API_KEY", "ZHIPUAI_API_KEY")}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO)
    if backend in FAKE_KEYS:
        env[f"{'ZHIPUAI' if backend == 'zhipu' else 'OPENAI'}_API_KEY"] = FAKE_KEYS[backend]
    return subprocess.run([sys.executable, "-m", "helpers.course", "run", "--backend", backend,
                           "--mode", "live", *map(str, args)],
                          cwd=cwd, env=env, capture_output=True, text=True)


def printed(out: Path, name: str) -> str:
    """Everything the executed notebook printed (streams and plain-text results)."""
    nb = nbformat.read(out / f"{name}.ipynb", as_version=4)
    return "\n".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                     for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def assert_whole_course(done, out: Path, backend: str) -> dict:
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    for name in NOTEBOOKS:
        assert (out / f"{name}.ipynb").is_file(), name
    s = summary(out)
    assert s["status"] == "ok" and s["backend"] == backend and s["mode"] == "live"
    assert [n["notebook"] for n in s["notebooks"]] == NOTEBOOKS
    assert all(n["status"] == "ok" for n in s["notebooks"])
    assert sorted(s["labels"]) == ["baseball", "hockey"] and s["n_test"] > 0
    assert 0.0 <= s["zero_shot_accuracy"] <= 1.0
    return s


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One served sandbox for the module (jobs advance at each poll), its base URL."""
    with served_sandbox(tmp_path_factory.mktemp("served") / "sandbox", "--progression",
                        "poll") as url:
        yield url


def fine_tuned(s: dict, base: str = "sandbox-base"):
    assert base in s["fine_tuned_model"]
    assert 0.0 <= s["fine_tuned_accuracy"] <= 1.0 and s["trained_tokens"] > 0


def test_whole_course_on_zhipu_paths_of_a_served_sandbox(served, tmp_path):
    out = tmp_path / "zhipu"
    done = course("--dataset", "sports_en", "--base-url", f"{served}/api/paas/v4",
                  "--base-model", "sandbox-base", "--out", out, cwd=tmp_path, backend="zhipu")
    s = assert_whole_course(done, out, "zhipu")
    fine_tuned(s)
    # Zhipu has no checkpoints endpoint: one sentence in 04 and 05, and the run goes on
    note = "Zhipu's fine-tuning API has no checkpoints endpoint"
    for name in ("04_fine_tuning_jobs", "05_training_metrics"):
        assert note in printed(out, name), name


@pytest.fixture(scope="module")
def openai_run(served, tmp_path_factory):
    out = tmp_path_factory.mktemp("openai") / "run"
    done = course("--dataset", "sports_en", "--base-url", f"{served}/v1",
                  "--base-model", "sandbox-base", "--out", out, cwd=out.parent, backend="openai")
    return out, done


def test_whole_course_on_openai_paths_of_a_served_sandbox(openai_run):
    out, done = openai_run
    s = assert_whole_course(done, out, "openai")
    fine_tuned(s)
    assert s["base_model"] == "sandbox-base"


def served_objects(url: str) -> dict:
    """Files, fine-tuning jobs and batches on the served sandbox (SDK list calls): id -> what."""
    client = openai.OpenAI(api_key=FAKE_KEYS["openai"], base_url=f"{url}/v1", max_retries=0)
    jobs = client.fine_tuning.jobs.list(limit=100)
    return {"files": {f.id: f"{f.purpose} {f.filename}" for f in client.files.list()},
            "jobs": {j.id: f"{j.model} {j.metadata}" for j in jobs},
            "batches": {b.id: f"{b.input_file_id} {b.metadata}"
                        for b in client.batches.list(limit=100)}}


def test_a_rerun_into_the_same_directory_creates_no_new_file_job_or_batch(served, openai_run):
    out, done = openai_run
    assert done.returncode == 0, done.stderr[-3000:]
    before = served_objects(served)
    assert before["files"] and before["jobs"] and before["batches"]  # the first run made some
    first = summary(out)
    again = course("--dataset", "sports_en", "--base-url", f"{served}/v1",
                   "--base-model", "sandbox-base", "--out", out, cwd=out.parent, backend="openai")
    assert_whole_course(again, out, "openai")
    after = served_objects(served)
    made = {kind: {i: what for i, what in after[kind].items() if i not in before[kind]}
            for kind in after}
    assert made == {"files": {}, "jobs": {}, "batches": {}}  # names what the rerun created
    assert summary(out)["fine_tuned_model"] == first["fine_tuned_model"]


def test_whole_course_on_sandbox(tmp_path):
    out = tmp_path / "sandbox"
    done = course("--dataset", "sports_en", "--out", out, cwd=tmp_path, backend="sandbox")
    fine_tuned(assert_whole_course(done, out, "sandbox"))


def test_whole_course_on_a_chat_only_compatible_server(served, tmp_path):
    seen: list = []
    out = tmp_path / "compatible"
    with chat_only(served, seen) as url:
        done = course("--dataset", "sports_en", "--base-url", f"{url}/v1",
                      "--base-model", "sandbox-base", "--out", out, cwd=tmp_path,
                      backend="compatible")
    s = assert_whole_course(done, out, "compatible")
    assert s["fine_tuning_available"] is False and s["fine_tuned_accuracy"] is None
    assert ("POST", "/v1/chat/completions") in seen
    # asked, never uploaded to: the 404 of a lookup is the answer
    assert ("POST", "/v1/files") not in seen and ("POST", "/v1/batches") not in seen
    reason = f"the server at {url}/v1 has no fine-tuning endpoints (HTTP 404"
    for name in ("04_fine_tuning_jobs", "05_training_metrics", "06_before_after"):
        assert reason in printed(out, name), name
    assert f"the server at {url}/v1 has no Batch API (HTTP 404 on /batches)" in printed(
        out, "07_evaluating_at_scale")


def test_retries_injected_in_07_are_seen_after_01_filled_the_cache(tmp_path):
    """01 then 07 in one work directory: 07's faulty client must not read 01's cached answers."""
    out = tmp_path / "retries"
    done = course("--dataset", "sports_en", "--notebooks", "01,07", "--out", out, cwd=tmp_path,
                  backend="sandbox")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    s = summary(out)
    assert [n["notebook"] for n in s["notebooks"]] == ["01_zero_shot", "07_evaluating_at_scale"]
    assert s["retries_seen"] > 0
    assert f"'retries_seen': {s['retries_seen']}," in printed(out, "07_evaluating_at_scale")
