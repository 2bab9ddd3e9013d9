"""Views of a fine-tuning job's numbers for notebooks 04 and 05.

Per-step metrics in a result file are measured on one small batch, so they
jump around; ``smoothed`` and ``final_losses`` average them over a window of
steps (pandas ``rolling`` does the work). ``ledger_table`` lays out
``helpers.jobs.ledger`` as estimated vs billed rows.
"""
from __future__ import annotations

import pandas as pd

METRIC_COLUMNS = ("train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy")


def _check(frame: pd.DataFrame, columns) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"result frame lacks column(s) {', '.join(missing)}; "
                         f"found {', '.join(map(str, frame.columns))}")


def smoothed(frame: pd.DataFrame, window: int = 50) -> pd.DataFrame:
    """Rolling means of the metric columns over ``window`` steps; ``step`` kept as it is."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    _check(frame, ("step",))
    metrics = [c for c in METRIC_COLUMNS if c in frame.columns]
    out = frame.sort_values("step", ignore_index=True)
    out[metrics] = out[metrics].rolling(window, min_periods=1).mean()
    return out


def final_losses(frame: pd.DataFrame, window: int = 50) -> dict[str, float]:
    """Mean train and valid loss over the last ``window`` steps of a result frame."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    _check(frame, ("step", "train_loss", "valid_loss"))
    if frame.empty:
        raise ValueError("result frame has no rows")
    last = frame.sort_values("step").tail(window)
    return {"final_train_loss": float(last["train_loss"].mean()),
            "final_valid_loss": float(last["valid_loss"].mean())}


def ledger_table(ledger: dict) -> pd.DataFrame:
    """Rows ``tokens`` and ``cost_usd``; columns estimated, billed and diff_pct.

    ``diff_pct`` is (estimated − billed) / billed, as in ``helpers.jobs.accounting``;
    unknown values stay None.
    """
    rows = {"tokens": ("estimated_tokens", "billed_tokens", "tokens_diff_pct"),
            "cost_usd": ("estimated_cost_usd", "billed_cost_usd", "cost_diff_pct")}
    missing = [k for keys in rows.values() for k in keys if k not in ledger]
    if missing:
        raise ValueError(f"ledger lacks {', '.join(missing)}")
    return pd.DataFrame({name: [ledger[k] for k in keys] for name, keys in rows.items()},
                        index=["estimated", "billed", "diff_pct"], dtype=object).T
