"""Client JSON Schemas are checked before use: malformed or too large is a 400 naming the place."""
import re

import openai
import pytest

from helpers import prompts
from helpers.sandbox import inference, reading, schema_check, structured
from helpers.sandbox.core import BASE_MODEL
from helpers.sandbox.errors import ApiError

LABELS = ["体育", "财经", "科技"]
ROOT = "response_format.json_schema.schema"
LABEL = f"{ROOT}.properties.label"


def wrap(label_schema, **root):
    return {"type": "object", "properties": {"label": label_schema}, **root}


E = {"type": "string", "enum": LABELS}
MALFORMED = [  # (schema, the param the 400 names)
    (wrap({"enum": []}), f"{LABEL}.enum"),
    (wrap({"enum": True}), f"{LABEL}.enum"),
    (wrap({"enum": None}), f"{LABEL}.enum"),
    (wrap({"enum": "sports"}), f"{LABEL}.enum"),
    (wrap({"enum": {"a": 1}}), f"{LABEL}.enum"),
    (wrap({"enum": ["a", "a"]}), f"{LABEL}.enum"),
    (wrap({"enum": [["a"], ["b"]]}), f"{LABEL}.enum"),
    (wrap({"type": "string", "enum": ["a", 1]}), f"{LABEL}.enum"),
    ({"type": "object", "properties": 5}, f"{ROOT}.properties"),
    ({"type": "object", "properties": [E]}, f"{ROOT}.properties"),
    (wrap(5), LABEL),
    (wrap(E, required=5), f"{ROOT}.required"),
    (wrap(E, required=["missing"]), f"{ROOT}.required"),
    (wrap(E, required=[1]), f"{ROOT}.required"),
    (wrap(E, required=["label", "label"]), f"{ROOT}.required"),
    (wrap({"type": "foo", "enum": LABELS}), f"{LABEL}.type"),
    (wrap({"type": [], "enum": LABELS}), f"{LABEL}.type"),
    (wrap({"type": 5, "enum": LABELS}), f"{LABEL}.type"),
    (wrap({"type": ["string", "string"], "enum": LABELS}), f"{LABEL}.type"),
    (wrap({"type": "array", "items": [E]}), f"{LABEL}.items"),
    (wrap({"type": "array", "items": 5}), f"{LABEL}.items"),
    (wrap({"$ref": "#/$defs/Nope"}, **{"$defs": {"L": E}}), f"{LABEL}.$ref"),
    (wrap({"$ref": 5}), f"{LABEL}.$ref"),
    (wrap({"$ref": "https://example.com/schema.json"}), f"{LABEL}.$ref"),
    (wrap(E, **{"$defs": 5}), f"{ROOT}.$defs"),
    (wrap({"anyOf": []}), f"{LABEL}.anyOf"),
    (wrap({"anyOf": 5}), f"{LABEL}.anyOf"),
    (wrap({"allOf": [5]}), f"{LABEL}.allOf[0]"),
    (wrap({"type": "array", "items": E, "minItems": -1}), f"{LABEL}.minItems"),
    (wrap({"type": "array", "items": E, "minItems": "2"}), f"{LABEL}.minItems"),
    (wrap({"type": "array", "items": E, "maxItems": 1.5}), f"{LABEL}.maxItems"),
    (wrap({"type": "array", "items": E, "minItems": 3, "maxItems": 2}), f"{LABEL}.minItems"),
    (wrap(E, properties={"label": E, "n": {"type": "number", "minimum": "0"}}),
     f"{ROOT}.properties.n.minimum"),
    (wrap(E, properties={"label": E, "n": {"type": "number", "minimum": 5, "maximum": 1}}),
     f"{ROOT}.properties.n.minimum"),
    (wrap(E, additionalProperties=5), f"{ROOT}.additionalProperties"),
    (wrap({**E, "title": 5}), f"{LABEL}.title"),
    (wrap({"type": "array", "items": {"type": "array", "items": {"enum": True}}}),
     f"{LABEL}.items.items.enum"),
]
CANNOT_FILL = [
    (wrap(E, properties={"label": E, "code": {"type": "string", "pattern": "^[A-Z]+$"}}),
     f"{ROOT}.properties.code.pattern"),
    (wrap({"oneOf": [E]}), f"{LABEL}.oneOf"),
    (wrap({"type": "array", "items": E, "uniqueItems": True}), f"{LABEL}.uniqueItems"),
]


def deep(n):
    node = E
    for _ in range(n):
        node = {"type": "object", "properties": {"x": node}, "required": ["x"]}
    return node


def doubling(levels):
    """Each definition requires two copies of the next: 2**levels values, few schema bytes."""
    defs = {f"D{i}": {"type": "object", "required": ["a", "b"], "properties": {
        "a": {"$ref": f"#/$defs/D{i + 1}"}, "b": {"$ref": f"#/$defs/D{i + 1}"}}}
        for i in range(levels)}
    defs[f"D{levels}"] = E
    return wrap({"$ref": "#/$defs/D0"}, **{"$defs": defs})


TOO_LARGE = [
    (wrap({"type": "array", "items": E, "minItems": 1_000_000}), f"{LABEL}.minItems"),
    (wrap({"type": "string", "enum": [f"label {i}" for i in range(40_000)]}), f"{LABEL}.enum"),
    (wrap({"type": "string", "enum": [f"l{i}" for i in range(1001)]}), f"{LABEL}.enum"),
    (wrap({"type": "string", "enum": [f"{i:04d}" + "x" * 56 for i in range(300)]}),
     f"{LABEL}.enum"),
    ({"type": "object", "properties": {**{f"p{i}": {"type": "string"} for i in range(5001)},
                                       "label": E}}, f"{ROOT}.properties"),
    (deep(11), ROOT + ".properties.x" * 11),
    (wrap({"type": "array", "minItems": 100, "items": {
        "type": "array", "minItems": 100, "items": {"type": "array", "minItems": 100,
                                                   "items": E}}}), ROOT),
    (doubling(40), ROOT),
]


@pytest.fixture
def no_work(monkeypatch):
    """Counts every instance built and every prompt scored: a refused schema costs neither."""
    calls = []

    def refuse(name):
        def fail(*a, **k):
            calls.append(name)
            raise AssertionError(f"{name} called for a schema that should be refused")
        return fail

    monkeypatch.setattr(structured, "instance", refuse("instance"))
    monkeypatch.setattr(inference, "base_distribution", refuse("base_distribution"))
    monkeypatch.setattr(reading, "read", refuse("read"))
    return calls


def send(client, schema, kind="format"):
    msgs = prompts.messages("国足主场绝杀卫冕冠军", LABELS)
    if kind == "format":
        return client.chat.completions.create(model=BASE_MODEL, messages=msgs, response_format={
            "type": "json_schema", "json_schema": {"name": "t", "schema": schema}})
    tools = [{"type": "function", "function": {"name": "other", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "t", "parameters": schema}}]
    return client.chat.completions.create(model=BASE_MODEL, messages=msgs, tools=tools)


@pytest.mark.parametrize("schema, param", MALFORMED + CANNOT_FILL + TOO_LARGE)
def test_bad_schema_is_a_400_naming_its_place_before_any_work(client, no_work, schema, param):
    with pytest.raises(openai.BadRequestError) as err:
        send(client, schema)
    assert err.value.param.startswith(param) and param in err.value.message
    assert no_work == []


@pytest.mark.parametrize("schema, param", MALFORMED[:8] + TOO_LARGE[:2])
def test_tool_parameters_are_checked_with_their_own_path(client, no_work, schema, param):
    where = param.replace(ROOT, "tools[1].function.parameters")
    with pytest.raises(openai.BadRequestError) as err:
        send(client, schema, kind="tools")
    assert err.value.param.startswith(where) and where in err.value.message
    assert no_work == []


def test_cannot_fill_and_too_large_say_so(client):
    with pytest.raises(openai.BadRequestError, match="cannot guarantee a value for schema "
                       "keyword 'pattern'"):
        send(client, CANNOT_FILL[0][0])
    with pytest.raises(openai.BadRequestError, match="fills at most 100 items"):
        send(client, TOO_LARGE[0][0])
    with pytest.raises(openai.BadRequestError, match="more than 1000 enum values"):
        send(client, TOO_LARGE[1][0])


def test_limits_leave_reasonable_schemas_alone(client):
    ok = wrap({"type": "array", "items": E, "minItems": 2, "maxItems": 100},
              required=["label"], **{"$defs": {"unused": {"type": "string"}}})
    r = send(client, ok)
    assert r.choices[0].message.content.startswith('{"label":["体育"')
    schema_check.check_schema(deep(10), "x")
    schema_check.check_schema(wrap({"type": "string", "enum": [f"l{i}" for i in range(1000)]}),
                              "x")


def test_check_schema_is_callable_for_other_parameters():
    with pytest.raises(ApiError) as err:
        schema_check.check_schema(wrap({"enum": "sports"}), "text.format.schema")
    assert err.value.status == 400 and err.value.param == "text.format.schema.properties.label.enum"
    assert "'enum' must be an array" in err.value.message


def test_a_prompt_over_the_context_is_refused_before_it_is_read(client, no_work):
    for content, words in (("word " * 130_000, "tokens"),
                           ("x" * 1_100_000, "over 1024000 characters")):
        with pytest.raises(openai.BadRequestError) as err:
            client.chat.completions.create(model=BASE_MODEL,
                                           messages=[{"role": "user", "content": content}])
        assert err.value.code == "context_length_exceeded" and err.value.param == "messages"
        assert "maximum context length is 128000 tokens" in err.value.message
        assert f"resulted in {words}" in err.value.message or int(re.search(
            r"resulted in (\d+) tokens", err.value.message).group(1)) > 128_000
    assert no_work == []
