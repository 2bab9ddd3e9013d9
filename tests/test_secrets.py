"""A planted key must reach neither a cassette nor a notebook's outputs."""
import os

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

# Fake keys are assembled at run time so secret scanners do not flag this file.
PLANTED_OPENAI = "sk-" + "proj-PLANTEDkey0123456789abcdefXYZ"
PLANTED_ZHIPU = "0123456789abcdef" * 2 + ".PLANTEDsecretZZZ"

CELLS = [
    "import os, httpx2, openai\n"
    "from helpers import config, pipeline, prompts, recording, sandbox",
    "settings = config.resolve(backend='sandbox', mode='record')\n"
    "recording.activate(os.environ['CASSETTE'], settings)\n"
    "print(settings)",
    # A client that really sends the planted key and org/project ids with every request
    # (on the course's transport, as helpers.clients makes them: only those are recorded).
    "client = openai.OpenAI(api_key=os.environ['OPENAI_API_KEY'], organization='org-PLANTEDorg',\n"
    "    project='proj-PLANTEDproj', base_url='http://sandbox.local/v1',\n"
    "    http_client=httpx2.Client(transport=recording.course_transport(httpx2,\n"
    "        httpx2.WSGITransport(app=sandbox.app_for(settings.sandbox_dir)))))\n"
    "reply = client.chat.completions.create(model='sandbox-base',\n"
    "    messages=prompts.messages('国足1比0取胜', ['体育', '财经'], 'zh'))\n"
    "reply",
    "client.files.create(file=('t.jsonl', b'{}'), purpose='fine-tune')",
    "run = pipeline.start('secrets', mode='record')\nprint(run.describe())\nrun.settings",
    "recording.deactivate()",
]


@pytest.mark.slow
def test_planted_keys_appear_in_no_cassette_and_no_output(tmp_path):
    nb = new_notebook(cells=[new_code_cell(src) for src in CELLS])
    cassette = tmp_path / "secrets.sandbox.json"
    env_before = dict(os.environ)
    os.environ.update(OPENAI_API_KEY=PLANTED_OPENAI, ZHIPUAI_API_KEY=PLANTED_ZHIPU,
                      CASSETTE=str(cassette), COURSE_SANDBOX_DIR=str(tmp_path / "sb"),
                      COURSE_WORK_DIR=str(tmp_path / "work"))
    try:
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    written = "\n".join(str(out) for cell in nb.cells for out in cell.outputs)
    recorded = cassette.read_text(encoding="utf-8")
    assert "chat/completions" in recorded and "体育" in written  # the run really happened
    for secret in (PLANTED_OPENAI, PLANTED_ZHIPU, "PLANTEDorg", "PLANTEDproj"):
        for part in (secret, secret[-10:]):
            assert part not in recorded
            assert part not in written
