"""200 concurrent chat requests against ``python -m helpers.sandbox serve``, idle and while
training.

Starts ``serve`` as a subprocess on a free loopback port (``--port 0``, through
``tests/served_sandbox.py``), then
fires a burst of N simultaneous connections (one POST /v1/chat/completions
each, released together by a barrier) twice:

* idle: nothing else runs;
* training: a 100k-example fine-tuning job (synthetic headlines) is made to
  train by a polling thread, and the burst starts once training has begun.
  ``overlap`` is the share of the burst's duration that fell inside the
  training window, so a burst that missed the training shows it.

Latencies are per request, from the barrier's release to the full answer.
The last line is the summary: served, failed, p50 and p99 (ms) for both.
"""
from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers import prompts  # noqa: E402
from helpers.sandbox import synthetic  # noqa: E402
from tests.served_sandbox import served_sandbox  # noqa: E402

LABELS = list(synthetic.WORDS)
BASE = "sandbox-base"


def call(port: int, method: str, path: str, body: bytes | None = None,
         headers: dict | None = None, timeout: float = 600) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def burst(port: int, n: int) -> dict:
    texts = [t for t, _ in synthetic.headlines(n, seed=11)]
    bodies = [json.dumps({"model": BASE, "messages": prompts.messages(t, LABELS)},
                         ensure_ascii=False).encode() for t in texts]
    barrier = threading.Barrier(n + 1)
    latency, errors = [None] * n, []
    release = [0.0]

    def one(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            conn.connect()
            barrier.wait(timeout=60)
            conn.request("POST", "/v1/chat/completions", body=bodies[i],
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            reply = json.loads(resp.read())
            if resp.status == 200 and reply["choices"][0]["message"]["content"] in LABELS:
                latency[i] = time.perf_counter() - release[0]
            else:
                errors.append(f"{resp.status}: {str(reply)[:120]}")
        except Exception as exc:  # resets, refusals and timeouts are what we count
            errors.append(repr(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    release[0] = time.perf_counter()
    barrier.wait(timeout=60)
    start = time.perf_counter()
    for t in threads:
        t.join()
    end = time.perf_counter()
    ok = sorted(x * 1000 for x in latency if x is not None)
    return {"served": len(ok), "failed": n - len(ok), "errors": errors[:3],
            "p50": statistics.median(ok) if ok else float("nan"),
            "p99": ok[min(len(ok) - 1, int(0.99 * len(ok)))] if ok else float("nan"),
            "start": start, "end": end}


def upload(port: int, data: bytes) -> str:
    boundary = "sandboxloadbench"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n"
            f"fine-tune\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"train.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n").encode() \
        + data + f"\r\n--{boundary}--\r\n".encode()
    status, out = call(port, "POST", "/v1/files", body,
                       {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 200, out
    return json.loads(out)["id"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200, help="concurrent requests per burst")
    parser.add_argument("--examples", type=int, default=100_000)
    args = parser.parse_args()
    with (tempfile.TemporaryDirectory(prefix="sandbox-load-") as tmp,
          served_sandbox(Path(tmp), "--progression", "poll") as url):
        port = urlsplit(url).port
        call(port, "POST", "/v1/chat/completions", json.dumps(
            {"model": BASE, "messages": prompts.messages("热身", LABELS)}).encode(),
            {"Content-Type": "application/json"})
        idle = burst(port, args.n)
        print(f"idle: {idle['served']}/{args.n} served, p50 {idle['p50']:.0f} ms, "
              f"p99 {idle['p99']:.0f} ms, burst {idle['end'] - idle['start']:.2f} s",
              flush=True)

        data = synthetic.chat_jsonl(synthetic.headlines(args.examples, seed=5), LABELS)
        file_id = upload(port, data)
        status, out = call(port, "POST", "/v1/fine_tuning/jobs", json.dumps(
            {"model": BASE, "training_file": file_id, "seed": 0}).encode(),
            {"Content-Type": "application/json"})
        job = json.loads(out)
        assert status == 200, out
        window = {"start": None, "end": None}

        def poll():
            state = job["status"]
            while state not in ("succeeded", "failed", "cancelled"):
                if state == "queued" and window["start"] is None:
                    window["start"] = time.perf_counter()  # this retrieve trains
                _, raw = call(port, "GET", f"/v1/fine_tuning/jobs/{job['id']}")
                state = json.loads(raw)["status"]
                time.sleep(0.05)
            window["end"] = time.perf_counter()
            window["status"] = state

        poller = threading.Thread(target=poll)
        poller.start()
        while window["start"] is None and poller.is_alive():
            time.sleep(0.05)
        time.sleep(0.5)  # training has begun in the server
        busy = burst(port, args.n)
        poller.join()
        inside = max(0.0, min(busy["end"], window["end"]) - max(busy["start"],
                                                                window["start"]))
        overlap = inside / max(1e-9, busy["end"] - busy["start"])
        print(f"training ({args.examples} examples, job {window['status']} after "
              f"{window['end'] - window['start']:.1f} s of training and finishing): "
              f"{busy['served']}/{args.n} served, p50 {busy['p50']:.0f} ms, "
              f"p99 {busy['p99']:.0f} ms, burst {busy['end'] - busy['start']:.2f} s, "
              f"{overlap:.0%} of it during training", flush=True)
        for e in idle["errors"] + busy["errors"]:
            print("  error:", e)
    print(f"idle_served: {idle['served']}, idle_failed: {idle['failed']}, "
          f"idle_p50_ms: {idle['p50']:.0f}, idle_p99_ms: {idle['p99']:.0f}, "
          f"train_served: {busy['served']}, train_failed: {busy['failed']}, "
          f"train_p50_ms: {busy['p50']:.0f}, train_p99_ms: {busy['p99']:.0f}, "
          f"overlap: {overlap:.2f}")


if __name__ == "__main__":
    main()
