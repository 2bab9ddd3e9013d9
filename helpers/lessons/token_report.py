"""Tables and a histogram for the tokens-and-cost lesson (notebook 03).

Counting, limits, epochs and prices live in ``helpers.chat_format``,
``helpers.tokens`` and ``helpers.prices``; this module arranges their results
for display. Two things are defined here because only this lesson needs them:

- ``cookbook_example_tokens``: the count of OpenAI's cookbook notebook
  ("data preparation and analysis for chat model fine-tuning"), which encodes
  every value of a message, the role string included. The course's formula
  (``chat_format.example_tokens``) leaves the role tokens out; notebook 03 puts
  the two side by side with the one published billed figure.
- ``cost_by_model``: ``prices.cost_table`` takes one token count for every
  column, while models with different encodings (cl100k_base vs o200k_base)
  count the same file differently.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import chat_format, prices, tokens
from ..fonts import use_cjk_font

# Counted like OpenAI's last fine-tuning base (o200k_base) when the model's tokenizer is unknown.
TOKEN_STAND_IN = "gpt-4.1-mini-2025-04-14"


def counting_model(model: str) -> tuple[str, str]:
    """``(model to count tokens with, a sentence saying so)`` for the run's model.

    A model the course knows a tokenizer for counts with its own encoding. Any
    other (a ``compatible`` server's model, say) is counted as OpenAI's default
    fine-tuning base is, and the sentence says that this is an estimate.
    """
    try:
        return model, f"{model}: counted with its own encoding, {tokens.encoding_name(model)}"
    except KeyError:
        stand_in = TOKEN_STAND_IN
        return stand_in, (f"{model}: no tokenizer known to the course; tokens are counted as for "
                          f"{stand_in} ({tokens.encoding_name(stand_in)}), an estimate")


def encoding_table(models: Iterable[str]) -> pd.DataFrame:
    """Encoding and longest accepted training example for each model."""
    rows = [{"model": m, "encoding": tokens.encoding_name(m),
             "example_limit": tokens.training_token_limit(m)} for m in models]
    frame = pd.DataFrame(rows).set_index("model")
    frame["example_limit"] = frame["example_limit"].astype("Int64")  # None stays <NA>
    return frame


# ------------------------------------------------------------ the two formulas

def cookbook_example_tokens(example: dict, model_or_encoding) -> int:
    """Tokens of one example as the cookbook's ``num_tokens_from_messages`` counts them.

    Per message: 3, plus the tokens of every value (role, content, name...),
    plus 1 for a name; then 3 for the reply. Like the cookbook's code it can
    only encode strings: a message holding an int ``weight``, a list of content
    parts or a null content raises TypeError naming the key.
    """
    encoding = tokens.as_encoding(model_or_encoding)
    total = chat_format.REPLY_PRIMING
    for i, message in enumerate(example["messages"], 1):
        total += chat_format.TOKENS_PER_MESSAGE
        for key, value in message.items():
            if not isinstance(value, str):
                raise TypeError(f"message {i}: {key!r} is {type(value).__name__} {value!r:.30}; "
                                "the cookbook's counter encodes every value as text and fails here")
            total += len(encoding.encode_ordinary(value))
            if key == "name":
                total += chat_format.TOKENS_PER_NAME
    return total


def token_breakdown(example: dict, model: str) -> pd.DataFrame:
    """Per message: content tokens, the course's overhead, and the role tokens the cookbook adds.

    ``course`` sums to ``chat_format.example_tokens`` and ``cookbook`` to
    ``cookbook_example_tokens`` (for examples without tool calls).
    """
    encoding = tokens.encoding_for(model)
    rows = []
    for message in example["messages"]:
        content = len(encoding.encode_ordinary(chat_format.flatten_content(message.get("content"))))
        name = message.get("name")
        extra = (chat_format.TOKENS_PER_NAME + len(encoding.encode_ordinary(name))) if name else 0
        rows.append({"part": f"{message['role']} message", "content": content,
                     "overhead": chat_format.TOKENS_PER_MESSAGE + extra,
                     "role": len(encoding.encode_ordinary(message["role"]))})
    rows.append({"part": "reply priming", "content": 0, "overhead": chat_format.REPLY_PRIMING,
                 "role": 0})
    frame = pd.DataFrame(rows).set_index("part")
    frame.insert(2, "course", frame["content"] + frame["overhead"])
    frame["cookbook"] = frame["course"] + frame["role"]
    frame.loc["total"] = frame.sum()
    return frame


def formula_comparison(examples: Sequence[dict], models: Iterable[str]) -> pd.DataFrame:
    """Per model: both formulas over ``examples``, their difference, and the role tokens.

    ``role_tokens`` is counted on its own (the tokens of every message's role
    string), so ``difference == role_tokens`` is a check, not an identity.
    """
    rows = []
    messages = sum(len(ex["messages"]) for ex in examples)
    for model in models:
        encoding = tokens.encoding_for(model)
        course = sum(tokens.count_chat_tokens(examples, encoding))
        cookbook = sum(cookbook_example_tokens(ex, encoding) for ex in examples)
        roles = sum(tokens.count_strings([m["role"] for ex in examples for m in ex["messages"]],
                                         encoding))
        rows.append({"model": model, "encoding": encoding.name, "examples": len(examples),
                     "messages": messages, "cookbook": cookbook, "course": course,
                     "difference": cookbook - course, "role_tokens": roles})
    return pd.DataFrame(rows).set_index("model")


def published_job_table(job: tokens.PublishedJob) -> pd.DataFrame:
    """The published job's three figures side by side, per epoch and for its epochs.

    Which figure was published and which is derived here is in ``how``.
    """
    rows = [("cookbook formula", job.cookbook_per_epoch,
             "quoted: the cookbook's estimate printed before the job"),
            ("course formula", job.course_per_epoch,
             f"derived: cookbook minus the {job.role_tokens} role tokens counted here "
             f"({job.encoding})"),
            ("billed", job.billed_per_epoch,
             "quoted: trained_tokens / n_epochs of the finished job")]
    frame = pd.DataFrame([{"figure": name, "per_epoch": n,
                           f"x{job.n_epochs}_epochs": n * job.n_epochs,
                           "how": how} for name, n, how in rows]).set_index("figure")
    return frame


# ------------------------------------------------------------ distributions

def distribution_table(counts: Mapping[str, Sequence[int]]) -> pd.DataFrame:
    """``tokens.distribution`` of each named list of counts, plus ``n`` and ``total``.

    Counts are integers, so ``n``, ``total``, ``min`` and ``max`` are shown as integers.
    """
    rows = {name: {"n": len(c), "total": int(sum(c)), **tokens.distribution(c)}
            for name, c in counts.items()}
    frame = pd.DataFrame(rows).T.round(2)
    whole = ["n", "total", "min", "max"]
    frame[whole] = frame[whole].astype(int)
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
    for (name, values), color in zip(counts.items(),
                                     plt.rcParams["axes.prop_cycle"].by_key()["color"],
                                     strict=False):
        ax.hist(values, bins=bounds, alpha=0.55, label=name, color=color)
        stats = tokens.distribution(values)
        for key in ("p5", "p95"):
            ax.axvline(stats[key], color=color, linestyle="--", linewidth=1)
    ax.set_xlabel("tokens per example (dashed: p5 and p95)")
    ax.set_ylabel("examples")
    ax.set_title(title)
    # outside the axes, so the legend never covers a bar
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    fig.tight_layout()
    plt.close(fig)  # returned closed: a notebook shows it once, as the cell's result
    return fig


# ------------------------------------------------------------ epochs and cost

def epochs_table(sizes: Iterable[int]) -> pd.DataFrame:
    """``chat_format.auto_epochs`` for training sets of these sizes, and examples seen in total."""
    rows = [{"examples": n, "epochs": chat_format.auto_epochs(n),
             "examples_seen": n * chat_format.auto_epochs(n)} for n in sizes]
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
