"""``python -m helpers.sandbox serve`` on a free loopback port, for tests that need a real server.

Only the documented command line is used, so the tests hold whatever serves it.
"""
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served_sandbox(data_dir, *extra: str, timeout: float = 120.0):
    """Yield ``http://127.0.0.1:<port>`` while the sandbox serves ``data_dir`` there."""
    port = free_port()
    log = Path(data_dir).parent / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "helpers.sandbox", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--data-dir", str(data_dir), *extra],
            stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the sandbox server exited: {log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the sandbox server did not listen on port {port} "
                                       f"within {timeout:.0f} s: {log.read_text()[-2000:]}")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
