"""Checking a client's JSON Schema before the sandbox uses it.

Every schema a client supplies (``response_format.json_schema.schema``, each
tool's ``parameters``, a Responses ``text.format.schema``) goes through
``check_schema(schema, param_path)`` first. It answers a 400 whose ``param``
and message name the exact place (``...properties.label.enum``) for:

- a malformed schema: a keyword with a value of the wrong kind (``"enum":
  "sports"``, ``"properties": 5``), an empty or duplicated enum, ``required``
  naming a property that is not there, an unknown ``type``, ``items`` that is
  not an object, a ``$ref`` to nowhere, minimum above maximum...;
- what the sandbox cannot fill: a keyword that constrains a value it does not
  choose (``pattern``, ``format``, ``minLength``, ``oneOf``, ``uniqueItems``...);
- the limits (README "Schema limits"), in the spirit of OpenAI's structured-
  output limits, so that no request costs more than about a second: nesting
  depth, object properties, enum values and their characters, ``minItems`` /
  ``maxItems``, and the size of the instance the schema asks for (counted from
  the schema, before any instance is built).

Written by hand: a JSON Schema validator (``jsonschema``) checks instances,
and its meta-schema check accepts what the sandbox cannot fill and names no
request parameter.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ApiError

MAX_DEPTH = 10                  # nesting of objects/arrays, as OpenAI
MAX_PROPERTIES = 5_000          # object properties in the whole schema
MAX_ENUM_VALUES = 1_000         # enum values in the whole schema
LONG_ENUM = 250                 # a string enum with more values than this...
MAX_LONG_ENUM_CHARS = 15_000    # ...may have at most this many characters in all
MAX_ITEMS = 100                 # the largest minItems/maxItems the sandbox fills
MAX_INSTANCE_NODES = 10_000     # values in the smallest instance the schema asks for

TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}
DESCRIPTIVE = {"title", "description", "default", "examples", "$schema", "$id", "$comment",
               "deprecated", "readOnly", "writeOnly"}
STRUCTURE = {"type", "properties", "required", "additionalProperties", "items", "enum",
             "const", "anyOf", "allOf", "$ref", "$defs", "definitions", "minItems",
             "maxItems", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
             "propertyOrdering"}
_REF = re.compile(r"#/(\$defs|definitions)/([^/]+)")


@dataclass
class _Totals:
    properties: int = 0
    enum_values: int = 0


def _fail(path: str, message: str, code: str = "invalid_value") -> ApiError:
    return ApiError(400, f"Invalid schema at '{path}': {message}", param=path, code=code)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def check_schema(schema, param_path: str) -> None:
    """Raise a 400 naming ``param_path`` + the place, unless the sandbox can use ``schema``."""
    if not isinstance(schema, dict):
        raise _fail(param_path, "a schema must be a JSON object.")
    defs = {}
    for key in ("$defs", "definitions"):
        if key in schema:
            if not isinstance(schema[key], dict):
                raise _fail(f"{param_path}.{key}", f"'{key}' must be an object of schemas.")
            defs[key] = schema[key]
    totals = _Totals()
    _node(schema, param_path, 0, defs, totals)
    for key, table in defs.items():
        for name, sub in table.items():
            _node(sub, f"{param_path}.{key}.{name}", 1, defs, totals)
    if instance_size(schema, defs, param_path) > MAX_INSTANCE_NODES:
        raise _fail(param_path, f"the smallest valid instance has more than "
                    f"{MAX_INSTANCE_NODES} values (minItems multiply through nested arrays); "
                    "the sandbox does not build instances that large.", "schema_too_large")


def _node(node, path: str, depth: int, defs: dict, totals: _Totals) -> None:
    if not isinstance(node, dict):
        raise _fail(path, "a schema must be a JSON object.")
    if depth > MAX_DEPTH:
        raise _fail(path, f"the schema nests deeper than {MAX_DEPTH} levels.",
                    "schema_too_deep")
    unknown = sorted(set(node) - DESCRIPTIVE - STRUCTURE)
    if unknown:
        raise ApiError(400, f"The sandbox cannot guarantee a value for schema keyword "
                       f"{unknown[0]!r} at '{path}.{unknown[0]}': it fills only type, properties, "
                       "required, items, enum, const, anyOf, allOf, $ref and number and "
                       "array bounds.", param=f"{path}.{unknown[0]}",
                       code="unsupported_parameter")
    _type(node, path)
    _enum(node, path, totals)
    _object(node, path, depth, defs, totals)
    _array(node, path, depth, defs, totals)
    _bounds(node, path)
    for key in ("anyOf", "allOf"):
        if key in node:
            subs = node[key]
            if not isinstance(subs, list) or not subs:
                raise _fail(f"{path}.{key}", f"'{key}' must be a non-empty array of schemas.")
            for i, sub in enumerate(subs):
                _node(sub, f"{path}.{key}[{i}]", depth, defs, totals)
    if "$ref" in node:
        _ref(node["$ref"], f"{path}.$ref", defs)
    for key in ("title", "description", "$comment"):
        if key in node and not isinstance(node[key], str):
            raise _fail(f"{path}.{key}", f"'{key}' must be a string.")


def _type(node: dict, path: str) -> None:
    if "type" not in node:
        return
    kind = node["type"]
    kinds = kind if isinstance(kind, list) else [kind]
    if not kinds or not all(isinstance(k, str) for k in kinds):
        raise _fail(f"{path}.type", "'type' must be a type name or a non-empty array of them.")
    bad = [k for k in kinds if k not in TYPES]
    if bad:
        raise _fail(f"{path}.type", f"unknown type {bad[0]!r}; expected one of "
                    f"{', '.join(sorted(TYPES))}.")
    if len(set(kinds)) < len(kinds):
        raise _fail(f"{path}.type", "'type' lists a type twice.")


def _enum(node: dict, path: str, totals: _Totals) -> None:
    if "enum" not in node:
        return
    values = node["enum"]
    where = f"{path}.enum"
    if not isinstance(values, list):
        raise _fail(where, f"'enum' must be an array of values, not {type(values).__name__}.")
    if not values:
        raise _fail(where, "'enum' must have at least one value.")
    if not all(v is None or isinstance(v, (str, int, float, bool)) for v in values):
        raise _fail(where, "'enum' values must be strings, numbers, booleans or null.")
    keys = [(type(v).__name__, v) for v in values]
    if len(set(keys)) < len(keys):
        raise _fail(where, "'enum' values must be unique.")
    totals.enum_values += len(values)
    if totals.enum_values > MAX_ENUM_VALUES:
        raise _fail(where, f"the schema has more than {MAX_ENUM_VALUES} enum values in total.",
                    "schema_too_large")
    strings = [v for v in values if isinstance(v, str)]
    if len(strings) > LONG_ENUM and sum(map(len, strings)) > MAX_LONG_ENUM_CHARS:
        raise _fail(where, f"a string enum with more than {LONG_ENUM} values may have at most "
                    f"{MAX_LONG_ENUM_CHARS} characters in all.", "schema_too_large")
    kind = node.get("type")
    kinds = set(kind if isinstance(kind, list) else [kind]) if kind is not None else None
    if kinds is not None:
        fits = {"string": str, "integer": int, "number": (int, float), "boolean": bool}
        wrong = [v for v in values if not (v is None and "null" in kinds) and not any(
            isinstance(v, fits[k]) and not (isinstance(v, bool) and k != "boolean")
            for k in kinds if k in fits)]
        if wrong:
            raise _fail(where, f"enum value {wrong[0]!r} does not have the schema's type "
                        f"{kind!r}.")


def _object(node: dict, path: str, depth: int, defs: dict, totals: _Totals) -> None:
    props = node.get("properties", {})
    if not isinstance(props, dict):
        raise _fail(f"{path}.properties", "'properties' must be an object of schemas.")
    totals.properties += len(props)
    if totals.properties > MAX_PROPERTIES:
        raise _fail(f"{path}.properties", f"the schema has more than {MAX_PROPERTIES} object "
                    "properties in total.", "schema_too_large")
    for name, sub in props.items():
        _node(sub, f"{path}.properties.{name}", depth + 1, defs, totals)
    if "required" in node:
        req = node["required"]
        if not isinstance(req, list) or not all(isinstance(r, str) for r in req):
            raise _fail(f"{path}.required", "'required' must be an array of property names.")
        if len(set(req)) < len(req):
            raise _fail(f"{path}.required", "'required' names a property twice.")
        missing = [r for r in req if r not in props]
        if missing:
            raise _fail(f"{path}.required", f"'required' names {missing[0]!r}, which is not "
                        "in 'properties'.")
    extra = node.get("additionalProperties", False)
    if isinstance(extra, dict):
        _node(extra, f"{path}.additionalProperties", depth + 1, defs, totals)
    elif not isinstance(extra, bool):
        raise _fail(f"{path}.additionalProperties",
                    "'additionalProperties' must be a boolean or a schema.")


def _array(node: dict, path: str, depth: int, defs: dict, totals: _Totals) -> None:
    if "items" in node:
        if not isinstance(node["items"], dict):
            raise _fail(f"{path}.items", "'items' must be one schema object (tuple forms are "
                        "not supported).")
        _node(node["items"], f"{path}.items", depth + 1, defs, totals)
    for key in ("minItems", "maxItems"):
        if key in node:
            if not _is_count(node[key]):
                raise _fail(f"{path}.{key}", f"'{key}' must be a non-negative integer.")
            if node[key] > MAX_ITEMS and key == "minItems":
                raise _fail(f"{path}.{key}", f"'minItems' is {node[key]}; the sandbox fills at "
                            f"most {MAX_ITEMS} items per array.", "schema_too_large")
    if node.get("minItems", 0) > node.get("maxItems", float("inf")):
        raise _fail(f"{path}.minItems", "'minItems' is larger than 'maxItems'.")


def _bounds(node: dict, path: str) -> None:
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if key in node and not _is_number(node[key]):
            raise _fail(f"{path}.{key}", f"'{key}' must be a number.")
    low = max([node[k] for k in ("minimum", "exclusiveMinimum") if k in node], default=None)
    high = min([node[k] for k in ("maximum", "exclusiveMaximum") if k in node], default=None)
    if low is not None and high is not None and (
            low > high or (low == high and ("exclusiveMinimum" in node
                                            or "exclusiveMaximum" in node))):
        raise _fail(f"{path}.minimum", "no number lies between the minimum and the maximum.")


def _ref(ref, path: str, defs: dict) -> dict:
    if not isinstance(ref, str):
        raise _fail(path, "'$ref' must be a string.")
    m = _REF.fullmatch(ref)
    if not m or m.group(2) not in defs.get(m.group(1), {}):
        raise _fail(path, f"'$ref' {ref!r} points to nowhere: expected '#/$defs/NAME' or "
                    "'#/definitions/NAME' naming a definition of this schema.")
    return defs[m.group(1)][m.group(2)]


def instance_size(schema: dict, defs: dict, path: str) -> int:
    """How many values the smallest instance has (arrays: minItems copies), capped."""
    cap = MAX_INSTANCE_NODES + 1

    def size(node, seen: int) -> int:
        if seen > 64:  # a $ref cycle through required properties: no finite instance
            raise _fail(path, "the schema's $ref cycle makes every instance infinite.")
        if "$ref" in node:
            return size(_ref(node["$ref"], path, defs), seen + 1)
        total = 1
        for part in node.get("allOf") or []:
            total += size(part, seen + 1)
            if total >= cap:
                return cap
        real = [b for b in node.get("anyOf") or [] if b.get("type") != "null"]
        if real:  # the branch the instance takes: the first that is not null
            total += size(real[0], seen + 1)
        props = node.get("properties") or {}
        required = node.get("required")
        for name in props if required is None else required:
            total += size(props[name], seen + 1)
            if total >= cap:
                return cap
        if isinstance(node.get("items"), dict):
            count = max(node.get("minItems") or 0, 1 if "enum" in node["items"] else 0)
            total += count * size(node["items"], seen + 1)
        return min(total, cap)

    return size(schema, 0)
