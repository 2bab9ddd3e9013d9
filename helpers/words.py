"""Counted nouns in messages: ``1 row``, ``2 rows``, ``1,000 rows`` (never "1 rows")."""
from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` with thousands separators, then ``word``, or ``many`` (default word + "s") unless 1."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
