"""A batch run to its end through the OpenAI SDK, for the sandbox tests that check its output."""
from __future__ import annotations

import json


def finished_batch(client, lines: bytes, endpoint: str, name: str = "b.jsonl"):
    """Upload ``lines`` as a batch input file, create a batch on ``endpoint`` and poll it until
    it is completed or failed; the last batch object seen."""
    f = client.files.create(file=(name, lines), purpose="batch")
    batch = client.batches.create(input_file_id=f.id, endpoint=endpoint, completion_window="24h")
    while batch.status not in ("completed", "failed"):
        batch = client.batches.retrieve(batch.id)
    return batch


def output_rows(client, batch) -> list[dict]:
    """The batch's output file, one JSON object a line, split on "\\n" only (as JSON lines are)."""
    text = client.files.content(batch.output_file_id).text
    return [json.loads(line) for line in text.split("\n") if line]
