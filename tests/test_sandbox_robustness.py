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
import re
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import httpx2
import openai
import pytest
import zhipuai

from helpers import clients, config, prompts
from helpers.sandbox import app_for, core_for, synthetic
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
