"""Zhipu's newer SDK ``zai-sdk`` against a served sandbox, from its own virtual environment.

``zai-sdk`` needs PyJWT >= 2.9 while the course's ``zhipuai`` pins PyJWT < 2.9,
so the two cannot share the course's environment: this module builds a venv in
pytest's temporary directory, pip-installs the pinned ``zai-sdk`` there (skipping
with pip's reason when that fails, e.g. offline), serves the sandbox on loopback
and runs small scripts in that venv that print JSON for the asserts here.
``ZhipuAiClient`` sends the key as a plain bearer token (no JWT by default),
which the sandbox accepts as any key.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest
from served_sandbox import served_sandbox

from helpers import prompts
from helpers.sandbox import synthetic
from helpers.sandbox.catalog import BASE_MODEL, EMBEDDING_MODEL

pytestmark = pytest.mark.slow

ZAI_SDK = "zai-sdk==0.2.3"  # `pip index versions zai-sdk`, 2026-12: latest
LABELS = list(synthetic.WORDS)
FAKE_KEY = "0123abcd" * 4 + "." + "zaiFakeSecret"  # any key: the sandbox checks none


@pytest.fixture(scope="module")
def zai_python(tmp_path_factory):
    """The venv's python with zai-sdk installed, or a skip saying why it could not be."""
    venv = tmp_path_factory.mktemp("zai-venv")
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True,
                          text=True)
    if made.returncode:
        pytest.skip(f"cannot create a virtual environment: {made.stderr.strip()[-300:]}")
    python = venv / "bin" / "python"
    pip = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                          "--timeout", "20", "--retries", "1", ZAI_SDK],
                         capture_output=True, text=True)
    if pip.returncode:
        reason = (pip.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"cannot install {ZAI_SDK} (no PyPI?): {reason}")
    return python


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {**os.environ, "COURSE_SANDBOX_PROGRESSION": "poll"}
    with served_sandbox(tmp_path_factory.mktemp("zai-served") / "sandbox", env=env) as url:
        yield f"{url}/api/paas/v4/"


def run_zai(python, url: str, body: str, data) -> dict:
    """Run ``body`` in the zai venv with ``client`` and ``data`` bound; return its JSON output."""
    code = ("import json, sys\nfrom zai import ZhipuAiClient\n"
            f"client = ZhipuAiClient(api_key={FAKE_KEY!r}, base_url={url!r})\n"
            "data = json.load(sys.stdin)\n" + textwrap.dedent(body))
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("API_KEY") and not k.startswith(("ZAI_", "PYTHON"))}
    done = subprocess.run([str(python), "-c", code], input=json.dumps(data), capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


CHAT = """
    reply = client.chat.completions.create(model=data["model"], messages=data["messages"])
    print(json.dumps({"answer": reply.choices[0].message.content,
                      "total_tokens": reply.usage.total_tokens}))
"""

STREAM = """
    kwargs = dict(model=data["model"], messages=data["messages"])
    whole = client.chat.completions.create(**kwargs).choices[0].message.content
    chunks = [c.choices[0].delta.content or "" for c in
              client.chat.completions.create(stream=True, **kwargs) if c.choices]
    print(json.dumps({"whole": whole, "chunks": chunks}))
"""


def test_zai_chat_answers_the_prompts_label(zai_python, server):
    sport = run_zai(zai_python, server, CHAT, {
        "model": BASE_MODEL, "messages": prompts.messages("主场绝杀卫冕冠军", LABELS)})
    money = run_zai(zai_python, server, CHAT, {
        "model": BASE_MODEL, "messages": prompts.messages("央行宣布降息，债券上涨", LABELS)})
    assert sport["answer"] == "体育" and money["answer"] == "财经"
    assert sport["total_tokens"] > 0


def test_zai_streamed_chunks_join_to_the_answer(zai_python, server):
    out = run_zai(zai_python, server, STREAM, {
        "model": BASE_MODEL, "messages": prompts.messages("央行宣布降息，债券上涨", LABELS)})
    assert out["whole"] == "财经"
    assert len(out["chunks"]) >= 1 and "".join(out["chunks"]) == out["whole"]


BATCH = """
    upload = client.files.create(file=("batch.jsonl", data["jsonl"].encode()), purpose="batch")
    batch = client.batches.create(input_file_id=upload.id, endpoint="/v4/chat/completions",
                                  completion_window="24h", auto_delete_input_file=False)
    statuses = [batch.status]
    for _ in range(50):
        if batch.status in ("completed", "failed", "expired", "cancelled"):
            break
        batch = client.batches.retrieve(batch.id)
        statuses.append(batch.status)
    lines = [json.loads(x) for x in
             client.files.content(batch.output_file_id).content.decode().splitlines() if x]
    print(json.dumps({"statuses": statuses, "file": upload.id, "input": batch.input_file_id,
                      "counts": batch.request_counts.model_dump(), "lines": lines}))
"""


def test_zai_files_and_batches_complete_with_a_readable_output(zai_python, server):
    texts = {"a": "主场绝杀卫冕冠军", "b": "央行宣布降息，债券上涨"}
    jsonl = "".join(json.dumps({"custom_id": key, "method": "POST", "url": "/v4/chat/completions",
                                "body": {"model": BASE_MODEL,
                                         "messages": prompts.messages(text, LABELS)}},
                               ensure_ascii=False) + "\n" for key, text in texts.items())
    out = run_zai(zai_python, server, BATCH, {"jsonl": jsonl})
    assert out["statuses"][-1] == "completed" and out["statuses"][0] != "completed"
    assert out["input"] == out["file"]
    assert out["counts"]["total"] == 2 and out["counts"]["completed"] == 2
    answers = {line["custom_id"]: line["response"]["body"]["choices"][0]["message"]["content"]
               for line in out["lines"]}
    assert answers == {"a": "体育", "b": "财经"}


EMBED = """
    reply = client.embeddings.create(model=data["model"], input=data["texts"])
    print(json.dumps({"vectors": [d.embedding for d in reply.data],
                      "indexes": [d.index for d in reply.data]}))
"""


def test_zai_embeddings_one_vector_per_text(zai_python, server):
    texts = ["主场绝杀卫冕冠军", "央行宣布降息，债券上涨", "主场绝杀卫冕冠军"]
    out = run_zai(zai_python, server, EMBED, {"model": EMBEDDING_MODEL, "texts": texts})
    vectors = out["vectors"]
    assert out["indexes"] == [0, 1, 2]
    assert len({len(v) for v in vectors}) == 1 and len(vectors[0]) > 1
    assert vectors[0] == vectors[2] and vectors[0] != vectors[1]
