"""Map a model's free-text reply to one of the candidate labels.

Models often answer with a sentence ("这条新闻属于科技类。", "Category: hockey",
"I think it's about baseball.") instead of the bare label. The rules:

1. Text is NFKC-normalised and case-folded (full-width letters, case).
2. A reply that is exactly a label (after trimming quotes and punctuation) wins.
3. Otherwise every mention of every label is found; a mention that lies inside a
   longer label's mention is dropped (so "科技" inside "科技新闻" counts as the
   longer label), and the earliest remaining mention wins; at the same
   position the longer label wins.
4. Latin-script labels must stand as words ("car" is not found in "scary"); a
   plural "s"/"es" is allowed. CJK labels match anywhere.
5. Anything else (empty, None, no label mentioned) is ``UNKNOWN``; parsing
   never raises.

Hand-written because no maintained library does label matching for free text.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

UNKNOWN = "unknown"
_TRIM = " \t\r\n\"'`“”‘’「」『』《》()（）[]【】.,;:!?。，；：！？、*_-"


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@lru_cache(maxsize=256)
def _patterns(labels: tuple[str, ...]) -> list[tuple[str, re.Pattern]]:
    compiled = []
    for label in labels:
        needle = _norm(label).strip()
        if not needle:
            continue
        body = re.escape(needle)
        if needle[0].isascii() and needle[0].isalnum():
            body = r"(?<![0-9a-z])" + body
        if needle[-1].isascii() and needle[-1].isalnum():
            body = body + r"(?:e?s)?(?![0-9a-z])"
        compiled.append((label, re.compile(body)))
    return compiled


def parse_label(reply, labels, unknown: str = UNKNOWN) -> str:
    """The label ``reply`` names, or ``unknown`` when it names none."""
    if not isinstance(reply, str) or not reply.strip():
        return unknown
    labels = tuple(labels)
    text = _norm(reply)
    exact = {_norm(label).strip(_TRIM): label for label in labels}
    trimmed = text.strip(_TRIM)
    if trimmed in exact:
        return exact[trimmed]
    mentions = []  # (start, end, label)
    for label, pattern in _patterns(labels):
        mentions.extend((m.start(), m.end(), label) for m in pattern.finditer(text))
    if not mentions:
        return unknown
    kept = [m for m in mentions
            if not any(o[0] <= m[0] and m[1] <= o[1] and (o[1] - o[0]) > (m[1] - m[0])
                       for o in mentions)]
    kept.sort(key=lambda m: (m[0], -(m[1] - m[0])))
    return kept[0][2]


def parse_labels(replies, labels, unknown: str = UNKNOWN) -> list[str]:
    """``parse_label`` for each reply, in order."""
    return [parse_label(r, labels, unknown) for r in replies]
