"""Course plots with matplotlib; every function returns the Figure.

The CJK font from ``helpers.fonts`` is switched on before drawing, so Chinese
labels render.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .fonts import use_cjk_font

# Column names used by OpenAI result files / checkpoints and Zhipu events.
CURVE_COLUMNS = {
    "step": ("step", "current_steps"),
    "train_loss": ("train_loss", "loss"),
    "valid_loss": ("valid_loss", "eval_loss", "full_valid_loss"),
    "train_accuracy": ("train_accuracy", "train_mean_token_accuracy", "acc"),
    "valid_accuracy": ("valid_mean_token_accuracy", "valid_accuracy", "eval_acc",
                       "full_valid_mean_token_accuracy"),
}


def _done(fig):
    """Close the figure and return it: a notebook then shows it once, as the cell's result.

    Left open, Jupyter's inline backend also draws every open figure at the end
    of the cell, so the same chart could appear twice.
    """
    plt.close(fig)
    return fig


def _column(frame: pd.DataFrame, role: str) -> pd.Series | None:
    for name in CURVE_COLUMNS[role]:
        if name in frame.columns:
            return pd.to_numeric(frame[name], errors="coerce")
    return None


def training_curves(frame: pd.DataFrame, title: str = "Fine-tuning"):
    """Train/valid loss and accuracy against step (empty cells are skipped)."""
    use_cjk_font()
    step = _column(frame, "step")
    if step is None:
        raise ValueError(f"no step column; expected one of {CURVE_COLUMNS['step']}, "
                         f"got {list(frame.columns)}")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for ax, kind in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        for split in ("train", "valid"):
            values = _column(frame, f"{split}_{kind}")
            if values is None:
                continue
            ok = values.notna() & step.notna()
            ax.plot(step[ok], values[ok], marker="." if ok.sum() < 30 else None, label=split)
        ax.set_xlabel("step")
        ax.set_ylabel(kind)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return _done(fig)


def confusion_heatmap(confusion: pd.DataFrame, title: str = "Confusion matrix",
                      normalize: bool = False):
    """Heatmap of a confusion DataFrame (rows true, columns predicted) with counts."""
    use_cjk_font()
    values = confusion.to_numpy(dtype=float)
    if normalize:
        sums = values.sum(axis=1, keepdims=True)
        values = np.divide(values, sums, out=np.zeros_like(values), where=sums > 0)
    size = max(4.0, 0.6 * len(confusion.columns) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    image = ax.imshow(values, cmap="Blues")
    ax.set_xticks(range(len(confusion.columns)), [str(c) for c in confusion.columns],
                  rotation=45, ha="right")
    ax.set_yticks(range(len(confusion.index)), [str(i) for i in confusion.index])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = values.max() / 2 if values.size else 0
    for (r, c), v in np.ndenumerate(values):
        text = f"{v:.2f}" if normalize else f"{int(v)}"
        ax.text(c, r, text, ha="center", va="center", fontsize=8,
                color="white" if v > threshold else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_title(title)
    fig.tight_layout()
    return _done(fig)


def before_after(before: dict, after: dict, names=("before", "after"),
                 title: str = "Before and after fine-tuning"):
    """Grouped bars per metric, e.g. ``{"accuracy": 0.41}`` vs ``{"accuracy": 0.63}``."""
    use_cjk_font()
    metrics = [m for m in before if m in after]
    if not metrics:
        raise ValueError("before and after share no metric name")
    x = np.arange(len(metrics))
    fig, ax = plt.subplots(figsize=(max(5, 1.5 * len(metrics) + 2), 4))
    for offset, name, values in ((-0.2, names[0], before), (0.2, names[1], after)):
        bars = ax.bar(x + offset, [values[m] for m in metrics], width=0.4, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(x, metrics)
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    return _done(fig)


def class_distribution(labels, title: str = "Class distribution"):
    """Bar chart of how often each label occurs (most frequent first)."""
    use_cjk_font()
    counts = pd.Series(list(labels), dtype="object").value_counts()
    fig, ax = plt.subplots(figsize=(max(5, 0.5 * len(counts) + 2), 4))
    bars = ax.bar([str(i) for i in counts.index], counts.to_numpy())
    ax.bar_label(bars, fontsize=8)
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_ylabel("examples")
    ax.set_title(title)
    fig.tight_layout()
    return _done(fig)
