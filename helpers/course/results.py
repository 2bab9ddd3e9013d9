"""The results protocol: notebooks report the figures the run summary needs.

Each notebook calls ``record_results(WORK_DIR, notebook="01", key=value, ...)``;
the values are merged into ``WORK_DIR/results.json`` under the notebook's
number, so a rerun of one notebook replaces only its own figures.
``merged_results`` gives the union, later notebooks winning on conflicts.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

RESULTS_FILE = "results.json"


def _json_safe(value, where: str):
    """A plain JSON value for ``value``; numpy/pandas scalars and arrays become Python ones.

    Hand-written (not ``json.dumps(default=...)``) so NaN/inf become null instead
    of invalid JSON, and so an unsupported value is named by its key.
    """
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return [_json_safe(v, where) for v in sorted(value, key=str)]
    if isinstance(value, (list, tuple)):
        return [_json_safe(v, f"{where}[{i}]") for i, v in enumerate(value)]
    # numpy / pandas values, without importing either here
    if hasattr(value, "tolist") and callable(value.tolist):
        return _json_safe(value.tolist(), where)
    if hasattr(value, "item") and callable(value.item):
        return _json_safe(value.item(), where)
    raise TypeError(f"record_results: {where} is a {type(value).__name__}, "
                    "which is not JSON-safe; pass numbers, text, lists or dicts")


def _default_work_dir() -> Path:
    from .. import config

    return config.work_dir(config.resolve())


def read_results(work_dir) -> dict[str, dict]:
    """``{notebook: {key: value}}`` from ``WORK_DIR/results.json`` ({} if none yet)."""
    path = Path(work_dir) / RESULTS_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{err.lineno}: invalid_json: {err.msg}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"{path}:1: data_type: expected an object of notebook -> figures")
    return data


def merged_results(work_dir) -> dict:
    """The union of every notebook's figures; later notebook numbers win on conflicts."""
    merged: dict = {}
    for _, values in sorted(read_results(work_dir).items()):
        merged.update(values)
    return merged


def _write_atomic(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=2, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record_results(work_dir, notebook: str, **values) -> Path:
    """Merge ``values`` into this notebook's figures in ``WORK_DIR/results.json``.

    ``work_dir`` None means the work directory ``helpers.config`` picks (as a
    notebook run by hand would use). Returns the path of results.json.
    """
    notebook = str(notebook).strip()
    if not notebook:
        raise ValueError("record_results: notebook must name the notebook, e.g. '01'")
    safe = {key: _json_safe(value, key) for key, value in values.items()}
    root = Path(work_dir) if work_dir is not None else _default_work_dir()
    root.mkdir(parents=True, exist_ok=True)
    data = read_results(root)
    data.setdefault(notebook, {}).update(safe)
    path = root / RESULTS_FILE
    _write_atomic(path, data)
    return path
