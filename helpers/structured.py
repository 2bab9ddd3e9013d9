"""Structured outputs for classification: a JSON object whose ``label`` is one of the labels.

Two request modes (``MODES``), the same question either way:

* ``"json_schema"`` — ``response_format={"type": "json_schema", "json_schema":
  {"name": "Classification", "schema": {...enum of labels...}, "strict": True}}``.
  The schema is pydantic's for ``label_model(labels)``, so this is exactly what
  the OpenAI SDK sends for ``client.chat.completions.parse(...,
  response_format=label_model(labels))`` (tests/test_classify_structured.py
  checks the two requests are equal). The service constrains decoding to it.
* ``"json_object"`` — ``response_format={"type": "json_object"}`` (JSON mode;
  what Zhipu's GLM-4 models accept): the reply is valid JSON but nothing
  enforces the keys or the enum, so the prompt shows the shape
  (``prompts.classification_prompt(..., answer="json")``) and the reply is
  validated here.

``parse_reply`` is strict on purpose: a reply is a label only if it is one JSON
object that validates against ``label_model(labels)`` (``label`` exactly one
of the labels, no other key). Anything else — a refusal, truncated JSON, a code
fence around the JSON, a label that is close but not equal — is *unparseable*
and says why; it is never mapped to a label by a looser reading, so the
comparison with free text stays honest.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

MODES = ("json_schema", "json_object")
MODEL_NAME = "Classification"


@lru_cache(maxsize=64)
def _model(labels: tuple) -> type[BaseModel]:
    return create_model(MODEL_NAME, __config__=ConfigDict(extra="forbid"),
                        label=(Literal[labels], ...))


def label_model(labels) -> type[BaseModel]:
    """``class Classification(BaseModel): label: Literal[*labels]`` (no other field allowed)."""
    labels = tuple(labels)
    if not labels or not all(isinstance(lab, str) for lab in labels):
        raise ValueError("label_model needs one or more labels, as strings")
    return _model(labels)


def response_format(labels, mode: str) -> dict:
    """The ``response_format`` request parameter for ``mode``."""
    if mode == "json_object":
        return {"type": "json_object"}
    if mode == "json_schema":
        return {"type": "json_schema",
                "json_schema": {"name": MODEL_NAME,
                                "schema": label_model(labels).model_json_schema(), "strict": True}}
    raise ValueError(f"structured must be one of {MODES} or None, got {mode!r}")


def _why(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "reply"
    kind = first.get("type")
    if kind == "json_invalid":
        return f"not valid JSON ({first.get('ctx', {}).get('error', first['msg'])})"
    if kind == "model_type":
        return "JSON, but not an object"
    if kind == "literal_error":
        return f"label {first.get('input')!r} is not one of the labels"
    if kind == "extra_forbidden":
        return f"unexpected key {where!r}"
    return f"{where}: {first['msg']}"


def parse_reply(reply, labels, refusal: str | None = None) -> tuple[str | None, str | None]:
    """``(label, None)`` for a valid structured reply, else ``(None, why)``."""
    if refusal:
        return None, f"refused: {str(refusal)[:120]}"
    if not isinstance(reply, str) or not reply.strip():
        return None, "empty reply"
    try:
        return label_model(labels).model_validate_json(reply).label, None
    except ValidationError as err:
        return None, _why(err)
