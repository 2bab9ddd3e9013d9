"""What is never written to a cassette: credentials, and any configured key.

Request headers are dropped except ``content-type``, response headers except
``content-type`` and ``retry-after``, so Authorization, api-key, cookies and
organisation/project ids never reach a file. Configured keys (and their
fragments, as servers echo them: ``helpers.secrets.redact_exact``) are masked
in URLs and bodies, of requests and of responses.
"""
from __future__ import annotations

import copy

from ..secrets import redact_exact

KEEP_REQUEST_HEADERS = {"content-type"}
KEEP_RESPONSE_HEADERS = {"content-type", "retry-after"}


def _keep(headers, keep) -> dict:
    return {k: v for k, v in headers.items() if k.lower() in keep}


def request(req):
    """The request as stored and matched: only the headers matching needs (changed in place)."""
    req.headers = _keep(req.headers, KEEP_REQUEST_HEADERS)
    return req


def mask_request(req):
    """Configured keys out of a request's URL and body (changed in place)."""
    masked = redact_exact(req.uri)
    if masked != req.uri:
        req.uri = masked
    if isinstance(req.body, (bytes, str)) and req.body:
        req.body = redact_exact(req.body)
    return req


def mask_response(data: dict) -> dict:
    """A copy of response data with configured keys masked in the body and header values."""
    data = copy.deepcopy(data)
    body = data.get("body") or {}
    if isinstance(body.get("string"), (bytes, str)):
        body["string"] = redact_exact(body["string"])
    data["headers"] = {k: [redact_exact(v) for v in values]
                       for k, values in (data.get("headers") or {}).items()}
    return data


def response(data: dict) -> dict:
    """Response data as stored: only the headers replay needs."""
    return dict(data, headers=_keep(data.get("headers") or {}, KEEP_RESPONSE_HEADERS))
