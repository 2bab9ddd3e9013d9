"""``python -m helpers.sandbox serve`` on a free loopback port, for tests and bench scripts
that need a real server (it imports nothing of the course, so bench/ may import it too).

Only the documented command line is used, so the tests hold whatever serves it:
``--port 0`` lets the server pick a free port and print its URL on the first
line of its output (no race between choosing a port and binding it).
"""
import os
import re
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@contextmanager
def served_sandbox(data_dir, *extra: str, env: dict | None = None, log: list | None = None):
    """Yield ``http://127.0.0.1:<port>`` while the sandbox serves ``data_dir`` there.

    ``env`` replaces the server's environment (default: this process's);
    ``log``, if given, collects every line the server prints.
    """
    lines = log if log is not None else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpers.sandbox", "serve", "--host", "127.0.0.1", "--port", "0",
         "--data-dir", str(data_dir), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO,
        env={**(os.environ if env is None else env), "PYTHONPATH": str(REPO)})
    try:
        first = proc.stdout.readline()
        lines.append(first)
        drain = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
        drain.start()  # keeps the pipe flowing; the server never blocks on its output
        match = re.search(r"at (http://127\.0\.0\.1:\d+)", first)
        if not match:
            proc.wait(timeout=30)
            raise RuntimeError(f"the sandbox server did not start: {''.join(lines)[-2000:]}")
        yield match.group(1)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
