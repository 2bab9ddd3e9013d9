"""Views of a fine-tuning job's numbers for notebooks 04 and 05.

Per-step metrics in a result file are measured on one small batch, so they
jump around; ``smoothed`` and ``final_losses`` average them over a window of
steps (pandas ``rolling`` does the work), ``epoch_means`` per epoch (with the
gap between validation and training loss, the sign of memorising).
``with_epochs`` says which epoch each checkpoint ends. ``ledger_table`` lays
out ``helpers.jobs.ledger`` as estimated vs billed rows.
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


def steps_per_epoch(frame: pd.DataFrame, n_epochs: int) -> int:
    """Training steps in one epoch: the result file's steps divided by ``n_epochs``."""
    _check(frame, ("step",))
    n_epochs = int(n_epochs)
    steps = int(frame["step"].max()) if len(frame) else 0
    if n_epochs < 1 or steps < n_epochs or steps % n_epochs:
        raise ValueError(f"{steps} steps do not split into {n_epochs} equal epochs")
    return steps // n_epochs


def epoch_means(frame: pd.DataFrame, n_epochs: int) -> pd.DataFrame:
    """Mean of each metric per epoch (index ``epoch``, 1-based) and ``loss_gap`` =
    valid − train loss."""
    per_epoch = steps_per_epoch(frame, n_epochs)
    metrics = [c for c in METRIC_COLUMNS if c in frame.columns]
    epoch = ((frame["step"].astype(int) - 1) // per_epoch + 1).rename("epoch")
    table = frame[metrics].groupby(epoch).mean()
    if {"train_loss", "valid_loss"} <= set(table.columns):
        table["loss_gap"] = table["valid_loss"] - table["train_loss"]
    return table


def with_epochs(checkpoints: pd.DataFrame, per_epoch: int) -> pd.DataFrame:
    """Checkpoints with the epoch each one ends (``step / steps per epoch``) as the first column."""
    _check(checkpoints, ("step",))
    out = checkpoints.copy()
    out.insert(0, "epoch", (out["step"].astype(int) // int(per_epoch)).astype("Int64"))
    return out
