"""Sandbox fine-tuning time for 1k / 10k / 100k synthetic examples x 3 epochs, and chat latency.

Each size runs a whole job (upload, validation, token billing, training,
checkpoints, results file) through the official OpenAI SDK in-process, with
``instant`` progression. Chat latency is the mean over in-process calls to the
fine-tuned model. The last line is the summary.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers import clients, config  # noqa: E402
from helpers.sandbox import synthetic  # noqa: E402

LABELS = list(synthetic.WORDS)
SIZES = (1_000, 10_000, 100_000)


def fine_tune_seconds(client, n: int) -> tuple[float, str]:
    data = synthetic.chat_jsonl(synthetic.headlines(n, seed=n), LABELS)
    start = time.perf_counter()
    f = client.files.create(file=("train.jsonl", data), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(
        model="sandbox-base", training_file=f.id, seed=0,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3}}})
    while job.status not in ("succeeded", "failed", "cancelled"):
        job = client.fine_tuning.jobs.retrieve(job.id)
    seconds = time.perf_counter() - start
    assert job.status == "succeeded", job.error
    return seconds, job.fine_tuned_model


def chat_ms(client, model: str, calls: int = 300) -> float:
    questions = [synthetic.messages(t, LABELS) for t, _ in synthetic.headlines(calls, seed=7)]
    client.chat.completions.create(model=model, messages=questions[0])  # load the weights once
    start = time.perf_counter()
    for q in questions:
        client.chat.completions.create(model=model, messages=q)
    return (time.perf_counter() - start) / calls * 1000


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as tmp:
        settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=Path(tmp))
        import os

        os.environ["COURSE_SANDBOX_PROGRESSION"] = "instant"
        client = clients.openai_client(settings, strict=True, timeout=600)
        seconds, model = {}, None
        for n in SIZES:
            seconds[n], model = fine_tune_seconds(client, n)
            print(f"{n:>7} examples x 3 epochs: {seconds[n]:.2f} s "
                  f"({seconds[n] / n * 1e6:.0f} us per example)", flush=True)
        ms = chat_ms(client, model)
        print(f"chat completion (fine-tuned, in-process, strict SDK): {ms:.2f} ms per call")
    growth = seconds[100_000] / seconds[10_000]
    print(f"seconds_1k: {seconds[1_000]:.2f}, seconds_10k: {seconds[10_000]:.2f}, "
          f"seconds_100k: {seconds[100_000]:.2f}, growth_10k_to_100k: {growth:.2f}, "
          f"chat_ms: {ms:.2f}")


if __name__ == "__main__":
    main()
