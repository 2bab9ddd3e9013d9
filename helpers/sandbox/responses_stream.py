"""``POST /v1/responses`` with ``stream=true``: a created Response as Responses events.

The response is answered (and stored) first, then told as events, so the
final ``response.completed``/``response.incomplete`` carries exactly the
non-streamed Response. Order, per OpenAI's event stream: ``response.created``,
``response.in_progress``; per output item ``response.output_item.added``,
then for a message ``response.content_part.added``, one
``response.output_text.delta`` per piece of the answer (the chat stream's
pieces), ``response.output_text.done``, ``response.content_part.done``; for a
function call ``response.function_call_arguments.delta``/``.done``; then
``response.output_item.done``; finally ``response.completed`` or
``response.incomplete``. Every event has a ``sequence_number`` from 0 and is
checked against the SDK's ``ResponseStreamEvent`` type. The sandbox never
sends ``response.failed``: anything that fails does so before the first event,
as an HTTP error.
"""
from __future__ import annotations

import itertools
import json
from functools import lru_cache

from openai.types.responses import ResponseStreamEvent
from pydantic import TypeAdapter

from .core import public
from .responses import Result


@lru_cache(maxsize=1)
def _events_type() -> TypeAdapter:
    return TypeAdapter(ResponseStreamEvent)


def _sse(event: dict) -> bytes:
    _events_type().validate_python(event)  # the SDK's own type: fail here, not in a client
    data = json.dumps(event, ensure_ascii=False, allow_nan=False)
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


def _opening(item: dict) -> dict:
    """An output item as first announced: empty, in progress."""
    if item["type"] == "message":
        return {**item, "status": "in_progress", "content": []}
    if item["type"] == "function_call":
        return {**item, "status": "in_progress", "arguments": ""}
    return item


def events(result: Result):
    """The SSE byte chunks for a created response."""
    final = public(result.record)
    numbers = itertools.count()

    def send(kind: str, **fields) -> bytes:
        return _sse({"type": kind, "sequence_number": next(numbers), **fields})

    started = {**final, "status": "in_progress", "output": [], "usage": None,
               "incomplete_details": None, "completed_at": None}
    yield send("response.created", response=started)
    yield send("response.in_progress", response=started)
    pieces = [text for text, _ in result.reply.pieces]
    for index, item in enumerate(final["output"]):
        where = {"item_id": item["id"], "output_index": index}
        yield send("response.output_item.added", output_index=index, item=_opening(item))
        if item["type"] == "message":
            part = item["content"][0]
            yield send("response.content_part.added", **where, content_index=0,
                       part={**part, "text": ""})
            for text in pieces:
                yield send("response.output_text.delta", **where, content_index=0, delta=text,
                           logprobs=[])
            yield send("response.output_text.done", **where, content_index=0,
                       text=part["text"], logprobs=[])
            yield send("response.content_part.done", **where, content_index=0, part=part)
        elif item["type"] == "function_call":
            for text in pieces:
                yield send("response.function_call_arguments.delta", **where, delta=text)
            yield send("response.function_call_arguments.done", **where, name=item["name"],
                       arguments=item["arguments"])
        yield send("response.output_item.done", output_index=index, item=item)
    end = "response.completed" if final["status"] == "completed" else "response.incomplete"
    yield send(end, response=final)
