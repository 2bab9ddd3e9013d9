"""Classify many texts through a chat-completions API: concurrent, ordered,
cached and retrying, for both SDKs and every backend.

* Order: each text keeps its input index; results are written into a list by
  index, never appended in completion order.
* Nothing lost or duplicated: every index gets exactly one ``Prediction``; a
  request that still fails after its retries becomes a prediction with
  ``error`` set and label ``"unknown"``, counted in ``summary()`` and shown.
* Retries: the OpenAI SDK already retries 408/409/429/5xx and connection
  errors and honours ``Retry-After`` / ``retry-after-ms``, so its own
  ``max_retries`` is used. zhipuai 2.1.5 ignores ``Retry-After`` (that code is
  commented out in its ``_calculate_retry_timeout``), so for Zhipu clients the
  SDK's retries are switched off and ``_ZhipuCaller`` retries instead.
* Identical requests within one call are sent once; with a ``ResponseCache``
  a rerun sends none. The cache key holds the backend's identity, the model
  and the whole request (so free text and each structured mode never share).
* Free text (``structured=None``): the reply is read by
  ``answers.parse_label`` with the classified text (echoes of it don't count).
  Structured outputs (``structured="json_schema"`` or ``"json_object"``, see
  ``helpers.structured``): the prompt asks for ``{"label": ...}``, the request
  carries ``response_format``, and a reply that does not validate is counted as
  unparseable with the reason, never mapped by a looser reading.
* Progress: ``helpers.progress.progress_bar``, so a notebook stores the
  finished bar (``classify: 100%|...| 200/200``), never its first state.
* Two APIs (``api="chat"|"responses"|"auto"``; auto: the model's preferred one,
  Responses for gpt-6-luna) and the parameters each model accepts
  (``helpers.request_plan``): no temperature/``max_tokens``/logprobs to a
  reasoning model, its budget as ``max_completion_tokens`` /
  ``max_output_tokens``, ``reasoning_effort`` / ``reasoning.effort`` when given.
  What was left out is in ``results.notes``.
* The budget trap: an empty answer with ``finish_reason`` "length" (chat) or
  ``status`` "incomplete" for ``max_output_tokens`` (Responses) is the outcome
  ``budget_exhausted`` (label "unknown", ``parse_error`` None), counted apart in
  ``summary()`` and explained with a budget that fits (``budget_advice``).
"""
from __future__ import annotations

import math
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field

import pandas as pd

from . import prompts, request_plan
from . import structured as structured_outputs
from .answers import UNKNOWN, parse_label
from .cache import ResponseCache, cache_key
from .clients import cache_namespace, sdk_of
from .metrics import label_confidence
from .progress import progress_bar
from .secrets import redact

RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 60.0
AUTO_MAX_TOKENS = request_plan.AUTO_MAX_TOKENS
NO_LABEL = "names none of the labels"
# What became of one request: a label was read, none could be, the call failed, or the
# output budget ran out during reasoning before any answer was written.
OUTCOMES = ("answered", "unparseable", "error", "budget_exhausted")


@dataclass
class Prediction:
    index: int
    label: str
    reply: str | None = None
    error: str | None = None
    latency: float | None = None
    cached: bool = False
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    confidence: float | None = None
    alternatives: list = field(default_factory=list)
    parse_error: str | None = None  # why a reply gave no label (then label is "unknown")
    reasoning_tokens: int = 0       # billed as output, included in completion_tokens
    outcome: str = "answered"       # one of OUTCOMES

    @property
    def answer(self) -> str | None:
        """The label read from the reply; None when there was none to read (any outcome but
        "answered" and "unparseable"), so a budget-exhausted row is never taken for an answer."""
        return self.label if self.outcome in ("answered", "unparseable") else None


@dataclass
class ClassificationResults:
    predictions: list[Prediction]
    requests: int
    seconds: float
    notes: list[str] = field(default_factory=list)   # options left out for this model, and why
    api: str = "chat"
    budget: int | None = None          # the output-token budget sent (None: the model's own)
    budget_param: str | None = None    # max_tokens | max_completion_tokens | max_output_tokens

    def __len__(self) -> int:
        return len(self.predictions)

    def __iter__(self):
        return iter(self.predictions)

    def __getitem__(self, i):
        return self.predictions[i]

    @property
    def labels(self) -> list[str]:
        return [p.label for p in self.predictions]

    @property
    def errors(self) -> list[Prediction]:
        return [p for p in self.predictions if p.error]

    @property
    def exhausted(self) -> list[Prediction]:
        """Predictions whose budget ran out before an answer (``budget_exhausted``)."""
        return [p for p in self.predictions if p.outcome == "budget_exhausted"]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(p) for p in self.predictions]).set_index("index")

    def summary(self, timing: bool = True) -> dict:
        """Counts and token totals; ``timing=False`` leaves out the wall-clock ``seconds``
        (which differ between runs, so a notebook that prints the summary omits them)."""
        preds = self.predictions
        counts = {
            "n": len(preds),
            "requests": self.requests,
            "cached": sum(p.cached for p in preds),
            "errors": len(self.errors),
            "unparseable": sum(p.parse_error is not None for p in preds),
            "retries": sum(p.retries for p in preds if not p.cached),
            "prompt_tokens": sum(p.prompt_tokens for p in preds if not p.cached),
            "completion_tokens": sum(p.completion_tokens for p in preds if not p.cached),
        }
        # shown only when they happen, so a plain chat model's summary stays as it was
        reasoning = sum(p.reasoning_tokens for p in preds if not p.cached)
        if reasoning:
            counts["reasoning_tokens"] = reasoning
        if self.exhausted:
            counts["budget_exhausted"] = len(self.exhausted)
        if timing:
            counts["seconds"] = round(self.seconds, 3)
        return counts


def _check_structured(structured) -> None:
    if structured is not None and structured not in structured_outputs.MODES:
        raise ValueError(f"structured must be None or one of {structured_outputs.MODES}, "
                         f"got {structured!r}")


def build_request(text: str, labels, model: str, *, lang: str = "zh", examples=(),
                  system: bool = False, temperature: float | None = 0.0,
                  max_tokens: int | None | str = "auto", logprobs: bool = False,
                  top_logprobs: int | None = None, structured: str | None = None,
                  api: str = "chat", reasoning_effort: str | None = None,
                  plan: request_plan.Plan | None = None) -> dict:
    """Keyword arguments for ``chat.completions.create`` (``api="chat"``) or
    ``responses.create`` (``api="responses"``); unset options are left out, and so is
    what ``model`` does not accept (``helpers.request_plan.plan``).

    ``max_tokens`` is the output budget, sent under the model's name for it;
    ``"auto"`` is 32 for free text and 64 for a JSON answer (none for a reasoning
    model); None sends none.
    """
    _check_structured(structured)
    if plan is None:
        plan = request_plan.plan(model, api, temperature=temperature, max_tokens=max_tokens,
                                 logprobs=logprobs, reasoning_effort=reasoning_effort,
                                 structured=structured)
    answer = "text" if structured is None else "json"
    messages = prompts.messages(text, labels, lang, examples, system, answer=answer)
    if plan.api == "responses":
        fmt = None if structured is None else request_plan.text_format(labels, structured)
        return request_plan.responses_request(model, messages, plan, text_format_=fmt)
    fmt = None if structured is None else structured_outputs.response_format(labels, structured)
    return request_plan.chat_request(model, messages, plan, response_format=fmt,
                                     top_logprobs=top_logprobs)


def normalize_completion(completion) -> dict:
    """The parts of a chat completion we keep (and cache), from either SDK."""
    data = completion.model_dump() if hasattr(completion, "model_dump") else dict(completion)
    choice = (data.get("choices") or [{}])[0]
    usage = data.get("usage") or {}
    tokens = None
    content = (choice.get("logprobs") or {}).get("content") if isinstance(
        choice.get("logprobs"), dict) else None
    if content:
        tokens = [{"token": t["token"], "logprob": t["logprob"],
                   "top": [[a["token"], a["logprob"]] for a in (t.get("top_logprobs") or [])]}
                  for t in content]
    message = choice.get("message") or {}
    details = usage.get("completion_tokens_details") or {}
    return {"reply": message.get("content"), "refusal": message.get("refusal"),
            "prompt_tokens": usage.get("prompt_tokens") or 0,
            "completion_tokens": usage.get("completion_tokens") or 0,
            "reasoning_tokens": details.get("reasoning_tokens") or 0,
            "finish_reason": choice.get("finish_reason"),
            "logprobs": tokens, "model": data.get("model")}


class _OpenAICaller:
    """One request through the OpenAI SDK, whose retries honour Retry-After.

    The reply JSON is read directly instead of through ``raw.parse()``: we keep
    four fields, and building the typed ``ChatCompletion`` only to dump it back
    to a dict costs about a millisecond of GIL time per request, which slows
    every worker at concurrency 16.
    """

    def __init__(self, client, max_retries: int, timeout: float | None):
        self.api = client.with_options(max_retries=max_retries, timeout=timeout)

    def __call__(self, request: dict) -> tuple[dict, int]:
        if "input" in request:  # a Responses request (chat requests carry messages)
            raw = self.api.responses.with_raw_response.create(**request)
            return request_plan.normalize_response(raw.http_response.json()), raw.retries_taken
        raw = self.api.chat.completions.with_raw_response.create(**request)
        return normalize_completion(raw.http_response.json()), raw.retries_taken


def _retry_after(headers) -> float | None:
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, min(float(value) * scale, MAX_RETRY_AFTER))
            except ValueError:
                continue
    return None


class _ZhipuCaller:
    """One request through zhipuai with our own retries, honouring Retry-After."""

    def __init__(self, client, max_retries: int, timeout: float | None):
        import zhipuai

        # A twin that shares the HTTP client but has the SDK's retries off.
        self.api = zhipuai.ZhipuAI(api_key=client.api_key, base_url=_base_url(client),
                                   http_client=client._client, max_retries=0,
                                   timeout=timeout if timeout is not None else client.timeout,
                                   disable_token_cache=client._disable_token_cache,
                                   source_channel=client.source_channel)
        self.max_retries = max_retries
        self.errors = zhipuai.core._errors

    def _retryable(self, err) -> tuple[bool, float | None]:
        if isinstance(err, self.errors.APIStatusError):
            return err.response.status_code in RETRY_STATUSES, _retry_after(err.response.headers)
        return isinstance(err, self.errors.APIConnectionError), None

    def __call__(self, request: dict) -> tuple[dict, int]:
        request = dict(request)
        extra = {k: request.pop(k) for k in ("logprobs", "top_logprobs") if k in request}
        if extra:
            request["extra_body"] = extra
        for attempt in range(self.max_retries + 1):
            try:
                return normalize_completion(self.api.chat.completions.create(**request)), attempt
            except Exception as err:
                retryable, wait = self._retryable(err)
                if not retryable or attempt == self.max_retries:
                    raise
                if wait is None:
                    wait = min(0.5 * 2 ** attempt, 8.0) * (1 - 0.25 * random.random())
                time.sleep(wait)
        raise AssertionError("unreachable")


def _base_url(client) -> str:
    # openai exposes base_url; zhipuai keeps it in _base_url
    return str(getattr(client, "base_url", None) or getattr(client, "_base_url", ""))


def _caller(client, max_retries: int, timeout: float | None):
    if sdk_of(client) == "zhipu":
        return _ZhipuCaller(client, max_retries, timeout)
    return _OpenAICaller(client, max_retries, timeout)


def _describe(err: Exception) -> str:
    status = getattr(getattr(err, "response", None), "status_code", None)
    head = f"{type(err).__name__}" + (f" (HTTP {status})" if status else "")
    return f"{head}: {redact(str(err))[:300]}"


def _resolve_examples(examples, texts):
    if examples is None:
        return [()] * len(texts)
    if hasattr(examples, "examples_for"):
        return examples.examples_for(texts)
    examples = list(examples)
    if len(examples) != len(texts):
        raise ValueError(f"examples has {len(examples)} entries for {len(texts)} texts; "
                         "give one list of (text, label) pairs per text")
    return examples


def classify(client, texts, labels, model: str, *, lang: str | None = None, examples=None,
             structured: str | None = None, aliases=None,
             system: bool = False, temperature: float | None = 0.0,
             max_tokens: int | None | str = "auto", logprobs: bool = False,
             top_logprobs: int | None = None, concurrency: int = 8, max_retries: int = 5,
             timeout: float | None = 60.0, cache: ResponseCache | None = None,
             identity: str | None = None, progress: bool = True,
             desc: str = "classify", api: str = "auto", reasoning_effort: str | None = None,
             max_completion_tokens: int | None = None) -> ClassificationResults:
    """Classify ``texts`` into ``labels`` with ``model``; results in input order.

    ``examples``: per-text few-shot (text, label) pairs, or a retriever with
    ``examples_for(texts)`` (see ``helpers.fewshot``). ``structured``: None
    (free text, parsed by ``answers.parse_label`` with ``aliases``),
    ``"json_schema"`` or ``"json_object"`` (see ``helpers.structured``).
    ``identity`` namespaces the cache: pass ``settings.identity`` (default:
    ``clients.cache_namespace(client)``). ``timeout`` is per request attempt.
    ``api``: "chat", "responses" or "auto" (the model's preferred API);
    ``reasoning_effort``: sent as the API names it, checked against the model's
    efforts first; ``max_completion_tokens`` (or ``max_tokens``): the output
    budget, sent under the name the model and API take.
    """
    texts = list(texts)
    labels = list(labels)
    if not labels:
        raise ValueError("labels is empty: give the candidate labels")
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    _check_structured(structured)
    prompts.check_labels(labels)
    if max_completion_tokens is not None:
        max_tokens = max_completion_tokens
    plan = request_plan.plan(model, api, temperature=temperature, max_tokens=max_tokens,
                             logprobs=logprobs, reasoning_effort=reasoning_effort,
                             structured=structured, sdk=sdk_of(client))
    lang = lang or prompts.detect_language(texts)
    shots = _resolve_examples(examples, texts)
    namespace = identity or cache_namespace(client)
    started = time.perf_counter()

    requests: dict[str, dict] = {}
    owners: dict[str, list[int]] = {}
    for i, (text, ex) in enumerate(zip(texts, shots, strict=True)):
        req = build_request(text, labels, model, lang=lang, examples=ex, system=system,
                            top_logprobs=top_logprobs, structured=structured, plan=plan)
        # a Responses request is marked in its key (chat keys stay as they were)
        key = cache_key(namespace, model, {"api": "responses", **req}
                        if plan.api == "responses" else req)
        requests.setdefault(key, req)
        owners.setdefault(key, []).append(i)

    slots: list[Prediction | None] = [None] * len(texts)

    def fill(key, response=None, error=None, latency=None, cached=False, retries=0):
        for i in owners[key]:
            slots[i] = make_prediction(i, labels, response, error, latency, cached, retries,
                                       top_logprobs, text=texts[i], aliases=aliases,
                                       structured=structured)

    bar = progress_bar(total=len(texts), desc=desc, disable=not progress)
    pending = []
    for key in owners:
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            fill(key, response=hit, cached=True)
            bar.update(len(owners[key]))
        else:
            pending.append(key)

    call = _caller(client, max_retries, timeout) if pending else None
    n_errors = 0

    def run(key):
        t0 = time.perf_counter()
        response, retries = call(requests[key])
        return response, retries, time.perf_counter() - t0

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = {pool.submit(run, key): key for key in pending}
        try:
            for future in as_completed(futures):
                key = futures[future]
                try:
                    response, retries, latency = future.result()
                except Exception as err:  # recorded, never dropped
                    fill(key, error=_describe(err))
                    n_errors += len(owners[key])
                    bar.set_postfix(errors=n_errors)
                else:
                    if cache is not None:
                        cache.put(key, response)
                    fill(key, response=response, latency=latency, retries=retries)
                bar.update(len(owners[key]))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    bar.close()

    missing = [i for i, p in enumerate(slots) if p is None]
    if missing:  # a bug guard: every index must have exactly one prediction
        raise RuntimeError(f"no prediction for {len(missing)} inputs, e.g. index {missing[0]}")
    results = ClassificationResults(slots, requests=len(pending),
                                    seconds=time.perf_counter() - started, notes=list(plan.notes),
                                    api=plan.api, budget=plan.budget,
                                    budget_param=plan.budget_param)
    advice = budget_advice(results)
    if advice:
        results.notes.append(advice)
        print(f"{desc}: {advice}", file=sys.stderr)
    if n_errors:
        first = results.errors[0]
        print(f"{desc}: {n_errors} of {len(texts)} predictions failed after retries and "
              f"are recorded as errors (label {UNKNOWN!r}); first, #{first.index}: "
              f"{first.error}", file=sys.stderr)
    return results


def make_prediction(i, labels, response=None, error=None, latency=None, cached=False,
                    retries=0, top_logprobs=None, *, text=None, aliases=None,
                    structured: str | None = None) -> Prediction:
    """One Prediction from a normalised response, or an error result.

    Free text is read by ``parse_label`` (``text``: the classified text, whose
    echoes don't count); a structured reply by ``structured.parse_reply``.
    """
    if error is not None:
        return Prediction(index=i, label=UNKNOWN, error=error, outcome="error")
    reply = response["reply"]
    usage = dict(latency=latency, cached=cached, retries=retries,
                 prompt_tokens=response["prompt_tokens"],
                 completion_tokens=response["completion_tokens"],
                 reasoning_tokens=response.get("reasoning_tokens") or 0)
    if request_plan.budget_exhausted(response):
        return Prediction(index=i, label=UNKNOWN, reply=reply, outcome="budget_exhausted",
                          **usage)
    if structured is None:
        label = parse_label(reply, labels, text=text, aliases=aliases)
        why = NO_LABEL if label == UNKNOWN else None
        if label == UNKNOWN and response.get("refusal"):
            why = f"refused: {str(response['refusal'])[:120]}"
    else:
        label, why = structured_outputs.parse_reply(reply, labels, response.get("refusal"))
        label = UNKNOWN if label is None else label
    confidence, alternatives = label_confidence(response.get("logprobs"), labels, label,
                                                top=top_logprobs or 3)
    return Prediction(index=i, label=label, reply=reply, confidence=confidence,
                      alternatives=alternatives, parse_error=why,
                      outcome="answered" if why is None else "unparseable", **usage)


def budget_advice(results: ClassificationResults, margin: float = 1.5) -> str | None:
    """How to size the output budget when answers ran out of it (None when none did).

    Reasoning comes first and is billed as output: an exhausted request spent its
    whole budget on reasoning. The requests that did answer show what one needs
    (reasoning + answer tokens); the advice is their maximum times ``margin``,
    rounded up to a multiple of 64, and at least twice the budget sent.
    """
    out = results.exhausted
    if not out:
        return None
    param = results.budget_param or "max_completion_tokens"
    budget = results.budget
    spent = max(p.reasoning_tokens or p.completion_tokens for p in out)
    answered = [p for p in results.predictions if p.outcome in ("answered", "unparseable")]
    head = (f"{len(out)} of {len(results)} answers came back empty: the budget "
            f"{param}={budget} was spent on reasoning (up to {spent} reasoning tokens each, "
            f"billed as output). They are recorded as budget_exhausted (no label read, counted "
            f"apart, not as wrong answers).")
    floor = 2 * (budget or spent or 1)
    if answered:
        worst = max(answered, key=lambda p: p.completion_tokens)
        need = worst.completion_tokens
        size = max(floor, 64 * math.ceil(need * margin / 64))
        return (f"{head} The answered requests needed up to {need} output tokens "
                f"({worst.reasoning_tokens} reasoning + {need - worst.reasoning_tokens} answer): "
                f"set {param}={size} to cover reasoning + answer, or lower reasoning_effort.")
    size = max(floor, 1024)
    return (f"{head} No request answered, so the need is unknown: try {param}={size} "
            f"or a lower reasoning_effort, and size it from the answered requests' "
            f"reasoning tokens.")
