"""Only the clients the course creates are recorded or replayed; others are left alone."""
import httpx
import httpx2
import pytest
from loopback import loopback

from helpers import clients, config, recording


def _echo(handler, body):
    return 200, {"path": handler.path}


@pytest.mark.slow
def test_other_clients_are_neither_recorded_nor_blocked(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CASSETTE_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_SANDBOX_DIR", str(tmp_path / "sb"))
    record = config.resolve(backend="sandbox", mode="record")
    with loopback(_echo) as other:
        try:
            course = clients.openai_client(record, cassette="scoped")
            assert course.models.list().data  # recorded: the course's client
            assert httpx2.get(f"{other.url}/second-httpx2").json() == {"path": "/second-httpx2"}
            assert httpx.get(f"{other.url}/second-httpx").json() == {"path": "/second-httpx"}
        finally:
            recording.deactivate()
        text = (tmp_path / "scoped.sandbox.json").read_text(encoding="utf-8")
        assert "/v1/models" in text
        assert "second" not in text and "127.0.0.1" not in text

        replay = config.resolve(backend="sandbox", mode="replay")
        try:
            course = clients.openai_client(replay, cassette="scoped")
            assert course.models.list().data
            with pytest.raises(recording.CassetteMiss, match="GET /v1/files"):
                course.files.list()
            # a plain client still reaches its server while the cassette is open
            assert httpx2.get(f"{other.url}/again").json() == {"path": "/again"}
            assert httpx.get(f"{other.url}/again-httpx").status_code == 200
        finally:
            recording.deactivate()
        assert other.requests == [("GET", "/second-httpx2"), ("GET", "/second-httpx"),
                                  ("GET", "/again"), ("GET", "/again-httpx")]


def test_a_live_course_client_is_not_recorded_while_a_cassette_is_open(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_SANDBOX_DIR", str(tmp_path / "sb"))
    cassette = tmp_path / "open.sandbox.json"
    recording.activate(cassette, config.resolve(backend="sandbox", mode="record"))
    try:
        live = clients.openai_client(config.resolve(backend="sandbox", mode="live"))
        assert live.models.list().data
        assert recording.session_for(cassette).interactions == []
    finally:
        recording.deactivate()
    assert not cassette.exists()
