"""Create calls that survive a dropped response: no blind retry; look up, then try again.

Both SDKs retry a failed POST by themselves (``max_retries=2``). When the
connection drops after the service acted, that retry makes a second file, job
or batch, and a job or batch is paid for. So every create here goes out with
the SDK's retries off (``without_retries``); after an answer that leaves it
unknown whether the service acted (no answer, a timeout, 408/409/429, a 5xx)
the object is looked up by what identifies it (``find``) and returned when the
service made it. Only when it is not there is the create sent again.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import openai
from zhipuai.core import _errors as zhipu_errors

from .. import clients
from .errors import SDK_ERRORS, client_secrets, server_of, translate

ATTEMPTS = 3
UNCERTAIN_STATUSES = {408, 409, 429, 500, 502, 503, 504}
BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 8.0


def without_retries(client):
    """The same client (same HTTP connection pool and key) with the SDK's retries off."""
    if clients.sdk_of(client) == "openai":
        return client.with_options(max_retries=0)
    import zhipuai

    # zhipuai has no with_options: a twin sharing the HTTP client, as helpers.classify does.
    return zhipuai.ZhipuAI(api_key=client.api_key, base_url=clients.base_url_of(client),
                           http_client=client._client, max_retries=0, timeout=client.timeout,
                           disable_token_cache=client._disable_token_cache,
                           source_channel=client.source_channel)


def uncertain(exc: BaseException) -> bool:
    """True when the service may have acted on a request that raised ``exc``."""
    if isinstance(exc, (openai.APIConnectionError, zhipu_errors.APIConnectionError)):
        return True  # includes timeouts: the request may have arrived
    status = getattr(exc, "status_code", None)
    return status in UNCERTAIN_STATUSES


def create_once(action: str, client, create: Callable, find: Callable, *,
                feature: str | None = None, attempts: int = ATTEMPTS, sleep=time.sleep):
    """``create(no_retry_client)`` at most until it answers; ``find()`` after each failure.

    ``find`` returns the object the service made for this very request (by
    name and size, metadata key and attempt...) or None. A failure that proves
    nothing was made (400, 401, 403, 404...) is raised at once as a course error.
    """
    api = without_retries(client)
    last: BaseException | None = None
    for attempt in range(attempts):
        try:
            return create(api)
        except SDK_ERRORS as exc:
            if not uncertain(exc):
                raise translate(exc, action, client_secrets(client), feature=feature,
                                server=server_of(client)) from None
            last = exc
        found = find()
        if found is not None:
            return found
        if attempt + 1 < attempts:
            sleep(min(BACKOFF_SECONDS * 2 ** attempt, MAX_BACKOFF_SECONDS))
    raise translate(last, action, client_secrets(client), feature=feature,
                    server=server_of(client)) from None
