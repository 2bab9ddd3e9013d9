"""Batch API path: request file, submit, poll, download, join by custom_id."""
import json

import httpx2
import openai

from helpers import prompts
from helpers.batch import build_batch_requests, join_results, read_jsonl_text, run_batch

LABELS = ["sports", "tech"]


def _ok(cid, content):
    body = {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}
    return {"id": "r", "custom_id": cid, "response": {"status_code": 200, "body": body},
            "error": None}


def test_request_lines_carry_custom_id_and_shared_prompt():
    lines = build_batch_requests(["a", "b"], LABELS, "m", lang="en", max_tokens=5)
    assert [line["custom_id"] for line in lines] == ["req-0", "req-1"]
    assert lines[1]["url"] == "/v1/chat/completions" and lines[1]["method"] == "POST"
    assert lines[1]["body"]["messages"] == prompts.messages("b", LABELS, "en")
    assert lines[1]["body"]["max_tokens"] == 5


def test_join_out_of_order_with_failures_loses_nothing():
    output = [_ok("req-3", "tech"), _ok("req-0", "It is sports."),
              {"custom_id": "req-1", "response": {"status_code": 500, "body": {
                  "error": {"message": "server error"}}}, "error": None},
              _ok("req-99", "tech")]  # not one of ours
    errors = [{"custom_id": "req-2", "response": None,
               "error": {"code": "batch_expired", "message": "not run in time"}}]
    res = join_results(5, LABELS, output, errors)
    assert [p.index for p in res.predictions] == [0, 1, 2, 3, 4]
    assert res.labels == ["sports", "unknown", "unknown", "tech", "unknown"]
    reasons = {f["custom_id"]: f["reason"] for f in res.failures}
    assert reasons["req-1"] == "HTTP 500: server error"
    assert reasons["req-2"] == "batch_expired: not run in time"
    assert "missing" in reasons["req-4"]
    assert res.problems == ["custom_id 'req-99' matches no request"]
    assert res.predictions[1].error and res.predictions[0].error is None


def test_duplicate_ids_keep_the_success_and_are_reported():
    output = [_ok("req-0", "tech"), _ok("req-0", "sports")]
    res = join_results(1, LABELS, output, [])
    assert res.labels == ["tech"]
    assert res.problems == ["custom_id 'req-0' appears more than once"]


def test_unreadable_lines_are_reported_with_line_numbers():
    records, problems = read_jsonl_text('{"custom_id": "req-0"}\n{oops\n\n{"x": 1}\n', "out.jsonl")
    assert len(records) == 1
    assert problems[0].startswith("out.jsonl:2: invalid JSON")
    assert problems[1] == "out.jsonl:4: no custom_id"


class FakeBatchAPI:
    """Files + batches endpoints; completes after two polls, output reversed."""

    def __init__(self):
        self.files = {}
        self.polls = 0
        self.uploaded_purpose = None
        self.created = []  # (kind, metadata) of every paid-for object
        self.metadata = None

    def batch(self, status):
        done = status == "completed"
        return {"id": "batch_1", "object": "batch", "endpoint": "/v1/chat/completions",
                "metadata": self.metadata,
                "input_file_id": "file-in", "completion_window": "24h", "created_at": 0,
                "status": status, "output_file_id": "file-out" if done else None,
                "error_file_id": "file-err" if done else None,
                "request_counts": {"total": 3, "completed": 2 if done else 0,
                                   "failed": 1 if done else 0}}

    def __call__(self, request):
        path = request.url.path
        if path == "/v1/files" and request.method == "GET":
            return httpx2.Response(200, json={"object": "list", "data": [], "has_more": False})
        if path == "/v1/batches" and request.method == "GET":
            data = [self.batch("completed")] if self.created else []
            return httpx2.Response(200, json={"object": "list", "data": data, "has_more": False})
        if path == "/v1/files" and request.method == "POST":
            raw = request.content
            self.uploaded_purpose = b'name="purpose"\r\n\r\nbatch' in raw
            start = raw.index(b'{"custom_id"')
            end = raw.rindex(b"}\n") + 2
            self.files["file-in"] = raw[start:end].decode()
            self.created.append("file")
            return httpx2.Response(200, json={"id": "file-in", "object": "file", "bytes": 1,
                                              "created_at": 0, "filename": "r.jsonl",
                                              "purpose": "batch", "status": "processed"})
        if path == "/v1/batches" and request.method == "POST":
            body = json.loads(request.content)
            assert body["input_file_id"] == "file-in"
            self.metadata = body["metadata"]
            self.created.append("batch")
            return httpx2.Response(200, json=self.batch("validating"))
        if path == "/v1/batches/batch_1":
            self.polls += 1
            return httpx2.Response(200, json=self.batch("completed" if self.polls >= 2
                                                        else "in_progress"))
        if path == "/v1/files/file-out/content":
            lines = [json.loads(x) for x in self.files["file-in"].splitlines()]
            text = prompts.parse_prompt
            out = [_ok(r["custom_id"], text(r["body"]["messages"][-1]["content"]).text.split()[-1])
                   for r in lines if r["custom_id"] != "req-1"]
            return httpx2.Response(200, text="\n".join(json.dumps(o) for o in reversed(out)))
        if path == "/v1/files/file-err/content":
            err = {"custom_id": "req-1", "response": {"status_code": 400, "body": {
                "error": {"message": "bad request"}}}, "error": None}
            return httpx2.Response(200, text=json.dumps(err) + "\n")
        return httpx2.Response(404, json={"error": {"message": f"no route {path}"}})


def test_run_batch_end_to_end(tmp_path):
    api = FakeBatchAPI()
    client = openai.OpenAI(api_key="test", base_url="http://t/v1", max_retries=0,
                           http_client=httpx2.Client(transport=httpx2.MockTransport(api)))
    texts = ["game about sports", "new tech", "more tech"]
    res = run_batch(client, texts, LABELS, "m", tmp_path, poll_seconds=0, progress=False,
                    lang="en")
    assert api.uploaded_purpose and api.polls == 2
    assert res.labels == ["sports", "unknown", "tech"]
    assert res.failures == [{"custom_id": "req-1", "index": 1, "reason": "HTTP 400: bad request"}]
    assert res.summary()["status"] == "completed"
    written = (tmp_path / "batches" / "eval.requests.jsonl").read_text().splitlines()
    assert [json.loads(x)["custom_id"] for x in written] == ["req-0", "req-1", "req-2"]
    assert api.created == ["file", "batch"] and api.metadata["name"] == "eval"
    # a rerun (even from a new work directory) finds the batch: nothing more is paid for
    again = run_batch(client, texts, LABELS, "m", tmp_path / "new", poll_seconds=0,
                      progress=False, lang="en")
    assert api.created == ["file", "batch"] and again.labels == res.labels
