"""Structured replies: JSON objects, JSON-schema instances and forced tool calls.

The sandbox is a classifier, so it can honour a schema only where the schema
asks for a classification: a property with an ``enum`` (pydantic's ``Literal``
or ``Enum``) is the question, and its values are the candidate labels. Every
other value is filled so the instance is valid under the schema (see
``instance``); a schema it cannot satisfy for sure gets a 400 naming the
keyword, never an answer that would fail the client's validation.

Written here because no library builds a schema instance from a model's
choice; schema checks follow OpenAI's documented strict-mode rules.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..chat_format import flatten_content
from . import dialects, reading, tools
from .errors import ApiError
from .schema_check import check_schema

JSON_OBJECT_KEY = "label"
LIST_SHARE = 0.5  # an array of enums holds every label at least this share of the top one
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_PROB_NAMES = re.compile(r"conf|prob|score|certainty|置信|概率", re.I)
# Keywords that only describe (safe to ignore) and those that constrain a value we fill.
_DESCRIPTIVE = {"title", "description", "default", "examples", "$schema", "$id", "$comment",
                "deprecated", "readOnly", "writeOnly"}
_STRUCTURE = {"type", "properties", "required", "additionalProperties", "items", "enum",
              "const", "anyOf", "allOf", "$ref", "$defs", "definitions", "minItems",
              "maxItems", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
              "multipleOf", "propertyOrdering"}


@dataclass
class Chosen:
    """A value picked from an enum, with the distribution it came from (for logprobs)."""
    value: object
    dist: dict[str, float]


@dataclass
class Plan:
    """What a structured request wants: ``kind`` is json_object, json_schema, tool or
    prompted (JSON mode whose prompt shows a JSON Schema: answered like json_schema)."""
    kind: str
    schema: dict | None = None
    name: str | None = None
    key: str = JSON_OBJECT_KEY
    defs: dict = field(default_factory=dict)
    choice: str = "named"  # for tools: "named", "required" or "auto" (see ``tools.choose``)


# ------------------------------------------------------------ request reading
def plan_for(body: dict, provider: str) -> Plan | None:
    """The structured answer a chat request asks for, or None for plain text.

    Raises a 400 for tool uses and schemas the sandbox cannot honour; every
    client schema is checked first (``schema_check.check_schema``).
    """
    messages = body["messages"]
    tools_, choice = body.get("tools") or [], body.get("tool_choice")
    fmt = body.get("response_format") or {"type": "text"}
    if tools_ or choice not in (None, "none", "auto"):
        forced = choice not in (None, "none", "auto")
        if forced and fmt["type"] != "text":
            raise ApiError(400, "Use either 'response_format' or a forced tool call, not both: "
                           "the sandbox answers one structured question per request.",
                           param="response_format", code="unsupported_parameter")
        plan = _tool_plan(tools_, choice, provider, messages)
        if plan is not None:
            return plan
    if fmt["type"] == "text":
        return None
    if fmt["type"] == "json_object":
        # the messages' texts, one per line: where JSON mode looks for 'json' and a schema
        text = "\n".join(flatten_content(m.get("content")) for m in messages)
        return json_object_plan(text, provider)
    if not dialects.get(provider).json_schema_format:  # Zhipu: text and json_object only
        raise ApiError(400, "response_format type must be 'text' or 'json_object'.",
                       param="response_format")
    spec = fmt["json_schema"]
    if not _NAME.match(spec["name"]):
        raise ApiError(400, "Invalid 'response_format.json_schema.name': it must be 1-64 "
                       "characters of a-z, A-Z, 0-9, '_' or '-'.",
                       param="response_format.json_schema.name", code="invalid_value")
    schema = spec.get("schema")
    if not isinstance(schema, dict):
        raise ApiError(400, "Invalid 'response_format.json_schema': a 'schema' object is "
                       "required.", param="response_format.json_schema.schema",
                       code="invalid_value")
    check_schema(schema, "response_format.json_schema.schema")
    where = f"response_format '{spec['name']}'"
    if spec.get("strict"):
        _check_strict(schema, where)
    plan = Plan("json_schema", schema, spec["name"], defs=_defs(schema))
    _require_enum(plan, where)
    return plan


def json_object_plan(text: str, provider: str) -> Plan:
    """JSON mode: the schema the prompt shows, else one key (README "Structured outputs")."""
    if dialects.get(provider).json_mode_needs_word_json and "json" not in text.lower():
        raise ApiError(400, "'messages' must contain the word 'json' in some form, to use "
                       "'response_format' of type 'json_object'.", param="messages",
                       code="invalid_value")
    objects = tools.json_objects(text)
    for obj in objects:
        if not tools.looks_like_schema(obj):
            continue
        try:
            check_schema(obj, "messages")
        except ApiError:
            continue  # a prompt's schema the sandbox cannot fill: answer with one key instead
        plan = Plan("prompted", obj, obj.get("title") if isinstance(obj.get("title"), str)
                    else "prompted schema", defs=_defs(obj))
        if enums(plan) or tools.label_field(obj):
            return plan
    return Plan("json_object", key=tools.prompted_key(text, objects) or JSON_OBJECT_KEY)


def _tool_plan(tools_: list, choice, provider: str, messages: list) -> Plan | None:
    if not dialects.get(provider).serves_tools:
        raise ApiError(400, "The sandbox does not implement tools on Zhipu paths.",
                       param="tools")
    if isinstance(choice, dict) and choice.get("type") != "function":
        raise ApiError(400, f"The sandbox does not implement tool_choice type "
                       f"{choice.get('type')!r}.", param="tool_choice.type",
                       code="unsupported_parameter")
    if choice not in (None, "none", "auto") and not tools_:
        raise ApiError(400, "Invalid value for 'tool_choice': 'tool_choice' is only allowed "
                       "when 'tools' are specified.", param="tool_choice", code="invalid_value")
    functions = []
    for i, tool in enumerate(tools_):
        if tool["type"] != "function":
            raise ApiError(400, f"The sandbox does not implement '{tool['type']}' tools.",
                           param=f"tools[{i}].type", code="unsupported_parameter")
        fn = tool["function"]
        params = fn.get("parameters")
        if params is None:
            params = {"type": "object", "properties": {}}
        check_schema(params, f"tools[{i}].function.parameters")
        if fn.get("strict"):
            _check_strict(params, f"function '{fn['name']}'")
        functions.append(tools.Function(fn["name"], params, bool(fn.get("strict"))))
    picked = tools.choose(functions, choice, answered_already=tools.answered(messages),
                          prompt_has_labels=lambda: bool(reading.read(messages).labels))
    return None if picked is None else tool_plan(picked)


def tool_plan(picked: tools.ToolChoice) -> Plan:
    """The plan for calling a chosen function (also for the Responses API)."""
    fn = picked.function
    return Plan("tool", fn.parameters, fn.name, defs=_defs(fn.parameters), choice=picked.how)


def _defs(schema: dict) -> dict:
    return {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})}


def _resolve(node: dict, defs: dict, where: str) -> dict:
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        m = re.fullmatch(r"#/(?:\$defs|definitions)/(.+)", ref)
        if not m or m.group(1) not in defs or seen > 32:
            raise ApiError(400, f"Invalid schema for {where}: cannot resolve $ref {ref!r}.",
                           param="response_format", code="invalid_value")
        node = {**defs[m.group(1)], **{k: v for k, v in node.items() if k != "$ref"}}
        seen += 1
    return node


def _check_strict(schema: dict, where: str, path=()) -> None:
    """OpenAI's strict-mode rules: every object closes additionalProperties, requires all."""
    def walk(node, path):
        if not isinstance(node, dict):
            return
        if node.get("type") == "object" or "properties" in node:
            props = node.get("properties") or {}
            if node.get("additionalProperties") is not False:
                raise ApiError(400, f"Invalid schema for {where}: In context={path}, "
                               "'additionalProperties' is required to be supplied and to be "
                               "false.", param="response_format", code="invalid_value")
            missing = [k for k in props if k not in (node.get("required") or [])]
            if missing:
                raise ApiError(400, f"Invalid schema for {where}: In context={path}, "
                               "'required' is required to be supplied and to be an array "
                               f"including every key in properties. Missing {missing[0]!r}.",
                               param="response_format", code="invalid_value")
            for k, v in props.items():
                walk(v, path + ("properties", k))
        for key in ("items",):
            walk(node.get(key), path + (key,))
        for key in ("anyOf", "allOf"):
            for i, sub in enumerate(node.get(key) or []):
                walk(sub, path + (key, i))
        for key in ("$defs", "definitions"):
            for k, v in (node.get(key) or {}).items():
                walk(v, path + (key, k))

    if schema.get("type") != "object":
        raise ApiError(400, f"Invalid schema for {where}: schema must be a JSON Schema of "
                       "'type: \"object\"'.", param="response_format", code="invalid_value")
    walk(schema, tuple(path))


def enums(plan: Plan) -> list[list]:
    """Every enum in the schema, in the order ``instance`` fills them."""
    found = []

    def walk(node, depth=0):
        node = _resolve(node, plan.defs, plan.name)
        if not isinstance(node, dict) or depth > 32:
            return
        if "enum" in node:
            found.append(list(node["enum"]))
        for sub in (node.get("properties") or {}).values():
            walk(sub, depth + 1)
        for sub in _branches(node):
            walk(sub, depth + 1)
        items = node.get("items")
        if isinstance(items, dict) and (node.get("minItems") or "enum" in _resolve(
                items, plan.defs, plan.name)):
            walk(items, depth + 1)

    walk(plan.schema)
    return found


def _require_enum(plan: Plan, where: str) -> None:
    if not enums(plan) and not tools.label_field(plan.schema):
        raise ApiError(400, f"The sandbox can answer {where} only as a classification: its "
                       "schema needs a property with an 'enum' of labels (a Literal or Enum "
                       "field) or a string property named like a label.",
                       param="response_format" if plan.kind == "json_schema" else "tools",
                       code="unsupported_parameter")


def _branches(node: dict) -> list:
    """The branch ``instance`` takes: allOf parts all apply, anyOf takes its first non-null."""
    out = list(node.get("allOf") or [])
    any_of = [b for b in node.get("anyOf") or [] if not (isinstance(b, dict)
                                                         and b.get("type") == "null")]
    if any_of:
        out.append(any_of[0])
    return out


# ------------------------------------------------------------ instance building
def instance(plan: Plan, choose) -> object:
    """A value valid under ``plan.schema``; ``choose(enum_values) -> Chosen`` fills enums.

    ``choose(None)`` fills a string property named like a label (``tools.label_named``)
    from the labels read in the prompt (it may return None: then ""). An array
    of enums holds ``list_of_labels``. Other values: strings "" , numbers 0 (or
    the chosen label's probability for a number named like
    confidence/probability/score, clipped to the bounds), booleans false, other
    arrays their minimum number of items, nullable fields null unless they hold
    an enum.
    """
    top = {"p": None}

    def fill(node, name: str, where: str, depth: int):
        node = _resolve(node, plan.defs, where)
        if depth > 32:
            raise ApiError(400, f"Schema for {plan.name} nests too deeply.",
                           param="response_format")
        unknown = set(node) - _DESCRIPTIVE - _STRUCTURE
        if unknown:
            key = sorted(unknown)[0]
            raise ApiError(400, f"The sandbox cannot guarantee a value for schema keyword "
                           f"{key!r} at {where or 'the root'} of {plan.name}.",
                           param="response_format" if plan.kind == "json_schema" else "tools",
                           code="unsupported_parameter")
        if node.get("allOf"):
            merged = {k: v for k, v in node.items() if k != "allOf"}
            for part in node["allOf"]:
                merged.update(_resolve(part, plan.defs, where))
            return fill(merged, name, where, depth + 1)
        if "const" in node:
            return node["const"]
        if "enum" in node:
            chosen = choose(list(node["enum"]))
            if top["p"] is None:
                top["p"] = max(chosen.dist.values())
            return chosen
        if node.get("anyOf"):
            branches = node["anyOf"]
            real = [b for b in branches if _resolve(b, plan.defs, where).get("type") != "null"]
            holds_enum = real and enums(Plan(plan.kind, real[0], plan.name, defs=plan.defs))
            if len(real) < len(branches) and not holds_enum:
                return None
            return fill(real[0], name, where, depth + 1)
        kind = node.get("type")
        if isinstance(kind, list):
            kind = "null" if "null" in kind else kind[0]
        if kind == "object" or (kind is None and "properties" in node):
            props = node.get("properties") or {}
            required = node.get("required")
            keys = list(props) if required is None else [k for k in props if k in required]
            return {k: fill(props[k], k, f"{where}.{k}" if where else k, depth + 1)
                    for k in keys}
        if kind == "array":
            items = _resolve(node.get("items") or {}, plan.defs, where)
            if "enum" in items:
                chosen = choose(list(items["enum"]))
                if top["p"] is None:
                    top["p"] = max(chosen.dist.values())
                return list_of_labels(list(items["enum"]), chosen, node.get("minItems"),
                                      node.get("maxItems"))
            count = int(node.get("minItems") or 0)
            return [fill(node.get("items") or {}, name, f"{where}[{i}]", depth + 1)
                    for i in range(count)]
        if kind == "string":
            if name and tools.label_named(name):
                chosen = choose(None)
                if chosen is not None:
                    if top["p"] is None:
                        top["p"] = max(chosen.dist.values())
                    return chosen
            return ""
        if kind in ("number", "integer"):
            return _number(node, kind, name, top["p"])
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        return ""  # an unconstrained value: any JSON is valid

    return fill(plan.schema, "", "", 0)


def list_of_labels(values: list, chosen: Chosen, min_items=None, max_items=None) -> list:
    """The labels an array of enums answers: every label whose probability is at least
    ``LIST_SHARE`` of the top one's, most probable first (ties: listed first), then cut
    to ``maxItems`` or padded to ``minItems`` (at least one) with the next most probable,
    cycling when the enum has fewer values than ``minItems``."""
    probs = list(chosen.dist.values())
    if len(probs) != len(values):  # values whose texts collide (1 and "1"): the top one
        probs = [1.0 if v == chosen.value else 0.0 for v in values]
    ranked = sorted(range(len(values)), key=lambda i: -probs[i])
    picked = [i for i in ranked if probs[i] >= LIST_SHARE * probs[ranked[0]]]
    low = max(int(min_items or 0), 1)
    high = int(max_items) if max_items is not None else max(len(picked), low)
    count = max(min(max(len(picked), low), high), 1)
    return [Chosen(values[ranked[k % len(ranked)]], chosen.dist) for k in range(count)]


def _number(node: dict, kind: str, name: str, p):
    value = round(p, 4) if (p is not None and kind == "number" and _PROB_NAMES.search(name)) \
        else 0
    low = node.get("minimum", node.get("exclusiveMinimum"))
    high = node.get("maximum", node.get("exclusiveMaximum"))
    if low is not None and value <= low:
        value = low if "minimum" in node else (low + 1 if kind == "integer" else low + 1e-6)
    if high is not None and value >= high:
        value = high if "maximum" in node else (high - 1 if kind == "integer" else high - 1e-6)
    if node.get("multipleOf"):
        raise ApiError(400, f"The sandbox cannot guarantee a value for schema keyword "
                       f"'multipleOf' at {name!r}.", param="response_format",
                       code="unsupported_parameter")
    return int(value) if kind == "integer" else value


# ------------------------------------------------------------------ serialising
def segments(value) -> list[tuple[str, dict | None]]:
    """Compact JSON text as (piece, distribution) segments; enum picks carry theirs."""
    out: list[tuple[str, dict | None]] = []

    def emit(text, dist=None):
        if dist is None and out and out[-1][1] is None:
            out[-1] = (out[-1][0] + text, None)
        else:
            out.append((text, dist))

    def walk(v):
        if isinstance(v, Chosen):
            if isinstance(v.value, str):
                emit('"')
                emit(json.dumps(v.value, ensure_ascii=False)[1:-1], v.dist)
                emit('"')
            else:
                emit(json.dumps(v.value, ensure_ascii=False), v.dist)
        elif isinstance(v, dict):
            emit("{")
            for i, (k, item) in enumerate(v.items()):
                emit(("," if i else "") + json.dumps(k, ensure_ascii=False) + ":")
                walk(item)
            emit("}")
        elif isinstance(v, list):
            emit("[")
            for i, item in enumerate(v):
                if i:
                    emit(",")
                walk(item)
            emit("]")
        else:
            emit(json.dumps(v, ensure_ascii=False, allow_nan=False))

    walk(value)
    return out
