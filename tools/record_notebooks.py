"""Re-record notebooks' cassettes, then re-execute them from the cassettes.

    python tools/record_notebooks.py [01 02 ...]     # default: every notebook

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

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"


def execute(notebook: Path, mode: str) -> float:
    env = dict(os.environ, COURSE_MODE=mode,
               PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    env.pop("COURSE_WORK_DIR", None)
    env.pop("COURSE_SANDBOX_DIR", None)
    env.pop("MPLBACKEND", None)  # notebooks show their plots inline
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                    "--inplace", "--ExecutePreprocessor.timeout=600", str(notebook)],
                   cwd=NOTEBOOKS, env=env, check=True)
    return time.perf_counter() - started


def main(selected):
    books = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if selected:
        books = [b for b in books if b.name[:2] in selected]
    for book in books:
        rec = execute(book, "record")
        rep = execute(book, "replay")
        print(f"{book.name}: record {rec:.1f} s, replay {rep:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
