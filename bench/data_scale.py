"""Validate and prepare 10k, 100k and 1M generated rows: time and peak memory per size.

Each size is a JSON-lines table (half Chinese news-like sentences, half English
review-like sentences, five labels) with planted exact duplicates (1%, some
with changed whitespace) and near duplicates (2%: an earlier text with one
character or word changed). Each size runs in its own child process, which
validates the file (``validate_file``, what ``python -m helpers.data validate``
does) and then prepares it (``load_records`` + ``preparation_plan``); the
child reports wall time, its peak resident memory and its CPU time (user +
system, what the growth ratio uses: on a shared machine wall time also
measures the neighbours). ``peak_mb`` is the child's own high-water mark
(``VmHWM``, interpreter and libraries included); ``maxrss_mb`` is
``ru_maxrss``, which on Linux also counts the parent's resident memory at the
moment it started the child (the high-water mark of the address space
``exec`` replaced): with the generated rows and the 10k recall in the
parent, that floor is ~350 MB, so ``ru_maxrss`` showed 356 MB at 10k rows.

Recall: on the 10k file, the near-duplicate pairs the preparation finds
(``near_duplicate_pairs``) against the exact pairwise method
(``exact_near_duplicate_pairs``, every pair compared), over all pairs and over
the planted ones.

Usage: python bench/data_scale.py [--sizes 10000 100000 1000000] [--keep DIR]
The last line: ``name: value`` pairs, with growth_100k_1m (CPU time at 1M over
CPU time at 100k; 10 is linear), peak_mb_1m and maxrss_mb_1m.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABELS = ["finance", "sports", "tech", "travel", "health"]
SYLLABLES = [a + b for a in "kmstrdbp" for b in "aeiou"] + ["st", "tr", "ch", "sh", "th", "qu"]


def _vocabulary(rng: random.Random, n: int = 4000) -> list[str]:
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(n)]


def _zh(rng: random.Random) -> str:
    # Common CJK characters, skewed towards the frequent ones as in real text.
    return "".join(chr(0x4E00 + int(rng.paretovariate(1.2) * 40) % 3500)
                   for _ in range(rng.randint(20, 80))) + "。"


def _en(rng: random.Random, words: list[str]) -> str:
    n = rng.randint(12, 45)
    return " ".join(words[min(len(words) - 1, int(rng.paretovariate(1.1)) * 7 % len(words))
                          if rng.random() < 0.3 else rng.randrange(len(words))]
                    for _ in range(n)).capitalize() + "."


def _near(rng: random.Random, text: str, words: list[str]) -> str:
    """One small edit: a word replaced (English) or a character replaced (Chinese)."""
    if " " in text:
        parts = text.split(" ")
        parts[rng.randrange(len(parts))] = rng.choice(words)
        return " ".join(parts)
    i = rng.randrange(len(text) - 1)
    return text[:i] + chr(0x4E00 + rng.randrange(3500)) + text[i + 1:]


def generate(n: int, seed: int = 0) -> tuple[list[dict], list[tuple[int, int]]]:
    """Rows, and the planted (original position, near-duplicate position) pairs."""
    rng = random.Random(seed)
    words = _vocabulary(rng)
    rows: list[dict] = []
    planted: list[tuple[int, int]] = []
    for i in range(n):
        r = rng.random()
        if i > 10 and r < 0.01:
            src = rng.randrange(i)
            text = rows[src]["text"]
            if rng.random() < 0.5:
                text = "  " + text.replace(" ", "  ")  # whitespace differs only
            rows.append({"text": text, "label": rows[src]["label"]})
        elif i > 10 and r < 0.03:
            src = rng.randrange(i)
            rows.append({"text": _near(rng, rows[src]["text"], words),
                         "label": rows[src]["label"]})
            planted.append((src, i))
        else:
            text = _zh(rng) if rng.random() < 0.5 else _en(rng, words)
            rows.append({"text": text, "label": rng.choice(LABELS)})
    return rows, planted


def write(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def child(path: str) -> None:
    """Validate and prepare one file; print a JSON line of times and peak memory."""
    from helpers.data import load_records, preparation_plan, validate_file

    t0 = time.perf_counter()
    report = validate_file(path, "table")[1]  # the rows are not kept while preparing
    t1 = time.perf_counter()
    df = load_records(path, on_error="warn")
    plan = preparation_plan(df, 5)
    t2 = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"validate_s": t1 - t0, "prepare_s": t2 - t1,
                      "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": _own_peak_mb(),
                      "maxrss_mb": usage.ru_maxrss / 1024,
                      "findings": len(report.problems), "drops": dict(plan.counts())}))


def _own_peak_mb() -> float | None:
    """This process's peak resident memory since it started (Linux ``VmHWM``)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    kb = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")),
              None)
    return None if kb is None else int(kb) / 1024


def run_child(path: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", str(path)], cwd=ROOT,
                          capture_output=True, text=True)
    if done.returncode:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"failed": tail}
    return json.loads(done.stdout.strip().splitlines()[-1])


def recall(rows: list[dict], planted: list[tuple[int, int]]) -> dict:
    from helpers.data import dedup

    texts = [r["text"] for r in rows]
    exact = {(i, j) for i, j, _ in dedup.exact_near_duplicate_pairs(texts)}
    found = {(i, j) for i, j, _ in dedup.near_duplicate_pairs(texts)}
    planted_exact = exact.intersection(planted)
    return {"pairs_exact": len(exact), "pairs_found": len(found),
            "false_positives": len(found - exact),
            "recall_all": len(found & exact) / max(1, len(exact)),
            "recall_planted": len(found & planted_exact) / max(1, len(planted_exact)),
            "planted": len(planted), "planted_over_threshold": len(planted_exact)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--child")
    parser.add_argument("--keep", help="directory for the generated files (default: temporary)")
    parser.add_argument("--no-recall", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    folder = Path(args.keep or tempfile.mkdtemp(prefix="data_scale_"))
    folder.mkdir(parents=True, exist_ok=True)
    results, summary = {}, {}
    for n in args.sizes:
        path = folder / f"rows_{n}.jsonl"
        rows, planted = generate(n)
        write(path, rows)
        if n == 10_000 and not args.no_recall:
            rec = recall(rows, planted)
            print(f"recall on 10k rows: {json.dumps(rec)}")
            summary["recall_10k"] = round(rec["recall_planted"], 4)
            summary["recall_all_10k"] = round(rec["recall_all"], 4)
            summary["false_positives_10k"] = rec["false_positives"]
        del rows
        res = results[n] = run_child(path)
        print(f"{n:>9,} rows: {json.dumps(res)}", flush=True)
        if not args.keep:
            path.unlink()
    tag = {10_000: "10k", 100_000: "100k", 1_000_000: "1m"}
    for n, res in results.items():
        name = tag.get(n, str(n))
        if "failed" in res:
            summary[f"total_s_{name}"] = "failed"
            continue
        summary[f"total_s_{name}"] = round(res["validate_s"] + res["prepare_s"], 2)
        summary[f"cpu_s_{name}"] = round(res["cpu_s"], 2)
        peak = res["peak_mb"] if res["peak_mb"] is not None else res["maxrss_mb"]
        summary[f"peak_mb_{name}"] = round(peak)
        summary[f"maxrss_mb_{name}"] = round(res["maxrss_mb"])
    a, b = summary.get("cpu_s_100k"), summary.get("cpu_s_1m")
    if isinstance(a, float) and isinstance(b, float):
        summary["growth_100k_1m"] = round(b / a, 2)  # CPU time: other processes do not skew it
        summary["growth_wall_100k_1m"] = round(summary["total_s_1m"] / summary["total_s_100k"], 2)
    print(", ".join(f"{k}: {v}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
