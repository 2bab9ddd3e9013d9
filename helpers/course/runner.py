"""Execute the numbered notebooks with papermill, one shared work directory, then summarise.

The kernels run in the run directory (``--out``), with parameters relative to
it; see ``kernels`` (start, log, stop), ``progress`` (what is printed) and
``paths`` (no absolute path left in the run directory).
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import config, secrets
from ..atomic import write_text
from ..pipeline import DEFAULT_BASE_MODELS
from ..results import FINE_TUNING_AVAILABLE, headline, merged_results, read_results
from ..words import plural
from .dataset import CheckedDataset, DatasetError, check_dataset
from .kernels import KERNEL, LOGS_DIR, Kernels
from .kernels import cell_count as _notebook_cells
from .paths import relative, relative_notebook, relative_text
from .progress import HEARTBEAT_SECONDS, NotebookProgress, say
from .summary import build_summary, write_summary

NOTEBOOKS_DIR = config.REPO_ROOT / "notebooks"
NOTEBOOK_NAME = re.compile(r"^(\d{2})_\w+\.ipynb$")
WORK_DIR = "work"  # inside the run directory
PREPARATION_FILE = "preparation.txt"  # every row preparation drops, and why
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
NO_FINE_TUNING = {"compatible"}  # backends with no fine-tuning endpoints


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
    base_url: str | None = None            # compatible backend: the server (else COURSE_BASE_URL)
    heartbeat: float = HEARTBEAT_SECONDS   # seconds between progress lines while a cell runs


class NotebookSelectionError(ValueError):
    """--notebooks names a number that has no notebook, or there are none."""


def discover(notebooks_dir, select: list[str] | None = None) -> list[Path]:
    """``NN_*.ipynb`` in ``notebooks_dir`` in number order, optionally only numbers in
    ``select``."""
    found: dict[str, Path] = {}
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


def notebook_parameters(opts: RunOptions, ds: CheckedDataset, settings, out: Path) -> dict:
    """What papermill injects: what the user gave, plus WORK_DIR, BACKEND and MODE.

    Paths are relative to ``out``, the kernels' working directory, so the
    injected-parameters cell of every executed notebook reads the same on any machine.
    """
    dataset = ds.dataset if ds.named else relative(ds.path, out)
    params = {"DATASET": dataset, "WORK_DIR": WORK_DIR,
              "BACKEND": settings.backend, "MODE": settings.mode}
    if not ds.named or opts.text_field:
        params["TEXT_FIELD"] = ds.text_field
    if not ds.named or opts.label_field:
        params["LABEL_FIELD"] = ds.label_field
    if opts.label_map is not None:
        params["LABEL_MAP"] = relative(Path(opts.label_map).expanduser(), out)
    for name in ("base_model", "n_train", "n_test", "epochs", "seed"):
        value = getattr(opts, name)
        if value is not None:
            params[name.upper()] = value
    return params


@contextmanager
def child_environment(out: Path, backend: str | None, base_url: str | None = None):
    """Environment the kernels inherit: this interpreter first on PATH, a sandbox inside ``out``.

    ``COURSE_SANDBOX_DIR`` defaults to ``out/sandbox`` for sandbox runs (so a run
    is self-contained and a rerun sees its own jobs) unless the user chose one.
    Plots are drawn inline (PNG in the executed notebooks) even when the shell
    sets ``MPLBACKEND`` for scripts.
    """
    saved = dict(os.environ)
    try:
        os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + saved.get("PATH", "")
        os.environ["MPLBACKEND"] = INLINE_BACKEND
        if base_url:
            os.environ["COURSE_BASE_URL"] = base_url
        chosen = config.resolve(backend=backend, mode="live")
        if (chosen.backend == "sandbox"
            and chosen.sandbox_dir == (config.REPO_ROOT / ".sandbox").resolve()):
            os.environ["COURSE_SANDBOX_DIR"] = str(out / "sandbox")
        os.environ["COURSE_WORK_DIR"] = str(out / WORK_DIR)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _failure(err, notebook: Path, output: Path, out: Path) -> dict:
    """Where and why a notebook stopped, with keys masked and paths relative to ``out``."""
    from papermill.exceptions import PapermillExecutionError

    def clean(text: str) -> str:
        return relative_text(redact(text), out)

    if isinstance(err, PapermillExecutionError):
        first = next((ln.strip() for ln in (err.source or "").splitlines() if ln.strip()), "")
        where = f"cell {err.cell_index + 1} (In [{err.exec_count}])"
        message = f"{err.ename}: {err.evalue}" if err.evalue else err.ename
        return {"notebook": notebook.stem, "output": output.name, "where": where,
                "cell_index": err.cell_index, "error": clean(message),
                "cell_source": clean(first[:120])}
    return {"notebook": notebook.stem, "output": output.name, "where": "kernel",
            "cell_index": None, "error": clean(f"{type(err).__name__}: {err}"),
            "cell_source": ""}


def cell_count(notebook: Path) -> int:
    """Cells of the executed notebook: the notebook's own plus papermill's parameters cell."""
    return _notebook_cells(notebook) + 1


def execute(notebook: Path, output: Path, params: dict, *, cwd: Path | None = None, km=None,
            on_cell_start=None) -> None:
    """Run one notebook with papermill in this interpreter's kernel (``km``: one already
    started)."""
    import papermill

    # papermill would rewrite the whole output notebook before and after every cell (about
    # 25 ms each, a fifth of a course run); the heartbeat shows progress, so it is written
    # once at the end, or when a cell fails.
    papermill.execute_notebook(str(notebook), str(output), parameters=params,
                               kernel_name=KERNEL, language="python",
                               cwd=str(cwd or notebook.parent), progress_bar=False,
                               log_output=False, request_save_on_cell_execute=False,
                               km=km, on_cell_start=on_cell_start)


def _headline(work: Path, notebook: Path) -> str:
    try:
        return headline(notebook.name[:2], read_results(work).get(notebook.name[:2], {}))
    except ValueError:
        return ""


def _announce(ds: CheckedDataset, labels: list[str], out: Path) -> None:
    """The dataset line: rows and the classes the notebooks will use; then what preparation
    drops."""
    prep = ds.preparation
    if prep["rows_kept"] == ds.rows:
        say(f"dataset {ds.shown}: {ds.rows:,} rows, {len(labels)} labels ({', '.join(labels)})")
        return
    say(f"dataset {ds.shown}: {ds.rows:,} rows; preparation keeps {prep['rows_kept']:,} rows in "
        f"{len(labels)} labels ({', '.join(labels)})")
    for drop in prep["drops"]:
        say(f"  drops {plural(drop['rows'], 'row')} ({drop['what']}): {drop['why']}")
    say(f"  every dropped row, with its line and reason: {out / PREPARATION_FILE}")


def _first_cell_starts_ahead(progress: NotebookProgress, kernels: Kernels, i: int):
    """nbclient's cell hook: report the cell; at the first, start the next notebooks' kernels."""
    def on_cell_start(**kwargs):
        if progress.cell is None:
            kernels.start_ahead(i)
        progress.on_cell_start(**kwargs)
    return on_cell_start


def _run_notebooks(notebooks, kernels: Kernels, params: dict, out: Path, opts: RunOptions):
    """Execute the notebooks in order, stopping at the first failure; ``(timings, error)``."""
    timings, error = [], None
    for i, notebook in enumerate(notebooks):
        output = out / notebook.name
        # papermill writes into a temporary name; the notebook is renamed into place once
        # complete, so a kill or a full disk never leaves a half-written executed notebook.
        partial = out / f".{notebook.stem}.running.ipynb"
        progress = NotebookProgress(notebook.stem, i + 1, len(notebooks), cell_count(notebook),
                                    opts.heartbeat)
        status = "ok"
        with progress:
            try:
                kernel = kernels.take(i)
                execute(notebook, partial, params, cwd=out, km=kernel.km,
                        on_cell_start=_first_cell_starts_ahead(progress, kernels, i))
            except Exception as err:  # a cell failed, or the kernel died or never started
                error, status = _failure(err, notebook, output, out), "failed"
            finally:
                kernels.release(i)
                if partial.is_file():
                    relative_notebook(partial, out, notebook, also=redact, target=output)
        log = kernels.log_path(i)
        timings.append({"notebook": notebook.stem, "output": output.name,
                        "seconds": round(progress.elapsed, 2), "status": status,
                        "log": relative(log, out) if log.is_file() else None})
        progress.finished(status, _headline(out / WORK_DIR, notebook) if status == "ok" else "")
        if error:
            break
    return timings, error


def _undo(out: Path, existed: bool, kernels: Kernels) -> None:
    """The run stopped before any notebook: leave ``out`` as it was (only the first kernel's
    log)."""
    kernels.close()
    if not existed:
        shutil.rmtree(out, ignore_errors=True)
        return
    for path in kernels.logs_written:
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        (out / LOGS_DIR).rmdir()  # only if now empty


def run_course(opts: RunOptions) -> int:
    """Check settings and the dataset, run the notebooks, write the summary; the exit status.

    The first notebook's kernel starts (and imports its modules) while the
    dataset is checked; if the check fails it is stopped and the run
    directory is left as it was.
    """
    started = time.perf_counter()
    out = Path(opts.out).expanduser().resolve()
    try:
        notebooks = discover(opts.notebooks_dir, opts.notebooks)
        settings = config.resolve(opts.backend, opts.mode, base_url=opts.base_url)
        if settings.needs_key:
            config.require_key(settings)
        if not opts.base_model and settings.backend not in DEFAULT_BASE_MODELS:
            raise config.ConfigError(
                f"--backend {settings.backend} has no default model: name the model your "
                "server serves with --base-model (for example --base-model llama3.2 for "
                "Ollama)")
    except (NotebookSelectionError, config.ConfigError, config.MissingKeyError) as err:
        say(redact(str(err)), err=True)
        return 2
    existed = out.exists()
    with child_environment(out, settings.backend, opts.base_url):
        settings = config.resolve(opts.backend, opts.mode)
        with Kernels(notebooks, cwd=out, log_dir=out / LOGS_DIR,
                     backend=settings.backend) as kernels:
            out.mkdir(parents=True, exist_ok=True)
            kernels.prestart(0)
            try:
                ds = check_dataset(opts.dataset, opts.text_field, opts.label_field, opts.label_map)
            except DatasetError as err:
                _undo(out, existed, kernels)
                for line in err.lines:
                    say(line, err=True)
                say("course run stopped before any notebook: fix the dataset and run again",
                    err=True)
                return 1
            labels = ds.labels_kept
            _announce(ds, labels, out)
            (out / WORK_DIR).mkdir(parents=True, exist_ok=True)
            preparation = dict(ds.preparation)
            if ds.drop_lines:
                write_text(out / PREPARATION_FILE, "\n".join(ds.drop_lines) + "\n")
                preparation["file"] = PREPARATION_FILE
            params = notebook_parameters(opts, ds, settings, out)
            timings, error = _run_notebooks(notebooks, kernels, params, out, opts)
    run = {"backend": settings.backend, "mode": settings.mode, "dataset": ds.shown_from(out),
           "text_field": ds.text_field, "label_field": ds.label_field,
           "preparation": preparation, "seconds": round(time.perf_counter() - started, 2)}
    try:
        results = merged_results(out / WORK_DIR)
    except ValueError as err:  # a hand-edited or truncated results.json
        say(str(err), err=True)
        return 1
    if settings.backend in NO_FINE_TUNING and not results.get("fine_tuned_model"):
        results.setdefault(FINE_TUNING_AVAILABLE, False)  # nothing was fine-tuned here
    summary = build_summary(results, run, timings, error, labels)
    json_path, md_path = write_summary(out, summary)
    if error:
        say(f"FAILED in {error['notebook']} at {error['where']}: {error['error']}", err=True)
        if error["cell_source"]:
            say(f"  the cell begins: {error['cell_source']}", err=True)
        if (out / error["output"]).is_file():
            say(f"  executed notebook kept for inspection: {out / error['output']}", err=True)
        say(f"  kernel log: {kernels.log_path(len(timings) - 1)}", err=True)
        return 1
    say(f"done in {summary['seconds']:.1f} s: {json_path} and {md_path}")
    return 0
