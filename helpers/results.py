"""The results protocol: notebooks report the figures the run summary needs.

Each notebook calls ``record_results(WORK_DIR, notebook="01", key=value, ...)``
(in a notebook: ``run.record(key=value, ...)``); the values are merged into
``WORK_DIR/results.json`` under the notebook's number, so a rerun of one
notebook replaces only its own figures. ``merged_results`` gives the union,
later notebooks winning on conflicts.

Which keys ``summary.md`` shows, with which label, in which group, is decided
here, in ``FIGURES``; any other key is kept in ``summary.json`` only.

**The decision table (06) and the before/after table.** One row per approach
(``APPROACHES``: zero_shot, zero_shot_structured, zero_shot_reasoning, few_shot, fine_tuned and
the baselines tfidf_lr, embeddings_lr), one flat key per figure,
``<approach>_<figure>`` (``APPROACH_FIGURES``)::

    zero_shot_accuracy            share of test rows right (0..1)
    zero_shot_macro_f1            macro-averaged F1 (0..1)
    zero_shot_prompt_tokens_per_request   mean prompt tokens billed per request
    zero_shot_cost_per_1000_usd   USD for 1,000 predictions at list prices (None: not priced in USD)
    zero_shot_training_cost_usd   one-time USD to get the model (0 without training;
                                  fine_tuned: billed trained tokens at the training price)
    zero_shot_latency_s           median seconds per request, as the client saw them

and likewise ``zero_shot_structured_*`` (the same request with a JSON-schema enum or JSON
mode), ``few_shot_*`` and ``fine_tuned_*``. Build them with
``approach_figures("fine_tuned", accuracy=..., macro_f1=..., ...)`` (it
rejects unknown names), e.g. ``run.record(**approach_figures("zero_shot", ...))``.
The before/after table uses the accuracy and macro-F1 keys of the same rows,
so 01 and 06 write into one table. ``fine_tuning_available=False`` (recorded
by a notebook, or set by the runner for a backend without fine-tuning
endpoints) marks every fine-tuning figure "not available on this backend".
"""
from __future__ import annotations

import json
import math
import shlex
from dataclasses import dataclass
from pathlib import Path

from .atomic import write_text

RESULTS_FILE = "results.json"

APPROACHES = {"zero_shot": "Zero-shot (free text)",
              "zero_shot_structured": "Zero-shot (structured)",
              "zero_shot_reasoning": "Zero-shot (reasoning model)",
              "few_shot": "Few-shot", "fine_tuned": "Fine-tuned",
              "tfidf_lr": "Baseline: TF-IDF + logistic regression",
              "embeddings_lr": "Baseline: embeddings + logistic regression"}
# Approaches that are baselines (trained here, no LLM): the decision table tests the others
# against the most accurate of them; summary.md leaves out the rows a run did not measure.
BASELINES = ("tfidf_lr", "embeddings_lr")
OPTIONAL_APPROACHES = ("zero_shot_structured", "zero_shot_reasoning", "few_shot", *BASELINES)
APPROACH_FIGURES = {
    "accuracy": "Accuracy",
    "macro_f1": "Macro F1",
    "prompt_tokens_per_request": "Prompt tokens / request",
    "cost_per_1000_usd": "Cost / 1,000 predictions",
    "training_cost_usd": "One-time training cost",
    "latency_s": "Median latency",
}
FINE_TUNING_AVAILABLE = "fine_tuning_available"


def approach_key(approach: str, figure: str) -> str:
    if approach not in APPROACHES:
        raise ValueError(f"unknown approach {approach!r}; one of {', '.join(APPROACHES)}")
    if figure not in APPROACH_FIGURES:
        raise ValueError(f"unknown figure {figure!r}; one of {', '.join(APPROACH_FIGURES)}")
    return f"{approach}_{figure}"


def approach_figures(approach: str, **figures) -> dict:
    """``{"<approach>_<figure>": value}`` for ``run.record(**...)``; unknown names raise."""
    return {approach_key(approach, name): value for name, value in figures.items()}


@dataclass(frozen=True)
class Figure:
    """How summary.md shows one recorded key."""

    key: str
    label: str
    group: str
    kind: str = "number"  # share | score | int | usd | pct | loss | seconds | text | number


GROUPS = {  # heading of each group, in the order summary.md shows them
    "training": "Training (05)",
    "experiments": "Training experiments (06)",
    "scale": "Evaluating at scale (07)",
}
FIGURES = [
    Figure("final_train_loss", "Final training loss (50-step mean)", "training", "loss"),
    Figure("final_valid_loss", "Final validation loss (50-step mean)", "training", "loss"),
    Figure("ledger_tokens_diff_pct", "Billed tokens vs the estimate", "training", "pct"),
    Figure("accuracy_1_epoch", "Accuracy after 1 epoch instead of the run's epochs",
           "experiments", "share"),
    Figure("accuracy_unshuffled", "Accuracy when the training file is sorted by label",
           "experiments", "share"),
    Figure("batch_accuracy", "Accuracy through the Batch API (failed requests count as wrong)",
           "scale", "share"),
    Figure("batch_failures", "Batch requests that failed", "scale", "int"),
    Figure("retries_seen", "Retries after injected 429/500 errors", "scale", "int"),
]
# Figures measured on another dataset than the run's: each prefix gets its own heading.
SIDE_EXPERIMENTS = {
    "reviews_": ("Side experiment: star ratings on the shipped reviews_en dataset (06)",
                 "06 fine-tunes a second model on reviews_en whatever the run's dataset is, "
                 "so these figures are the same in every run."),
}
SIDE_FIGURES = [
    Figure("reviews_exact_accuracy_fine_tuned", "Exact stars, fine-tuned", "reviews_", "share"),
    Figure("reviews_good_bad_accuracy_fine_tuned", "Good (4-5) vs bad (1-3), fine-tuned",
           "reviews_", "share"),
    Figure("reviews_one_off_accuracy_fine_tuned", "Within one star, fine-tuned", "reviews_",
           "share"),
]
# Keys of the notebooks before phase 2, read as the names above.
ALIASES = {"cost_per_1000_usd": "fine_tuned_cost_per_1000_usd"}
# What the runner prints when a notebook ends: its headline figures.
HEADLINES = {
    "01": [("zero_shot_accuracy", "zero-shot accuracy", "share"),
           ("few_shot_accuracy", "few-shot accuracy", "share")],
    "02": [("n_train", "train rows", "int"), ("n_test", "test rows", "int")],
    "03": [("estimated_trained_tokens", "estimated trained tokens", "int"),
           ("estimated_cost_usd", "estimated cost", "usd")],
    "04": [("fine_tuned_model", "model", "text"), ("trained_tokens", "trained tokens", "int")],
    "05": [("final_valid_loss", "final validation loss", "loss")],
    "06": [("zero_shot_accuracy", "zero-shot", "share"),
           ("fine_tuned_accuracy", "fine-tuned", "share")],
    "07": [("batch_accuracy", "batch accuracy", "share")],
}


def show(value, kind: str = "number") -> str:
    """One figure as summary.md and the progress lines show it."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if kind == "share":
        return f"{value:.1%}"
    if kind == "int":
        return f"{value:,.0f}"
    if kind == "usd":
        return f"${value:,.4f}"
    if kind == "pct":
        return f"{value:+.1f}%"
    if kind in ("loss", "score"):
        return f"{value:.3f}"
    if kind == "seconds":
        return f"{value:.2f} s"
    return f"{value:.4g}" if isinstance(value, float) else f"{value:,}"


def headline(notebook: str, figures: dict) -> str:
    """``zero-shot accuracy 62.5% · few-shot accuracy 70.0%`` from a notebook's own figures."""
    parts = [f"{label} {show(figures[key], kind)}"
             for key, label, kind in HEADLINES.get(str(notebook)[:2], ()) if key in figures]
    return " · ".join(parts)


def _json_safe(value, where: str):
    """A plain JSON value for ``value``; numpy/pandas scalars and arrays become Python ones.

    Hand-written (not ``json.dumps(default=...)``) so NaN/inf become null instead
    of invalid JSON, and so an unsupported value is named by its key.
    """
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return [_json_safe(v, where) for v in sorted(value, key=str)]
    if isinstance(value, (list, tuple)):
        return [_json_safe(v, f"{where}[{i}]") for i, v in enumerate(value)]
    # numpy / pandas values, without importing either here
    if hasattr(value, "tolist") and callable(value.tolist):
        return _json_safe(value.tolist(), where)
    if hasattr(value, "item") and callable(value.item):
        return _json_safe(value.item(), where)
    raise TypeError(f"record_results: {where} is a {type(value).__name__}, "
                    "which is not JSON-safe; pass numbers, text, lists or dicts")


def _default_work_dir() -> Path:
    from . import config

    return config.work_dir(config.resolve())


def read_results(work_dir) -> dict[str, dict]:
    """``{notebook: {key: value}}`` from ``WORK_DIR/results.json`` ({} if none yet)."""
    path = Path(work_dir) / RESULTS_FILE
    if not path.is_file():
        return {}
    reset = (f"; reset it with: rm -f {shlex.quote(str(path))} (the notebooks record their "
             "figures again when run)")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}:1: non_utf8: {err.reason}{reset}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{err.lineno}: invalid_json: {err.msg}{reset}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"{path}:1: data_type: expected an object of notebook -> figures{reset}")
    return data


def merged_results(work_dir) -> dict:
    """The union of every notebook's figures; later notebook numbers win on conflicts.

    Keys in ``ALIASES`` are read under their current name (an explicit current key wins).
    """
    merged: dict = {}
    for _, values in sorted(read_results(work_dir).items()):
        merged.update(values)
    for old, new in ALIASES.items():
        if old in merged:
            value = merged.pop(old)
            merged.setdefault(new, value)
    return merged


def _write_atomic(path: Path, data: dict) -> None:
    write_text(path, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def record_results(work_dir, notebook: str, **values) -> Path:
    """Merge ``values`` into this notebook's figures in ``WORK_DIR/results.json``.

    ``work_dir`` None means the work directory ``helpers.config`` picks (as a
    notebook run by hand would use). Returns the path of results.json.
    """
    notebook = str(notebook).strip()
    if not notebook:
        raise ValueError("record_results: notebook must name the notebook, e.g. '01'")
    safe = {key: _json_safe(value, key) for key, value in values.items()}
    root = Path(work_dir) if work_dir is not None else _default_work_dir()
    root.mkdir(parents=True, exist_ok=True)
    data = read_results(root)
    data.setdefault(notebook, {}).update(safe)
    path = root / RESULTS_FILE
    _write_atomic(path, data)
    return path
