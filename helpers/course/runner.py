"""Execute the numbered notebooks with papermill, one shared work directory, then summarise."""
from __future__ import annotations

import os
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import config, secrets
from .dataset import CheckedDataset, DatasetError, check_dataset
from .results import merged_results
from .summary import build_summary, write_summary

NOTEBOOKS_DIR = config.REPO_ROOT / "notebooks"
NOTEBOOK_NAME = re.compile(r"^(\d{2})_\w+\.ipynb$")
KERNEL = "python3"


@dataclass
class RunOptions:
    dataset: str
    text_field: str | None = None
    label_field: str | None = None
    backend: str | None = None
    mode: str | None = None
    out: Path = Path("runs/course")
    base_model: str | None = None
    n_train: int | None = None
    n_test: int | None = None
    epochs: int | None = None
    seed: int | None = None
    label_map: Path | None = None
    notebooks: list[str] | None = None     # numbers, e.g. ["01", "04"]; None = all
    notebooks_dir: Path = NOTEBOOKS_DIR


class NotebookSelectionError(ValueError):
    """--notebooks names a number that has no notebook, or there are none."""


def discover(notebooks_dir, select: list[str] | None = None) -> list[Path]:
    """``NN_*.ipynb`` in ``notebooks_dir`` in number order, optionally only numbers in ``select``."""
    found = {}
    for path in sorted(Path(notebooks_dir).glob("*.ipynb")):
        match = NOTEBOOK_NAME.match(path.name)
        if match:
            found.setdefault(match.group(1), path)
    if not found:
        raise NotebookSelectionError(f"{notebooks_dir}: no numbered notebooks (NN_name.ipynb)")
    if select is None:
        return list(found.values())
    wanted = [s.strip().zfill(2) for s in select if s.strip()]
    unknown = [s for s in wanted if s not in found]
    if unknown:
        raise NotebookSelectionError(f"--notebooks: no notebook numbered {', '.join(unknown)} "
                                     f"in {notebooks_dir} (have {', '.join(found)})")
    return [found[n] for n in sorted(set(wanted))]


def redact(text: str) -> str:
    """``text`` with any API key (the configured ones, or anything key-shaped) masked."""
    return secrets.redact(text)


def notebook_parameters(opts: RunOptions, ds: CheckedDataset, settings, work: Path) -> dict:
    """What papermill injects: what the user gave, plus WORK_DIR, BACKEND and MODE."""
    params = {"DATASET": ds.dataset, "WORK_DIR": str(work),
              "BACKEND": settings.backend, "MODE": settings.mode}
    if not ds.named or opts.text_field:
        params["TEXT_FIELD"] = ds.text_field
    if not ds.named or opts.label_field:
        params["LABEL_FIELD"] = ds.label_field
    if opts.label_map is not None:
        params["LABEL_MAP"] = str(Path(opts.label_map).expanduser().resolve())
    for name in ("base_model", "n_train", "n_test", "epochs", "seed"):
        value = getattr(opts, name)
        if value is not None:
            params[name.upper()] = value
    return params


@contextmanager
def child_environment(out: Path, backend: str | None):
    """Environment the kernels inherit: this interpreter first on PATH, a sandbox inside ``out``.

    ``COURSE_SANDBOX_DIR`` defaults to ``out/sandbox`` for sandbox runs (so a run
    is self-contained and a rerun sees its own jobs) unless the user chose one.
    """
    saved = dict(os.environ)
    try:
        os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + saved.get("PATH", "")
        os.environ.setdefault("MPLBACKEND", "Agg")
        chosen = config.resolve(backend=backend, mode="live")
        if chosen.backend == "sandbox" and chosen.sandbox_dir == (config.REPO_ROOT / ".sandbox").resolve():
            os.environ["COURSE_SANDBOX_DIR"] = str(out / "sandbox")
        os.environ["COURSE_WORK_DIR"] = str(out / "work")
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _failure(err, notebook: Path, output: Path) -> dict:
    """Where and why a notebook stopped, with keys masked."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(err, PapermillExecutionError):
        first = next((ln.strip() for ln in (err.source or "").splitlines() if ln.strip()), "")
        where = f"cell {err.cell_index + 1} (In [{err.exec_count}])"
        message = f"{err.ename}: {err.evalue}" if err.evalue else err.ename
        return {"notebook": notebook.stem, "output": output.name, "where": where,
                "cell_index": err.cell_index, "error": redact(message),
                "cell_source": redact(first[:120])}
    return {"notebook": notebook.stem, "output": output.name, "where": "kernel",
            "cell_index": None, "error": redact(f"{type(err).__name__}: {err}"),
            "cell_source": ""}


def execute(notebook: Path, output: Path, params: dict) -> None:
    """Run one notebook with papermill in the current interpreter's kernel, cwd = its folder."""
    import papermill

    papermill.execute_notebook(str(notebook), str(output), parameters=params,
                               kernel_name=KERNEL, language="python", cwd=str(notebook.parent),
                               progress_bar=False, log_output=False,
                               # ipykernel warns on every start that local TCP is unencrypted
                               extra_arguments=["--IPKernelApp.log_level=ERROR"])


def _say(*parts, err: bool = False) -> None:
    print(*parts, file=sys.stderr if err else sys.stdout, flush=True)


def run_course(opts: RunOptions) -> int:
    """Validate, run the notebooks, write the summary; return the exit status."""
    started = time.perf_counter()
    out = Path(opts.out).expanduser().resolve()
    try:
        ds = check_dataset(opts.dataset, opts.text_field, opts.label_field, opts.label_map)
    except DatasetError as err:
        for line in err.lines:
            _say(line, err=True)
        _say("course run stopped before any notebook: fix the dataset and run again", err=True)
        return 1
    try:
        notebooks = discover(opts.notebooks_dir, opts.notebooks)
        settings = config.resolve(opts.backend, opts.mode)
        if settings.needs_key:
            config.require_key(settings)
    except (NotebookSelectionError, config.ConfigError, config.MissingKeyError) as err:
        _say(redact(str(err)), err=True)
        return 2
    labels = [ds.label_map.get(x, x) for x in ds.labels]
    _say(f"dataset {ds.dataset}: {ds.rows:,} rows, {len(labels)} labels ({', '.join(labels)})")
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    timings, error = [], None
    with child_environment(out, settings.backend):
        settings = config.resolve(opts.backend, opts.mode)
        params = notebook_parameters(opts, ds, settings, work)
        for i, notebook in enumerate(notebooks, 1):
            output = out / notebook.name
            t0 = time.perf_counter()
            try:
                execute(notebook, output, params)
            except Exception as err:  # a cell failed, or the kernel died or never started
                seconds = time.perf_counter() - t0
                error = _failure(err, notebook, output)
                timings.append({"notebook": notebook.stem, "output": output.name,
                                "seconds": round(seconds, 2), "status": "failed"})
                _say(f"[{i}/{len(notebooks)}] {notebook.stem} … failed after {seconds:.1f} s")
                break
            seconds = time.perf_counter() - t0
            timings.append({"notebook": notebook.stem, "output": output.name,
                            "seconds": round(seconds, 2), "status": "ok"})
            _say(f"[{i}/{len(notebooks)}] {notebook.stem} … {seconds:.1f} s")
    run = {"backend": settings.backend, "mode": settings.mode, "dataset": ds.dataset,
           "text_field": ds.text_field, "label_field": ds.label_field,
           "seconds": round(time.perf_counter() - started, 2)}
    try:
        results = merged_results(work)
    except ValueError as err:  # a hand-edited or truncated results.json
        _say(str(err), err=True)
        return 1
    summary = build_summary(results, run, timings, error, labels)
    json_path, md_path = write_summary(out, summary)
    if error:
        _say(f"FAILED in {error['notebook']} at {error['where']}: {error['error']}", err=True)
        if error["cell_source"]:
            _say(f"  the cell begins: {error['cell_source']}", err=True)
        if (out / error["output"]).is_file():
            _say(f"  executed notebook kept for inspection: {out / error['output']}", err=True)
        return 1
    _say(f"done in {summary['seconds']:.1f} s: {json_path} and {md_path}")
    return 0
