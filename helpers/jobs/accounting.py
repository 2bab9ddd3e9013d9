"""Estimated vs billed tokens and cost for a finished job, kept in the job store.

The estimate is the course's per-example formula (``helpers.chat_format.example_tokens``
via ``helpers.tokens``: the cookbook's formula without its role tokens); the
billed figure is the job's ``trained_tokens``. On the sandbox the two are equal
by design: it bills with the same formula. For a real job see
``helpers.tokens.published_job()``: a published gpt-3.5-turbo-0125 job
(cl100k_base, 100 TNEWS examples, 2 epochs) billed 11,790 tokens per epoch,
where the cookbook's formula gives 11,990 (+1.7%) and the course's 11,790.
"""
from __future__ import annotations

from .. import prices
from .store import JobRecord, JobStore


def diff_pct(estimated: float | None, billed: float | None) -> float | None:
    """(estimated − billed) / billed in percent; None when either is unknown or billed is 0."""
    if estimated is None or billed in (None, 0):
        return None
    return (estimated - billed) / billed * 100.0


def _cost(tokens: int | None, model: str) -> float | None:
    return None if tokens is None else prices.training_cost(tokens, model)


def record_ledger(store: JobStore, record: JobRecord, job) -> JobRecord:
    """Write billed tokens/cost and the differences to the job's record."""
    billed = getattr(job, "trained_tokens", None)
    billed_cost = _cost(billed, record.model)
    return store.update_job(
        record.backend, record.sdk, record.job_id, status=job.status,
        fine_tuned_model=job.fine_tuned_model, billed_tokens=billed, billed_cost_usd=billed_cost,
        tokens_diff_pct=diff_pct(record.estimated_tokens, billed),
        cost_diff_pct=diff_pct(record.estimated_cost_usd, billed_cost))


def ledger(record: JobRecord) -> dict:
    """The ledger of one job as a dict (None where unknown), read fresh from its store."""
    if record.store_path is not None:
        record = JobStore(record.store_path).job(record.backend, record.sdk,
                                                 record.job_id) or record
    return {"job_id": record.job_id, "model": record.model,
            "estimated_tokens": record.estimated_tokens, "billed_tokens": record.billed_tokens,
            "tokens_diff_pct": record.tokens_diff_pct,
            "estimated_cost_usd": record.estimated_cost_usd,
            "billed_cost_usd": record.billed_cost_usd, "cost_diff_pct": record.cost_diff_pct}
