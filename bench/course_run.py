"""The course's time against its floor, measured in one run.

floor  = 7 runs of ``papermill`` (the command, a fresh process each time, as a
         user or CI would run seven notebooks) of a one-cell notebook that
         imports helpers, pandas, matplotlib and openai: what running seven
         notebooks costs before any of them does anything. 4 runs happen
         before the measured command and 3 after, so a change in machine load
         during the bench weighs on both sides.
total  = one of:
  (default)  ``python -m helpers.course run`` on a 1,000-row dataset built from
             the shipped Chinese news (shuffled with a fixed seed, exact
             duplicate headlines left out), sandbox backend, live mode;
  --nbval    ``pytest --nbval`` over the committed notebooks in replay mode
             (the README's check of the notebooks, without the unit tests).
ratio  = total / floor; the goal is 1.5 or less.

Also printed: ``kernel_floor_s``, the same 7 executions from one Python process
(papermill's API; no interpreter start per notebook), and the slowest cells of
the course run (papermill records each cell's duration).

Usage: python bench/course_run.py [--nbval] [--rows 1000] [--keep DIR] [--cells 12]
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
FLOOR_RUNS, FLOOR_BEFORE = 7, 4
FLOOR_SOURCE = "import helpers, pandas, matplotlib, openai"
GOAL = 1.5


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


def environment() -> dict:
    """The user's environment without run-specific COURSE_* directories; this venv first on PATH."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("COURSE_SANDBOX_DIR", "COURSE_WORK_DIR", "COURSE_MODE", "COURSE_BACKEND")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def floor_notebook(path: Path) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell(FLOOR_SOURCE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def floor_runs(notebook: Path, n: int, cwd: Path) -> list[float]:
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "papermill", "--no-progress-bar", "--log-level",
                        "ERROR", str(notebook), str(cwd / f"floor_{i}.ipynb")],
                       cwd=cwd, env=environment(), check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def kernel_floor(notebook: Path, n: int, cwd: Path) -> float:
    code = ("import sys, time, papermill\n"
            "t = time.perf_counter()\n"
            f"for i in range({n}):\n"
            "    papermill.execute_notebook(sys.argv[1], sys.argv[2], kernel_name='python3',\n"
            "                               progress_bar=False)\n"
            "print(time.perf_counter() - t)\n")
    done = subprocess.run([sys.executable, "-c", code, str(notebook), str(cwd / "k.ipynb")],
                          cwd=cwd, env=environment(), check=True, capture_output=True, text=True)
    return float(done.stdout.split()[-1])


def course(tmp: Path, args) -> tuple[float, int, Path]:
    data = tmp / f"news_{args.rows}.jsonl"
    n = build_dataset(data, args.rows)
    out = args.keep or tmp / "run"
    cmd = [sys.executable, "-m", "helpers.course", "run", "--dataset", str(data),
           "--text-field", "sentence", "--label-field", "label_desc",
           "--label-map", str(REPO / "dataset" / "news_zh_labels.json"),
           "--backend", "sandbox", "--mode", "live", "--out", str(out)]
    print(f"dataset: {n} rows -> {data.name}; running the course into {out}", flush=True)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=environment())  # progress goes to the terminal
    return time.perf_counter() - t0, done.returncode, out


def nbval() -> tuple[float, int]:
    cmd = [sys.executable, "-m", "pytest", "notebooks", "-q", "-p", "no:cacheprovider"]
    print("running:", " ".join(cmd[1:]), flush=True)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=environment())
    return time.perf_counter() - t0, done.returncode


def slowest_cells(out: Path, n: int) -> list[str]:
    import nbformat

    rows = []
    for path in sorted(out.glob("[0-9][0-9]_*.ipynb")):
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells, 1):
            seconds = cell.metadata.get("papermill", {}).get("duration")
            if cell.cell_type == "code" and seconds:
                first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
                rows.append((seconds, f"{path.stem[:2]} cell {i:>2}: {first[:70]}"))
    return [f"{s:6.2f} s  {text}" for s, text in sorted(rows, reverse=True)[:n]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nbval", action="store_true", help="time nbval over notebooks/ instead")
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--keep", type=Path, help="run the course into this directory and keep it")
    ap.add_argument("--cells", type=int, default=12, help="how many of the slowest cells to list")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="course-bench-") as tmp:
        tmp = Path(tmp)
        nb = floor_notebook(tmp / "floor.ipynb")
        floor = floor_runs(nb, FLOOR_BEFORE, tmp)
        if args.nbval:
            total, code = nbval()
            out = None
        else:
            total, code, out = course(tmp, args)
        floor += floor_runs(nb, FLOOR_RUNS - FLOOR_BEFORE, tmp)
        kernels = kernel_floor(nb, FLOOR_RUNS, tmp)
        print()
        print("floor runs:", " ".join(f"{t:.1f}" for t in floor), "s")
        if out is not None and (out / "summary.json").is_file():
            summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
            for item in summary["notebooks"]:
                print(f"{item['notebook']:<26} {item['seconds']:7.1f} s  {item['status']}")
            print(f"zero-shot {summary.get('zero_shot_accuracy')}, "
                  f"fine-tuned {summary.get('fine_tuned_accuracy')}")
            print("slowest cells:")
            for line in slowest_cells(out, args.cells):
                print("  " + line)
    floor_s = sum(floor)
    what = "nbval" if args.nbval else "course"
    status = "ok" if code == 0 else f"failed (exit {code})"
    print(f"bench: {what}, floor_s: {floor_s:.1f}, total_s: {total:.1f}, "
          f"ratio: {total / floor_s:.2f}, goal: {GOAL}, kernel_floor_s: {kernels:.1f}, "
          f"status: {status}")
    sys.exit(code)


if __name__ == "__main__":
    main()
