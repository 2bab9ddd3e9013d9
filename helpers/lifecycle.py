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

from .tokens import base_model as _tokens_base_model

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
DEPRECATIONS_DEC = Source(
    "OpenAI API - Deprecations, '2026-10-14: GPT-4 series model deprecations' (replacement "
    "gpt-6-luna) and the GPT-5/o3 shutdown of 2026-12-11, as mirrored",
    "https://developers.openai.com/api/docs/deprecations", checked="2026-12-06",
    published="2026-10-14")
RFT_GUIDE = Source(
    "OpenAI API - Reinforcement fine-tuning guide ('winding down' banner)",
    "https://developers.openai.com/api/docs/guides/reinforcement-fine-tuning",
    checked="2026-12-06")
MIGRATE_TO_RESPONSES = Source(
    "OpenAI API - Migrate to the Responses API ('Responses is recommended for all new projects')",
    "https://developers.openai.com/api/docs/guides/migrate-to-responses", checked="2026-12-06")
REASONING_GUIDE = Source(
    "OpenAI API - Reasoning models guide (max_completion_tokens, reasoning tokens, effort)",
    "https://developers.openai.com/api/docs/guides/reasoning", checked="2026-12-06")
MODELS_ENDPOINT = Source(
    "OpenAI API reference - GET /v1/models (shutdown_date field)",
    "https://developers.openai.com/api/reference/resources/models", checked="2026-12-06")


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
    Lifecycle("openai", ("gpt-4-turbo", "gpt-4-turbo-2024-04-09", "gpt-4"), _d("2026-10-23"),
              (DEPRECATIONS_DEC,)),
    Lifecycle("openai", ("o1", "o3-mini", "o4-mini"), _d("2026-10-23"), (DEPRECATIONS_DEC,)),
    # OpenAI: shut down on 2026-12-11, announced 2026-06-11.
    Lifecycle("openai", ("gpt-5-mini-2025-08-07", "gpt-5-mini"), _d("2026-12-11"),
              (DEPRECATIONS_GPT5, GPT5_MINI_PAGE, SDK_MODEL_LIST), "gpt-6.1-terra",
              "its model page marks it deprecated"),
    Lifecycle("openai", ("gpt-5", "gpt-5-2025-08-07"), _d("2026-12-11"),
              (DEPRECATIONS_GPT5, DEPRECATIONS_DEC)),
    Lifecycle("openai", ("gpt-5-nano", "gpt-5-nano-2025-08-07"), _d("2026-12-11"),
              (DEPRECATIONS_GPT5, DEPRECATIONS_DEC)),
    Lifecycle("openai", ("o3", "o3-pro"), _d("2026-12-11"), (DEPRECATIONS_GPT5, DEPRECATIONS_DEC)),
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
    Lifecycle("sandbox", ("sandbox-reasoning",), None, (SANDBOX,), note="local; never shuts down"),
)


@dataclass(frozen=True)
class FineTuningAccess:
    """When a provider stops accepting new fine-tuning jobs, and who is refused before that."""
    provider: str
    jobs_end: date | None
    refused: tuple[tuple[date, str], ...]   # (since, who is refused)
    error_code: str
    sources: tuple[Source, ...]
    covers: tuple[str, ...] = ()      # the fine-tuning methods the end applies to
    error_code_confirmed: bool = True

    def stages(self) -> list[tuple[date, str]]:
        """Every stage of the wind-down, the end of job creation last."""
        end = [(self.jobs_end, "everybody (no new jobs at all)")] if self.jobs_end else []
        return [*self.refused, *end]


OPENAI_FINE_TUNING = FineTuningAccess(
    "openai", _d("2027-01-06"),
    ((_d("2026-05-07"), "organisations that never fine-tuned"),
     (_d("2026-07-02"),
      "organisations without inference on a fine-tuned model in the past 60 days")),
    "training_not_available", (DEPRECATIONS_FINE_TUNING, SFT_GUIDE, WINDDOWN_REPORT, RFT_GUIDE),
    covers=("supervised", "DPO", "reinforcement", "vision"), error_code_confirmed=False)


def fine_tuning_ended(provider: str = "openai", today: date | str | None = None) -> str:
    """Why a provider's fine-tuning is no longer a default: its wind-down stages, with dates.

    The error code learners quote is not confirmed in public sources (a permission
    error on ``fine_tuning.jobs.create``), so the sentence does not promise one.
    """
    access = ACCESS.get(provider)
    if access is None or access.jobs_end is None:
        raise KeyError(f"no fine-tuning wind-down known for provider {provider!r}")
    day = as_date(today)
    name = PROVIDER_NAMES.get(provider, provider)
    stages = "; ".join(f"from {since.isoformat()}, {who}" for since, who in access.stages())
    ended = "ended" if day >= access.jobs_end else "ends"
    return (f"{name}'s self-serve fine-tuning {ended} in three stages (who is refused): "
            f"{stages}. It covers {', '.join(access.covers)} fine-tuning (so distillation "
            f"too); refusals arrive as a permission error on fine_tuning.jobs.create. "
            f"Fine-tuned models keep serving "
            f"until their base model shuts down (gpt-4o(-mini), gpt-4.1(-mini): 2027-01-14). "
            f"Source: {_cite(access.sources)}")


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


def as_date(today: date | str | None) -> date:
    """A day given as a date, an ISO string or None (today)."""
    if today is None:
        return date.today()
    return date.fromisoformat(today) if isinstance(today, str) else today


def lifecycle_for(model: str) -> Lifecycle | None:
    """The lifecycle row for ``model`` (fine-tuned ids use their base); None when unknown."""
    base = _tokens_base_model(model)
    for row in LIFECYCLE:
        if base in row.ids:
            return row
    return None


def fine_tunable_for(model: str) -> FineTunable | None:
    """The fine-tuning row for ``model``'s base (dated snapshot or alias); None when not listed."""
    row = lifecycle_for(model)
    names = row.ids if row else (_tokens_base_model(model),)
    return next((f for f in FINE_TUNABLE if f.model in names), None)


def _cite(sources: tuple[Source, ...]) -> str:
    """The first (primary) source; the full list stays in ``ModelStatus.sources``."""
    return sources[0].cite() if sources else "none"


def model_status(model: str, today: date | str | None = None,
                 warn_within_days: int = WARN_WITHIN_DAYS) -> ModelStatus:
    """The model's state on ``today`` (default: the real date) with a sentence naming the source."""
    day = as_date(today)
    base = _tokens_base_model(model)
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
    code = (f"HTTP 403 {access.error_code}" if access.error_code_confirmed else
            f"a permission error (reported as {access.error_code}; not confirmed)")
    refused = f"; {code} for {who}" if who else ""
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
    day = as_date(today)
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


# ---------------------------------------------------------------- what a model accepts

CHAT, RESPONSES = "chat", "responses"
GPT5_EFFORTS = ("minimal", "low", "medium", "high")
SANDBOX_EFFORTS = ("none", "minimal", "low", "medium", "high")


@dataclass(frozen=True)
class Capabilities:
    """What one model accepts, so a request sends only what it can take.

    ``None`` means *not confirmed* (the field is then named in ``unconfirmed``):
    a request builder leaves such a parameter out rather than risk a 400.
    ``sampling``: temperature/top_p accepted at the default effort;
    ``sampling_at_effort_none``: accepted when ``reasoning_effort`` is "none".
    ``token_param``: the chat parameter that bounds the answer (``max_tokens``,
    or ``max_completion_tokens`` for reasoning models, which count reasoning
    tokens against it); the Responses API always uses ``max_output_tokens``.
    """
    provider: str
    ids: tuple[str, ...]
    reasoning: bool
    sampling: bool | None
    logprobs: bool | None
    token_param: str
    efforts: tuple[str, ...] | None = ()      # () = no reasoning_effort; None = not confirmed
    default_effort: str | None = None
    sampling_at_effort_none: bool | None = False
    apis: tuple[str, ...] = (CHAT,)
    preferred_api: str = CHAT
    tools_on_responses_only: bool | None = False
    fine_tunable: bool = False
    sources: tuple[Source, ...] = ()
    unconfirmed: tuple[str, ...] = ()
    note: str = ""

    @property
    def model(self) -> str:
        return self.ids[0]

    def accepts_sampling(self, effort: str | None = None) -> bool:
        """Whether temperature/top_p may be sent (False when not confirmed)."""
        if effort == "none" and self.sampling_at_effort_none:
            return True
        return bool(self.sampling)

    def shutdown(self) -> tuple[date | None, tuple[Source, ...]]:
        """The announced shutdown and its sources, from ``LIFECYCLE``."""
        row = lifecycle_for(self.model)
        return (row.shutdown, row.sources) if row else (None, ())


_CLASSIC = dict(reasoning=False, sampling=True, logprobs=True, token_param="max_tokens",
                apis=(CHAT, RESPONSES))

CAPABILITIES: tuple[Capabilities, ...] = (
    Capabilities("openai", ("gpt-6-luna",), reasoning=True, sampling=None, logprobs=None,
                 token_param="max_completion_tokens", efforts=None, default_effort=None,
                 sampling_at_effort_none=None, apis=(CHAT, RESPONSES), preferred_api=RESPONSES,
                 tools_on_responses_only=None, fine_tunable=False,
                 sources=(DEPRECATIONS_DEC, GPT6_LUNA_PAGE, MIGRATE_TO_RESPONSES, REASONING_GUIDE),
                 unconfirmed=("sampling", "logprobs", "efforts", "default_effort",
                              "sampling_at_effort_none", "tools_on_responses_only"),
                 note="a reasoning model (the replacement OpenAI names for gpt-4o(-mini) and "
                      "gpt-4.1(-mini)); what it accepts exactly was not confirmed in public "
                      "sources by 2026-12-06, so the course sends no temperature, logprobs or "
                      "effort unless asked, and checks at run time"),
    Capabilities("openai", ("gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-5-2025-08-07",
                            "gpt-5-mini-2025-08-07", "gpt-5-nano-2025-08-07"),
                 reasoning=True, sampling=False, logprobs=False,
                 token_param="max_completion_tokens", efforts=GPT5_EFFORTS,
                 default_effort="medium", apis=(CHAT, RESPONSES), preferred_api=RESPONSES,
                 sources=(DEPRECATIONS_GPT5, REASONING_GUIDE),
                 note="shut down on 2026-12-11"),
    Capabilities("openai", ("gpt-5.4-mini", "gpt-5.4-mini-2026-03-17"), reasoning=True,
                 sampling=False, logprobs=False, token_param="max_completion_tokens",
                 efforts=("none", "low", "medium", "high"), default_effort=None,
                 sampling_at_effort_none=True, apis=(CHAT, RESPONSES), preferred_api=RESPONSES,
                 sources=(REASONING_GUIDE, SDK_MODEL_LIST), unconfirmed=("default_effort",),
                 note="gpt-5.1-5.4 take none..high; sampling parameters only with effort none"),
    *(Capabilities("openai", ids, **_CLASSIC, fine_tunable=True,
                   sources=(DEPRECATIONS_GPT4, SDK_MODEL_LIST),
                   note="shuts down on 2027-01-14 with its fine-tunes")
      for ids in (("gpt-4o-mini", "gpt-4o-mini-2024-07-18"), ("gpt-4.1-mini",
                  "gpt-4.1-mini-2025-04-14"), ("gpt-4.1", "gpt-4.1-2025-04-14"),
                  ("gpt-4o", "gpt-4o-2024-08-06", "gpt-4o-2024-11-20"))),
    Capabilities("zhipu", ("glm-4-flash",), reasoning=False, sampling=True, logprobs=None,
                 token_param="max_tokens", apis=(CHAT,), fine_tunable=True,
                 sources=(ZHIPU_FINE_TUNING,), unconfirmed=("logprobs",),
                 note="chat completions only on BigModel's API; fine-tunable (LoRA, full)"),
    Capabilities("sandbox", ("sandbox-base",), **_CLASSIC, fine_tunable=True, sources=(SANDBOX,)),
    Capabilities("sandbox", ("sandbox-reasoning",), reasoning=True, sampling=False,
                 logprobs=False, token_param="max_completion_tokens", efforts=SANDBOX_EFFORTS,
                 default_effort="medium", sampling_at_effort_none=True, apis=(CHAT, RESPONSES),
                 sources=(SANDBOX,),
                 note="the stand-in for a reasoning model: 400s like OpenAI's, reasoning tokens"),
)

# Any other model (a compatible server's, say): a plain Chat Completions model. Ollama, vLLM
# and llama-server all take max_tokens, temperature and logprobs on /v1/chat/completions;
# not every one serves /v1/responses, and none takes reasoning_effort in OpenAI's sense.
DEFAULT_CAPABILITIES = Capabilities(
    "unknown", ("(any other model)",), reasoning=False, sampling=True, logprobs=True,
    token_param="max_tokens", apis=(CHAT,), fine_tunable=False,
    note="not in the course's table: treated as a plain Chat Completions model")


def capabilities_for(model: str) -> Capabilities:
    """The capability row of ``model`` (a fine-tune uses its base's); the default otherwise."""
    base = _tokens_base_model(model)
    for row in CAPABILITIES:
        if model in row.ids or base in row.ids:
            return row
    return DEFAULT_CAPABILITIES


def capability_table(models=None) -> pd.DataFrame:
    """The capability rows (or those of ``models``) as people read them: "unconfirmed" where
    the course could not confirm a value, with the shutdown date and its source."""
    chosen = [capabilities_for(m) for m in models] if models else list(CAPABILITIES)
    names = list(models) if models else [c.model for c in chosen]

    def cell(c, name, value):
        if name in c.unconfirmed:
            return "unconfirmed"
        if isinstance(value, tuple):
            return ", ".join(value) if value else "-"
        return value

    rows = []
    for name, c in zip(names, chosen, strict=True):
        shutdown, sources = c.shutdown()
        rows.append({
            "model": name, "provider": c.provider,
            "reasoning": c.reasoning,
            "temperature/top_p": cell(c, "sampling", c.sampling),
            "sampling at effort none": cell(c, "sampling_at_effort_none",
                                            c.sampling_at_effort_none),
            "logprobs": cell(c, "logprobs", c.logprobs),
            "token limit (chat)": c.token_param,
            "token limit (responses)": "max_output_tokens" if RESPONSES in c.apis else "-",
            "reasoning efforts": cell(c, "efforts", c.efforts),
            "apis": ", ".join(c.apis), "preferred api": c.preferred_api,
            "tools on responses only": cell(c, "tools_on_responses_only",
                                            c.tools_on_responses_only),
            "fine-tunable": c.fine_tunable,
            "shutdown": shutdown.isoformat() if shutdown else "none announced",
            "source": (sources or c.sources)[0].cite() if (sources or c.sources) else "-"})
    return pd.DataFrame(rows).set_index("model")


# ---------------------------------------------------------------- what the service says

@dataclass(frozen=True)
class ServiceShutdown:
    """A model's shutdown as the service's own ``GET /v1/models`` reports it."""
    model: str
    listed: bool
    shutdown: date | None
    days_left: int | None
    message: str


def _as_date(value) -> date | None:
    """``shutdown_date`` as a date: an ISO date/time string or a Unix timestamp (seconds)."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        from datetime import UTC, datetime
        return datetime.fromtimestamp(value, tz=UTC).date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    raise ValueError(f"shutdown_date {value!r} is neither an ISO date nor a Unix timestamp")


def _field(item, name):
    if isinstance(item, dict):
        return item.get(name)
    value = getattr(item, name, None)
    if value is None and getattr(item, "model_extra", None):
        value = item.model_extra.get(name)
    return value


def service_shutdown(models, model: str, today: date | str | None = None,
                     warn_within_days: int = WARN_WITHIN_DAYS) -> ServiceShutdown:
    """``model``'s shutdown from a model list (``client.models.list()``, its ``.data`` or
    dicts): the service's own word, checked at run time beside the course's table."""
    day = as_date(today)
    items = getattr(models, "data", models)
    found = next((m for m in items if _field(m, "id") == model), None)
    if found is None:
        return ServiceShutdown(model, False, None, None,
                               f"{model}: not in the service's model list (GET /v1/models); "
                               "it may be shut down already, or not offered to this key.")
    when = _as_date(_field(found, "shutdown_date"))
    if when is None:
        return ServiceShutdown(model, True, None, None,
                               f"{model}: the service reports no shutdown_date.")
    left = (when - day).days
    if left <= 0:
        text = f"{model}: the service reports it shut down on {when.isoformat()}."
    else:
        soon = " - choose another model now" if left <= warn_within_days else ""
        text = (f"{model}: the service reports shutdown_date {when.isoformat()} "
                f"(in {left} days){soon}.")
    return ServiceShutdown(model, True, when, left, text)


def check_service_shutdown(client, model: str, today: date | str | None = None,
                           warn_within_days: int = WARN_WITHIN_DAYS) -> ServiceShutdown:
    """``service_shutdown`` from ``client.models.list()``; warns like ``check_model``."""
    result = service_shutdown(client.models.list(), model, today, warn_within_days)
    if result.days_left is not None and result.days_left <= warn_within_days:
        warnings.warn(result.message, ModelLifecycleWarning, stacklevel=2)
    return result


# Reasoning models the lessons measure, per backend, in order of preference. A served
# sandbox on the OpenAI paths lists its stand-in, so the openai backend falls back to it.
REASONING_MODELS = {"sandbox": ("sandbox-reasoning",),
                    "openai": ("gpt-6-luna", "sandbox-reasoning")}


def reasoning_model(client, backend: str) -> str | None:
    """The first reasoning model of ``REASONING_MODELS[backend]`` that the service lists
    (``client.models.list()``); None when it lists none of them or has no model list."""
    candidates = REASONING_MODELS.get(backend, ())
    if not candidates:
        return None
    import openai  # here, not at the top: the lifecycle facts alone need no SDK

    try:
        listed = {m.id for m in client.models.list()}
    except openai.APIError:
        return None
    return next((m for m in candidates if m in listed), None)
