"""How long a served batch takes under ``--progression time`` (serve's default pace).

Starts ``python -m helpers.sandbox serve --progression time`` on a free
loopback port, then:

* ``poll_s``: a batch of N chat requests, polled every 0.05 s (the course's
  sandbox poll interval), from create to ``completed``;
* ``late_polls``: another batch, left alone for 4 stage lengths, then polled:
  how many polls it takes to see ``completed`` (1: a late poll catches up on
  every stage that came due, so a client polling once a minute waits one
  interval, not one per stage).

The last line is the summary.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openai  # noqa: E402

from helpers import prompts  # noqa: E402
from helpers.sandbox import pacing, synthetic  # noqa: E402
from tests.served_sandbox import served_sandbox  # noqa: E402

LABELS = list(synthetic.WORDS)


def batch_file(n: int) -> bytes:
    rows = [{"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
             "body": {"model": "sandbox-base", "messages": prompts.messages(text, LABELS)}}
            for i, (text, _) in enumerate(synthetic.headlines(n, seed=5))]
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with (tempfile.TemporaryDirectory() as tmp,
          served_sandbox(Path(tmp) / "sbx", "--progression", "time") as url):
        c = openai.OpenAI(api_key="any", base_url=f"{url}/v1", max_retries=0)
        f = c.files.create(file=("b.jsonl", batch_file(args.requests)), purpose="batch")
        start = time.monotonic()
        batch = c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                                 completion_window="24h")
        while batch.status not in ("completed", "failed"):
            time.sleep(0.05)
            batch = c.batches.retrieve(batch.id)
        poll_s = time.monotonic() - start
        print(f"batch of {args.requests}: {batch.status}, "
              f"{batch.request_counts.completed} completed, {poll_s:.2f} s polled every 0.05 s")
        late = c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                                completion_window="24h")
        time.sleep(4 * pacing.PACES["course"])
        polls = 1
        while c.batches.retrieve(late.id).status not in ("completed", "failed"):
            polls += 1
        print(f"left alone for 4 stages, then polled: completed after {polls} poll(s)")
    print(f"requests: {args.requests}, poll_s: {poll_s:.2f}, late_polls: {polls}")


if __name__ == "__main__":
    main()
