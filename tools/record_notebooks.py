"""Re-record notebooks' cassettes, then re-execute them from the cassettes.

    python tools/record_notebooks.py [01 02 ...]     # default: every lesson and solutions notebook
    python tools/record_notebooks.py --replay-only 06 # prose changed: re-execute from the cassette
    python tools/record_notebooks.py solutions/01     # notebooks/solutions/01_*_solutions.ipynb
    python tools/record_notebooks.py 01 solutions/01  # both

For each notebook: run it in record mode (against COURSE_BACKEND, default the
sandbox; a fresh sandbox and work directory each time, so the cassette is
reproducible), then execute it again in replay mode in place, so the committed
outputs are exactly what nbval will compare against. Needs keys only when
COURSE_BACKEND is openai or zhipu.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"  # NN_<lesson>_solutions.ipynb; their cassettes carry the name


def execute(notebook: Path, mode: str) -> float:
    env = dict(os.environ, COURSE_MODE=mode,
               PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    env.pop("COURSE_WORK_DIR", None)
    env.pop("COURSE_SANDBOX_DIR", None)
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"  # plots kept as PNG
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                    "--inplace", "--ExecutePreprocessor.timeout=600",
                    # per-cell timestamps would make every re-execution a noisy diff
                    "--ExecutePreprocessor.record_timing=False", str(notebook)],
                   cwd=notebook.parent, env=env, check=True)
    strip_timing(notebook)
    return time.perf_counter() - started


def strip_timing(notebook: Path) -> None:
    """Drop per-cell execution timestamps left by earlier runs."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, notebook)


def label(book: Path) -> str:
    """How the command line names a notebook: "01" (lesson) or "solutions/01"."""
    return book.name[:2] if book.parent == NOTEBOOKS else f"solutions/{book.name[:2]}"


def select(args: list[str]) -> list[Path]:
    """Lessons and solutions notebooks named by ``args`` (all of them when none is named)."""
    books = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) + \
        sorted(SOLUTIONS.glob("[0-9][0-9]_*_solutions.ipynb"))
    if not args:
        return books
    unknown = set(args) - {label(b) for b in books}
    if unknown:
        raise SystemExit(f"no notebook for {sorted(unknown)}; "
                         f"known: {' '.join(label(b) for b in books)}")
    return [b for b in books if label(b) in args]


def main(args):
    replay_only = "--replay-only" in args
    for book in select([a for a in args if a != "--replay-only"]):
        rec = 0.0 if replay_only else execute(book, "record")
        rep = execute(book, "replay")
        print(f"{book.relative_to(NOTEBOOKS)}: record {rec:.1f} s, replay {rep:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
