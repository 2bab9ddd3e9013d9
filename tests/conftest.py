"""Fixtures for the unit tests (environment set-up is in the root conftest.py).

Real keys from a developer's shell or .env must never reach a test, and each
test starts with no COURSE_* variables so it states the settings it needs.

The sandbox fixtures give each test a fresh sandbox in its own tmp directory,
served in-process (``helpers.clients`` puts a ``WSGITransport`` under the SDK):
``settings`` for it, ``client`` (the OpenAI SDK, strict response validation, no
retries) and ``zclient`` (the zhipuai SDK) bound to it. A test file that needs
another client (not strict, or Zhipu's under the name ``client``) overrides
``client`` and says why; ``poll_progression`` makes each retrieve advance a job
one stage.
"""
from pathlib import Path

import pytest

from helpers import clients, config

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch, tmp_path):
    for var in ("OPENAI_API_KEY", "ZHIPUAI_API_KEY", "COURSE_API_KEY", "COURSE_BASE_URL",
                "COURSE_BACKEND", "COURSE_MODE", "COURSE_SANDBOX_DIR", "COURSE_WORK_DIR"):
        monkeypatch.delenv(var, raising=False)
    # config also reads .env from the working directory: run each test from an empty one
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def settings(tmp_path):
    """Live settings for a sandbox of its own in this test's tmp directory."""
    return config.resolve(backend="sandbox", mode="live", sandbox_dir=tmp_path / "sbx")


@pytest.fixture
def client(settings):
    """The OpenAI SDK on that sandbox, in-process, validating every response strictly."""
    return clients.openai_client(settings, strict=True, max_retries=0)


@pytest.fixture
def zclient(settings):
    """The zhipuai SDK on the same sandbox (its paths under /api/paas/v4)."""
    return clients.zhipu_client(settings, max_retries=0)


@pytest.fixture
def poll_progression(monkeypatch):
    """Each retrieve of a job advances it one stage (statuses can be seen one by one)."""
    monkeypatch.setenv("COURSE_SANDBOX_PROGRESSION", "poll")
