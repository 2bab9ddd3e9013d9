"""Small helpers for notebook 07 (evaluating at scale): whether a server has the
Batch API, batch polling settings, requests that are meant to fail, the output
file's order, a completeness check, throughput against concurrency, and the
cost of the same tokens at standard and batch prices.

The Batch API path itself lives in ``helpers.batch`` and the concurrent path in
``helpers.classify``; this module only adds what the lesson needs to show them.

``measure_throughput`` only tabulates what ``helpers.throughput`` measures (a
fresh sandbox of its own, in a child process while a cassette is open); the
lesson calls ``throughput.completeness`` directly. This module starts nothing
and records nothing.
"""
from __future__ import annotations

import copy
import hashlib
from dataclasses import asdict

import matplotlib.pyplot as plt
import pandas as pd

from .. import clients, config, prices, throughput
from ..answers import parse_label
from ..batch import ID_PREFIX, KEY_METADATA, PURPOSE, index_of
from ..plots import done
from ..polling import default_sleep

# Batch API inference is half the standard price at both providers (quoted, not
# measured here): OpenAI's Batch API guide ("50% cost discount") and Zhipu's
# Batch API guide ("价格比标准 API 低 50%"), both read 2026-12-01.
BATCH_DISCOUNT = 0.5
BATCH_PRICE_SOURCES = (
    "OpenAI API - Batch API guide, https://developers.openai.com/api/docs/guides/batch",
    "智谱 BigModel - Batch API 指南, https://docs.bigmodel.cn/cn/guide/tools/batch",
)
NO_ENDPOINT_STATUS = (404, 405, 501)

SANDBOX_POLL_SECONDS = 0.05  # the sandbox advances a batch one stage per poll
LIVE_POLL_SECONDS = 60.0     # real batches take minutes to hours
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")  # a server on this machine (a served sandbox)


def on_this_machine(base_url: str | None) -> bool:
    """Whether ``base_url`` is a loopback server (a served sandbox answers a poll at once)."""
    from urllib.parse import urlsplit

    return bool(base_url) and urlsplit(base_url).hostname in LOCAL_HOSTS


def batch_wait_options(settings: config.Settings) -> dict:
    """Keyword arguments for ``batch.wait_for_batch``: poll interval and sleep.

    Short polls on the sandbox (in-process or served on this machine), a minute
    on a real service, and no sleeping at
    all in replay mode, where the recorded answers need no waiting.
    """
    local = settings.backend == "sandbox" or on_this_machine(settings.base_url)
    poll = SANDBOX_POLL_SECONDS if local else LIVE_POLL_SECONDS
    options = {"poll_seconds": poll}
    if settings.mode == "replay":
        options["sleep"] = default_sleep(settings)  # no sleeping in replay
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
    index = index_of(custom_id)
    if index is None:
        raise ValueError(f"custom_id {custom_id!r} is not of the form {ID_PREFIX}<index>")
    return index


def arrival_order(records) -> list[int]:
    """Input indices of output (or error) file records, in the order the file lists them."""
    return [input_index(str(r.get("custom_id"))) for r in records]


def labels_in_file_order(records, labels) -> list[str]:
    """Parsed labels of successful output records in file order: the careless way to read
    a batch, pairing line k of the output file with input k (so no input text is known to
    tell an echo from an answer)."""
    return [parse_label(r["response"]["body"]["choices"][0]["message"]["content"], labels)
            for r in records]


def summary_counts(results) -> dict:
    """``results.summary()`` without the wall-clock ``seconds``, which differ between runs."""
    return results.summary(timing=False)


def batch_support(client) -> tuple[bool, str]:
    """``(True, "")`` when the client's backend has the Batch API, else ``(False, why)``.

    The sandbox, OpenAI and Zhipu have it; any other server (the ``compatible``
    backend: Ollama, vLLM, llama.cpp's server...) is asked with one
    ``batches.list(limit=1)``, and 404/405/501 means it has none.
    """
    settings = clients.settings_of(client)
    if settings is not None and settings.backend != "compatible":
        return True, ""
    where = config.public_url(clients.base_url_of(client))
    try:
        client.batches.list(limit=1)
    except Exception as err:  # the SDK's APIStatusError or a connection error
        status = getattr(err, "status_code", None)
        if status in NO_ENDPOINT_STATUS:
            return False, (f"the server at {where} has no Batch API (HTTP {status} on "
                           "/batches), so the batch steps are skipped here; run them with "
                           "COURSE_BACKEND=sandbox, openai or zhipu.")
        return False, (f"the server at {where} did not list batches ({type(err).__name__}"
                       f"{f', HTTP {status}' if status else ''}), so the batch steps are skipped.")
    return True, ""


# ------------------------------------------------------------- raw calls, made once
# The raw demonstrations create real (paid, stored) objects: a rerun into the same work
# directory finds the one an earlier run made instead of creating another.

def upload_name(path, data: bytes) -> str:
    """The name a raw upload is given: the file's stem + the first 12 hex digits of its
    content hash, so an earlier upload of these very bytes is recognised by name and size."""
    from pathlib import Path

    path = Path(path)
    return f"{path.stem}-{hashlib.sha256(data).hexdigest()[:12]}{path.suffix}"


def raw_batch_key(file_id: str, endpoint: str) -> str:
    """The key a raw batch carries in its metadata: its input file and endpoint."""
    return hashlib.sha256(f"{file_id} {endpoint}".encode()).hexdigest()


def earlier_upload(client, name: str, size: int, purpose: str = PURPOSE):
    """The file an earlier run uploaded under ``name`` with ``size`` bytes, or None."""
    return next((f for f in client.files.list(purpose=purpose).data
                 if f.filename == name and f.bytes in (None, size)), None)


def earlier_batch(client, key: str):
    """The batch an earlier run created with ``key`` in its metadata, or None."""
    return next((b for b in client.batches.list(limit=100).data
                 if (getattr(b, "metadata", None) or {}).get(KEY_METADATA) == key), None)


def batch_costs(usage: dict, models, discount: float = BATCH_DISCOUNT) -> pd.DataFrame:
    """The same token usage priced per model at standard and at batch prices.

    ``usage``: ``n`` predictions, ``prompt_tokens``, ``completion_tokens``
    (measured). ``models``: model ids in ``helpers.prices``. A model without a
    price row, or with an unknown price, gets ``<NA>`` (never a guess) and a
    ``price_note`` saying why; priced rows have no note. Costs are for 1,000
    predictions, in the row's currency.
    """
    rows = []
    n = usage["n"]
    for model in models:
        try:
            price = prices.inference_price(model)
        except prices.UnknownModelError:
            price = None
        known = price is not None and None not in (price.input_per_1m, price.output_per_1m)
        standard = None
        if known and n:
            standard = (usage["prompt_tokens"] * price.input_per_1m
                        + usage["completion_tokens"] * price.output_per_1m) / 1e6 / n * 1000
        rows.append({"model": model,
                     "rate": price.label if price else None,
                     "currency": price.currency if price else None,
                     "input_per_1m": price.input_per_1m if price else None,
                     "output_per_1m": price.output_per_1m if price else None,
                     "standard_per_1000": standard,
                     "batch_per_1000": None if standard is None else standard * discount,
                     "price_as_of": price.as_of if price else None,
                     "price_source": price.source if price else None,
                     "price_note": None if standard is not None else
                     "no row in helpers.prices" if price is None else
                     (price.note or "price not confirmed")})
    table = pd.DataFrame(rows).set_index("model")
    # one missing-value marker (<NA>) for unknown prices and for models without a row
    numbers = ["input_per_1m", "output_per_1m", "standard_per_1000", "batch_per_1000"]
    table[numbers] = table[numbers].astype("Float64")
    text = ["rate", "currency", "price_as_of", "price_source", "price_note"]
    table[text] = table[text].astype("string")
    return table


def batch_usage(output_records) -> dict:
    """Token usage summed over a batch's successful output records (``n`` = records)."""
    prompt = completion = 0
    n = 0
    for record in output_records:
        body = (record.get("response") or {}).get("body") or {}
        usage = body.get("usage") or {}
        if usage:
            n += 1
            prompt += usage.get("prompt_tokens") or 0
            completion += usage.get("completion_tokens") or 0
    return {"n": n, "prompt_tokens": prompt, "completion_tokens": completion}


# ------------------------------------------------------------------ throughput
THROUGHPUT_LATENCY = throughput.LATENCY
THROUGHPUT_CONCURRENCY = throughput.CONCURRENCY


def measure_throughput(texts, labels, lang: str | None = None,
                       concurrencies=THROUGHPUT_CONCURRENCY,
                       latency: float = THROUGHPUT_LATENCY) -> pd.DataFrame:
    """``helpers.throughput.measure_apart`` as a table indexed by concurrency.

    Requests per second of ``helpers.classify`` at each concurrency, measured now
    against a fresh local sandbox that waits ``latency`` seconds per request (in a
    child process while a cassette is open). Every text must be distinct
    (identical requests are sent once). Columns: requests, seconds,
    requests_per_s, ideal_requests_per_s (concurrency / latency: no overhead at
    all), lost, duplicated, misordered.
    """
    rows = throughput.measure_apart(texts, labels, lang, concurrencies, latency)
    return pd.DataFrame([asdict(row) for row in rows]).set_index("concurrency")


def plot_throughput(frame: pd.DataFrame, title: str = "Throughput against concurrency"):
    """Measured requests per second against concurrency, with the no-overhead ideal."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    x = frame.index.to_numpy()
    ax.plot(x, frame["ideal_requests_per_s"], linestyle="--", color="grey",
            label="ideal (concurrency / latency)")
    ax.plot(x, frame["requests_per_s"], marker="o", label="measured")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")  # the ideal is then a straight line, and low concurrency stays readable
    ax.set_xticks(x, [str(int(v)) for v in x])
    ax.set_xlabel("concurrency (requests in flight)")
    ax.set_ylabel("requests per second")
    ax.set_title(title)
    ax.legend(loc="upper left", frameon=False)
    fig.tight_layout()
    return done(fig)

