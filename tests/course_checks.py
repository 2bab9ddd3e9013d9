"""Checks shared by the course-run tests: fixture notebooks, image counts, absolute-path scans."""
import csv
import json
import re
import sys
import tempfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from conftest import REPO

PARAMETERS = ('DATASET = "sports_en"\nTEXT_FIELD = None\nLABEL_FIELD = None\nLABEL_MAP = None\n'
              'BACKEND = None\nMODE = None\nWORK_DIR = None')


def notebook(path: Path, *sources: str) -> Path:
    """A notebook with a parameters cell, then one code cell per source."""
    params = new_code_cell(PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    nbformat.write(new_notebook(cells=[params, *map(new_code_cell, sources)]), path)
    return path


def images(path: Path) -> int:
    nb = nbformat.read(path, as_version=4)
    return sum("image/png" in out.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
               for out in cell.outputs)


def absolute_paths(run_dir: Path) -> list[str]:
    """Every absolute path (under a root this machine has) in the run's notebooks and summaries."""
    roots = {str(REPO), str(run_dir.resolve()), sys.prefix, sys.base_prefix, str(Path.home()),
             tempfile.gettempdir(), str(Path(tempfile.gettempdir()).resolve())}
    # a root not preceded by a path character: "/tmp/x" counts, "../../tmp/x" does not
    pattern = re.compile(r"(?<![\w.~/-])(?:" + "|".join(
        re.escape(r) for r in sorted(roots, key=len, reverse=True)) + ")")
    found = []
    for path in [*run_dir.glob("*.ipynb"), *run_dir.glob("*.md"), *run_dir.glob("*.json")]:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":  # images are base64 data, not paths
            nb = nbformat.reads(text, as_version=4)
            for cell in nb.cells:
                for out in cell.get("outputs", []):
                    out.get("data", {}).pop("image/png", None)
            text = nbformat.writes(nb)
        text = re.sub(r"(\x1b|\\u001b)\[[0-9;]*m", " ", text)  # colour codes in tracebacks
        found += [f"{path.name}: ...{text[max(0, m.start() - 40):m.end() + 40]}..."
                  for m in pattern.finditer(text)]
    return found


def sports_csv(path: Path) -> Path:
    """The shipped sports posts as a CSV with its own column names (2 labels)."""
    records = [json.loads(line) for line in
               (REPO / "dataset" / "sports_en.jsonl").read_text(encoding="utf-8").splitlines()]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["post", "sport"])
        writer.writeheader()
        writer.writerows({"post": r["text"], "sport": r["label"]} for r in records)
    return path
