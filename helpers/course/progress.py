"""What a course run prints while it works: a line per notebook start and end, a heartbeat between.

The heartbeat comes from a thread that wakes every ``every`` seconds and says
which cell of how many is running (nbclient's ``on_cell_start`` hook tells it),
so a 40-second notebook is never 40 seconds of silence.
"""
from __future__ import annotations

import sys
import threading
import time

from ..secrets import redact

HEARTBEAT_SECONDS = 5.0  # the issue asks for at most 10


def say(*parts, err: bool = False) -> None:
    """Print a run's line, with any key masked (it may quote an error or a setting)."""
    print(*(redact(str(p)) for p in parts), file=sys.stderr if err else sys.stdout, flush=True)


class NotebookProgress:
    """Start line, heartbeat, end line for one notebook; use as a context manager."""

    def __init__(self, name: str, position: int, count: int, total_cells: int,
                 every: float = HEARTBEAT_SECONDS):
        self.name, self.position, self.count = name, position, count
        self.total_cells = total_cells
        self.every = every
        self.cell: int | None = None  # 1-based index of the running cell
        self.started = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{name}", daemon=True)

    @property
    def tag(self) -> str:
        return f"[{self.position}/{self.count}] {self.name}"

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def on_cell_start(self, cell=None, cell_index: int = 0, **_) -> None:
        """nbclient hook: a cell is about to run."""
        self.cell = cell_index + 1

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            where = (f"cell {self.cell} of {self.total_cells}" if self.cell
                     else "waiting for the kernel")
            say(f"    {self.name}: {where}, {self.elapsed:.1f} s")

    def __enter__(self):
        say(f"{self.tag} started ({self.total_cells} cells)")
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def finished(self, status: str, headline: str = "") -> None:
        tail = f" · {headline}" if headline else ""
        say(f"{self.tag} {status} in {self.elapsed:.1f} s{tail}")
