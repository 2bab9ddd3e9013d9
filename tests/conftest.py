"""Fixtures for the unit tests (environment set-up is in the root conftest.py).

Real keys from a developer's shell or .env must never reach a test, and each
test starts with no COURSE_* variables so it states the settings it needs.
"""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch, tmp_path):
    for var in ("OPENAI_API_KEY", "ZHIPUAI_API_KEY", "COURSE_API_KEY", "COURSE_BASE_URL",
                "COURSE_BACKEND", "COURSE_MODE", "COURSE_SANDBOX_DIR", "COURSE_WORK_DIR"):
        monkeypatch.delenv(var, raising=False)
    # config also reads .env from the working directory: run each test from an empty one
    monkeypatch.chdir(tmp_path)
    yield
