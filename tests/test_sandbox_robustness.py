"""The sandbox cannot be crashed or stalled from the request side, and checks its own state.

Text that is not valid Unicode (a lone UTF-16 surrogate written as a JSON
escape, bytes that are not UTF-8 in a path, query, form field or filename) is a
400 in the provider's error shape with a request id, on every path; a body over
its limit is refused from its Content-Length before it is read; the state
directory cleans up after killed uploads and names what is wrong with a short,
altered or corrupted file instead of serving it. The SDKs refuse to encode a
lone surrogate themselves, so such requests are sent as raw bytes (in-process
through the same WSGI transport the course uses, or over a socket to ``serve``).
"""
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx2
import openai
import pytest

from helpers import clients, config, prompts
from helpers.sandbox import app_for, synthetic
from helpers.sandbox.core import BASE_MODEL

REPO = Path(__file__).resolve().parent.parent
LABELS = list(synthetic.WORDS)
MSGS = prompts.messages("国足主场绝杀", LABELS)
SUR = "\\ud800"  # a lone surrogate as JSON spells it (the body stays ASCII)
OA, Z = "/v1", "/api/paas/v4"


def body(**fields) -> bytes:
    """A chat body with ``fields`` merged in, then every '@' replaced by a lone surrogate."""
    return json.dumps({"model": BASE_MODEL, "messages": MSGS, **fields},
                      ensure_ascii=True).replace("@", SUR).encode()


def job_body(**fields) -> bytes:
    data = {"model": BASE_MODEL, "training_file": "file-x", **fields}
    return json.dumps(data).replace("@", SUR).encode()


def multipart(filename: bytes = b"t.jsonl", purpose: bytes = b"fine-tune") -> tuple[bytes, str]:
    data = (b"--XX\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n" + purpose
            + b"\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\""
            + filename + b"\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            + synthetic.chat_jsonl(synthetic.headlines(12), LABELS) + b"\r\n--XX--\r\n")
    return data, "multipart/form-data; boundary=XX"


# (method, path, body, content type, the param the error must name or None)
JSON_TYPE = "application/json"
CASES = [
    ("POST", f"{OA}/chat/completions", body(messages=[{"role": "user", "content": "hi @"}]),
     JSON_TYPE, "messages[0].content"),
    ("POST", f"{OA}/chat/completions", body(model="sandbox@"), JSON_TYPE, "model"),
    ("POST", f"{OA}/chat/completions", body(metadata={"k": "v@"}), JSON_TYPE, "metadata.k"),
    ("POST", f"{OA}/chat/completions", body(metadata={"k@": "v"}), JSON_TYPE, "metadata"),
    ("POST", f"{OA}/chat/completions", body(stop=["ok", "@"]), JSON_TYPE, "stop[1]"),
    ("POST", f"{OA}/chat/completions", body(user="@"), JSON_TYPE, "user"),
    ("POST", f"{OA}/fine_tuning/jobs", job_body(suffix="a@"), JSON_TYPE, "suffix"),
    ("POST", f"{OA}/fine_tuning/jobs", job_body(training_file="file-@"), JSON_TYPE,
     "training_file"),
    ("POST", f"{OA}/fine_tuning/jobs", job_body(metadata={"note": "@"}), JSON_TYPE,
     "metadata.note"),
    ("POST", f"{OA}/batches", json.dumps({"input_file_id": "file-@", "endpoint":
                                          "/v1/chat/completions", "completion_window": "24h"})
     .replace("@", SUR).encode(), JSON_TYPE, "input_file_id"),
    ("GET", f"{OA}/files?purpose=%ED%A0%80", b"", None, "query"),
    ("GET", f"{OA}/fine_tuning/jobs?after=%FF", b"", None, "query"),
    ("POST", f"{OA}/files", *multipart(filename=b"t\xed\xa0\x80.jsonl"), "file"),
    ("POST", f"{OA}/files", *multipart(purpose=b"fine\xff-tune"), "purpose"),
    ("POST", f"{OA}/chat/completions", b'{"model": "sandbox-base", "messages": "\xed\xa0\x80"}',
     JSON_TYPE, None),
    ("POST", f"{Z}/chat/completions", body(messages=[{"role": "user", "content": "@"}]),
     JSON_TYPE, "messages[0].content"),
    ("POST", f"{Z}/chat/completions", body(request_id="r@"), JSON_TYPE, "request_id"),
    ("POST", f"{Z}/chat/completions", body(model="glm-@"), JSON_TYPE, "model"),
    ("POST", f"{Z}/fine_tuning/jobs", job_body(hyperparameters={"n_epochs": "@"}), JSON_TYPE,
     "hyperparameters.n_epochs"),
    ("GET", f"{Z}/files?purpose=%C3%28", b"", None, "query"),
    ("POST", f"{Z}/files", *multipart(filename=b"\xff.jsonl"), "file"),
]


def check_error(status: int, headers, payload: dict, path: str, param: str | None) -> None:
    assert 400 <= status < 500, (status, payload)
    assert re.fullmatch(r"req_[0-9a-f]{32}", headers["x-request-id"])
    error = payload["error"]
    if path.startswith(Z):
        assert set(error) == {"code", "message"} and error["code"] == "1214"
        if param:
            assert param in error["message"] or "UTF-8" in error["message"]
    else:
        assert set(error) == {"message", "type", "param", "code"}
        assert error["type"] == "invalid_request_error"
        assert error["param"] == param
    assert "Unicode" in error["message"] or "UTF-8" in error["message"] or \
        "charset" in error["message"]


@pytest.fixture
def inproc(tmp_path):
    return httpx2.Client(transport=httpx2.WSGITransport(app=app_for(tmp_path / "sbx")),
                         base_url="http://sandbox")


@pytest.mark.parametrize("method,path,data,ctype,param", CASES,
                         ids=[f"{i}-{c[1].split('?')[0]}" for i, c in enumerate(CASES)])
def test_undecodable_text_is_a_400_in_process(inproc, method, path, data, ctype, param):
    headers = {"Content-Type": ctype} if ctype else {}
    r = inproc.request(method, path, content=data or None, headers=headers)
    check_error(r.status_code, r.headers, r.json(), path, param)


# ------------------------------------------------------------------ served
class Served:
    def __init__(self, url: str):
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])

    def raw(self, data: bytes) -> tuple[int, dict, bytes]:
        """Send bytes on a fresh socket; (status, headers, body) of the first answer.

        The socket timeout only keeps a broken server from hanging the test; an
        answer that needs the rest of a declared body never comes, and fails it.
        """
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as s:
            s.sendall(data)
            out = b""
            while True:
                head, sep, rest = out.partition(b"\r\n\r\n")
                m = re.search(rb"content-length: *(\d+)", head, re.I)
                if sep and m and len(rest) >= int(m.group(1)):
                    break
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        head, _, rest = out.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(":") for line in lines[1:])}
        return int(lines[0].split()[1]), headers, rest


def request_bytes(method: str, path: bytes, data: bytes = b"", ctype: str | None = None,
                  length: int | None = None) -> bytes:
    head = [method.encode() + b" " + path + b" HTTP/1.1", b"Host: sandbox",
            b"Connection: close"]
    if ctype:
        head.append(b"Content-Type: " + ctype.encode())
    if data or length is not None:
        head.append(b"Content-Length: " + str(len(data) if length is None else length).encode())
    return b"\r\n".join(head) + b"\r\n\r\n" + data


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from served_sandbox import served_sandbox

    with served_sandbox(tmp_path_factory.mktemp("served") / "sbx", "--progression", "poll",
                        "--max-upload-bytes", "1000000") as url:
        yield Served(url)


SERVED_CASES = CASES + [
    ("GET", f"{OA}/files/file-%ED%A0%80", b"", None, "url"),
    ("GET", f"{OA}/files/file-\xff", b"", None, "url"),
    ("GET", f"{OA}/models/%C3", b"", None, "url"),
    ("DELETE", f"{Z}/fine_tuning/jobs/ftjob-%ED%B0%80", b"", None, "url"),
    ("GET", f"{OA}/batches?limit=5&after=\xed\xa0\x80", b"", None, "url"),
]


@pytest.mark.slow
@pytest.mark.parametrize("method,path,data,ctype,param", SERVED_CASES,
                         ids=[f"{i}-{c[1].split('?')[0]}" for i, c in enumerate(SERVED_CASES)])
def test_undecodable_text_is_a_400_when_served(served, method, path, data, ctype, param):
    status, headers, raw = served.raw(request_bytes(method, path.encode("latin-1"), data, ctype))
    check_error(status, headers, json.loads(raw), path, param)


@pytest.mark.slow
@pytest.mark.parametrize("path,declared,code", [
    (f"{OA}/chat/completions", 70 * 1024 * 1024, "request_too_large"),
    (f"{Z}/chat/completions", 70 * 1024 * 1024, "1214"),
    (f"{OA}/files", 50 * 1024 * 1024, "request_too_large"),
    (f"{Z}/files", 3 * 1024 * 1024, "1214"),
])
def test_a_body_over_its_limit_is_refused_before_it_is_read(served, path, declared, code):
    """Only 10 bytes of the declared body are sent: a 413 that waited for the rest never comes."""
    ctype = JSON_TYPE if "chat" in path else "multipart/form-data; boundary=XX"
    status, headers, raw = served.raw(request_bytes("POST", path.encode(), b"0123456789",
                                                    ctype, length=declared))
    assert status == 413
    assert re.fullmatch(r"req_[0-9a-f]{32}", headers["x-request-id"])
    error = json.loads(raw)["error"]
    assert error["code"] == code and str(declared) in error["message"]


# --------------------------------------------------- files the SDKs can send
def sdk_client(path):
    return clients.openai_client(config.resolve(backend="sandbox", mode="live", sandbox_dir=path),
                                 strict=True, max_retries=0)


def zhipu_sdk_client(path):
    return clients.zhipu_client(config.resolve(backend="sandbox", mode="live", sandbox_dir=path),
                                max_retries=0)


def with_surrogate_on_line(data: bytes, line: int) -> bytes:
    rows = data.decode().splitlines()
    rows[line - 1] = rows[line - 1].replace('"content": "', '"content": "' + SUR, 1)
    return ("\n".join(rows) + "\n").encode()


def test_a_training_file_with_a_lone_surrogate_fails_its_job_naming_the_line(tmp_path):
    c = sdk_client(tmp_path / "sbx")
    data = synthetic.chat_jsonl(synthetic.headlines(20), LABELS)
    f = c.files.create(file=("t.jsonl", with_surrogate_on_line(data, 7)), purpose="fine-tune")
    job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id)
    while job.status not in ("succeeded", "failed"):
        job = c.fine_tuning.jobs.retrieve(job.id)
    assert job.status == "failed" and job.error.code == "invalid_training_file"
    assert re.search(r"Line 7, the value at messages\[\d\]\.content contains a lone UTF-16 "
                     r"surrogate \(\\ud800\)", job.error.message)
    z = zhipu_sdk_client(tmp_path / "sbx")
    zf = z.files.create(file=("t.jsonl", with_surrogate_on_line(data, 3)), purpose="fine-tune")
    zjob = z.fine_tuning.jobs.create(model=BASE_MODEL, training_file=zf.id)
    for _ in range(10):
        zjob = z.fine_tuning.jobs.retrieve(zjob.id)
    assert zjob.status == "failed"


def test_a_batch_line_with_a_lone_surrogate_fails_the_batch_naming_it(tmp_path):
    c = sdk_client(tmp_path / "sbx")
    lines = [{"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
              "body": {"model": BASE_MODEL, "messages": [{"role": "user", "content": "@"}]}}
             for i in range(3)]
    text = "".join(json.dumps(x) + "\n" for x in lines).replace("@", "ok", 2).replace("@", SUR)
    f = c.files.create(file=("b.jsonl", text.encode()), purpose="batch")
    batch = c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                             completion_window="24h")
    while batch.status not in ("completed", "failed"):
        batch = c.batches.retrieve(batch.id)
    assert batch.status == "failed"
    [error] = batch.errors.data
    assert (error.code, error.line, error.param) == ("invalid_unicode", 3,
                                                     "body.messages[0].content")


# ------------------------------------------------------------ state checks
def test_temporary_files_of_dead_writers_are_removed_when_the_directory_opens(tmp_path):
    from helpers.sandbox.store import Store, temp_name

    root = tmp_path / "sbx"
    Store(root).close()
    dead = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    started = Path(f"/proc/{dead.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    dead.kill()
    dead.wait()
    blobs = root / "files"
    killed_upload = blobs / f".tmp-{dead.pid}-{started}-upload-0a1b2c.tmp"
    failed_write = blobs / f".tmp-{dead.pid}-{started}-blob-3d4e5f.tmp"
    live = blobs / temp_name("upload")  # this process is alive: its upload is in flight
    old_legacy, new_legacy = blobs / ".upload-aa.tmp", blobs / ".upload-bb.tmp"
    for p in (killed_upload, failed_write, live, old_legacy, new_legacy):
        p.write_bytes(b"partial")
    os.utime(old_legacy, (1_000_000_000, 1_000_000_000))
    store = Store(root)
    assert sorted(store.swept) == sorted(p.name for p in (killed_upload, failed_write,
                                                          old_legacy))
    assert sorted(p.name for p in blobs.iterdir()) == sorted([live.name, new_legacy.name])


UPLOADER = """
import io, sys, threading
from helpers.sandbox import app_for
root, size = sys.argv[1], int(sys.argv[2])
head = (b"--XX\\r\\nContent-Disposition: form-data; name=\\"purpose\\"\\r\\n\\r\\nfine-tune"
        b"\\r\\n--XX\\r\\nContent-Disposition: form-data; name=\\"file\\"; filename=\\"t.jsonl\\""
        b"\\r\\n\\r\\n" + b"x" * 300000)

class Stalled(io.RawIOBase):  # the first part of the body, then a client that never sends more
    def __init__(self):
        self.data = io.BytesIO(head)
    def read(self, n=-1):
        return self.data.read(n) or threading.Event().wait() or b""

app_for(root)({"REQUEST_METHOD": "POST", "PATH_INFO": "/v1/files", "wsgi.input": Stalled(),
               "CONTENT_TYPE": "multipart/form-data; boundary=XX",
               "CONTENT_LENGTH": str(size)}, lambda *a: None)
"""


@pytest.mark.slow
def test_an_upload_killed_midway_leaves_nothing_once_reopened(tmp_path):
    """A process killed while it writes an upload leaves its temporary file; reopening sweeps it."""
    from helpers.sandbox.store import Store

    root = tmp_path / "sbx"
    proc = subprocess.Popen([sys.executable, "-c", UPLOADER, str(root), str(10 ** 7)], cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        for _ in range(60000):  # until the upload is being written (the count only bounds a bug)
            partial = list((root / "files").glob(".tmp-*upload*")) if root.exists() else []
            if partial and partial[0].stat().st_size > 0:
                break
            threading.Event().wait(0.005)
    finally:
        proc.kill()
        proc.wait()
    assert partial, "the upload was being written when the process was killed"
    store = Store(root)
    assert store.swept == [partial[0].name] and not list((root / "files").glob(".*tmp"))


def test_a_short_or_altered_stored_file_is_an_error_naming_it(tmp_path):
    c = sdk_client(tmp_path / "sbx")
    data = synthetic.chat_jsonl(synthetic.headlines(20), LABELS)
    short = c.files.create(file=("t.jsonl", data), purpose="fine-tune")
    altered = c.files.create(file=("u.jsonl", data), purpose="fine-tune")
    blob = tmp_path / "sbx" / "files"
    (blob / short.id).write_bytes(data[:-10])
    raw = bytearray(data)
    raw[5] ^= 1
    (blob / altered.id).write_bytes(bytes(raw))
    with pytest.raises(openai.InternalServerError, match=rf"{short.id} is {len(data) - 10} "
                       rf"bytes, but {len(data)} were written.*COURSE_SANDBOX_DIR"):
        c.files.content(short.id)
    with pytest.raises(openai.InternalServerError,
                       match=rf"{altered.id} differs .*sha256.*delete .*sbx"):
        c.files.content(altered.id)
    job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=short.id)
    while job.status not in ("succeeded", "failed"):
        job = c.fine_tuning.jobs.retrieve(job.id)
    assert job.status == "failed" and short.id in job.error.message
    assert "COURSE_SANDBOX_DIR" in job.error.message  # the whole advice, not cut off


def test_a_damaged_model_blob_is_an_error_naming_it(tmp_path):
    from helpers.sandbox.core import Sandbox
    from helpers.sandbox.store import StateError

    c = sdk_client(tmp_path / "sbx")
    f = c.files.create(file=("t.jsonl", synthetic.chat_jsonl(synthetic.headlines(20), LABELS)),
                       purpose="fine-tune")
    job = c.fine_tuning.jobs.create(model=BASE_MODEL, training_file=f.id, method={
        "type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 1}}})
    while job.status != "succeeded":
        job = c.fine_tuning.jobs.retrieve(job.id)
    [npz] = [p for p in (tmp_path / "sbx" / "files").glob("*.npz") if "step" not in p.name]
    npz.write_bytes(npz.read_bytes()[:100])
    fresh = Sandbox(tmp_path / "sbx")  # a new process would load the weights from the file
    with pytest.raises(StateError, match=rf"{npz.name} is 100 bytes.*COURSE_SANDBOX_DIR"):
        fresh.chat({"model": job.fine_tuned_model, "messages": MSGS})


def garble_header(db: Path) -> None:
    raw = bytearray(db.read_bytes())
    raw[:16] = b"not a sqlite db!"
    db.write_bytes(bytes(raw))


def serve_exit(data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "helpers.sandbox", "serve", "--port", "0",
                           "--data-dir", str(data_dir)], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_a_garbled_database_is_one_line_naming_it(tmp_path):
    from helpers.sandbox.store import DB_NAME, StateError, Store

    Store(tmp_path / "sbx").close()
    garble_header(tmp_path / "sbx" / DB_NAME)
    with pytest.raises(StateError, match=rf"{DB_NAME} is not a SQLite database .*delete "
                       r".*sbx or set COURSE_SANDBOX_DIR to a new directory"):
        app_for(tmp_path / "sbx")


@pytest.mark.slow
def test_serve_on_a_garbled_database_prints_one_line_and_exits_non_zero(tmp_path):
    from helpers.sandbox.store import DB_NAME, Store

    Store(tmp_path / "sbx").close()
    garble_header(tmp_path / "sbx" / DB_NAME)
    done = serve_exit(tmp_path / "sbx")
    assert done.returncode == 1 and done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: sandbox database") and DB_NAME in line
    assert "COURSE_SANDBOX_DIR" in line


def test_schema_version_new_upgraded_and_refused(tmp_path):
    from helpers.sandbox.store import DB_NAME, SCHEMA, SCHEMA_VERSION, StateError, Store

    def version(root):
        with sqlite3.connect(root / DB_NAME) as db:
            return db.execute("PRAGMA user_version").fetchone()[0]

    Store(tmp_path / "new").close()
    assert version(tmp_path / "new") == SCHEMA_VERSION >= 1
    old = tmp_path / "old"
    old.mkdir()
    with sqlite3.connect(old / DB_NAME) as db:  # a store from before versions were kept
        db.executescript(SCHEMA.split("CREATE TABLE IF NOT EXISTS blobs")[0])
        db.execute("INSERT INTO meta VALUES ('instance_id', 'feedfacecafebeef')")
    upgraded = Store(old)
    assert upgraded.instance_id == "feedfacecafebeef" and version(old) == SCHEMA_VERSION
    assert upgraded.execute("SELECT count(*) FROM blobs") == [(0,)]
    upgraded.close()
    for newer in (SCHEMA_VERSION + 1, 99):
        with sqlite3.connect(old / DB_NAME) as db:
            db.execute(f"PRAGMA user_version = {newer}")
        with pytest.raises(StateError, match=rf"schema version {newer}, newer than this "
                           rf"sandbox's {SCHEMA_VERSION}.*COURSE_SANDBOX_DIR"):
            Store(old)
    with sqlite3.connect(old / DB_NAME) as db:
        db.execute("PRAGMA user_version = -3")
    with pytest.raises(StateError, match="schema version -3, which this sandbox cannot upgrade"):
        Store(old)


# ------------------------------------------------------------------ pacing
def batch_lines(n: int) -> bytes:
    rows = [{"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
             "body": {"model": BASE_MODEL, "messages": prompts.messages(text, LABELS)}}
            for i, (text, _) in enumerate(synthetic.headlines(n, seed=5))]
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


@pytest.fixture
def paced():
    from helpers.sandbox import pacing

    yield pacing
    pacing.clear_pace()


def test_stage_clock_chains_due_times():
    from helpers.sandbox.pacing import StageClock

    now = [100.0]
    clock = StageClock(stage_started=90.0, seconds=3.0, now=lambda: now[0])
    dues = []
    while clock.due():
        dues.append(clock.due_at)
        clock.advance()
    assert dues == [93.0, 96.0, 99.0] and clock.due_at == 102.0


def test_one_late_poll_catches_up_on_every_due_stage(tmp_path, monkeypatch, paced):
    """Under 'time', a poll runs every stage that came due, so pollers need one late look."""
    monkeypatch.setenv("COURSE_SANDBOX_PROGRESSION", "time")
    c = sdk_client(tmp_path / "sbx")
    f = c.files.create(file=("b.jsonl", batch_lines(20)), purpose="batch")
    paced.set_pace("course", 0)  # every stage is due at once
    batch = c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                             completion_window="24h")
    done = c.batches.retrieve(batch.id)  # one poll: validating -> ... -> completed
    assert done.status == "completed" and done.request_counts.completed == 20
    paced.set_pace("real")
    slow = c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                            completion_window="24h")
    assert [c.batches.retrieve(slow.id).status for _ in range(3)] == ["validating"] * 3
    with pytest.raises(ValueError, match="pace 'fast' is not one of course, real"):
        paced.set_pace("fast")


@pytest.mark.slow
def test_a_served_batch_of_300_requests_completes_under_time_progression(tmp_path):
    """serve's default pace keeps course timing: polled as the course polls the sandbox."""
    from served_sandbox import served_sandbox

    with served_sandbox(tmp_path / "sbx", "--progression", "time") as url:
        c = openai.OpenAI(api_key="any", base_url=f"{url}/v1", max_retries=0)
        f = c.files.create(file=("b.jsonl", batch_lines(300)), purpose="batch")
        batch = c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                                 completion_window="24h")
        statuses = [batch.status]
        while statuses[-1] not in ("completed", "failed") and len(statuses) < 10000:
            threading.Event().wait(0.05)  # the course's sandbox poll interval
            statuses.append(c.batches.retrieve(batch.id).status)
        done = c.batches.retrieve(batch.id)
        rows = c.files.content(done.output_file_id).text.splitlines()
    assert done.status == "completed" and done.request_counts.completed == 300
    assert len({json.loads(r)["custom_id"] for r in rows}) == 300
    # the statuses only moved forward, in the service's order
    order = ["validating", "in_progress", "finalizing", "completed"]
    seen = [s for i, s in enumerate(statuses) if i == 0 or s != statuses[i - 1]]
    assert seen[0] == "validating" and seen == [s for s in order if s in seen]


# ------------------------------------------------------ the response writer
def test_a_response_that_cannot_be_encoded_is_an_error_in_shape(tmp_path, monkeypatch):
    app = app_for(tmp_path / "sbx")
    http = httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url="http://sandbox")
    model = {"id": "m\udc80", "object": "model", "created": 0, "owned_by": "x"}
    monkeypatch.setattr(app.core, "list_models", lambda: [model])
    r = http.get("/v1/models")
    check_error(r.status_code, r.headers, r.json(), "/v1/models", "data[0].id")
    monkeypatch.setattr(app, "model_list", lambda *a: {"data": object()})
    app.routes = app._routes()
    r = http.get("/v1/models")
    assert r.status_code == 500 and r.json()["error"]["code"] == "server_error"
    assert r.headers["x-request-id"] in r.json()["error"]["message"]


def test_a_stream_that_fails_midway_ends_with_an_error_event(tmp_path, monkeypatch):
    from helpers.sandbox import streaming

    def broken(reply, request_id):
        yield b'data: {"id": "x"}\n\n'
        raise RuntimeError("boom")

    monkeypatch.setattr(streaming, "zhipu_events", broken)
    app = app_for(tmp_path / "sbx")
    http = httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url="http://sandbox")
    r = http.post(f"{Z}/chat/completions", content=body(stream=True),
                  headers={"Content-Type": JSON_TYPE})
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]
    assert r.status_code == 200 and events[0] == {"id": "x"}
    assert events[-1] == {"error": {"code": "500", "message": events[-1]["error"]["message"]}}
    assert r.headers["x-request-id"] in events[-1]["error"]["message"]
