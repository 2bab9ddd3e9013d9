"""The chat models' context length: a prompt too long is refused as the service does.

A prompt over ``MAX_CONTEXT_TOKENS`` tokens (counted as ``usage.prompt_tokens``
is) gets OpenAI's 400 ``context_length_exceeded``; one over
``MAX_PROMPT_CHARS`` characters is refused before its tokens are counted, so no
request makes the sandbox read megabytes of prompt.
"""
from __future__ import annotations

from ..chat_format import flatten_content
from . import inference
from .errors import ApiError

MAX_CONTEXT_TOKENS = 128_000      # as gpt-4o-mini
MAX_PROMPT_CHARS = 8 * MAX_CONTEXT_TOKENS


def _error(got: str) -> ApiError:
    return ApiError(400, f"This model's maximum context length is {MAX_CONTEXT_TOKENS} tokens. "
                    f"However, your messages resulted in {got}. Please reduce the length of "
                    "the messages.", param="messages", code="context_length_exceeded")


def check_prompt(messages: list, encoding) -> int:
    """The prompt's token count, or a 400 when it does not fit the context."""
    chars = sum(len(flatten_content(m.get("content"))) for m in messages
                if isinstance(m, dict))
    if chars > MAX_PROMPT_CHARS:
        raise _error(f"over {MAX_PROMPT_CHARS} characters")
    tokens = inference.prompt_tokens(messages, encoding)
    if tokens > MAX_CONTEXT_TOKENS:
        raise _error(f"{tokens} tokens")
    return tokens
