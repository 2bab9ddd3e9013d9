"""Estimated vs billed tokens and cost for a finished job, kept in the job store.

The estimate is the cookbook formula (``helpers.tokens``); the billed figure
is the job's ``trained_tokens``. On the sandbox the two are equal by design.
Against real OpenAI billing the formula ran 1.7% high in a published run (a
Chinese course chapter that fine-tuned gpt-4o-mini on 100 TNEWS examples:
11,990 estimated vs 11,790 billed tokens per epoch).
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
    if tokens is None:
        return None
    try:
        return prices.training_cost_usd(tokens, model)
    except prices.UnknownModelError:
        return None


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
