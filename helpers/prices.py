"""Dated price table for fine-tuning and the cost of a training run.

Every row names its date and source (the providers' pricing pages, collected
by the course authors in 2026-11). A price nobody could confirm is ``None`` and is shown as
"unknown"; it is never guessed. Zhipu's fine-tuning prices are such a case.

``PRICES`` holds the fine-tuning rows (shown by ``price_table``); ``CHAT_PRICES``
holds chat models that cannot be fine-tuned. ``model_table`` joins prices with
``helpers.lifecycle`` (shutdown dates and their sources), fine-tunable models
apart from chat models; ``DEFAULTS`` names each backend's chat model and
fine-tuning base with the reason and a sentence a notebook can print.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import date

import pandas as pd

from . import lifecycle, tokens

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
    rate: str = ""   # what input/output price: "base" or "fine-tuned" inference ("" = derived)

    def __post_init__(self):
        if not self.rate:  # a row with a training price quotes its fine-tunes' inference rates
            object.__setattr__(self, "rate", "fine-tuned" if self.training_per_1m is not None
                               and self.provider != "sandbox" else "base")

    @property
    def label(self) -> str:
        """The name of this rate: base-model and fine-tuned inference never share one."""
        return f"{self.model} ({self.rate} inference)"


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
          "third-party price tables only",
          "the base model's own inference; its fine-tunes train gpt-4o-mini-2024-07-18"),
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

def _chat(model, inp, out, source, note):
    return Price("openai", model, "USD", None, inp, out, "2026-11", source, note)


# Chat models a zero-shot notebook may call; none of them can be fine-tuned.
CHAT_PRICES: tuple[Price, ...] = (
    _chat("gpt-5.4-mini", 0.75, 4.50,
          "OpenAI model pages (GPT-5 mini page compares GPT-5.4 mini at $0.75 input); "
          "output price from OpenRouter's listing",
          "chat default; not fine-tunable; no shutdown announced as of 2026-12-01"),
    _chat("gpt-6-luna", 0.10, 0.50, "OpenAI GPT-6 Luna model page; OpenAI deprecations page "
          "(replacement for gpt-4o(-mini), gpt-4.1(-mini)), checked 2026-12-06",
          "the OpenAI chat default: a reasoning model (reasoning tokens are billed as output); "
          "not fine-tunable; accepted efforts not confirmed"),
    _chat("gpt-5-mini", 0.25, 2.00, "OpenAI GPT-5 mini model page",
          "deprecated: shuts down 2026-12-11; not fine-tunable"),
    Price("sandbox", "sandbox-reasoning", "USD", None, 0.0, 0.0, "2026-12",
          "helpers.sandbox (local, free)", "runs on your machine; not fine-tunable", rate="base"),
    Price("sandbox", "sandbox-embed", "USD", None, 0.0, 0.0, "2026-12",
          "helpers.sandbox (local, free)", "embeddings; runs on your machine", rate="base"),
)

# Short names learners type, mapped to the dated snapshot that is priced.
ALIASES = {
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4o-2024": "gpt-4o-2024-08-06",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
    "gpt-5.4-mini-2026-03-17": "gpt-5.4-mini",
    "gpt-5-mini-2025-08-07": "gpt-5-mini",
}


class UnknownModelError(KeyError):
    """The model has no row in the price table."""


def price_for(model: str) -> Price:
    """The table row for ``model`` (fine-tuned ids use their base model)."""
    base = tokens.base_model(model)
    by_name = {p.model: p for p in PRICES + CHAT_PRICES}
    if base in by_name:
        return by_name[base]
    if base in ALIASES:
        return by_name[ALIASES[base]]
    known = ", ".join(by_name)
    raise UnknownModelError(f"no price row for model {model!r}; known: {known}")


# PRICES' input/output are what a *fine-tuned* model costs to call. Calling the base model
# itself costs what its own row says, where one is known; otherwise it stays unknown.
BASE_INFERENCE = {"gpt-4o-mini-2024-07-18": "gpt-4o-mini"}
_FREE_TO_CALL_FINE_TUNED = ("openai", "sandbox")  # providers whose fine-tuned rates are in PRICES


def inference_price(model: str) -> Price:
    """Per-1M input/output prices for *calling* ``model`` (None where unknown).

    A fine-tuned id is priced at its base's fine-tuned rates (OpenAI's table;
    Zhipu's fine-tuned inference price is not confirmed, so it is unknown); a
    base model at its own inference rates — ``gpt-4o-mini-2024-07-18`` called
    as itself is $0.15 / $0.60, not the $0.30 / $1.20 of its fine-tunes.
    Raises UnknownModelError when the model has no row at all.
    """
    row = price_for(model)
    base = tokens.base_model(model)
    tuned = model != base
    if tuned:
        if row.provider in _FREE_TO_CALL_FINE_TUNED:
            return replace(row, rate="fine-tuned")
        return replace(row, input_per_1m=None, output_per_1m=None, rate="fine-tuned",
                       note="fine-tuned model: inference price not confirmed")
    if row in CHAT_PRICES or row.provider == "sandbox" or row.training_per_1m is None:
        return row  # a chat model or a row that is already the base model's own price
    own = BASE_INFERENCE.get(ALIASES.get(base, base))
    if own is not None:
        return price_for(own)
    return replace(row, input_per_1m=None, output_per_1m=None, rate="base",
                   note="base-model inference price not in the table (the row's prices are "
                        "for its fine-tuned models)")


def training_cost(billed_tokens: int, model: str | Price,
                  currency: str | None = "USD") -> float | None:
    """The one-time cost of training ``billed_tokens`` on ``model`` (a name or its ``Price``).

    In ``currency`` (``None``: the row's own). None when it cannot be known: the
    model has no price row (a local server's), its training price is unconfirmed,
    or it is priced in another currency. The course's only training-cost formula.
    """
    if isinstance(model, str):
        try:
            model = price_for(model)
        except UnknownModelError:
            return None
    if model.training_per_1m is None or currency not in (None, model.currency):
        return None
    return billed_tokens * model.training_per_1m / 1_000_000


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
        costs = [training_cost(tokens_per_epoch * e, model, currency=None) for e in epochs]
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


# ---------------------------------------------------------------- prices with lifecycle

def _price_or_none(model: str) -> Price | None:
    try:
        return price_for(model)
    except UnknownModelError:
        return None


def _unknown(value):
    return UNKNOWN if value is None else value


def _lifecycle_columns(model: str, today: date) -> dict:
    status = lifecycle.model_status(model, today)
    if status.shutdown:
        shutdown = status.shutdown.isoformat()
    elif status.state == "live":
        shutdown = "never (local)"
    else:
        shutdown = UNKNOWN if status.state == "unknown" else "none announced"
    return {"shutdown": shutdown,
            "status": status.state,
            "lifecycle_source": status.sources[0].cite() if status.sources else UNKNOWN}


def model_table(kind: str = "fine-tunable", provider: str | None = None,
                today: date | str | None = None) -> pd.DataFrame:
    """Models with prices, shutdown dates and their sources, as of ``today``.

    ``kind="fine-tunable"`` lists the models a provider documents as fine-tuning
    bases (``helpers.lifecycle.FINE_TUNABLE``) with the training price and the
    last day for new jobs; ``kind="chat"`` lists the chat models
    (``CHAT_PRICES`` and the base chat rows). Unknown stays "unknown".
    """
    day = lifecycle.as_date(today)
    rows = []
    if kind == "fine-tunable":
        for item in lifecycle.FINE_TUNABLE:
            if provider not in (None, item.provider):
                continue
            price = _price_or_none(item.model)
            access = lifecycle.ACCESS.get(item.provider)
            life = _lifecycle_columns(item.model, day)
            if life["status"] == "shut-down":
                jobs_until = "none (shut down)"
            elif access and access.jobs_end:
                jobs_until = access.jobs_end.isoformat()
            else:
                jobs_until = "none announced"
            rows.append({"provider": item.provider, "model": item.model,
                         "methods": ", ".join(item.methods),
                         "currency": price.currency if price else UNKNOWN,
                         "training_per_1m": _unknown(price and price.training_per_1m),
                         "new_jobs_until": jobs_until, **life, "note": item.note})
    elif kind == "chat":
        chat = [p for p in CHAT_PRICES + PRICES
                if p.model in {c.model for c in CHAT_PRICES} | set(CHAT_BASES)]
        for price in chat:
            if provider not in (None, price.provider):
                continue
            rows.append({"provider": price.provider, "model": price.model,
                         "currency": price.currency,
                         "input_per_1m": _unknown(price.input_per_1m),
                         "output_per_1m": _unknown(price.output_per_1m),
                         "fine_tunable": lifecycle.fine_tunable_for(price.model) is not None,
                         **_lifecycle_columns(price.model, day),
                         "price_source": price.source, "note": price.note})
    else:
        raise ValueError(f"kind must be 'fine-tunable' or 'chat', not {kind!r}")
    return pd.DataFrame(rows)


# Rows of PRICES that are chat models as such (base inference, not fine-tuned use).
CHAT_BASES = ("gpt-4o-mini", "glm-4-flash", "glm-3-turbo", "sandbox-base")


# ---------------------------------------------------------------- course defaults

@dataclass(frozen=True)
class Default:
    """A backend's default model for one purpose, why it was chosen, and on whose word."""
    backend: str
    purpose: str          # "chat" (zero-shot, few-shot) or "fine-tune" (base of a job)
    model: str
    reason: str
    sources: tuple[lifecycle.Source, ...]
    api: str = "chat"     # the API the course calls it through ("chat" or "responses")


DEFAULTS: tuple[Default, ...] = (
    Default("openai", "chat", "gpt-6-luna",
            "the replacement OpenAI names for gpt-4o(-mini) and gpt-4.1(-mini), which shut down "
            "on 2027-01-14 (gpt-5, gpt-5-mini and gpt-5-nano shut down on 2026-12-11); no "
            "shutdown announced; a reasoning model, called through the Responses API (what it "
            "accepts beyond that is not confirmed: see helpers.lifecycle.CAPABILITIES); it "
            "cannot be fine-tuned",
            (lifecycle.DEPRECATIONS_DEC, lifecycle.GPT6_LUNA_PAGE,
             lifecycle.MIGRATE_TO_RESPONSES), api="responses"),
    Default("zhipu", "chat", "glm-4-flash",
            "also fine-tunable (LoRA and full), so zero-shot and fine-tuning use one model",
            (lifecycle.ZHIPU_FINE_TUNING,)),
    Default("zhipu", "fine-tune", "glm-4-flash",
            "listed by Zhipu's fine-tuning guide for LoRA and full fine-tuning, all users; "
            "Zhipu's fine-tuning prices are not confirmed, so a token budget guards a run",
            (lifecycle.ZHIPU_FINE_TUNING,)),
    Default("sandbox", "chat", "sandbox-base", "local and free", (lifecycle.SANDBOX,)),
    Default("sandbox", "fine-tune", "sandbox-base", "local and free", (lifecycle.SANDBOX,)),
)
# Backends whose fine-tuning has ended for the course's learners: no fine-tuning default.
FINE_TUNING_ENDED = ("openai",)


class NoDefaultModel(KeyError):
    """The backend has no default for that purpose; the message says why."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def default_for(backend: str, purpose: str = "chat") -> Default:
    """The course's default for ``backend`` ("sandbox", "openai", "zhipu") and purpose.

    OpenAI has no fine-tuning default: its self-serve fine-tuning ends (the message
    names the three stages, ``lifecycle.fine_tuning_ended``); fine-tune on Zhipu
    (glm-4-flash) or the sandbox (sandbox-base).
    """
    for item in DEFAULTS:
        if item.backend == backend and item.purpose == purpose:
            return item
    if purpose == "fine-tune" and backend in FINE_TUNING_ENDED:
        raise NoDefaultModel(f"no fine-tuning default for backend {backend!r}: "
                             f"{lifecycle.fine_tuning_ended(backend)} Fine-tune on zhipu "
                             f"(glm-4-flash) or the sandbox (sandbox-base) instead.")
    raise NoDefaultModel(f"no default model for backend {backend!r} and purpose {purpose!r} "
                         f"(a 'compatible' server has no default: pass the model it serves)")


def default_model(backend: str, purpose: str = "chat") -> str:
    """The default model id for ``backend`` and ``purpose``."""
    return default_for(backend, purpose).model


def default_note(backend: str, purpose: str = "chat", today: date | str | None = None) -> str:
    """One sentence a notebook prints: the default, why, its price and dates, the source."""
    item = default_for(backend, purpose)
    day = lifecycle.as_date(today)
    status = lifecycle.model_status(item.model, day)
    price = _price_or_none(item.model)
    what = "chat model" if purpose == "chat" else "fine-tuning base"
    if price is None:
        cost = ""
    elif purpose == "chat" and price.input_per_1m == 0 and price.output_per_1m == 0:
        cost = " Free to call."
    elif purpose == "chat":
        cost = (f" {_money(price.input_per_1m, price.currency)} / "
                f"{_money(price.output_per_1m, price.currency)} per 1M input/output tokens.")
    elif price.training_per_1m is None:
        cost = " Training price: unknown (not confirmed)."
    else:
        cost = f" Training: {_money(price.training_per_1m, price.currency)} per 1M tokens."
    if status.shutdown:
        dates = (f" Shutdown {status.shutdown.isoformat()} "
                 f"({'past' if status.days_left <= 0 else f'in {status.days_left} days'}).")
    elif status.state == "unknown":
        dates = " Shutdown date unknown."
    elif status.state == "live":
        dates = ""
    else:
        dates = f" No shutdown announced as of {day.isoformat()}."
    return (f"Default {backend} {what}: {item.model} - {item.reason}.{cost}{dates} "
            f"Source: {item.sources[0].cite()}")


def _money(value: float | None, currency: str) -> str:
    if value is None:
        return UNKNOWN
    return f"${value:.2f}" if currency == "USD" else f"{value:g} {currency}"
