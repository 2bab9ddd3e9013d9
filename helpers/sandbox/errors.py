"""The one error type the sandbox raises, and how each provider renders it."""
from __future__ import annotations

# Zhipu's documented error codes for the cases the sandbox meets (1214: invalid parameter).
ZHIPU_CODES = {"model_not_found": "1211", 429: "1302", 500: "500", 403: "1220", 401: "1000",
               404: "1214", 405: "1214", 411: "1214", 413: "1214", 504: "1234"}
REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 411: "Length Required", 413: "Payload Too Large",
           429: "Too Many Requests", 500: "Internal Server Error", 504: "Gateway Timeout"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None, headers=None):
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.code, self.param, self.headers = code, param, dict(headers or {})


def not_found(kind: str, obj_id: str, param: str | None = None) -> ApiError:
    return ApiError(404, f"No such {kind}: {obj_id}", code=f"{kind}_not_found", param=param)


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def server_error(request_id: str) -> ApiError:
    return ApiError(500, "The server had an error while processing your request. Sorry about "
                    "that! You can retry your request; the sandbox's log has the traceback. "
                    f"(Please include the request ID {request_id} in your message.)",
                    type="server_error", code="server_error")


def render(exc: ApiError, provider: str) -> tuple[int, dict]:
    """(HTTP status, JSON body) in the provider's error shape (its dialect decides)."""
    from . import dialects

    return dialects.get(provider).render_error(exc)


class TrainingFailed(Exception):
    """Training could not go on (for example the loss became NaN or infinite).

    Raised by ``training``; the job's stage machine turns it into a failed job
    with an ``error`` event and ``job.error`` = {code, message, param}.
    """

    def __init__(self, message: str, code: str = "training_failed", param: str | None = None):
        super().__init__(message)
        self.message, self.code, self.param = message, code, param
