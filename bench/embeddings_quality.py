"""Embeddings quality: LogisticRegression on ``sandbox-embed`` vectors vs a TF-IDF baseline.

For each dataset of ``bench/sandbox_quality.py`` (the shipped sets always, the
real ones when their package is installed) and each of its fixed splits, in
one run: the train, validation and test texts are embedded through the
official OpenAI SDK against the in-process sandbox; a scikit-learn
LogisticRegression (C chosen on the validation rows) is trained on the
training vectors and scored on the test rows, beside that script's TF-IDF +
LogisticRegression baseline on the same rows.

The last line is the summary: ``name: value`` pairs, each set's ratio
embeddings / baseline and ``min_ratio``. Goal: every ratio >= 0.85.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import sandbox_quality as sq  # noqa: E402

from helpers.data import prepare  # noqa: E402

GOAL = 0.85


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="*", default=list(sq.SHIPPED) + list(sq.REAL))
    parser.add_argument("--seeds", nargs="*", type=int, default=list(sq.SPLIT_SEEDS))
    args = parser.parse_args()
    summary: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="embeddings-quality-") as tmp:
        client = sq.in_process_client(Path(tmp))
        for name, df, lang, _labels in sq.datasets(args.datasets):
            emb, base = [], []
            for seed in args.seeds:
                start = time.perf_counter()
                train, valid, test = prepare.split(df, seed=seed)
                e, chosen = sq.embedding_accuracy(client, train, valid, test)
                b, b_chosen = sq.baseline(train, valid, test, lang)
                emb.append(e)
                base.append(b)
                print(f"  {name} split {seed}: n_train={len(train)} n_test={len(test)} "
                      f"embeddings={e:.3f} ({chosen}) baseline={b:.3f} ({b_chosen}; "
                      f"{time.perf_counter() - start:.0f} s)", flush=True)
            ratio = float(np.mean(emb)) / float(np.mean(base))
            summary[f"{name}_embeddings"] = float(np.mean(emb))
            summary[f"{name}_baseline"] = float(np.mean(base))
            summary[f"{name}_ratio"] = ratio
            print(f"{name}: embeddings={np.mean(emb):.3f} baseline={np.mean(base):.3f} "
                  f"ratio={ratio:.3f}", flush=True)
    ratios = [v for k, v in summary.items() if k.endswith("_ratio")]
    summary["min_ratio"] = min(ratios) if ratios else float("nan")
    summary["goal"] = GOAL
    print(" ".join(f"{k}: {v:.3f}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
