"""The Jupyter kernels of a course run: started one notebook ahead, logged to a file, stopped
quietly.

papermill, left to itself, starts a kernel when a notebook begins, lets it
write its log to our console, and stops it with an interrupt first (so a run
that succeeds prints ``KeyboardInterrupt caught in kernel``). The runner
instead hands papermill a kernel it started itself (``papermill.execute_notebook``
passes ``km=`` through to nbclient, which then leaves the kernel alone):

- its stdout and stderr go to ``LOGS_DIR/<notebook>.log`` in the run directory;
- the kernels of notebooks N+1 and N+2 start while notebook N runs, and import
  the modules their cells import (``warm_modules``; silently, before its first
  cell, so execution counts and outputs do not change), so on a 2-core
  machine the next notebook does not wait for Python to start. They start
  once notebook N's first cell runs (``start_ahead``), not before: while the
  first kernel still imports, two more importing beside it on two cores
  would only make the first notebook wait longer;
- it is stopped with a plain shutdown request (atexit handlers such as a
  cassette's save still run), and the runner does not wait for the process
  to exit before starting the next notebook.

Written here rather than taken from a library because papermill and nbclient
offer the hooks (``km``, ``on_cell_start``) but no kernel that outlives one call.
"""
from __future__ import annotations

import ast
import contextlib
import json
from pathlib import Path

from .. import secrets
from .warmup import ENCODING

KERNEL = "python3"
LOGS_DIR = "logs"
WARMUP = "helpers.course.warmup"
STOP_WAIT_SECONDS = 5.0
# Kernels started ahead of the notebook that runs: two, because a short notebook (03, 05:
# 2 s) ends before the next kernel has imported its modules (3-4 s) when only one is.
LOOKAHEAD = 2
# As nbclient does for the kernels it starts: no IPython history database, which two
# kernels running at once would otherwise share.
NO_HISTORY = "--HistoryManager.hist_file=:memory:"


def code_sources(notebook: Path) -> list[str]:
    """The code cells' sources, read as plain JSON: importing nbformat costs the runner about
    2.5 s (jsonschema's IRI checker builds its grammar), and the first kernel should not wait."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
    return ["".join(c["source"]) if isinstance(c.get("source"), list) else c.get("source", "")
            for c in cells if c.get("cell_type") == "code"]


def cell_count(notebook: Path) -> int:
    return len(json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", []))


def warm_modules(notebook: Path, backend: str | None = None) -> list[str]:
    """Modules a notebook's cells import at top level, in order; plus the sandbox if it will serve.

    ``from helpers import a, b`` gives ``helpers.a`` and ``helpers.b`` (the
    warm-up falls back to ``helpers`` when a name is not a submodule). Cells
    with IPython syntax (``!cmd``, ``%magic``) are skipped. A notebook that
    counts tokens or talks to the in-process sandbox also gets tiktoken's
    o200k_base loaded (about 1.5 s the sandbox would otherwise spend on its
    first request).
    """
    found: list[str] = []
    sources = code_sources(notebook)
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                found += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found += [f"{node.module}.{alias.name}" for alias in node.names
                          if alias.name != "*"] or [node.module]
    if backend == "sandbox" and any("client(" in s for s in sources):
        found.append("helpers.sandbox")  # the in-process sandbox app loads on the first client
    if "helpers.sandbox" in found or "helpers.tokens" in found:
        found.append(f"{warmup_encoding_prefix()}o200k_base")  # the sandbox's and sandbox-base's
    return list(dict.fromkeys(found))


def warmup_encoding_prefix() -> str:
    return ENCODING


def warmup_line(modules) -> str:
    """The kernel's ``exec_lines`` entry that imports ``modules`` ('' for none)."""
    if not modules:
        return ""
    return f"__import__({WARMUP!r}, fromlist=['warm']).warm({json.dumps(list(modules))})"


_manager_class = None


def manager_class():
    """``AsyncKernelManager`` that remembers the clients it made, so their channels can be stopped.

    (nbclient leaves the client of a kernel it does not own running.)
    """
    global _manager_class
    if _manager_class is None:
        from jupyter_client import AsyncKernelManager

        class CourseKernelManager(AsyncKernelManager):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.course_clients = []

            def client(self, **kwargs):
                kc = super().client(**kwargs)
                self.course_clients.append(kc)
                return kc

        _manager_class = CourseKernelManager
    return _manager_class


class Kernel:
    """One started kernel whose output goes to a log file."""

    def __init__(self, cwd: Path, log_path: Path, modules=(), name: str = KERNEL):
        from jupyter_core.utils import run_sync

        self._run_sync = run_sync
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115  (closed in reap); this run's log
        self.km = manager_class()(kernel_name=name)
        line = warmup_line(modules)
        extra = [f"--IPKernelApp.exec_lines={line}"] if line else []
        try:
            run_sync(self.km.start_kernel)(cwd=str(cwd), stdout=self._log, stderr=self._log,
                                           extra_arguments=[*extra, NO_HISTORY])
        except BaseException:
            self._log.close()
            raise

    def stop(self) -> None:
        """Ask the kernel to exit (no interrupt); ``reap`` waits for it."""
        while self.km.course_clients:
            kc = self.km.course_clients.pop()
            with contextlib.suppress(Exception):
                kc.stop_channels()
        with contextlib.suppress(Exception):  # already gone
            if self._run_sync(self.km.is_alive)():
                self._run_sync(self.km.request_shutdown)()

    def reap(self) -> None:
        """Wait for the kernel to exit (killing it after STOP_WAIT_SECONDS) and free its sockets."""
        with contextlib.suppress(Exception):
            self._run_sync(self.km.finish_shutdown)(waittime=STOP_WAIT_SECONDS)
        try:
            self._run_sync(self.km.cleanup_resources)()
        finally:
            self._log.close()
            secrets.redact_file(self.log_path)  # what the kernel printed may quote a key


class Kernels:
    """Kernels for notebooks run in order: ``take(i)`` gives notebook i's kernel;
    ``start_ahead(i)``, once it runs a cell, starts the next ``LOOKAHEAD`` ones."""

    def __init__(self, notebooks: list[Path], cwd: Path, log_dir: Path, backend: str | None):
        self.notebooks = notebooks
        self.cwd = cwd
        self.log_dir = log_dir
        self.backend = backend
        self._started: dict[int, Kernel] = {}
        self._stopping: list[Kernel] = []
        self.logs_written: list[Path] = []

    def _start(self, i: int) -> Kernel:
        if i not in self._started:
            self.logs_written.append(self.log_path(i))
            self._started[i] = Kernel(self.cwd, self.log_path(i),
                                      warm_modules(self.notebooks[i], self.backend))
        return self._started[i]

    def log_path(self, i: int) -> Path:
        return self.log_dir / f"{self.notebooks[i].stem}.log"

    def prestart(self, i: int) -> None:
        """Start notebook i's kernel now, if it can be; ``take`` retries and shows any error."""
        if i < len(self.notebooks):
            with contextlib.suppress(Exception):
                self._start(i)

    def take(self, i: int) -> Kernel:
        return self._start(i)

    def start_ahead(self, i: int) -> None:
        for ahead in range(1, LOOKAHEAD + 1):
            self.prestart(i + ahead)

    def release(self, i: int) -> None:
        kernel = self._started.pop(i, None)
        if kernel is not None:
            kernel.stop()
            self._stopping.append(kernel)
        while len(self._stopping) > 1:  # reap the one before: it has had a notebook's time to exit
            self._stopping.pop(0).reap()

    def close(self) -> None:
        for i in list(self._started):
            self.release(i)
        for kernel in self._stopping:
            kernel.reap()
        self._stopping.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
