"""A fine-tuning job's training run: hyperparameters, classifier, metrics, results file.

Hyperparameters mean what they mean on the hosted service: ``n_epochs`` passes
over the file, ``batch_size`` examples per update (gradients averaged over the
batch), ``learning_rate_multiplier`` scaling the step size
(``classifier.step_size``).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from .. import chat_format
from . import classifier
from .validation import Example

KEPT_CHECKPOINTS = 3


def auto_batch_size(n: int) -> int:
    """About 0.2% of the training set, between 1 and 256."""
    return max(1, min(256, round(0.002 * n)))


def resolve_hyperparameters(requested: dict | None, n: int) -> dict:
    """Concrete n_epochs / batch_size / learning_rate_multiplier for ``n`` examples.

    'auto' (or a key not given) is resolved; the values asked for were checked
    when the job was created (``schemas``, the one owner of the request's rules).
    """
    requested = requested or {}
    defaults = {"n_epochs": chat_format.auto_epochs(n), "batch_size": auto_batch_size(n),
                "learning_rate_multiplier": 1.0}
    out = {}
    for key, default in defaults.items():
        value = requested.get(key, "auto")
        out[key] = default if value in ("auto", None) else value
    out["learning_rate_multiplier"] = float(out["learning_rate_multiplier"])
    return out


@dataclass
class Checkpoint:
    epoch: int
    step: int
    model_bytes: bytes
    metrics: dict


@dataclass
class Outcome:
    model_bytes: bytes
    steps: list
    checkpoints: list[Checkpoint] = field(default_factory=list)
    trained_tokens: int = 0
    results_csv: bytes = b""


def _fmt(x) -> str:
    return "" if x is None else f"{x:.5f}"


def results_csv(steps) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy"])
    for s in steps:
        w.writerow([s.step, _fmt(s.train_loss), _fmt(s.train_accuracy), _fmt(s.valid_loss),
                    _fmt(s.valid_accuracy)])
    return buf.getvalue().encode()


def run(train: list[Example], valid: list[Example], hp: dict, seed: int,
        parent: classifier.SoftmaxModel | None = None) -> Outcome:
    """Train, keep the last 3 epochs as checkpoints, bill tokens x epochs.

    ``parent`` is the fine-tuned model a job continues from (its ``model`` was a
    fine-tuned model id); None starts from ``sandbox-base``'s knowledge. Classes
    the parent never saw are added and learned from the base model's start.
    """
    n_epochs = hp["n_epochs"]
    vtexts, vlabels = [e.text for e in valid], [e.label for e in valid]
    kept: list[Checkpoint] = []

    def on_epoch_end(epoch, steps, model):
        if epoch <= n_epochs - KEPT_CHECKPOINTS or not steps:
            return
        last = steps[-1]
        metrics = {"step": float(last.step), "train_loss": last.train_loss,
                   "train_mean_token_accuracy": last.train_accuracy,
                   "valid_loss": last.valid_loss, "valid_mean_token_accuracy": last.valid_accuracy}
        if valid:
            metrics["full_valid_loss"], metrics["full_valid_mean_token_accuracy"] = (
                classifier.evaluate_full(model, vtexts, vlabels))
        kept.append(Checkpoint(epoch, last.step, model.to_bytes(), metrics))

    model, steps = classifier.train(
        [e.text for e in train], [e.label for e in train], n_epochs=n_epochs,
        batch_size=hp["batch_size"], learning_rate_multiplier=hp["learning_rate_multiplier"],
        seed=seed, valid_texts=vtexts, valid_labels=vlabels, on_epoch_end=on_epoch_end,
        parent=parent)
    return Outcome(model_bytes=model.to_bytes(), steps=steps, checkpoints=kept,
                   trained_tokens=sum(e.tokens for e in train) * n_epochs,
                   results_csv=results_csv(steps))
