"""Throughput of helpers.classify against the in-process sandbox.

Classifies N texts (default 1,000) with 100 ms injected latency per request:
sequentially (the same code path at concurrency 1) and at concurrency 16; then
again at concurrency 16 with 5% injected 429 and 5% injected 500 replies. The
429s carry Retry-After: 0.05 s (kept small so the run stays short; the SDK
honours it); the 500s carry none, so the SDK's own backoff applies.

Each prediction is checked against the sequential run's fingerprint for the
same input (label, prompt tokens, confidence): a missing or failed prediction
is lost, an index seen twice is duplicated, a mismatch is misordered.
No cache is used: every run sends real requests.

Last line: ``speedup: X, ideal_ratio: Y, lost: 0, duplicated: 0, misordered: 0``
where ideal_ratio = concurrent time / (N × latency / 16), both from the
fault-free runs; lost/duplicated/misordered are totals over all runs.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter

from helpers import clients, config
from helpers.classify import classify
from helpers.data import load_named
from helpers.sandbox import Faults

LATENCY = 0.1
CONCURRENCY = 16
RETRY_AFTER = 0.05


def load_texts(n: int) -> tuple[list[str], list[str]]:
    """The first n distinct news_zh texts (distinct, so no request is shared) and its labels."""
    frame, spec = load_named("news_zh")
    texts = list(dict.fromkeys(frame["text"]))
    if len(texts) < n:
        raise SystemExit(f"news_zh has only {len(texts)} distinct texts, {n} requested")
    return texts[:n], sorted(set(spec.label_map.values()))


def run(settings, texts, labels, faults: Faults, concurrency: int):
    client = clients.openai_client(settings, faults=faults)
    started = time.perf_counter()
    results = classify(client, texts, labels, "sandbox-base", lang="zh", concurrency=concurrency,
                       max_retries=8, logprobs=True, top_logprobs=3, progress=False)
    return results, time.perf_counter() - started


def fingerprint(p) -> tuple:
    return (p.label, p.prompt_tokens, None if p.confidence is None else round(p.confidence, 9))


def check(results, n: int, reference) -> dict[str, int]:
    preds = list(results)
    counts = Counter(p.index for p in preds)
    duplicated = sum(c - 1 for c in counts.values() if c > 1)
    lost = sum(1 for i in range(n) if i not in counts) + sum(1 for p in preds if p.error)
    misordered = sum(1 for pos, p in enumerate(preds)
                     if p.index != pos or (reference is not None and not p.error
                                           and fingerprint(p) != reference[pos]))
    return {"lost": lost, "duplicated": duplicated, "misordered": misordered}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="texts to classify (default 1000)")
    args = parser.parse_args(argv)
    texts, labels = load_texts(args.n)
    ideal = args.n * LATENCY / CONCURRENCY
    totals = Counter()
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as sandbox_dir:
        settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=sandbox_dir)
        clean = Faults(latency=LATENCY)
        faulty = Faults(latency=LATENCY, rate_429=0.05, rate_500=0.05, retry_after=RETRY_AFTER,
                        seed=7)

        seq, seq_s = run(settings, texts, labels, clean, 1)
        reference = [fingerprint(p) for p in seq]
        totals.update(check(seq, args.n, None))
        print(f"sequential (concurrency 1): {seq_s:.2f} s for {args.n} texts "
              f"({seq.requests} requests, {len(seq.errors)} errors)")

        con, con_s = run(settings, texts, labels, clean, CONCURRENCY)
        totals.update(check(con, args.n, reference))
        print(f"concurrent ({CONCURRENCY}): {con_s:.2f} s; ideal {ideal:.2f} s; "
              f"ratio {con_s / ideal:.3f}; speedup {seq_s / con_s:.2f}x")

        flt, flt_s = run(settings, texts, labels, faulty, CONCURRENCY)
        flt_check = check(flt, args.n, reference)
        totals.update(flt_check)
        s = flt.summary()
        print(f"concurrent ({CONCURRENCY}) with 5% 429 (Retry-After {RETRY_AFTER} s) + 5% 500: "
              f"{flt_s:.2f} s; ratio to ideal {flt_s / ideal:.3f}; retries {s['retries']}; "
              f"errors {s['errors']}; {flt_check}")

    print(f"speedup: {seq_s / con_s:.2f}, ideal_ratio: {con_s / ideal:.3f}, "
          f"lost: {totals['lost']}, duplicated: {totals['duplicated']}, "
          f"misordered: {totals['misordered']}")
    return 0 if sum(totals.values()) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
