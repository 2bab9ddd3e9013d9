"""Masking API keys in anything the course prints, stores or raises: the one key redactor.

Two kinds of masks:

* the keys actually configured (``OPENAI_API_KEY``, ``ZHIPUAI_API_KEY``,
  ``COURSE_API_KEY``, from the environment or ``.env``) whatever their shape,
  and every prefix or suffix of one that is ``MIN_SECRET_LENGTH`` characters or
  longer, as servers echo them ("Incorrect API key provided: 4f9a1c7e2b8d....")
  or a masked form of one ("sk-abc...wxyz", "sk-proj-****wxyz"):
  ``redact_exact``, used on recorded traffic, where anything else may be an id;
* key shapes, for keys nobody configured: OpenAI ``sk-...`` keys, Zhipu
  ``<32 hex>.<secret>`` keys, the JWTs zhipuai signs from them, ``Bearer``
  tokens, and masked ``sk-`` keys. Each is matched as a whole word, so
  ``risk-adjusted``, ``desk-mounted`` or ``Ask-me-anything`` stay as they are:
  ``redact`` (both kinds), used on outputs, logs, summaries and error messages.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from . import atomic, config

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 8  # shorter strings are too likely to occur by chance
MASK = r"(?:\.{2,}|…+|\*{2,})"  # how servers and dashboards hide the middle of a key
MIN_SHOWN = 2  # a masked form shows at least 3 characters of a key in front, 2 behind

# (pattern, replacement); a key shape must not continue a word: (?<![\w-]) before it
KEY_PATTERNS = [
    (re.compile(r"(?<![\w-])sk-(?:[\w-]+" + MASK + r"[\w-]*|" + MASK + r"[\w-]+)"), REDACTED),
    (re.compile(r"(?<![\w-])sk-(?=[\w-]*\d)[\w-]{16,}"), REDACTED),
    (re.compile(r"(?<![\w.-])[0-9a-f]{32}\.[A-Za-z0-9]{8,}\b"), REDACTED),
    (re.compile(r"(?<![\w-])eyJ[\w-]+\.[\w-]+\.[\w-]+"), REDACTED),
    (re.compile(r"(?i)(\bbearer\s+)(?!\[redacted\])[\w.~+/-]{8,}=*"), r"\1" + REDACTED),
]


def known_secrets(secrets=()) -> list[str]:
    """The given secrets and every configured key, long enough to mask safely."""
    return [s for s in [*secrets, *config.configured_keys()] if s and len(s) >= MIN_SECRET_LENGTH]


def _growing(text: str, least: int) -> str:
    """A regex for any prefix of ``text`` at least ``least`` long, the longest it can."""
    tail = ""
    for ch in reversed(text[least:]):
        tail = f"(?:{re.escape(ch)}{tail})?"
    return re.escape(text[:least]) + tail


def _suffixes(text: str, least: int) -> str:
    """A regex for any suffix of ``text`` at least ``least`` long, longest first."""
    return "|".join(re.escape(text[i:]) for i in range(len(text) - least + 1))


def _key_regex(key: str) -> str:
    masked = f"{_growing(key, 3)}{MASK}(?:{_suffixes(key, MIN_SHOWN)})"
    return f"{masked}|{_growing(key, MIN_SECRET_LENGTH)}|{_suffixes(key, MIN_SECRET_LENGTH)}"


@dataclass(frozen=True)
class _Masks:
    """The pattern (str and bytes) for some keys, and the pieces any match contains."""

    as_str: re.Pattern
    as_bytes: re.Pattern
    pieces: tuple[str, ...]
    byte_pieces: tuple[bytes, ...]

    def present(self, text) -> bool:
        """Whether a match is possible: one fast substring search per piece, not a regex scan."""
        pieces = self.byte_pieces if isinstance(text, bytes) else self.pieces
        return any(p in text for p in pieces)


@functools.lru_cache(maxsize=16)
def _fragments(keys: tuple[str, ...]) -> _Masks:
    """One pattern for these keys, their long fragments and their masked forms."""
    source = "|".join(_key_regex(k) for k in sorted(keys, key=len, reverse=True))
    # a fragment of MIN_SECRET_LENGTH contains one of the key's 8-character windows; a masked
    # form starts with the key's first 3 characters
    found = {k[:3] for k in keys} | {k[i:i + MIN_SECRET_LENGTH] for k in keys
                                     for i in range(len(k) - MIN_SECRET_LENGTH + 1)}
    pieces = tuple(sorted(found))
    return _Masks(re.compile(source), re.compile(source.encode()), pieces,
                  tuple(p.encode() for p in pieces))


def redact_exact(text, secrets=()):
    """``text`` (str or bytes) with the configured keys (and their fragments) masked, and the
    given ``secrets`` (a client's key) masked whole.

    Fragments only of configured keys: a client's key may be one of the course's
    placeholders ("sandbox-no-key-needed"), whose start is an ordinary word.
    For recorded API traffic: key-shaped patterns are left alone there, since
    ids and model replies may look like keys without being one.
    """
    if not text:
        return text
    for secret in (s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH):
        if isinstance(text, bytes):
            text = text.replace(secret.encode(), REDACTED.encode())
        else:
            text = text.replace(secret, REDACTED)
    keys = tuple(dict.fromkeys(known_secrets()))
    if not keys:
        return text
    masks = _fragments(keys)
    if not masks.present(text):
        return text
    if isinstance(text, bytes):
        return masks.as_bytes.sub(REDACTED.encode(), text)
    return masks.as_str.sub(REDACTED, text)


def redact(text: str, secrets=()) -> str:
    """``text`` with the given secrets, the configured keys and key-shaped strings masked."""
    for pattern, replacement in KEY_PATTERNS:  # shapes first: a masked "sk-proj-****wxyz" whole
        text = pattern.sub(replacement, text)
    return redact_exact(text, secrets)


def redact_file(path) -> None:
    """Mask keys in a text file the course wrote (a kernel log) in place, atomically."""
    path = Path(path)
    if not path.is_file():
        return
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    masked = redact(text)
    if masked != text:
        atomic.write_bytes(path, masked.encode("utf-8", "surrogateescape"))
