"""Model lifecycle: announced shutdown dates, who can still fine-tune, and a warning.

Hosted models retire. A course that names a model must say until when it
works, on whose word, and must warn the learner whose chosen model is past
(or close to) its shutdown. Every date below names its source: a title, a URL
and the day the course read it (``checked``) or the day it was published
(``published``). A date nobody could confirm is ``None`` and reads "unknown";
it is never guessed.

Fine-tunable models are listed apart from chat models (``FINE_TUNABLE``): a
model that answers chat requests is not necessarily one you can train, and
OpenAI's self-serve fine-tuning has its own, earlier end (``OPENAI_FINE_TUNING``).

Written by hand because no library tracks these dates; the facts come from the
sources named in each row (see also ``/work/team/references.md``).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from datetime import date

import pandas as pd

from .tokens import _base_model

CHECKED = "2026-12-01"  # the day the sources below were read for this table
WARN_WITHIN_DAYS = 60   # warn when a shutdown or a job-creation end is this close


@dataclass(frozen=True)
class Source:
    """Where a fact comes from: title, URL, when the course read it, when it was published."""
    title: str
    url: str
    checked: str = CHECKED
    published: str = ""

    def cite(self) -> str:
        when = f"published {self.published}, " if self.published else ""
        return f"{self.title} ({when}checked {self.checked}), {self.url}"


DEPRECATIONS = Source(
    "OpenAI API - Deprecations", "https://developers.openai.com/api/docs/deprecations")
DEPRECATIONS_GPT4 = Source(
    "OpenAI API - Deprecations, '2026-10-14: GPT-4 series model deprecations'",
    "https://developers.openai.com/api/docs/deprecations", published="2026-10-14")
DEPRECATIONS_LEGACY = Source(
    "OpenAI API - Deprecations, '2026-04-22: Legacy GPT model snapshots'",
    "https://developers.openai.com/api/docs/deprecations", published="2026-04-22")
DEPRECATIONS_GPT5 = Source(
    "OpenAI API - Deprecations, '2026-06-11: GPT-5 and o3 model deprecations'",
    "https://developers.openai.com/api/docs/deprecations", published="2026-06-11")
DEPRECATIONS_FINE_TUNING = Source(
    "OpenAI API - Deprecations, 'Update to OpenAI's self-serve fine-tuning'",
    "https://developers.openai.com/api/docs/deprecations", published="2026-05-07")
SDK_MODEL_LIST = Source(
    "openai-python 3.51.0, openai/types/shared/chat_model.py (deprecated values, "
    "generated from OpenAI's OpenAPI spec)", "https://pypi.org/project/openai/3.51.0/")
SFT_GUIDE = Source(
    "OpenAI API - Supervised fine-tuning guide",
    "https://developers.openai.com/api/docs/guides/supervised-fine-tuning",
    published="2026-05-07")
WINDDOWN_REPORT = Source(
    "ed-donner/llm_engineering issue 3258: 'Fine-tuning fails with permission denied - "
    "OpenAI has wound down the self-serve fine-tuning platform'",
    "https://github.com/ed-donner/llm_engineering/issues/3258", published="2026-05-26")
GPT5_MINI_PAGE = Source(
    "OpenAI API - GPT-5 mini model page", "https://developers.openai.com/api/docs/models/gpt-5-mini")
GPT6_LUNA_PAGE = Source(
    "OpenAI API - GPT-6 Luna model page", "https://developers.openai.com/api/docs/models/gpt-6-luna")
ZHIPU_FINE_TUNING = Source(
    "智谱 BigModel 开放平台 - 模型微调", "https://docs.bigmodel.cn/cn/guide/tools/fine-tuning")
SANDBOX = Source("helpers.sandbox (runs on your machine)", "helpers/sandbox/README.md")


@dataclass(frozen=True)
class Lifecycle:
    """One model's announced end: every id it goes by, the shutdown date, the source."""
    provider: str
    ids: tuple[str, ...]
    shutdown: date | None      # None: no shutdown announced (see ``known``)
    sources: tuple[Source, ...]
    replacement: str | None = None
    note: str = ""
    known: bool = True         # False: the course could not confirm whether a date exists

    @property
    def model(self) -> str:
        return self.ids[0]


def _d(text: str) -> date:
    return date.fromisoformat(text)


_GPT4_NOTE = "fine-tuned models built on it shut down on the same day"
PROVIDER_NAMES = {"openai": "OpenAI", "zhipu": "Zhipu", "sandbox": "the sandbox"}

LIFECYCLE: tuple[Lifecycle, ...] = (
    # OpenAI: shut down on 2027-01-14, announced 2026-10-14.
    Lifecycle("openai", ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"), _d("2027-01-14"),
              (DEPRECATIONS_GPT4, SDK_MODEL_LIST), "gpt-6-luna", _GPT4_NOTE),
    Lifecycle("openai", ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"), _d("2027-01-14"),
              (DEPRECATIONS_GPT4, SDK_MODEL_LIST), "gpt-6-luna", _GPT4_NOTE),
    Lifecycle("openai", ("gpt-4.1-2025-04-14", "gpt-4.1"), _d("2027-01-14"),
              (DEPRECATIONS_GPT4, SDK_MODEL_LIST), "gpt-6-luna", _GPT4_NOTE),
    Lifecycle("openai", ("gpt-4o-2024-08-06", "gpt-4o-2024-11-20", "gpt-4o"), _d("2027-01-14"),
              (DEPRECATIONS_GPT4, SDK_MODEL_LIST), "gpt-6-luna", _GPT4_NOTE),
    # OpenAI: shut down on 2026-10-23, announced 2026-04-22.
    Lifecycle("openai", ("gpt-3.5-turbo-0125", "gpt-3.5-turbo"), _d("2026-10-23"),
              (DEPRECATIONS_LEGACY, SDK_MODEL_LIST), note=_GPT4_NOTE),
    Lifecycle("openai", ("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"), _d("2026-10-23"),
              (DEPRECATIONS_LEGACY, SDK_MODEL_LIST), note=_GPT4_NOTE),
    Lifecycle("openai", ("gpt-4o-2024-05-13",), _d("2026-10-23"),
              (DEPRECATIONS_LEGACY, SDK_MODEL_LIST)),
    # OpenAI: shut down on 2026-12-11, announced 2026-06-11.
    Lifecycle("openai", ("gpt-5-mini-2025-08-07", "gpt-5-mini"), _d("2026-12-11"),
              (DEPRECATIONS_GPT5, GPT5_MINI_PAGE, SDK_MODEL_LIST), "gpt-6.1-terra",
              "its model page marks it deprecated"),
    # OpenAI: live, no shutdown announced in the sources above.
    Lifecycle("openai", ("gpt-5.4-mini", "gpt-5.4-mini-2026-03-17"), None, (SDK_MODEL_LIST,),
              note="not among the deprecated values of openai-python 3.51.0; "
                   "no entry found on the deprecations page"),
    Lifecycle("openai", ("gpt-6-luna",), None, (SDK_MODEL_LIST, GPT6_LUNA_PAGE),
              note="named by OpenAI as the replacement for gpt-4o(-mini) and gpt-4.1(-mini)"),
    # OpenAI: the legacy completion bases. No date confirmed, so none is given.
    Lifecycle("openai", ("davinci-002",), None, (DEPRECATIONS,),
              note="not confirmed on OpenAI's pages read", known=False),
    Lifecycle("openai", ("babbage-002",), None, (DEPRECATIONS,),
              note="not confirmed on OpenAI's pages read", known=False),
    # Zhipu: the course found no deprecation notice for these, nor checked a list of them.
    Lifecycle("zhipu", ("glm-4-flash",), None, (ZHIPU_FINE_TUNING,),
              note="no date found in Zhipu's docs read", known=False),
    Lifecycle("zhipu", ("glm-4.5-air",), None, (ZHIPU_FINE_TUNING,),
              note="no date found in Zhipu's docs read", known=False),
    Lifecycle("zhipu", ("glm-4-air", "glm-4-air-250414"), None, (ZHIPU_FINE_TUNING,),
              note="no date found in Zhipu's docs read", known=False),
    Lifecycle("zhipu", ("glm-4-9b",), None, (ZHIPU_FINE_TUNING,),
              note="no date found in Zhipu's docs read", known=False),
    Lifecycle("zhipu", ("chatglm3-6b",), None, (ZHIPU_FINE_TUNING,),
              note="no date found in Zhipu's docs read", known=False),
    Lifecycle("sandbox", ("sandbox-base",), None, (SANDBOX,), note="local; never shuts down"),
)


@dataclass(frozen=True)
class FineTuningAccess:
    """When a provider stops accepting new fine-tuning jobs, and who is refused before that."""
    provider: str
    jobs_end: date | None
    refused: tuple[tuple[date, str], ...]   # (since, who is refused)
    error_code: str
    sources: tuple[Source, ...]


OPENAI_FINE_TUNING = FineTuningAccess(
    "openai", _d("2027-01-06"),
    ((_d("2026-05-07"), "organisations that never fine-tuned"),
     (_d("2026-07-02"), "organisations without inference on a fine-tuned model in the past 60 days")),
    "training_not_available", (DEPRECATIONS_FINE_TUNING, SFT_GUIDE, WINDDOWN_REPORT))


@dataclass(frozen=True)
class FineTunable:
    """A model the provider documents as a fine-tuning base, and how it can be trained."""
    provider: str
    model: str
    methods: tuple[str, ...]
    source: Source
    note: str = ""


FINE_TUNABLE: tuple[FineTunable, ...] = (
    FineTunable("openai", "gpt-4.1-mini-2025-04-14", ("supervised",), SFT_GUIDE),
    FineTunable("openai", "gpt-4.1-2025-04-14", ("supervised",), SFT_GUIDE),
    FineTunable("openai", "gpt-4.1-nano-2025-04-14", ("supervised",), SFT_GUIDE,
                "listed by the guide, but the model shut down on 2026-10-23"),
    FineTunable("openai", "gpt-4o-mini-2024-07-18", ("supervised",), SDK_MODEL_LIST,
                "the fine-tuning job's model type in openai-python still names gpt-4o-mini; "
                "the 2026 guide lists the gpt-4.1 family"),
    FineTunable("openai", "gpt-4o-2024-08-06", ("supervised",), DEPRECATIONS_GPT4,
                "the shutdown notice names its fine-tuned models"),
    FineTunable("openai", "gpt-3.5-turbo-0125", ("supervised",), SDK_MODEL_LIST,
                "shut down on 2026-10-23"),
    FineTunable("openai", "davinci-002", ("supervised",), SDK_MODEL_LIST, "legacy completion base"),
    FineTunable("openai", "babbage-002", ("supervised",), SDK_MODEL_LIST, "legacy completion base"),
    FineTunable("zhipu", "glm-4-flash", ("lora", "full"), ZHIPU_FINE_TUNING),
    FineTunable("zhipu", "glm-4.5-air", ("full",), ZHIPU_FINE_TUNING),
    FineTunable("zhipu", "glm-4-air", ("lora", "full"), ZHIPU_FINE_TUNING),
    FineTunable("zhipu", "glm-4-air-250414", ("full",), ZHIPU_FINE_TUNING),
    FineTunable("zhipu", "glm-4-9b", ("lora", "full"), ZHIPU_FINE_TUNING),
    FineTunable("zhipu", "chatglm3-6b", ("lora",), ZHIPU_FINE_TUNING),
    FineTunable("sandbox", "sandbox-base", ("supervised",), SANDBOX),
)

ACCESS = {"openai": OPENAI_FINE_TUNING}


class ModelLifecycleWarning(UserWarning):
    """The chosen model is past, or close to, its announced shutdown (or job creation ends)."""


@dataclass(frozen=True)
class ModelStatus:
    """What the course knows about a model on a given day."""
    model: str
    base: str
    provider: str | None
    state: str  # live | shutting-down | shut-down | no-date-announced | unknown (not confirmed)
    shutdown: date | None
    days_left: int | None
    replacement: str | None
    sources: tuple[Source, ...]
    message: str
    fine_tunable: bool | None = None   # set by check_model(..., purpose="fine-tune")
    jobs_end: date | None = None       # the provider's last day for new fine-tuning jobs
    warning: bool = False              # whether check_model issued a ModelLifecycleWarning


def _today(today: date | str | None) -> date:
    if today is None:
        return date.today()
    return date.fromisoformat(today) if isinstance(today, str) else today


def lifecycle_for(model: str) -> Lifecycle | None:
    """The lifecycle row for ``model`` (fine-tuned ids use their base); None when unknown."""
    base = _base_model(model)
    for row in LIFECYCLE:
        if base in row.ids:
            return row
    return None


def fine_tunable_for(model: str) -> FineTunable | None:
    """The fine-tuning row for ``model``'s base (dated snapshot or alias); None when not listed."""
    row = lifecycle_for(model)
    names = row.ids if row else (_base_model(model),)
    return next((f for f in FINE_TUNABLE if f.model in names), None)


def _cite(sources: tuple[Source, ...]) -> str:
    """The first (primary) source; the full list stays in ``ModelStatus.sources``."""
    return sources[0].cite() if sources else "none"


def model_status(model: str, today: date | str | None = None,
                 warn_within_days: int = WARN_WITHIN_DAYS) -> ModelStatus:
    """The model's state on ``today`` (default: the real date) with a sentence naming the source."""
    day = _today(today)
    base = _base_model(model)
    row = lifecycle_for(model)
    derived = "" if base == model else f" (the base of {model})"
    if row is None:  # an unknown id (e.g. "llama3.2:3b") is named as given, not split
        return ModelStatus(model, base, None, "unknown", None, None, None, (),
                           f"{model}: no lifecycle information in the course's table; "
                           f"check the provider's deprecations page.")
    if row.provider == "sandbox":
        return ModelStatus(model, base, row.provider, "live", None, None, None, row.sources,
                           f"{base}{derived}: the local sandbox model; it never shuts down.")
    if not row.known:
        return ModelStatus(model, base, row.provider, "unknown", None, None, None, row.sources,
                           f"{base}{derived}: shutdown date unknown ({row.note}). "
                           f"Source: {_cite(row.sources)}")
    if row.shutdown is None:
        text = (f"{base}{derived}: no shutdown date announced as of {day.isoformat()} "
                f"({row.note or 'none found'}). Source: {_cite(row.sources)}")
        return ModelStatus(model, base, row.provider, "no-date-announced", None, None,
                           row.replacement, row.sources, text)
    days = (row.shutdown - day).days
    if days <= 0:
        state, when = "shut-down", f"shut down on {row.shutdown.isoformat()}"
    elif days <= warn_within_days:
        state, when = "shutting-down", f"shuts down on {row.shutdown.isoformat()} (in {days} days)"
    else:
        state, when = "live", f"shuts down on {row.shutdown.isoformat()} (in {days} days)"
    note = f"; {row.note}" if row.note else ""
    then = (f" Replacement named by {PROVIDER_NAMES.get(row.provider, row.provider)}: "
            f"{row.replacement}." if row.replacement else "")
    text = f"{base}{derived} {when}{note}.{then} Source: {_cite(row.sources)}"
    return ModelStatus(model, base, row.provider, state, row.shutdown, days, row.replacement,
                       row.sources, text)


def _fine_tuning_message(status: ModelStatus, day: date, warn_within_days: int) -> tuple[str, bool]:
    """The fine-tuning part of a status: (sentence, whether it deserves a warning)."""
    provider = status.provider
    listed = fine_tunable_for(status.model)
    if provider is None:
        return "", False
    name = PROVIDER_NAMES.get(provider, provider)
    if listed is None and provider != "sandbox":
        return (f"Fine-tuning: {status.base} is not listed as a fine-tunable model of {name} "
                f"(see helpers.lifecycle.FINE_TUNABLE).", True)
    access = ACCESS.get(provider)
    if access is None or access.jobs_end is None:
        return "", False
    left = (access.jobs_end - day).days
    who = " and ".join(f"{group} (since {since.isoformat()})"
                       for since, group in access.refused if since <= day)
    refused = f"; HTTP 403 {access.error_code} for {who}" if who else ""
    cite = _cite(access.sources)
    if left <= 0:
        return (f"Fine-tuning: {name} stopped accepting new fine-tuning jobs on "
                f"{access.jobs_end.isoformat()}. Source: {cite}", True)
    text = (f"Fine-tuning: {name} accepts new jobs until {access.jobs_end.isoformat()} "
            f"(in {left} days), and only from organisations that still have access"
            f"{refused}. Source: {cite}")
    return text, left <= warn_within_days


def check_model(model: str, purpose: str = "chat", *, today: date | str | None = None,
                warn_within_days: int = WARN_WITHIN_DAYS, stacklevel: int = 2,
                warn: bool = True) -> ModelStatus:
    """Warn (``ModelLifecycleWarning``) when ``model`` is past or near its shutdown.

    ``purpose`` is "chat" (zero-shot, few-shot, inference on a fine-tuned model)
    or "fine-tune" (the model is the base of a new job; also checks that the
    provider lists it as fine-tunable and still accepts jobs). ``today`` is
    injectable so notebooks and tests are reproducible. Returns the status; a
    model the course knows nothing about is reported, never warned about.
    ``warn=False`` only returns it (``.warning`` still says whether it would warn).
    """
    if purpose not in ("chat", "fine-tune"):
        raise ValueError(f"purpose must be 'chat' or 'fine-tune', not {purpose!r}")
    day = _today(today)
    status = model_status(model, day, warn_within_days)
    should_warn = status.state in ("shutting-down", "shut-down")
    if purpose == "fine-tune":
        extra, extra_warn = _fine_tuning_message(status, day, warn_within_days)
        access = ACCESS.get(status.provider or "")
        status = replace(status, message=status.message + (f"\n{extra}" if extra else ""),
                         fine_tunable=(fine_tunable_for(model) is not None
                                       if status.provider else None),
                         jobs_end=access.jobs_end if access else None)
        should_warn = should_warn or extra_warn
    if should_warn and warn:
        warnings.warn(status.message, ModelLifecycleWarning, stacklevel=stacklevel)
    return replace(status, warning=should_warn)


def _jobs_until(status: ModelStatus) -> str | None:
    if status.state == "shut-down":
        return "none (shut down)"
    if status.fine_tunable is False:
        return "not fine-tunable"
    return status.jobs_end.isoformat() if status.jobs_end else None


def status_table(models, purpose: str = "chat", today: date | str | None = None) -> pd.DataFrame:
    """``check_model`` (without warning) for each model: state, dates, whether it would warn.

    A date that does not exist (no shutdown announced, no end for new jobs) is ``<NA>``.
    """
    rows = []
    for model in models:
        s = check_model(model, purpose, today=today, warn=False)
        rows.append({"model": model, "provider": s.provider or "unknown",
                     **({"fine_tunable": s.fine_tunable} if purpose == "fine-tune" else {}),
                     "state": s.state,
                     "shutdown": s.shutdown.isoformat() if s.shutdown else None,
                     "days_left": s.days_left,
                     "new_jobs_until": _jobs_until(s),
                     "warning": s.warning})
    frame = pd.DataFrame(rows).set_index("model")
    # one missing-value marker (<NA>) in every column that can lack a value
    frame["days_left"] = frame["days_left"].astype("Int64")
    frame[["shutdown", "new_jobs_until"]] = frame[["shutdown", "new_jobs_until"]].astype("string")
    return frame
