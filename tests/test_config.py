import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import pytest

from conftest import REPO
from helpers import clients, config

# Fake keys are assembled at run time so secret scanners do not flag this file.
FAKE_OPENAI = "sk-" + "test-PLANTED-1234567890abcdef"
FAKE_ZHIPU = "abcdef0123456789.PLANTEDsecret"


@pytest.fixture
def no_repo_dotenv(monkeypatch, tmp_path_factory):
    """Read .env files again (the suite turns them off), but never the developer's at the
    repo root."""
    monkeypatch.delenv("COURSE_ENV_FILE", raising=False)
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path_factory.mktemp("repo"))


def test_defaults(no_repo_dotenv):
    s = config.resolve()
    assert (s.backend, s.mode) == ("sandbox", "live")
    assert s.sandbox_dir.name == ".sandbox"


def test_environment_overrides_defaults(monkeypatch, no_repo_dotenv, tmp_path):
    monkeypatch.setenv("COURSE_BACKEND", "zhipu")
    monkeypatch.setenv("COURSE_MODE", "replay")
    monkeypatch.setenv("COURSE_SANDBOX_DIR", str(tmp_path / "sb"))
    s = config.resolve()
    assert (s.backend, s.mode, s.sandbox_dir) == ("zhipu", "replay", tmp_path / "sb")


def test_arguments_override_environment(monkeypatch, no_repo_dotenv):
    monkeypatch.setenv("COURSE_BACKEND", "zhipu")
    monkeypatch.setenv("COURSE_MODE", "replay")
    s = config.resolve(backend="OpenAI", mode="live")
    assert (s.backend, s.mode) == ("openai", "live")


def test_dotenv_is_read_below_environment(monkeypatch, no_repo_dotenv, tmp_path):
    (tmp_path / ".env").write_text("COURSE_BACKEND=openai\nOPENAI_API_KEY=from-dotenv\n")
    assert config.resolve().backend == "openai"
    assert config.api_key("openai") == "from-dotenv"
    monkeypatch.setenv("COURSE_BACKEND", "zhipu")
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    assert config.resolve().backend == "zhipu"
    assert config.api_key("openai") == "from-env"


@pytest.mark.parametrize("kw, word", [({"backend": "anthropic"}, "COURSE_BACKEND"),
                                      ({"mode": "offline"}, "COURSE_MODE")])
def test_unknown_values_are_refused(no_repo_dotenv, kw, word):
    with pytest.raises(config.ConfigError, match=word):
        config.resolve(**kw)


PER_PROCESS = ("from helpers import config\n"
               "s = config.resolve(mode='record')\n"
               "print(s.sandbox_dir, config.work_dir(config.resolve(mode='replay')))")


def _in_another_process() -> list[str]:
    out = subprocess.run([sys.executable, "-c", PER_PROCESS], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.mark.slow
def test_record_mode_uses_a_fresh_sandbox_per_process_and_resolve_creates_nothing(
        no_repo_dotenv):
    a = config.resolve(mode="record")
    b = config.resolve(mode="record")
    assert a == b and a.sandbox_dir.parent == Path(tempfile.gettempdir())
    assert not a.sandbox_dir.exists()  # resolve() is pure: the sandbox makes it when used
    other_sandbox, other_work = _in_another_process()
    assert Path(other_sandbox) != a.sandbox_dir  # another kernel records on another sandbox
    assert Path(other_work) != config.work_dir(config.resolve(mode="replay"))


def test_work_dir_is_persistent_only_in_live_mode(no_repo_dotenv, tmp_path):
    live = config.resolve(mode="live")
    assert config.work_dir(live).name == "work"
    replay = config.resolve(mode="replay")
    made = config.work_dir(replay)
    assert made.is_dir() and not any(made.iterdir())
    # once per process: a later call (e.g. jobs.wait(..., work_dir=None)) finds the same store
    assert config.work_dir(config.resolve(mode="replay")) == made
    assert config.work_dir(config.resolve(mode="record")) not in (made, live.sandbox_dir)
    assert config.work_dir(replay, tmp_path / "w") == tmp_path / "w"


def test_resolve_has_no_side_effects(no_repo_dotenv, monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for mode in config.MODES:
        for backend in ("sandbox", "openai", "zhipu"):
            config.resolve(backend=backend, mode=mode)
    assert list(tmp_path.iterdir()) == [] and not (config.REPO_ROOT / ".sandbox").exists()


@pytest.mark.parametrize("backend, var",
                         [("openai", "OPENAI_API_KEY"), ("zhipu", "ZHIPUAI_API_KEY")])
@pytest.mark.parametrize("mode", ["live", "record"])
def test_missing_key_fails_at_once_with_the_way_out(no_repo_dotenv, monkeypatch, backend, mode,
                                                    var):
    # the other backend's key is set: it must not leak into the message
    other = "ZHIPUAI_API_KEY" if var == "OPENAI_API_KEY" else "OPENAI_API_KEY"
    monkeypatch.setenv(other, FAKE_ZHIPU if other == "ZHIPUAI_API_KEY" else FAKE_OPENAI)
    settings = config.resolve(backend=backend, mode=mode)
    with pytest.raises(config.MissingKeyError) as info:
        clients.client(settings, cassette="x")
    text = str(info.value)
    assert var in text and ".env" in text
    assert "COURSE_BACKEND=sandbox" in text and "COURSE_MODE=replay" in text
    formatted = "".join(traceback.format_exception(info.value))
    for secret in (FAKE_OPENAI, FAKE_ZHIPU):
        assert secret not in formatted
        assert secret[-8:] not in formatted


def test_settings_hold_no_key(no_repo_dotenv, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_OPENAI)
    s = config.resolve(backend="openai")
    assert FAKE_OPENAI not in repr(s)
    assert config.require_key(s) == FAKE_OPENAI


def test_replay_needs_no_key(no_repo_dotenv, monkeypatch):
    monkeypatch.setattr(clients, "_activate_cassette", lambda settings, cassette: None)
    c = clients.openai_client(config.resolve(backend="openai", mode="replay"), cassette="x")
    assert c.api_key == clients.REPLAY_KEY
    z = clients.zhipu_client(config.resolve(backend="zhipu", mode="replay"), cassette="x")
    assert z.api_key == clients.REPLAY_KEY


def test_backend_and_sdk_mismatch_is_refused(no_repo_dotenv):
    with pytest.raises(config.ConfigError, match=r"zhipu uses zhipu_client\(\).*not openai_client"):
        clients.openai_client(config.resolve(backend="zhipu", mode="replay"), cassette="x")
    with pytest.raises(config.ConfigError, match=r"openai uses openai_client\(\).*not zhipu"):
        clients.zhipu_client(config.resolve(backend="openai", mode="replay"), cassette="x")


def test_course_env_file_names_another_dotenv_or_none(no_repo_dotenv, monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("OPENAI_API_KEY=from-cwd-dotenv\n")
    other = tmp_path / "keys.env"
    other.write_text("OPENAI_API_KEY=from-named-file\n")
    monkeypatch.setenv("COURSE_ENV_FILE", str(other))
    assert config.api_key("openai") == "from-named-file"
    monkeypatch.setenv("COURSE_ENV_FILE", "none")
    assert config.api_key("openai") is None
