"""Small helpers for notebook 07 (evaluating at scale): batch polling settings,
requests that are meant to fail, the output file's order, and a completeness check.

The Batch API path itself lives in ``helpers.batch`` and the concurrent path in
``helpers.classify``; this module only adds what the lesson needs to show them.
"""
from __future__ import annotations

import copy
from collections import Counter

from . import config
from .answers import parse_label
from .batch import ID_PREFIX
from .jobs.wait import default_sleep

SANDBOX_POLL_SECONDS = 0.05  # the sandbox advances a batch one stage per poll
LIVE_POLL_SECONDS = 60.0     # real batches take minutes to hours


def batch_wait_options(settings: config.Settings) -> dict:
    """Keyword arguments for ``batch.wait_for_batch``: poll interval and sleep.

    Short polls on the sandbox, a minute on a real service, and no sleeping at
    all in replay mode, where the recorded answers need no waiting.
    """
    poll = SANDBOX_POLL_SECONDS if settings.backend == "sandbox" else LIVE_POLL_SECONDS
    options = {"poll_seconds": poll}
    if settings.mode == "replay":
        options["sleep"] = default_sleep(settings)  # the jobs helper's no-op in replay
    return options


def with_model(lines: list[dict], indices, model: str) -> list[dict]:
    """A copy of Batch API request lines where the lines at ``indices`` ask for ``model``.

    Used to put a few requests for a model that does not exist into a batch, so
    the error file has something to show. The other lines are left unchanged.
    """
    out = list(lines)
    for i in indices:
        if not 0 <= i < len(lines):
            raise IndexError(f"line index {i} is outside the {len(lines)} request lines")
        line = copy.deepcopy(lines[i])
        line["body"]["model"] = model
        out[i] = line
    return out


def input_index(custom_id: str) -> int:
    """The input index encoded in a ``helpers.batch`` custom_id (``req-<index>``)."""
    digits = custom_id[len(ID_PREFIX):] if custom_id.startswith(ID_PREFIX) else ""
    if not digits.isdigit():
        raise ValueError(f"custom_id {custom_id!r} is not of the form {ID_PREFIX}<index>")
    return int(digits)


def arrival_order(records) -> list[int]:
    """Input indices of output (or error) file records, in the order the file lists them."""
    return [input_index(str(r.get("custom_id"))) for r in records]


def labels_in_file_order(records, labels) -> list[str]:
    """Parsed labels of successful output records in file order: the careless way to read
    a batch, pairing line k of the output file with input k."""
    return [parse_label(r["response"]["body"]["choices"][0]["message"]["content"], labels)
            for r in records]


def completeness(predictions, n: int) -> dict[str, int]:
    """How many inputs are lost, duplicated or out of place among ``predictions``.

    ``lost``: indices below ``n`` with no prediction, or whose prediction is an
    error; ``duplicated``: extra predictions for an index; ``misordered``:
    predictions whose index differs from their position.
    """
    predictions = list(predictions)
    counts = Counter(p.index for p in predictions)
    return {"n": n,
            "lost": sum(1 for i in range(n) if i not in counts)
            + sum(1 for p in predictions if p.error),
            "duplicated": sum(c - 1 for c in counts.values() if c > 1),
            "misordered": sum(1 for pos, p in enumerate(predictions) if p.index != pos)}


def summary_counts(results) -> dict:
    """``results.summary()`` without the wall-clock ``seconds``, which differ between runs."""
    return {k: v for k, v in results.summary().items() if k != "seconds"}
