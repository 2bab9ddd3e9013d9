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


def done(fig):
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
    # one legend for both panels, below them: inside an axes it sits over noisy curves
    handles: dict[str, object] = {}
    for ax in (ax_loss, ax_acc):
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="lower center",
                   ncol=len(handles), frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06 if handles else 0, 1, 1))
    return done(fig)


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
    return done(fig)


def grouped_bars(values: dict, title: str = "", ylabel: str = "", ylim=(0.0, 1.0)):
    """Bars per metric, one colour per row: ``{"zero-shot": {"accuracy": 0.41}, ...}``.

    Every bar carries its value to three decimals, as the tables beside it print
    them (0.755 is the table's 75.5%, not "0.76"); the legend sits below the
    axes, so it never covers a bar or a bar label.
    """
    use_cjk_font()
    names = list(values)
    if not names:
        raise ValueError("values is empty")
    metrics = [m for m in values[names[0]] if all(m in values[n] for n in names)]
    if not metrics:
        raise ValueError("the rows share no metric name")
    x = np.arange(len(metrics))
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(max(5.5, 1.1 * len(metrics) * len(names) + 2), 4.4))
    for i, name in enumerate(names):
        offset = (i - (len(names) - 1) / 2) * width
        bars = ax.bar(x + offset, [values[name][m] for m in metrics], width=width * 0.95,
                      label=name)
        ax.bar_label(bars, fmt="%.3f", fontsize=8, padding=2)
    ax.set_xticks(x, metrics)
    if ylim is not None:
        top = max(ylim[1], max(values[n][m] for n in names for m in metrics) * 1.12)
        ax.set_ylim(ylim[0], top)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=min(len(names), 4),
              frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    return done(fig)


def before_after(before: dict, after: dict, names=("before", "after"),
                 title: str = "Before and after fine-tuning"):
    """Grouped bars per metric, e.g. ``{"accuracy": 0.41}`` vs ``{"accuracy": 0.63}``."""
    return grouped_bars({names[0]: before, names[1]: after}, title=title)


def reliability_diagram(table: pd.DataFrame, title: str = "Reliability diagram"):
    """Accuracy per confidence bin against the diagonal, from ``metrics.reliability_table``.

    Top: one bar per bin at its accuracy (empty bins have none) and the mean
    confidence as a dot (the diagonal is perfect calibration). Bottom: how many
    predictions fall in each bin, written on each bar, so a bar resting on 3
    predictions is not read like one on 100. (The counts sit below, not on the
    accuracy bars, where the confidence dots would cover them.)
    """
    use_cjk_font()
    bins = table[table["low"].notna()]
    low = bins["low"].astype(float).to_numpy()
    width = (bins["high"].astype(float) - bins["low"].astype(float)).to_numpy()
    centre = low + width / 2
    counts = bins["n"].to_numpy()
    filled = counts > 0
    acc = bins["accuracy"].astype(float).to_numpy()
    conf = bins["mean_confidence"].astype(float).to_numpy()
    fig, (ax, ax_n) = plt.subplots(2, 1, figsize=(6.5, 6.2), sharex=True,
                                   gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1,
            label="perfectly calibrated")
    ax.bar(centre[filled], acc[filled], width=width[filled] * 0.9, color="tab:blue",
           alpha=0.8, label="accuracy in the bin")
    ax.scatter(centre[filled], conf[filled], color="tab:orange", zorder=3, s=18,
               label="mean confidence in the bin")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("accuracy")
    ax.grid(alpha=0.3)
    ax.set_title(title)
    count_bars = ax_n.bar(centre, counts, width=width * 0.9, color="tab:grey")
    ax_n.bar_label(count_bars, labels=[str(n) if n else "" for n in counts], fontsize=8, padding=1)
    ax_n.set_ylim(0, max(1, counts.max()) * 1.3)
    ax_n.set_ylabel("predictions")
    ax_n.set_xlabel("confidence (probability of the predicted label)")
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=3, frameon=False,
               fontsize=8)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return done(fig)


def coverage_accuracy(curves: dict, title: str = "Coverage and accuracy"):
    """Accuracy of the kept predictions against the share kept (most confident first),
    one line per ``metrics.coverage_curve`` in ``curves`` (name -> curve)."""
    use_cjk_font()
    if not curves:
        raise ValueError("curves is empty")
    fig, ax = plt.subplots(figsize=(6.5, 4.4))
    for name, curve in curves.items():
        ax.plot(curve["coverage"], curve["accuracy"], label=name)
        full = curve.iloc[-1]
        ax.scatter([full["coverage"]], [full["accuracy"]], s=14, zorder=3)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("coverage (share of predictions kept, most confident first)")
    ax.set_ylabel("accuracy of the kept predictions")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=min(len(curves), 3),
              frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    return done(fig)


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
    return done(fig)
