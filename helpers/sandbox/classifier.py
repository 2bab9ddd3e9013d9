"""The fine-tuned models: char n-gram softmax regression trained by mini-batch SGD.

Features come from scikit-learn's ``HashingVectorizer`` (no fitted vocabulary),
chosen by script, as is usual for text classification: Chinese text (at least a
fifth CJK characters) gives character 1-3 grams, since it has no spaces between
words; other text gives word 1-2 grams plus within-word character 2-5 grams.
Counts are damped with log(1 + n) and each row is l2-normalised. The linear model is a small multinomial softmax
regression written in numpy rather than ``SGDClassifier``: chat completions
with ``logprobs`` must report true class probabilities that sum to one, and
training must expose each step's loss and accuracy for the results file,
events and checkpoints. Each step only touches the weight rows of features
present in its batch, so an epoch costs time linear in the data.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

N_FEATURES = 2 ** 18
BASE_LEARNING_RATE = 4.0
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _hashing(analyzer: str, ngrams: tuple[int, int]) -> HashingVectorizer:
    return HashingVectorizer(analyzer=analyzer, ngram_range=ngrams, n_features=N_FEATURES,
                             alternate_sign=False, norm=None, dtype=np.float32)


_CHINESE = [_hashing("char", (1, 3))]
_SPACED = [_hashing("word", (1, 2)), _hashing("char_wb", (2, 5))]


def featurize(texts) -> sp.csr_matrix:
    texts = list(texts)
    chinese = [len(_CJK.findall(t)) * 5 >= max(len(t), 1) for t in texts]
    zh = [t if c else "" for t, c in zip(texts, chinese)]
    other = [t if not c else "" for t, c in zip(texts, chinese)]
    x = sum(v.transform(zh) for v in _CHINESE) + sum(v.transform(other) for v in _SPACED)
    x = x.tocsr()
    np.log1p(x.data, out=x.data)
    return normalize(x).astype(np.float32)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


@dataclass
class SoftmaxModel:
    classes: list[str]
    weights: np.ndarray = field(repr=False)  # (N_FEATURES, n_classes), float32
    bias: np.ndarray = field(repr=False)

    @classmethod
    def empty(cls, classes: list[str]) -> "SoftmaxModel":
        k = len(classes)
        return cls(list(classes), np.zeros((N_FEATURES, k), np.float32), np.zeros(k, np.float32))

    def logits(self, x: sp.csr_matrix) -> np.ndarray:
        cols, inv = np.unique(x.indices, return_inverse=True)
        compact = sp.csr_matrix((x.data, inv, x.indptr), shape=(x.shape[0], len(cols)))
        return compact @ self.weights[cols] + self.bias

    def predict_proba(self, texts) -> np.ndarray:
        return _softmax(np.asarray(self.logits(featurize(texts)), dtype=np.float64))

    def to_bytes(self) -> bytes:
        """Only non-zero weight rows are stored: a few MB at most."""
        rows = np.flatnonzero(np.any(self.weights != 0, axis=1))
        buf = io.BytesIO()
        np.savez(buf, rows=rows, weights=self.weights[rows], bias=self.bias,
                 classes=np.array(self.classes, dtype=object).astype(str))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "SoftmaxModel":
        z = np.load(io.BytesIO(data))
        model = cls.empty([str(c) for c in z["classes"]])
        model.weights[z["rows"]] = z["weights"]
        model.bias[:] = z["bias"]
        return model

    def copy(self) -> "SoftmaxModel":
        return SoftmaxModel(list(self.classes), self.weights.copy(), self.bias.copy())


@dataclass
class Step:
    step: int
    epoch: int
    train_loss: float
    train_accuracy: float
    valid_loss: float | None = None
    valid_accuracy: float | None = None


def _batch_loss(model: SoftmaxModel, x, y) -> tuple[np.ndarray, float, float, np.ndarray, np.ndarray]:
    cols, inv = np.unique(x.indices, return_inverse=True)
    compact = sp.csr_matrix((x.data, inv, x.indptr), shape=(x.shape[0], len(cols)))
    probs = _softmax(np.asarray(compact @ model.weights[cols] + model.bias, dtype=np.float64))
    picked = probs[np.arange(len(y)), y]
    loss = float(-np.log(np.maximum(picked, 1e-12)).mean())
    acc = float((probs.argmax(axis=1) == y).mean())
    return probs, loss, acc, cols, compact


def train(texts, labels, *, n_epochs: int, batch_size: int, learning_rate_multiplier: float,
          seed: int, valid_texts=(), valid_labels=(), on_epoch_end=None):
    """Fit a SoftmaxModel; returns (model, steps).

    One pass over the data per epoch, in file order, one SGD update per
    mini-batch, with a learning rate that decays linearly to zero over all
    steps (the usual fine-tuning schedule; a constant rate with tiny batches
    leaves the model at the mercy of its last few batches). File order is kept
    on purpose: a training file sorted by label then teaches mostly its last
    classes, the effect the course measures in its "shuffle your data" lesson
    (a published real run: 32% unshuffled vs 63% shuffled). Each step records the batch's loss/accuracy before the update and the loss/
    accuracy of the next validation mini-batch (if a validation set is given).
    ``on_epoch_end(epoch, steps_so_far, model)`` is called after every epoch.
    """
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[c] for c in labels], dtype=np.int64)
    x = featurize(texts)
    vx = featurize(valid_texts) if len(valid_texts) else None
    # Validation labels the training set never saw count as always wrong.
    vy = np.array([index.get(c, -1) for c in valid_labels], dtype=np.int64)
    model = SoftmaxModel.empty(classes)
    lr0 = BASE_LEARNING_RATE * learning_rate_multiplier
    n, steps, step, vpos = len(y), [], 0, 0
    total_steps = n_epochs * -(-n // batch_size)
    for epoch in range(1, n_epochs + 1):
        for start in range(0, n, batch_size):
            idx = np.arange(start, min(start + batch_size, n))
            lr = lr0 * (1.0 - step / total_steps)
            yb = y[idx]
            probs, loss, acc, cols, compact = _batch_loss(model, x[idx], yb)
            probs[np.arange(len(yb)), yb] -= 1.0
            probs /= len(yb)
            model.weights[cols] -= (lr * (compact.T @ probs)).astype(np.float32)
            model.bias -= (lr * probs.sum(axis=0)).astype(np.float32)
            step += 1
            rec = Step(step, epoch, loss, acc)
            if vx is not None:
                vidx = np.arange(vpos, vpos + batch_size) % vx.shape[0]
                vpos = (vpos + batch_size) % vx.shape[0]
                rec.valid_loss, rec.valid_accuracy = _valid_batch(model, vx[vidx], vy[vidx])
            steps.append(rec)
        if on_epoch_end is not None:
            on_epoch_end(epoch, steps, model)
    return model, steps


def _valid_batch(model, x, y) -> tuple[float, float]:
    known = y >= 0
    probs = _softmax(np.asarray(model.logits(x), dtype=np.float64))
    picked = np.where(known, probs[np.arange(len(y)), np.maximum(y, 0)], 1e-12)
    loss = float(-np.log(np.maximum(picked, 1e-12)).mean())
    acc = float((known & (probs.argmax(axis=1) == np.maximum(y, 0))).mean())
    return loss, acc


def evaluate_full(model: SoftmaxModel, texts, labels) -> tuple[float, float]:
    """(loss, accuracy) of ``model`` on a labelled set; unseen labels count as wrong."""
    index = {c: i for i, c in enumerate(model.classes)}
    y = np.array([index.get(c, -1) for c in labels], dtype=np.int64)
    x = featurize(texts)
    loss_sum, hit_sum = 0.0, 0.0
    for start in range(0, len(y), 4096):
        loss, acc = _valid_batch(model, x[start:start + 4096], y[start:start + 4096])
        n = len(y[start:start + 4096])
        loss_sum, hit_sum = loss_sum + loss * n, hit_sum + acc * n
    return loss_sum / max(len(y), 1), hit_sum / max(len(y), 1)
