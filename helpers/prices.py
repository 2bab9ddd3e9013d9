"""Dated price table for fine-tuning and the cost of a training run.

Every row names its date and source (the providers' pricing pages, collected
by the course authors in 2026-11). A price nobody could confirm is ``None`` and is shown as "unknown";
it is never guessed. Zhipu's fine-tuning prices are such a case.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable

import pandas as pd

from . import tokens

UNKNOWN = "unknown"
OPENAI_SOURCE = "OpenAI pricing page (standard tier), 2026"
ZHIPU_SOURCE = "bigmodel.cn pricing and docs"


@dataclass(frozen=True)
class Price:
    """Per-1M-token prices; input/output are for the fine-tuned model (None = unknown)."""
    provider: str
    model: str
    currency: str
    training_per_1m: float | None
    input_per_1m: float | None
    output_per_1m: float | None
    as_of: str
    source: str
    note: str = ""


def _openai(model, training, inp, out, note=""):
    return Price("openai", model, "USD", training, inp, out, "2026-11", OPENAI_SOURCE, note)


PRICES: tuple[Price, ...] = (
    _openai("gpt-4o-mini-2024-07-18", 3.00, 0.30, 1.20),
    _openai("gpt-4.1-mini-2025-04-14", 5.00, 0.80, 3.20),
    _openai("gpt-4.1-nano-2025-04-14", 1.50, 0.20, 0.80),
    _openai("gpt-4.1-2025-04-14", 25.00, 3.00, 12.00),
    _openai("gpt-4o-2024-08-06", 25.00, 3.75, 15.00),
    _openai("gpt-3.5-turbo-0125", 8.00, 3.00, 6.00),
    _openai("davinci-002", 6.00, 12.00, 12.00),
    _openai("babbage-002", 0.40, 1.60, 1.60),
    Price("openai", "gpt-4o-mini", "USD", None, 0.15, 0.60, "2026-11",
          "third-party price tables only", "base model inference; not fine-tunable by this id"),
    Price("zhipu", "glm-4-flash", "CNY", None, 0.0, 0.0, "2026-11", ZHIPU_SOURCE,
          "chat is free; fine-tuning price not confirmed"),
    Price("zhipu", "glm-4-9b", "CNY", None, None, None, "2026-11", ZHIPU_SOURCE,
          "fine-tuning price not confirmed"),
    Price("zhipu", "chatglm3-6b", "CNY", None, None, None, "2026-11", ZHIPU_SOURCE,
          "fine-tuning price not confirmed"),
    Price("zhipu", "glm-4-air-250414", "CNY", None, None, None, "2026-11", ZHIPU_SOURCE,
          "fine-tuning price not confirmed"),
    Price("zhipu", "glm-3-turbo", "CNY", None, 1.0, 1.0, "2024", ZHIPU_SOURCE,
          "0.005 yuan/1K tokens in early 2024, later 0.001 yuan/1K (shown)"),
    Price("sandbox", "sandbox-base", "USD", 0.0, 0.0, 0.0, "2026-11",
          "helpers.sandbox (local, free)", "runs on your machine"),
)

# Short names learners type, mapped to the dated snapshot that is priced.
ALIASES = {
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4o-2024": "gpt-4o-2024-08-06",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
}


class UnknownModelError(KeyError):
    """The model has no row in the price table."""


def price_for(model: str) -> Price:
    """The table row for ``model`` (fine-tuned ids use their base model)."""
    base = tokens._base_model(model)
    by_name = {p.model: p for p in PRICES}
    if base in by_name:
        return by_name[base]
    if base in ALIASES:
        return by_name[ALIASES[base]]
    known = ", ".join(p.model for p in PRICES)
    raise UnknownModelError(f"no price row for model {model!r}; known: {known}")


def training_cost(billed_tokens: int, model: str) -> float | None:
    """Training cost in the row's currency; None when the price is unknown."""
    per_1m = price_for(model).training_per_1m
    return None if per_1m is None else billed_tokens * per_1m / 1_000_000


def training_cost_usd(billed_tokens: int, model: str) -> float | None:
    """Training cost in USD; None when unknown or not priced in USD."""
    price = price_for(model)
    if price.currency != "USD":
        return None
    return training_cost(billed_tokens, model)


def price_table(provider: str | None = None) -> pd.DataFrame:
    """The price table as a DataFrame; unconfirmed prices read "unknown"."""
    rows = [asdict(p) for p in PRICES if provider in (None, p.provider)]
    frame = pd.DataFrame(rows)
    cols = ["training_per_1m", "input_per_1m", "output_per_1m"]
    frame[cols] = frame[cols].astype(object).where(frame[cols].notna(), UNKNOWN)
    return frame


def cost_table(tokens_per_epoch: int, models: Iterable[str], epochs: Iterable[int] = range(1, 5),
               ) -> pd.DataFrame:
    """Training cost by epochs (rows) and model (columns), in each model's currency.

    Billed tokens are ``tokens_per_epoch × epochs`` (validation tokens are free).
    A model whose training price is unknown gets a column of "unknown".
    """
    epochs = list(epochs)
    columns = {}
    for model in models:
        costs = [training_cost(tokens_per_epoch * e, model) for e in epochs]
        known = costs[0] is not None
        columns[model] = [round(c, 4) for c in costs] if known else [UNKNOWN] * len(epochs)
    frame = pd.DataFrame(columns, index=pd.Index(epochs, name="epochs"))
    frame.insert(0, "billed_tokens", [tokens_per_epoch * e for e in epochs])
    return frame


def zhipu_token_estimate(examples) -> dict:
    """Zhipu tokens for chat examples, ESTIMATED as characters / 1.6 (Zhipu's docs)."""
    return {"tokens": tokens.zhipu_estimated_tokens(examples),
            "method": f"estimate: characters / {tokens.ZHIPU_CHARS_PER_TOKEN}",
            "is_estimate": True}
