"""What reasoning effort buys on sandbox-reasoning: accuracy, reasoning and answer tokens.

For every shipped dataset (all rows, the course's zero-shot prompt, the labels
of the dataset) and every ``reasoning_effort``, one chat completion per row
through the official OpenAI SDK against the in-process sandbox. Printed per
dataset and effort: accuracy, mean reasoning tokens and mean answer (visible)
tokens per request. Effort is a stand-in (``helpers/sandbox/reasoning.py``):
the goal is that accuracy never falls as effort rises while the tokens billed
grow. The last line is the summary: ``name: value`` pairs (mean accuracy over
the datasets and mean reasoning tokens per effort, and ``monotone``).
"""
from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2  # noqa: E402
import openai  # noqa: E402

from helpers import prompts  # noqa: E402
from helpers.data import load_named  # noqa: E402
from helpers.sandbox import app_for  # noqa: E402
from helpers.sandbox.catalog import REASONING_MODEL  # noqa: E402
from helpers.sandbox.reasoning import EFFORTS  # noqa: E402

SHIPPED = ("news_zh", "sports_en", "reviews_en")


def rows(name: str):
    df, spec = load_named(name)
    labels = df["label"].map(lambda x: spec.label_map.get(x, x))
    present = [lab for lab in dict.fromkeys(spec.label_map.values()) if lab in set(labels)]
    return list(zip(df["text"], labels, strict=True)), present, spec.language


def measure(client, data, labels, lang, effort: str) -> dict:
    hits = reasoning_tokens = answer_tokens = 0
    for text, label in data:
        r = client.chat.completions.create(model=REASONING_MODEL, reasoning_effort=effort,
                                           messages=prompts.messages(text, labels, lang))
        hits += (r.choices[0].message.content or "").strip() == label
        spent = r.usage.completion_tokens_details.reasoning_tokens
        reasoning_tokens += spent
        answer_tokens += r.usage.completion_tokens - spent
    n = max(len(data), 1)
    return {"accuracy": hits / n, "reasoning": reasoning_tokens / n, "answer": answer_tokens / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="*", default=list(SHIPPED))
    parser.add_argument("--limit", type=int, default=None, help="first N rows of each set")
    args = parser.parse_args()
    results: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory(prefix="reasoning-effort-") as tmp:
        client = openai.OpenAI(
            api_key="sk-bench", base_url="http://sandbox.local/v1", max_retries=0,
            http_client=httpx2.Client(transport=httpx2.WSGITransport(app=app_for(Path(tmp)))))
        for name in args.datasets:
            data, labels, lang = rows(name)
            data = data[:args.limit] if args.limit else data
            results[name] = {}
            for effort in EFFORTS:
                m = measure(client, data, labels, lang, effort)
                results[name][effort] = m
                print(f"{name:11s} n={len(data):5d} effort={effort:8s} "
                      f"accuracy={m['accuracy']:.4f} reasoning_tokens={m['reasoning']:7.1f} "
                      f"answer_tokens={m['answer']:.2f}", flush=True)
    monotone = all(r[a]["accuracy"] <= r[b]["accuracy"] + 1e-12 for r in results.values()
                   for a, b in itertools.pairwise(EFFORTS))
    summary = []
    for effort in EFFORTS:
        acc = sum(r[effort]["accuracy"] for r in results.values()) / len(results)
        tokens = sum(r[effort]["reasoning"] for r in results.values()) / len(results)
        summary += [f"accuracy_{effort}: {acc:.4f}", f"reasoning_tokens_{effort}: {tokens:.1f}"]
    print(" ".join(summary + [f"monotone: {'yes' if monotone else 'no'}"]))


if __name__ == "__main__":
    main()
