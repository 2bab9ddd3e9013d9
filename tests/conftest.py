"""Shared test set-up.

Kernels started by papermill and nbval must be the interpreter running the
tests (the venv), so its bin directory goes first on PATH. Real keys from a
developer's shell or .env must never reach a test.
"""
import os
import sys
from pathlib import Path

import pytest

os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch, tmp_path):
    for var in ("OPENAI_API_KEY", "ZHIPUAI_API_KEY", "COURSE_BACKEND", "COURSE_MODE",
                "COURSE_SANDBOX_DIR", "COURSE_WORK_DIR"):
        monkeypatch.delenv(var, raising=False)
    # config also reads .env from the working directory: run each test from an empty one
    monkeypatch.chdir(tmp_path)
    yield
