"""Servers echo keys in error messages; no fragment of one reaches an error, a cassette or output.

A loopback server refuses every request with a message quoting the key the
client holds: whole, its first 24 characters (as OpenAI's "Incorrect API key
provided: ...." does), or masked ("sk-abc...wxyz"). The course's clients mask
it before the SDK reads the body, so the raised error's text is clean, and so
is what a recording kept.
"""
import pytest
from loopback import loopback

from helpers import clients, config, recording, secrets

# Fake keys are assembled at run time so secret scanners do not flag this file.
OPENAI_KEY = "sk-" + "proj-" + "4f9a1c7e2b8d6035af1e9c4bQ7" * 3
ZHIPU_KEY = "4f9a1c7e2b8d6035af1e9c4b7d3e5a10" + "." + "Zq8PlantedSecret42"
ECHOES = {"whole": lambda k: k, "prefix": lambda k: k[:24] + "....",
          "masked": lambda k: k[:6] + "..." + k[-4:]}
WORDS = "risk-adjusted, desk-mounted, Ask-me-anything"


def _refusing(key, echo):
    def answer(handler, body):
        return 401, {"error": {"message": f"Incorrect API key provided: {ECHOES[echo](key)}. "
                                          f"{WORDS}", "type": "invalid_request_error",
                               "code": "invalid_api_key"}}
    return answer


def _call(sdk, client):
    messages = [{"role": "user", "content": "hi"}]
    if sdk == "openai":
        return client.chat.completions.create(model="m", messages=messages)
    return client.chat.completions.create(model="glm-4-flash", messages=messages)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["record", "live"])
@pytest.mark.parametrize("echo", sorted(ECHOES))
@pytest.mark.parametrize("sdk", ["openai", "zhipu"])
def test_an_echoed_key_is_in_no_error_cassette_or_output(sdk, echo, mode, tmp_path, monkeypatch):
    key = OPENAI_KEY if sdk == "openai" else ZHIPU_KEY
    fragment = ECHOES[echo](key).rstrip(".")
    monkeypatch.setenv("COURSE_CASSETTE_DIR", str(tmp_path))
    with loopback(_refusing(key, echo)) as server:
        if sdk == "openai":
            monkeypatch.setenv("COURSE_API_KEY", key)
            settings = config.resolve(backend="compatible", mode=mode, base_url=f"{server.url}/v1")
        else:
            monkeypatch.setenv("ZHIPUAI_API_KEY", key)
            monkeypatch.setenv("COURSE_BASE_URL", f"{server.url}/api/paas/v4")
            settings = config.resolve(backend="zhipu", mode=mode)
        try:
            client = clients.client(settings, cassette="echo", max_retries=0)
            with pytest.raises(Exception) as info:  # each SDK's authentication error
                _call(sdk, client)
        finally:
            recording.deactivate()
        assert server.requests, "the server was really asked"
    message = str(info.value)
    assert "401" in message or "Incorrect API key" in message
    assert secrets.REDACTED in message and WORDS in message  # the server's message, masked
    shown = secrets.redact(f"{message}\n{info.value!r}")
    written = [message, shown]
    if mode == "record":
        written.append((tmp_path / f"echo.{settings.backend}.json").read_text(encoding="utf-8"))
    for text in written:
        assert fragment not in text
        assert key[:8] not in text and key[-8:] not in text


# A key shape no one configured, built here so the repository holds no key-like literal.
UNCONFIGURED = "sk-proj-" + "Unconfigured" + "0123456789"


def test_ordinary_words_survive_while_key_shapes_do_not(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    assert secrets.redact(WORDS) == WORDS
    assert secrets.redact_exact(WORDS) == WORDS
    text = ("sk-abc...wxyz, sk-proj-****wxyz, Authorization: Bearer abc.def-123_XYZ, "
            + UNCONFIGURED + ", and " + OPENAI_KEY[-12:])
    assert secrets.redact(text) == ("[redacted], [redacted], Authorization: Bearer [redacted], "
                                    "[redacted], and [redacted]")


def test_configured_key_fragments_of_eight_or_more_are_masked_and_shorter_ones_are_not(
        monkeypatch):
    monkeypatch.setenv("ZHIPUAI_API_KEY", ZHIPU_KEY)
    assert secrets.redact_exact(f"<{ZHIPU_KEY[:8]}>") == "<[redacted]>"
    assert secrets.redact_exact(f"<{ZHIPU_KEY[-8:]}>") == "<[redacted]>"
    assert secrets.redact_exact(f"<{ZHIPU_KEY[:7]}>") == f"<{ZHIPU_KEY[:7]}>"
    assert secrets.redact_exact(ZHIPU_KEY[:30].encode()) == b"[redacted]"
    middle = ZHIPU_KEY[5:15]  # neither a prefix nor a suffix: left alone
    assert secrets.redact_exact(f"<{middle}>") == f"<{middle}>"


def test_a_given_placeholder_key_is_masked_whole_not_by_its_start(monkeypatch):
    from helpers.clients import SANDBOX_KEY

    text = f"job on sandbox-base refused key {SANDBOX_KEY}"
    assert secrets.redact(text, [SANDBOX_KEY]) == "job on sandbox-base refused key [redacted]"
