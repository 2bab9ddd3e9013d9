"""01 builds its first client with the official constructor and ``clients.course_http_client``:
that client must record and replay exactly like ``run.client()`` (issue 20)."""
import httpx
import httpx2
import pytest
from openai import OpenAI
from zhipuai import ZhipuAI

from helpers import clients, config, recording


def _constructed(settings, cassette):
    return OpenAI(base_url=clients.SANDBOX_OPENAI_URL, api_key=clients.SANDBOX_KEY,
                  http_client=clients.course_http_client(settings, "openai", cassette=cassette))


def test_a_constructed_client_records_and_replays_like_run_client(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CASSETTE_DIR", str(tmp_path))
    monkeypatch.setenv("COURSE_SANDBOX_DIR", str(tmp_path / "sb"))
    try:
        recorded = _constructed(config.resolve(backend="sandbox", mode="record"), "ctor")
        live_ids = [m.id for m in recorded.models.list().data]
    finally:
        recording.deactivate()
    assert "/v1/models" in (tmp_path / "ctor.sandbox.json").read_text(encoding="utf-8")
    try:
        replayed = _constructed(config.resolve(backend="sandbox", mode="replay"), "ctor")
        assert [m.id for m in replayed.models.list().data] == live_ids
        with pytest.raises(recording.CassetteMiss, match="GET /v1/files"):
            replayed.files.list()  # replay answers only from the cassette
    finally:
        recording.deactivate()


def test_each_sdk_gets_the_http_library_it_is_built_on(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_SANDBOX_DIR", str(tmp_path / "sb"))
    live = config.resolve(backend="sandbox", mode="live")
    assert isinstance(clients.course_http_client(live, "openai"), httpx2.Client)
    zhipu_http = clients.course_http_client(live, "zhipu")
    assert isinstance(zhipu_http, httpx.Client)
    zhipu = ZhipuAI(base_url=clients.SANDBOX_ZHIPU_URL, api_key=clients.SANDBOX_KEY,
                    http_client=zhipu_http)
    answer = zhipu.chat.completions.create(model="sandbox-base", max_tokens=8,
                                           messages=[{"role": "user", "content": "hello"}])
    assert answer.choices[0].message.content is not None


def test_record_and_replay_need_a_cassette_name():
    with pytest.raises(config.ConfigError, match="needs a cassette name"):
        clients.course_http_client(config.resolve(backend="sandbox", mode="replay"), "openai")
