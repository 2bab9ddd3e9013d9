"""Finding text that is not valid Unicode, where requests and files enter the sandbox.

JSON may spell a lone UTF-16 surrogate (``"\\ud800"``); Python decodes it into
a ``str`` that cannot be encoded to UTF-8 again, so it would fail later, far
from its cause (writing SQLite, a response, an output file). Each entry point
checks its decoded values here once and names where the bad text sits, in the
``param`` notation the errors use (``messages[0].content``, ``metadata.key``).
"""
from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def surrogate_in(text: str) -> str | None:
    """The first lone surrogate in ``text``, escaped for a message (``\\ud800``), or None."""
    m = _SURROGATE.search(text)
    return f"\\u{ord(m.group()):04x}" if m else None


def _join(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def find_surrogate(value, path: str = "") -> tuple[str, str] | None:
    """(where, escaped character) of the first lone surrogate in a decoded JSON value, or None.

    ``where`` names the field; for a bad key it is the containing object's path
    (the key itself cannot be shown), or ``"(a key)"`` at the top level.
    """
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            bad = surrogate_in(item)
            if bad:
                return where or "(body)", bad
        elif isinstance(item, dict):
            for key, sub in reversed(list(item.items())):
                bad = surrogate_in(key)
                if bad:
                    return where or "(a key)", bad
                stack.append((_join(where, key), sub))
        elif isinstance(item, list):
            stack.extend((_join(where, i), sub) for i, sub in reversed(list(enumerate(item))))
    return None


def describe(where: str, char: str) -> str:
    """The sentence errors use for a lone surrogate found at ``where``."""
    return (f"Invalid value for '{where}': it contains a lone UTF-16 surrogate ({char}), which "
            "is not valid Unicode text. Send the text as valid UTF-8.")


def decode_wsgi(value: str) -> str:
    """A PEP 3333 environ string (each byte as one latin-1 character) decoded as UTF-8.

    Raises UnicodeDecodeError for bytes that are not UTF-8.
    """
    return value.encode("latin-1").decode("utf-8")
