"""The one error type the sandbox raises; the HTTP layer renders it per provider."""
from __future__ import annotations


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
