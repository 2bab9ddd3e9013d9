"""Tables and a histogram for the tokens-and-cost lesson (notebook 03).

Counting, limits, epochs and prices live in ``helpers.tokens`` and
``helpers.prices``; this module only arranges their results for display.
``cost_by_model`` exists because ``prices.cost_table`` takes one token count
for every column, while models with different encodings (gpt-3.5's
cl100k_base vs o200k_base) count the same file differently.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import prices, tokens
from .fonts import use_cjk_font


def encoding_table(models: Iterable[str]) -> pd.DataFrame:
    """Encoding and longest accepted training example for each model."""
    rows = [{"model": m, "encoding": tokens.encoding_name(m),
             "example_limit": tokens.training_token_limit(m)} for m in models]
    return pd.DataFrame(rows).set_index("model")


def token_breakdown(example: dict, model: str) -> pd.DataFrame:
    """Per-message tokens of one chat example: content, overhead, and the reply priming.

    The ``tokens`` column sums to ``tokens.chat_example_tokens(example, ...)``.
    """
    encoding = tokens.encoding_for(model)
    rows = []
    for message in example["messages"]:
        content = len(encoding.encode(tokens.flatten_content(message.get("content")), disallowed_special=()))
        name = message.get("name")
        extra = (tokens.TOKENS_PER_NAME + len(encoding.encode(name, disallowed_special=()))) if name else 0
        rows.append({"part": f"{message['role']} message", "content": content,
                     "overhead": tokens.TOKENS_PER_MESSAGE + extra})
    rows.append({"part": "reply priming", "content": 0, "overhead": tokens.REPLY_PRIMING})
    frame = pd.DataFrame(rows).set_index("part")
    frame["tokens"] = frame["content"] + frame["overhead"]
    frame.loc["total"] = frame.sum()
    return frame


def distribution_table(counts: Mapping[str, Sequence[int]]) -> pd.DataFrame:
    """``tokens.distribution`` of each named list of counts, plus ``n`` and ``total``."""
    rows = {name: {"n": len(c), "total": int(sum(c)), **tokens.distribution(c)}
            for name, c in counts.items()}
    frame = pd.DataFrame(rows).T.round(2)
    frame[["n", "total"]] = frame[["n", "total"]].astype(int)
    return frame


def token_histogram(counts: Mapping[str, Sequence[int]], title: str = "Tokens per example",
                    bins: int = 60):
    """Overlaid histograms of tokens per example, with each set's p5 and p95 marked."""
    use_cjk_font()
    fig, ax = plt.subplots(figsize=(8, 4))
    low = min(min(c) for c in counts.values())
    high = max(max(c) for c in counts.values())
    # one bar per token count when the range is small, else ``bins`` equal bins
    bounds = np.arange(low, high + 2) - 0.5 if high - low < bins else bins
    for (name, values), color in zip(counts.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"]):
        ax.hist(values, bins=bounds, alpha=0.55, label=name, color=color)
        stats = tokens.distribution(values)
        for key in ("p5", "p95"):
            ax.axvline(stats[key], color=color, linestyle="--", linewidth=1)
    ax.set_xlabel("tokens per example (dashed: p5 and p95)")
    ax.set_ylabel("examples")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    plt.close(fig)  # returned closed: a notebook shows it once, as the cell's result
    return fig


def epochs_table(sizes: Iterable[int]) -> pd.DataFrame:
    """``tokens.default_epochs`` for training sets of these sizes, and examples seen in total."""
    rows = [{"examples": n, "epochs": tokens.default_epochs(n),
             "examples_seen": n * tokens.default_epochs(n)} for n in sizes]
    return pd.DataFrame(rows).set_index("examples")


def model_tokens(examples: Sequence[dict], models: Iterable[str]) -> pd.DataFrame:
    """Per model: encoding, examples over its limit, and billed tokens per epoch."""
    rows = []
    for model in models:
        counts = tokens.count_chat_tokens(examples, model)
        limit = tokens.training_token_limit(model)
        rows.append({"model": model, "encoding": tokens.encoding_name(model),
                     "over_limit": len(tokens.over_limit(counts, limit)),
                     "tokens_per_epoch": tokens.billed_tokens(counts, 1, limit)})
    return pd.DataFrame(rows).set_index("model")


def cost_by_model(examples: Sequence[dict], models: Iterable[str],
                  epochs: Iterable[int] = range(1, 5)) -> pd.DataFrame:
    """Training cost by epochs (rows) and model (columns), each model with its own token count.

    Built from ``prices.cost_table`` once per model; unknown prices stay "unknown".
    """
    epochs = list(epochs)
    per_model = model_tokens(examples, models)["tokens_per_epoch"]
    columns = {m: prices.cost_table(int(n), [m], epochs)[m] for m, n in per_model.items()}
    return pd.DataFrame(columns)
