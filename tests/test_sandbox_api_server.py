"""``python -m helpers.sandbox serve`` as a real server (waitress), over loopback only."""
import asyncio
import hashlib
import http.client
import json
import re
import socket
import subprocess
import sys
import threading

import openai
import pytest
import zhipuai

from helpers import prompts
from helpers.sandbox import __main__ as cli
from helpers.sandbox import server as sandbox_server
from helpers.sandbox import synthetic
from helpers.sandbox.core import BASE_MODEL

LABELS = list(synthetic.WORDS)
MSGS = prompts.messages("国足主场绝杀卫冕冠军", LABELS)
CHAT = json.dumps({"model": BASE_MODEL, "messages": MSGS}, ensure_ascii=False).encode()


class Served:
    def __init__(self, proc, url, data_dir):
        self.proc, self.url, self.data_dir = proc, url, data_dir
        self.port = int(url.rsplit(":", 1)[1])

    def openai(self, **kw):
        return openai.OpenAI(api_key="any", base_url=f"{self.url}/v1", max_retries=0,
                             _strict_response_validation=True, **kw)

    def raw(self, data: bytes, timeout: float = 5.0) -> bytes:
        """Send bytes on a fresh socket; everything the server answers until it closes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            out = b""
            while b"\r\n\r\n" not in out or not _complete(out):
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
            return out

    def memory(self, field: str) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            status = f.read()
        return int(re.search(rf"{field}:\s+(\d+) kB", status).group(1)) * 1024

    def reset_peak(self) -> None:
        """Start a new peak-RSS (VmHWM) measurement (Linux: write 5 to clear_refs)."""
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
            f.write("5")


def _complete(raw: bytes) -> bool:
    head, _, body = raw.partition(b"\r\n\r\n")
    m = re.search(rb"content-length: (\d+)", head, re.I)
    return bool(m) and len(body) >= int(m.group(1))


def start_server(data_dir, *extra) -> Served:
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpers.sandbox", "serve", "--port", "0", "--data-dir",
         str(data_dir), "--progression", "poll", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # the first line names the real address
    m = re.search(r"http://127\.0\.0\.1:\d+", line)
    if not m:
        proc.kill()
        raise RuntimeError(f"serve did not start: {line!r} {proc.stderr.read()}")
    return Served(proc, m.group(0), data_dir)


def stop_server(served: Served) -> None:
    served.proc.terminate()
    try:
        served.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        served.proc.kill()
        served.proc.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One server for this module (starting one imports the whole stack: seconds)."""
    s = start_server(tmp_path_factory.mktemp("served") / "sbx")
    try:
        yield s
    finally:
        stop_server(s)


@pytest.mark.slow
def test_sync_openai_and_zhipu_against_the_served_sandbox(served):
    c = served.openai()
    plain = c.chat.completions.create(model=BASE_MODEL, messages=MSGS)
    text = "".join(ch.choices[0].delta.content or "" for ch in c.chat.completions.create(
        model=BASE_MODEL, messages=MSGS, stream=True) if ch.choices)
    assert text == plain.choices[0].message.content == "体育"
    z = zhipuai.ZhipuAI(api_key="any.key", base_url=f"{served.url}/api/paas/v4", max_retries=0)
    chunks = list(z.chat.completions.create(model=BASE_MODEL, messages=MSGS, stream=True))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks) == "体育"


@pytest.mark.slow
def test_async_openai_streams_from_the_served_sandbox(served):
    async def run():
        c = openai.AsyncOpenAI(api_key="any", base_url=f"{served.url}/v1", max_retries=0,
                               _strict_response_validation=True)
        plain = await c.chat.completions.create(model=BASE_MODEL, messages=MSGS, logprobs=True,
                                                top_logprobs=2)
        stream = await c.chat.completions.create(
            model=BASE_MODEL, messages=MSGS, stream=True, logprobs=True, top_logprobs=2,
            stream_options={"include_usage": True})
        chunks = [ch async for ch in stream]
        many = await asyncio.gather(*[c.chat.completions.create(model=BASE_MODEL, messages=MSGS)
                                      for _ in range(20)])
        await c.close()
        return plain, chunks, many

    plain, chunks, many = asyncio.run(run())
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == plain.choices[0].message.content
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == plain.usage.total_tokens
    assert {r.choices[0].message.content for r in many} == {"体育"}
    assert len({r.id for r in many}) == 20  # ids are unique per request


@pytest.mark.slow
def test_negative_missing_and_huge_content_length_answer_at_once(served):
    negative = served.raw(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\nContent-Length: -5\r\n\r\n")
    assert negative.startswith(b"HTTP/1.1 400")
    assert json.loads(negative.partition(b"\r\n\r\n")[2])["error"]["message"]
    missing = served.raw(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\n\r\n" + CHAT)
    assert missing.startswith(b"HTTP/1.1 411")
    huge = served.raw(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n")
    assert huge.startswith(b"HTTP/1.1 413")
    assert json.loads(huge.partition(b"\r\n\r\n")[2])["error"]["code"] == "request_too_large"
    # A server left waiting for the body would make ``raw`` fail on its socket timeout.


@pytest.mark.slow
def test_chunked_request_body_is_read(served):
    body = hex(len(CHAT))[2:].encode() + b"\r\n" + CHAT + b"\r\n0\r\n\r\n"
    answer = served.raw(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + body)
    assert answer.startswith(b"HTTP/1.1 200")
    reply = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert reply["choices"][0]["message"]["content"] == "体育"


@pytest.mark.slow
def test_405_and_non_utf8_body_over_the_wire(served):
    got = served.raw(b"GET /v1/chat/completions HTTP/1.1\r\nHost: x\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 405")
    bad = b'{"model": "sandbox-base", "messages": "\xff"}'
    got = served.raw(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: "
                     + str(len(bad)).encode() + b"\r\n\r\n" + bad)
    assert got.startswith(b"HTTP/1.1 400") and b"UTF-8" in got


@pytest.mark.slow
def test_large_upload_is_streamed_to_disk_with_bounded_memory(served):
    line = (json.dumps({"messages": [{"role": "user", "content": "主场绝杀" * 20},
                                     {"role": "assistant", "content": "体育"}]},
                       ensure_ascii=False) + "\n").encode()
    size = 96 * 1024 * 1024
    data = line * (size // len(line))
    c = served.openai()
    c.models.list()  # warm up: imports and the store are loaded before measuring
    served.reset_peak()
    before = served.memory("VmRSS")
    f = c.files.create(file=("big.jsonl", data), purpose="fine-tune")
    grown = served.memory("VmHWM") - before
    print(f"upload of {len(data) / 2**20:.0f} MiB: server peak RSS grew {grown / 2**20:.1f} MiB")
    assert f.bytes == len(data)
    stored = served.data_dir / "files" / f.id
    assert hashlib.sha256(stored.read_bytes()).digest() == hashlib.sha256(data).digest()
    # Reading the whole file into memory would grow the peak by at least its 96 MiB.
    assert grown < 24 * 1024 * 1024, f"server peak RSS grew by {grown / 2**20:.1f} MiB"


@pytest.mark.slow
def test_200_concurrent_clients_are_all_served(served):
    n = 200
    barrier = threading.Barrier(n)
    results = [None] * n

    def one(i):
        conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
        try:
            barrier.wait(timeout=30)
            conn.request("POST", "/v1/chat/completions", body=CHAT,
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            body = json.loads(resp.read())
            results[i] = (resp.status, body["choices"][0]["message"]["content"])
        except Exception as exc:  # a reset or timeout is what this test looks for
            results[i] = ("error", repr(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    failures = [r for r in results if r != (200, "体育")]
    assert failures == [], failures[:5]


def test_serve_binds_loopback_by_default_and_warns_elsewhere(monkeypatch, tmp_path, capsys):
    assert sandbox_server.is_loopback("127.0.0.1") and sandbox_server.is_loopback("::1")
    assert sandbox_server.is_loopback("localhost")
    assert not sandbox_server.is_loopback("0.0.0.0") and not sandbox_server.is_loopback("10.1.2.3")
    assert cli.build_parser().parse_args(["serve"]).host == "127.0.0.1"
    seen = {}

    class NoServer:  # stands in for waitress: nothing listens, nothing is sent
        effective_port = 1234

        def run(self):
            return None

        def close(self):
            return None

    def fake_make_server(app, host, port, **kw):
        seen.update(host=host, progression=app.progression, limit=app.max_upload_bytes)
        return NoServer()

    monkeypatch.setattr(cli, "make_server", fake_make_server)
    monkeypatch.delenv("COURSE_SANDBOX_PROGRESSION", raising=False)
    assert cli.main(["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "s"),
                     "--max-upload-bytes", "1000"]) == 0
    out = capsys.readouterr()
    assert "warning" in out.err and "0.0.0.0" in out.err
    assert seen == {"host": "0.0.0.0", "progression": "time", "limit": 1000}
    assert cli.main(["serve", "--data-dir", str(tmp_path / "s")]) == 0
    assert "warning" not in capsys.readouterr().err


def test_server_settings_hold_a_real_load():
    assert sandbox_server.BACKLOG >= 128 and sandbox_server.CHANNEL_TIMEOUT > 0
    assert sandbox_server.CONNECTION_LIMIT >= 200
