"""Small helpers for notebook 07 (evaluating at scale): whether a server has the
Batch API, batch polling settings, requests that are meant to fail, the output
file's order, a completeness check, throughput against concurrency, and the
cost of the same tokens at standard and batch prices.

The Batch API path itself lives in ``helpers.batch`` and the concurrent path in
``helpers.classify``; this module only adds what the lesson needs to show them.

``measure_throughput`` always talks to a fresh sandbox of its own. When a
cassette is open (record or replay mode) it runs in a child process
(``python -m helpers.lessons.scale_report throughput``): the cassette is active
for every HTTP client of the process, and timing is the one thing a recording
cannot replay. In live mode it runs in the notebook's process, which saves a
Python start and its imports (about 2 s).
"""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections import Counter

import pandas as pd

from .. import config, prices, recording
from ..answers import parse_label
from ..batch import ID_PREFIX, index_of
from ..jobs.wait import default_sleep

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
    return results.summary(timing=False)


def batch_support(client) -> tuple[bool, str]:
    """``(True, "")`` when the client's backend has the Batch API, else ``(False, why)``.

    The sandbox, OpenAI and Zhipu have it; any other server (the ``compatible``
    backend: Ollama, vLLM, llama.cpp's server...) is asked with one
    ``batches.list(limit=1)``, and 404/405/501 means it has none.
    """
    from .. import clients

    settings = clients.settings_of(client)
    if settings is not None and settings.backend != "compatible":
        return True, ""
    where = config._public_url(clients.base_url_of(client))
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
    text = ["currency", "price_as_of", "price_source", "price_note"]
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
THROUGHPUT_LATENCY = 0.05
THROUGHPUT_CONCURRENCY = (1, 2, 4, 8, 16)


def _throughput_rows(texts, labels, lang, concurrencies, latency) -> list[dict]:
    import tempfile
    import time

    from .. import clients
    from ..classify import classify
    from ..sandbox import Faults

    rows = []
    with tempfile.TemporaryDirectory(prefix="course-throughput-") as sandbox_dir:
        settings = config.resolve(backend="sandbox", mode="live", sandbox_dir=sandbox_dir)
        client = clients.openai_client(settings, faults=Faults(latency=latency))
        for concurrency in concurrencies:
            started = time.perf_counter()
            results = classify(client, texts, labels, "sandbox-base", lang=lang,
                               concurrency=concurrency, progress=False)
            seconds = time.perf_counter() - started
            rows.append({"concurrency": concurrency, "requests": results.requests,
                         "seconds": seconds, "requests_per_s": results.requests / seconds,
                         "ideal_requests_per_s": concurrency / latency,
                         **{k: v for k, v in completeness(results, len(texts)).items()
                            if k != "n"}})
    return rows


def measure_throughput(texts, labels, lang: str | None = None,
                       concurrencies=THROUGHPUT_CONCURRENCY,
                       latency: float = THROUGHPUT_LATENCY) -> pd.DataFrame:
    """Requests per second of ``helpers.classify`` at each concurrency, measured now
    against a fresh local sandbox that waits ``latency`` seconds per request.

    In a child process while a cassette is open (see the module docstring). Every text must be
    distinct (identical requests are sent once). Columns: concurrency,
    requests, seconds, requests_per_s, ideal_requests_per_s (concurrency /
    latency: no overhead at all), lost, duplicated, misordered.
    """
    texts = list(texts)
    if len(set(texts)) != len(texts):
        raise ValueError("measure_throughput needs distinct texts (repeats are sent once)")
    if not recording.any_active():
        rows = _throughput_rows(texts, list(labels), lang, list(concurrencies), latency)
        return pd.DataFrame(rows).set_index("concurrency")
    job = {"texts": texts, "labels": list(labels), "lang": lang,
           "concurrencies": list(concurrencies), "latency": latency}
    done = subprocess.run([sys.executable, "-m", "helpers.lessons.scale_report", "throughput"],
                          input=json.dumps(job, ensure_ascii=False), capture_output=True,
                          text=True, cwd=str(config.REPO_ROOT), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the throughput measurement failed: {done.stderr.strip()[-2000:]}")
    return pd.DataFrame(json.loads(done.stdout)).set_index("concurrency")


def plot_throughput(frame: pd.DataFrame, title: str = "Throughput against concurrency"):
    """Measured requests per second against concurrency, with the no-overhead ideal."""
    import matplotlib.pyplot as plt

    from ..plots import _done

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
    return _done(fig)


def _main(argv) -> int:
    if argv[:1] != ["throughput"]:
        print("usage: python -m helpers.lessons.scale_report throughput < job.json", file=sys.stderr)
        return 2
    job = json.loads(sys.stdin.read())
    rows = _throughput_rows(job["texts"], job["labels"], job["lang"], job["concurrencies"],
                            job["latency"])
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
