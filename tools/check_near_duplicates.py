"""Report pairs of rows whose character-3-gram Jaccard similarity is >= 0.8.

Usage: python tools/check_near_duplicates.py FILE.jsonl [FILE2.jsonl ...] --field sentence
Used while writing the shipped datasets; tests use helpers.data for the same rule.
"""
import argparse
import json
from itertools import combinations


def grams(text, n=3):
    t = "".join(text.split())
    return {t[i:i + n] for i in range(max(1, len(t) - n + 1))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--field", default="sentence")
    ap.add_argument("--threshold", type=float, default=0.8)
    args = ap.parse_args()
    rows = []
    for f in args.files:
        for i, line in enumerate(open(f, encoding="utf-8"), 1):
            if line.strip():
                rows.append((f, i, json.loads(line)[args.field]))
    gs = [grams(r[2]) for r in rows]
    bad = 0
    for a, b in combinations(range(len(rows)), 2):
        inter = len(gs[a] & gs[b])
        if inter and inter / len(gs[a] | gs[b]) >= args.threshold:
            bad += 1
            print(f"{rows[a][0]}:{rows[a][1]} ~ {rows[b][0]}:{rows[b][1]}: {rows[a][2]!r} | {rows[b][2]!r}")
    print(f"{len(rows)} rows, {bad} near-duplicate pairs")


if __name__ == "__main__":
    main()
