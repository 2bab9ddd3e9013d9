"""Re-record notebooks' cassettes, then re-execute them from the cassettes.

    python tools/record_notebooks.py [01 02 ...]     # default: every notebook
    python tools/record_notebooks.py --replay-only 06 # prose changed: re-execute from the cassette

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
                   cwd=NOTEBOOKS, env=env, check=True)
    strip_timing(notebook)
    return time.perf_counter() - started


def strip_timing(notebook: Path) -> None:
    """Drop per-cell execution timestamps left by earlier runs."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, notebook)


def main(args):
    replay_only = "--replay-only" in args
    selected = [a for a in args if a != "--replay-only"]
    books = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if selected:
        books = [b for b in books if b.name[:2] in selected]
    for book in books:
        rec = 0.0 if replay_only else execute(book, "record")
        rep = execute(book, "replay")
        print(f"{book.name}: record {rec:.1f} s, replay {rep:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
