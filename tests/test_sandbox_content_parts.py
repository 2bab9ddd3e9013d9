"""Content parts the sandbox reads with ``chat_format.flatten_content`` only: a part that is
not ``{"type": "text", "text": <string>}`` (a bare string, a number as text) is refused by
the body check on every path, as OpenAI refuses it (400 invalid_type), never a 500."""
import httpx
import pytest

from helpers.sandbox import app_for, catalog

BAD_PARTS = {"bare string": ["Classify: the striker scored. Labels: sports, finance"],
             "number as text": [{"type": "text", "text": 5}],
             "null text": [{"type": "text", "text": None}],
             "no text": [{"type": "text"}]}
# What the 400 names: the bad item inside the content array, not the array.
NAMED = {"bare string": ("messages[1].content[0]", "invalid_type"),
         "number as text": ("messages[1].content[0].text", "invalid_type"),
         "null text": ("messages[1].content[0].text", "invalid_type"),
         "no text": ("messages[1].content[0].text", "missing_required_parameter")}


@pytest.fixture
def http(tmp_path):
    return httpx.Client(transport=httpx.WSGITransport(app=app_for(tmp_path / "sbx")),
                        base_url="http://sandbox")


@pytest.mark.parametrize("case", list(BAD_PARTS))
@pytest.mark.parametrize("fmt", [None, {"type": "json_object"}], ids=["text", "json_mode"])
def test_a_bad_content_part_is_a_400_on_both_chat_paths(http, case, fmt):
    parts = BAD_PARTS[case]
    body = {"model": catalog.BASE_MODEL, "messages": [
        {"role": "system", "content": "Answer in json."}, {"role": "user", "content": parts}]}
    if fmt:
        body["response_format"] = fmt
    openai = http.post("/v1/chat/completions", json=body)
    assert openai.status_code == 400
    error = openai.json()["error"]
    assert (error["param"], error["code"]) == NAMED[case]
    assert f"'{NAMED[case][0]}'" in error["message"]
    zhipu = http.post("/api/paas/v4/chat/completions", json=body)
    assert zhipu.status_code == 400 and zhipu.json()["error"]["code"] == "1214"


@pytest.mark.parametrize("item", [
    {"role": "user", "content": [{"type": "input_text", "text": 5}]},
    {"role": "user", "content": ["a bare string"]},
    {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text",
                                                                  "text": 5}]},
])
def test_a_bad_responses_part_is_a_400(http, item):
    reply = http.post("/v1/responses", json={"model": catalog.BASE_MODEL, "input": [item]})
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "invalid_type"


def test_text_parts_are_read_as_one_text(http):
    """Parts are joined as flatten_content joins them: the split label list still reads."""
    parts = [{"type": "text", "text": "Classify: the striker scored twice. "},
             {"type": "text", "text": "Labels: sports, finance"}]
    reply = http.post("/v1/chat/completions", json={
        "model": catalog.BASE_MODEL, "messages": [{"role": "user", "content": parts}]})
    assert reply.status_code == 200
    assert reply.json()["choices"][0]["message"]["content"] == "sports"
