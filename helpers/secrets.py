"""Masking API keys in anything the course prints, stores or raises.

One place for the key shapes: OpenAI ``sk-...`` keys, Zhipu ``<32 hex>.<secret>``
keys and the JWTs zhipuai signs from them, plus the keys actually configured
(``OPENAI_API_KEY``, ``ZHIPUAI_API_KEY``, ``COURSE_API_KEY``, from the
environment or ``.env``) whatever their shape.
"""
from __future__ import annotations

import re

from . import config

REDACTED = "[redacted]"
KEY_PATTERNS = [re.compile(r"sk-[A-Za-z0-9_\-*]{6,}"),
                re.compile(r"\b[0-9a-f]{32}\.[A-Za-z0-9]{8,}\b"),
                re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+")]
MIN_SECRET_LENGTH = 8  # shorter strings are too likely to occur by chance


def known_secrets(secrets=()) -> list[str]:
    """The given secrets and every configured key, long enough to mask safely."""
    return [s for s in [*secrets, *config.configured_keys()] if s and len(s) >= MIN_SECRET_LENGTH]


def redact_exact(text, secrets=()):
    """``text`` (str or bytes) with the given and configured keys masked, and nothing else.

    For recorded API traffic: key-shaped patterns are left alone there, since
    ids and model replies may look like keys without being one.
    """
    for secret in known_secrets(secrets):
        if isinstance(text, bytes):
            text = text.replace(secret.encode(), REDACTED.encode())
        else:
            text = text.replace(secret, REDACTED)
    return text


def redact(text: str, secrets=()) -> str:
    """``text`` with the given secrets, the configured keys and key-shaped strings masked."""
    text = redact_exact(text, secrets)
    for pattern in KEY_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text
