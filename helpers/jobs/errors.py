"""Errors a learner sees from job management: one clear sentence, never a key.

SDK exceptions (``openai.APIError`` family, ``zhipuai.core._errors.*``) carry
the request, the response and, in their text, whatever the server echoed —
possibly the API key. ``api_call`` turns each into one of the errors below,
with any key-like string redacted, and raises it ``from None`` so the SDK's
own traceback (with its request objects) is not printed under it.
"""
from __future__ import annotations

import json
from contextlib import contextmanager

import openai
from zhipuai.core import _errors as zhipu_errors

from ..clients import base_url_of
from ..config import public_url
from ..secrets import redact

WIND_DOWN = (
    "OpenAI is winding down self-serve fine-tuning: since 2026-05-07 organisations that never "
    "fine-tuned get this 403, since 2026-07-02 also those without recent fine-tuned inference, "
    "and from 2027-01-06 nobody can create jobs (existing fine-tuned models keep serving until "
    "their base model retires)")
WAYS_ON = ("run the course with COURSE_BACKEND=zhipu (Zhipu's fine-tuning API) or with "
           "COURSE_BACKEND=sandbox (the free local API that really trains)")


class CourseJobError(RuntimeError):
    """Base of every error raised by ``helpers.jobs``."""


class APICallError(CourseJobError):
    """An SDK call failed; ``status`` and ``code`` are the API's, when it sent them."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.code = status, code


class TrainingNotAvailableError(APICallError):
    """OpenAI answered 403 ``training_not_available`` (the 2026 wind-down)."""


class NotFoundError(APICallError):
    """The API has no object with that id (HTTP 404)."""


class JobFailedError(CourseJobError):
    """The job ended in ``failed``; the message carries the job's own error."""


class JobCancelledError(CourseJobError):
    """The job ended in ``cancelled``."""


class JobTimeoutError(CourseJobError):
    """The job was still in progress when the wait gave up (it keeps running)."""


class StoreLockTimeout(CourseJobError):
    """Another thread or process held a submission claim (``JobStore.lock``) for too long."""


class NotAvailableError(APICallError):
    """The backend has no such endpoint (Zhipu: no checkpoints; most compatible servers:
    no fine-tuning at all). The message is one sentence a notebook can print."""


class CostLimitError(CourseJobError):
    """The estimated training cost is over ``max_cost_usd`` or cannot be known."""


def _zhipu_body(exc) -> dict:
    try:
        body = json.loads(exc.response.text)
    except (ValueError, AttributeError):
        return {}
    return body.get("error", body) if isinstance(body, dict) else {}


def _status_code_message(exc) -> tuple[int | None, str | None, str]:
    """(HTTP status, API error code, API error message) of an SDK exception."""
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        return exc.status_code, exc.code, str(body.get("message") or exc.message)
    if isinstance(exc, zhipu_errors.APIStatusError):
        body = _zhipu_body(exc)
        code = body.get("code")
        return exc.status_code, None if code is None else str(code), str(
            body.get("message") or exc)
    return None, None, str(exc)


# Zhipu answers HTTP 400 with code 1211 ("the model does not exist") where OpenAI says 404.
ZHIPU_NOT_FOUND = {"1211"}

_HINTS = {
    400: "check the arguments and the file",
    401: "check the API key (it is not shown here)",
    403: "this account may not use this endpoint or model",
    404: "check the id",
    429: "you hit a rate limit or quota; wait a minute and run the cell again",
}


NO_ENDPOINT_STATUS = (404, 405, 501)


def _lacks_endpoint(status: int | None, code) -> bool:
    """A 405/501, or a 404 that names no missing object (``file_not_found`` etc. do)."""
    if status not in NO_ENDPOINT_STATUS:
        return False
    return status != 404 or code is None or str(code).isdigit() or str(code) == "not_found"


def _no_endpoint(action: str, status: int, feature: str, server: str | None) -> NotAvailableError:
    where = f"the server at {server}" if server else "this server"
    return NotAvailableError(
        f"{action} failed: {where} has no {feature} endpoint (HTTP {status}), so it cannot do "
        f"this step; run it with COURSE_BACKEND=sandbox (free, local) or a provider that has "
        f"a {feature} API.", status, None)


def translate(exc: BaseException, action: str, secrets=(), *, feature: str | None = None,
              server: str | None = None) -> CourseJobError:
    """One-sentence course error for an SDK exception raised while doing ``action``.

    ``feature`` names the API of a call whose path holds no id (list, create,
    upload): there a 404/405/501 means the server lacks the endpoint, which
    becomes ``NotAvailableError`` rather than "check the id".
    """
    action = redact(action, secrets)  # it may quote an id or a path the learner typed
    if isinstance(exc, (openai.APITimeoutError, zhipu_errors.APITimeoutError)):
        return APICallError(f"{action} failed: the request timed out; check your connection "
                            "and run the cell again.")
    if isinstance(exc, (openai.APIConnectionError, zhipu_errors.APIConnectionError)):
        return APICallError(f"{action} failed: the API could not be reached; check your "
                            "connection (or COURSE_BACKEND) and run the cell again.")
    status, code, message = _status_code_message(exc)
    if feature and _lacks_endpoint(status, code):
        return _no_endpoint(action, status, feature, server)
    message = redact(" ".join(message.split()), secrets).rstrip(".")
    if code == "training_not_available":
        return TrainingNotAvailableError(
            f"{action} failed: OpenAI refused with 403 training_not_available. {WIND_DOWN}. "
            f"To go on, {WAYS_ON}.", status, code)
    hint = _HINTS.get(status) or ("the service had a problem; try again later"
                                 if status and status >= 500 else "")
    where = f"HTTP {status}" + (f" ({code})" if code else "") if status else type(exc).__name__
    text = f"{action} failed: the API answered {where}: {message}" + (f"; {hint}." if hint else ".")
    cls = NotFoundError if status == 404 or code in ZHIPU_NOT_FOUND else APICallError
    return cls(text, status, code)


SDK_ERRORS = (openai.OpenAIError, zhipu_errors.ZhipuAIError)


def client_secrets(client) -> tuple[str, ...]:
    """The key a client holds, so it can be redacted from error text."""
    key = getattr(client, "api_key", None)
    return (key,) if isinstance(key, str) else ()


def server_of(client) -> str | None:
    if client is None:
        return None
    return public_url(base_url_of(client)) or None


@contextmanager
def api_call(action: str, client=None, feature: str | None = None):
    """Run SDK calls; an SDK error becomes a course error with no key in it.

    ``feature`` (e.g. "fine-tuning"): the calls have no id in their path, so a
    404 means the server has no such endpoint (see ``translate``).
    """
    try:
        yield
    except SDK_ERRORS as exc:
        raise translate(exc, action, client_secrets(client), feature=feature,
                        server=server_of(client)) from None
