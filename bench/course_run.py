"""Time a full course run on a 1,000-row dataset: sandbox backend, live mode.

Builds the dataset from the shipped Chinese news (``dataset/news_zh.jsonl``):
rows shuffled with a fixed seed, exact duplicate headlines left out so the
dataset validates clean, first 1,000 kept. Then runs ``python -m helpers.course run`` on it into a temporary
directory, exactly as a user would, and reads the per-notebook seconds from
the run's summary.json. Goal: 120 s in total on the course machine.

Usage: python bench/course_run.py [--rows 1000] [--keep DIR] [--n-train N] [--n-test N]
       [--notebooks-dir DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 120.0


def news_lines() -> list[str]:
    path = REPO / "dataset" / "news_zh.jsonl"
    if not path.is_file():
        sys.exit(f"{path} is missing: the benchmark dataset is built from it")
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def build_dataset(path: Path, rows: int, seed: int = 0) -> int:
    """Write ``rows`` distinct news records to ``path``; return how many were written."""
    lines = news_lines()
    random.Random(seed).shuffle(lines)
    seen, kept = set(), []
    for line in lines:
        record = json.loads(line)
        key = " ".join(record["sentence"].split())
        if key in seen:
            continue
        seen.add(key)
        kept.append(line)
        if len(kept) == rows:
            break
    if len(kept) < rows:
        sys.exit(f"only {len(kept)} distinct news rows available, {rows} asked for")
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return len(kept)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--keep", type=Path, help="run into this directory and keep it")
    ap.add_argument("--n-train", type=int)
    ap.add_argument("--n-test", type=int)
    ap.add_argument("--notebooks-dir", type=Path, help="other notebooks to time (default: notebooks/)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="course-bench-") as tmp:
        tmp = Path(tmp)
        data = tmp / f"news_{args.rows}.jsonl"
        n = build_dataset(data, args.rows)
        out = args.keep or tmp / "run"
        cmd = [sys.executable, "-m", "helpers.course", "run", "--dataset", str(data),
               "--text-field", "sentence", "--label-field", "label_desc",
               "--label-map", str(REPO / "dataset" / "news_zh_labels.json"),
               "--backend", "sandbox", "--mode", "live", "--out", str(out)]
        for flag, value in (("--n-train", args.n_train), ("--n-test", args.n_test),
                            ("--notebooks-dir", args.notebooks_dir)):
            if value:
                cmd += [flag, str(value)]
        env = {k: v for k, v in os.environ.items() if k not in ("COURSE_SANDBOX_DIR", "COURSE_WORK_DIR")}
        print(f"dataset: {n} rows -> {data.name}; running the course into {out}", flush=True)
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=REPO, env=env)  # progress lines go straight to the terminal
        wall = time.perf_counter() - t0
        summary_path = out / "summary.json"
        if not summary_path.is_file():
            sys.exit(f"course run failed (exit {done.returncode}) before writing a summary")
        summary = json.loads(summary_path.read_text(encoding="utf-8"))

    per_notebook = {nb["notebook"][:2]: nb["seconds"] for nb in summary["notebooks"]}
    in_notebooks = sum(per_notebook.values())
    print()
    for nb in summary["notebooks"]:
        print(f"{nb['notebook']:<26} {nb['seconds']:7.1f} s  {nb['status']}")
    print(f"{'inside notebooks':<26} {in_notebooks:7.1f} s")
    print(f"{'course run (summary)':<26} {summary['seconds']:7.1f} s")
    print(f"{'command wall clock':<26} {wall:7.1f} s  (goal {GOAL_SECONDS:.0f} s)")
    print(f"zero-shot {summary.get('zero_shot_accuracy')}, fine-tuned {summary.get('fine_tuned_accuracy')}")
    pairs = [f"nb{k}_s: {v:.1f}" for k, v in per_notebook.items()]
    pairs += [f"total_s: {wall:.1f}", f"total_vs_goal: {wall / GOAL_SECONDS:.2f}",
              f"status: {summary['status'] if done.returncode == 0 else 'failed'}"]
    print(", ".join(pairs))
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
