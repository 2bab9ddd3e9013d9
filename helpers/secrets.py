"""Masking API keys in anything the course prints, stores or raises.

One place for the key shapes: OpenAI ``sk-...`` keys, Zhipu ``<32 hex>.<secret>``
keys and the JWTs zhipuai signs from them, plus the keys actually configured
(environment or ``.env``) whatever their shape.
"""
from __future__ import annotations

import re

from . import config

REDACTED = "[redacted]"
KEY_PATTERNS = [re.compile(r"sk-[A-Za-z0-9_\-*]{6,}"),
                re.compile(r"\b[0-9a-f]{32}\.[A-Za-z0-9]{8,}\b"),
                re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]+")]


def redact(text: str, secrets=()) -> str:
    """``text`` with the given secrets, the configured keys and key-shaped strings masked."""
    configured = [config.api_key(backend) for backend in config.KEY_VARS]
    for secret in [*secrets, *configured]:
        if secret and len(secret) >= 8:
            text = text.replace(secret, REDACTED)
    for pattern in KEY_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text
