"""Notebooks 04 and 05 as committed, on the backends that lack endpoints (issues 14 and 15).

* ``BACKEND="zhipu"``: the zhipuai SDK against a served sandbox's Zhipu paths
  (``python -m helpers.sandbox serve --port 0``, ``COURSE_BASE_URL`` =
  ``.../api/paas/v4``, a dummy key, live mode). Zhipu has no checkpoints
  endpoint: the checkpoints cell says so in one sentence and 04 runs to the
  end; 05 then attaches to 04's job instead of training a second one.
* ``BACKEND="compatible"``: an OpenAI-compatible chat server with no
  fine-tuning endpoints. The served sandbox has them, so the test puts a small
  proxy in front of it that forwards only ``/v1/chat/completions`` and
  ``/v1/models`` and answers anything else as Ollama does (404 ``404 page not
  found``). Every fine-tuning cell prints the one-sentence reason, both
  notebooks run to the end, and nothing but the one probe reaches a
  fine-tuning path.
"""
import http.server
import json
import re
import threading
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import papermill
import pytest
from served_sandbox import served_sandbox

from conftest import REPO
from helpers import clients, config
from helpers.jobs import sdk as jobs_sdk

# A Zhipu-shaped fake key (<id>.<secret>), assembled at run time for secret scanners.
FAKE_ZHIPU = "89abcdef" * 4 + "." + "PLANTEDnbZhipuKey"
SMALL = {"DATASET": "sports_en", "N_TRAIN": 60, "N_TEST": 40, "EPOCHS": 1,
         "BASE_MODEL": "sandbox-base", "MODE": "live"}
NOT_AVAILABLE = jobs_sdk.MISSING[("zhipu", "checkpoints")]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The sandbox served on a free loopback port: its base URL (no path)."""
    data_dir = tmp_path_factory.mktemp("served") / "sandbox"
    with served_sandbox(data_dir, "--progression", "poll") as url:
        yield url


class ChatOnlyProxy(http.server.ThreadingHTTPServer):
    """Forwards /v1/chat/completions and /v1/models to ``upstream``; 404s the rest, like Ollama."""

    FORWARDED = re.compile(r"^/v1/(chat/completions|models(/[^/?]+)?)(\?.*)?$")

    def __init__(self, upstream: str):
        self.upstream, self.refused = upstream, []
        super().__init__(("127.0.0.1", 0), _ProxyHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _handle(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self.server.FORWARDED.match(self.path):
            self.server.refused.append(f"{self.command} {self.path}")
            return self._send(404, b"404 page not found", "text/plain; charset=utf-8")
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("content-type", "authorization", "accept")}
        request = urllib.request.Request(self.server.upstream + self.path, data=body or None,
                                         headers=headers, method=self.command)
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                status, data, ctype = reply.status, reply.read(), reply.headers.get("Content-Type")
        except urllib.error.HTTPError as err:
            status, data, ctype = err.code, err.read(), err.headers.get("Content-Type")
        self._send(status, data, ctype or "application/json")

    def _send(self, status: int, data: bytes, ctype: str):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _handle


@pytest.fixture(scope="module")
def chat_only(served):
    proxy = ChatOnlyProxy(served)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=5)


def _run(name: str, out_dir: Path, **parameters):
    return papermill.execute_notebook(
        str(REPO / "notebooks" / f"{name}.ipynb"), str(out_dir / f"{name}.ipynb"),
        parameters=parameters, cwd=str(out_dir), kernel_name="python3", progress_bar=False)


def _text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        elif out.get("output_type") == "error":
            parts.append(f"{out['ename']}: {out['evalue']}")
        else:
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def _cells(nb, needle: str) -> list:
    found = [c for c in nb.cells if c.cell_type == "code" and needle in c.source]
    assert found, f"no code cell contains {needle!r}"
    return found


def _all_text(nb) -> str:
    return "\n".join(_text(c) for c in nb.cells if c.cell_type == "code")


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


@pytest.fixture(scope="module")
def zhipu_runs(served, tmp_path_factory):
    out = tmp_path_factory.mktemp("zhipu_notebooks")
    env = pytest.MonkeyPatch()
    env.setenv("COURSE_BASE_URL", f"{served}/api/paas/v4")
    env.setenv("ZHIPUAI_API_KEY", FAKE_ZHIPU)
    env.setenv("MPLBACKEND", "Agg")  # images are not read here
    try:
        params = {**SMALL, "BACKEND": "zhipu", "WORK_DIR": str(out / "work")}
        return {name: _run(name, out, **params)
                for name in ("04_fine_tuning_jobs", "05_training_metrics")}
    finally:
        env.undo()


@pytest.mark.slow
def test_04_on_zhipu_runs_to_the_end_and_says_checkpoints_are_not_available(zhipu_runs):
    nb = nbformat.from_dict(zhipu_runs["04_fine_tuning_jobs"])
    assert "SDK: zhipuai | fine-tuning endpoints: True" in _all_text(nb)
    raw = _cells(nb, "fine_tuning.jobs.checkpoints.list(")[0]
    assert _text(raw).strip() == NOT_AVAILABLE  # one sentence, not a traceback
    assert len(_sentences(NOT_AVAILABLE)) == 1
    helper = _cells(nb, "jobs.checkpoints(client, job.id)")[0]
    assert _text(helper).strip() == NOT_AVAILABLE
    # the raw create took the zhipuai branch: hyperparameters at the top level,
    # the key in request_id
    raw_create = _cells(nb, "once.without_retries(client).fine_tuning.jobs.create(")[0]
    created = json.loads(_text(raw_create))
    assert created["request_id"].startswith("course-") and created["status"] == "validating_files"
    attached = _text(_cells(nb, "record = jobs.submit(")[0])
    assert "Attached to existing job " + created["id"] in attached and "attached: True" in attached
    assert "Zhipu documents no continued training" in _text(_cells(nb, '"suffix": "continued"')[0])
    assert FAKE_ZHIPU not in _all_text(nb) and FAKE_ZHIPU.split(".")[1] not in _all_text(nb)


@pytest.mark.slow
def test_05_on_zhipu_attaches_to_04s_job_and_trains_nothing_more(zhipu_runs, served, monkeypatch):
    nb = nbformat.from_dict(zhipu_runs["05_training_metrics"])
    text = _all_text(nb)
    assert NOT_AVAILABLE in _text(_cells(nb, "checkpoints = jobs.checkpoints(client, job.id)")[0])
    assert "trained tokens" in _text(_cells(nb, "run.record(")[0])
    monkeypatch.setenv("COURSE_BASE_URL", f"{served}/api/paas/v4")
    monkeypatch.setenv("ZHIPUAI_API_KEY", FAKE_ZHIPU)
    zhipu = clients.client(config.resolve(backend="zhipu", mode="live"))
    made = zhipu.fine_tuning.jobs.list(limit=100).data
    assert len(made) == 1, [j.id for j in made]  # 04's raw create; 04's submit and 05 attached
    assert made[0].id in text and FAKE_ZHIPU not in text


@pytest.fixture(scope="module")
def compatible_runs(chat_only, tmp_path_factory):
    out = tmp_path_factory.mktemp("compatible_notebooks")
    env = pytest.MonkeyPatch()
    env.setenv("COURSE_BASE_URL", chat_only.url)
    env.setenv("MPLBACKEND", "Agg")
    runs, refused = {}, {}
    try:
        params = {**SMALL, "BACKEND": "compatible", "WORK_DIR": str(out / "work")}
        for name in ("04_fine_tuning_jobs", "05_training_metrics"):
            before = len(chat_only.refused)
            runs[name] = nbformat.from_dict(_run(name, out, **params))
            refused[name] = chat_only.refused[before:]
    finally:
        env.undo()
    results = json.loads((out / "work" / "results.json").read_text(encoding="utf-8"))
    return runs, refused, results


@pytest.mark.slow
@pytest.mark.parametrize("name", ["04_fine_tuning_jobs", "05_training_metrics"])
def test_compatible_server_without_fine_tuning_is_said_in_one_sentence(compatible_runs, chat_only,
                                                                       name):
    runs, refused, results = compatible_runs
    nb = runs[name]
    reason = f"the server at {chat_only.url} has no fine-tuning endpoints (HTTP 404"
    setup = _cells(nb, "pipeline.start(")[0]
    assert reason in _text(setup)
    guarded = [c for c in nb.cells if c.cell_type == "code" and c is not setup
               and ("print(fine_tuning.reason)" in c.source or "print(no_results)" in c.source)]
    assert len(guarded) >= 8
    for cell in guarded:
        said = _text(cell).strip()
        assert said.startswith(reason), (cell.source[:80], said[:200])
        assert len(_sentences(said)) == 1 and "Traceback" not in said
    # one probe (GET fine_tuning/jobs?limit=1); no upload, job or file request ever left the kernel
    assert refused[name] == ["GET /v1/fine_tuning/jobs?limit=1"]
    assert results[name[:2]]["fine_tuning_available"] is False
