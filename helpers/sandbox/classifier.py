"""The fine-tuned models: the base model's knowledge plus a TF-IDF softmax regression.

A fine-tuned model starts as ``sandbox-base`` and learns from the training
file, as a fine-tuned LLM starts from its base model:

    logit(class c | text) = prior_c * base_score_c(text) + bias_c + w_c . tfidf(text)

``base_score_c`` is the base model's own lexicon score for the label (the
score ``sandbox-base`` turns into its zero-shot answer), ``prior_c`` starts at
the base model's sharpness and ``bias`` and ``w`` at zero, so before the first
step the model answers exactly like the base model. Training (mini-batch SGD)
learns ``w`` and ``bias``, and also ``prior_c``, slowly: where the lexicon
helps it is kept, where it misleads it is turned down.

Features are what a TF-IDF pipeline uses, chosen by script: character 1-3
grams for Chinese text (at least a fifth CJK characters), word 1-2 grams plus
within-word character 2-5 grams for other text, hashed with scikit-learn's
``HashingVectorizer`` into one block each. Counts become 1 + log(count),
times the inverse document frequency learned from the training file; each
block is l2-normalised and the blocks are combined with fixed weights
(``BLOCK_WEIGHTS``), so a long text's many character n-grams do not drown
its words. The model keeps only the
n-grams its training file contained (its vocabulary), like a fitted
``TfidfVectorizer``.

The linear model is written in numpy rather than ``SGDClassifier``: chat
completions with ``logprobs`` must report true class probabilities that sum
to one, training must expose each step's loss and accuracy for the results
file, events and checkpoints, and the examples are read in file order (see
``train``). Each step touches only the weight rows of n-grams in its batch, so
an epoch costs time linear in the data.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from . import lexicon
from .errors import TrainingFailed

BLOCK_FEATURES = 2 ** 18          # hashed n-grams per block
BLOCKS = ("zh_char_1_3", "word_1_2", "char_wb_2_5")
BLOCK_WEIGHTS = (1.0, 1.3, 1.0)   # weight of each block once l2-normalised (words a bit more)
BASE_LEARNING_RATE = 3.0          # SGD step per example at learning_rate_multiplier=1
WARMUP_SHARE = 0.1                # the step size grows linearly over the first 10% of steps
PRIOR_LEARNING_SHARE = 0.0125     # the prior weights learn at this share of the rate
BIAS_LEARNING_SHARE = 0.05        # the bias starts at this share of the rate (``bias_share``)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _hashing(analyzer: str, ngrams: tuple[int, int]) -> HashingVectorizer:
    return HashingVectorizer(analyzer=analyzer, ngram_range=ngrams, n_features=BLOCK_FEATURES,
                             alternate_sign=False, norm=None, dtype=np.float32)


_VECTORIZERS = (_hashing("char", (1, 3)), _hashing("word", (1, 2)), _hashing("char_wb", (2, 5)))


def is_chinese(text: str) -> bool:
    return len(_CJK.findall(text)) * 5 >= max(len(text), 1)


def featurize(texts) -> sp.csr_matrix:
    """Raw n-gram counts, one column block per vectorizer (ids stable across models)."""
    texts = list(texts)
    chinese = [is_chinese(t) for t in texts]
    zh = [t if c else "" for t, c in zip(texts, chinese, strict=True)]
    other = [t if not c else "" for t, c in zip(texts, chinese, strict=True)]
    parts = [_VECTORIZERS[0].transform(zh), _VECTORIZERS[1].transform(other),
             _VECTORIZERS[2].transform(other)]
    return sp.hstack(parts, format="csr", dtype=np.float32)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def document_frequency_idf(raw: sp.csr_matrix, columns: np.ndarray) -> np.ndarray:
    """Smoothed idf (scikit-learn's formula) of ``columns`` over the rows of ``raw``."""
    df = np.bincount(raw.indices, minlength=raw.shape[1])[columns].astype(np.float64)
    return (np.log((1.0 + raw.shape[0]) / (1.0 + df)) + 1.0).astype(np.float32)


@dataclass
class SoftmaxModel:
    classes: list[str]
    vocab: np.ndarray = field(repr=False)    # sorted hashed n-gram ids the model knows (int64)
    idf: np.ndarray = field(repr=False)      # (len(vocab),) float32
    weights: np.ndarray = field(repr=False)  # (len(vocab), n_classes) float32
    bias: np.ndarray = field(repr=False)     # (n_classes,)
    prior: np.ndarray = field(repr=False)    # (n_classes,) weight of the base model's score

    @classmethod
    def from_base(cls, classes) -> SoftmaxModel:
        """A model that knows no n-grams yet: it answers exactly like ``sandbox-base``."""
        k = len(classes)
        return cls(list(classes), np.zeros(0, np.int64), np.zeros(0, np.float32),
                   np.zeros((0, k), np.float32), np.zeros(k, np.float32),
                   np.full(k, lexicon.SHARPNESS, np.float32))

    # ------------------------------------------------------------ features
    def transform(self, raw: sp.csr_matrix) -> sp.csr_matrix:
        """TF-IDF rows over the model's vocabulary (unknown n-grams dropped, as a fitted
        vectorizer does): 1 + log(count), times idf, each block l2-normalised and weighted,
        the row l2-normalised."""
        raw = raw.tocsr()
        pos = np.searchsorted(self.vocab, raw.indices)
        pos = np.minimum(pos, max(len(self.vocab) - 1, 0))
        known = (self.vocab[pos] == raw.indices) if len(self.vocab) else \
            np.zeros(len(raw.indices), bool)
        rows = np.repeat(np.arange(raw.shape[0]), np.diff(raw.indptr))[known]
        cols = pos[known]
        data = (1.0 + np.log(raw.data[known].astype(np.float64))) * self.idf[cols]
        n, blocks = raw.shape[0], len(BLOCKS)
        block = (self.vocab[cols] // BLOCK_FEATURES).astype(np.int64)
        cell = rows * blocks + block
        norms = np.sqrt(np.bincount(cell, weights=data * data, minlength=n * blocks))
        w = np.asarray(BLOCK_WEIGHTS, dtype=np.float64)
        total = np.sqrt(((norms > 0).reshape(n, blocks) * w * w).sum(axis=1))
        data = data / norms[cell] * w[block] / np.maximum(total[rows], 1e-12)
        return sp.csr_matrix((data.astype(np.float32), (rows, cols)),
                             shape=(n, len(self.vocab)))

    def base_scores(self, texts) -> np.ndarray:
        return np.asarray(lexicon.score_matrix(self.classes, list(texts)), dtype=np.float64)

    def logits(self, x: sp.csr_matrix, scores: np.ndarray) -> np.ndarray:
        return np.asarray(x @ self.weights, dtype=np.float64) + self.bias + self.prior * scores

    def predict_proba(self, texts) -> np.ndarray:
        texts = list(texts)
        return _softmax(self.logits(self.transform(featurize(texts)), self.base_scores(texts)))

    def distribution(self, text: str, labels=None) -> dict[str, float]:
        """{label: probability} over the model's classes, or over ``labels`` if given.

        A label the model was not trained on has no learned weights: it scores
        what the base model's knowledge gives it (mean prior weight x its
        lexicon score), so a schema enum with a new label still gets a real,
        low probability.
        """
        if labels is None:
            return dict(zip(self.classes, self.predict_proba([text])[0].tolist(), strict=True))
        labels = list(labels)
        index = {c: i for i, c in enumerate(self.classes)}
        folded = {c.casefold().strip(): i for i, c in enumerate(self.classes)}
        learned = self.logits(self.transform(featurize([text])), self.base_scores([text]))[0]
        base = lexicon.score_labels(labels, text)
        prior = float(self.prior.mean()) if len(self.prior) else lexicon.SHARPNESS
        z = []
        for label, score in zip(labels, base, strict=True):
            i = index.get(label, folded.get(label.casefold().strip()))
            z.append(learned[i] if i is not None else prior * score)
        probs = _softmax(np.array([z], dtype=np.float64))[0]
        return dict(zip(labels, probs.tolist(), strict=True))

    # --------------------------------------------------------- continuing
    def with_classes(self, classes) -> SoftmaxModel:
        """This model with ``classes`` appended (new columns start from the base model)."""
        new = [c for c in classes if c not in self.classes]
        if not new:
            return self.copy()
        k = len(new)
        mean_prior = float(self.prior.mean()) if len(self.prior) else lexicon.SHARPNESS
        return SoftmaxModel(self.classes + new, self.vocab.copy(), self.idf.copy(),
                            np.hstack([self.weights, np.zeros((len(self.vocab), k), np.float32)]),
                            np.concatenate([self.bias, np.zeros(k, np.float32)]),
                            np.concatenate([self.prior, np.full(k, mean_prior, np.float32)]))

    def with_vocab(self, raw: sp.csr_matrix) -> SoftmaxModel:
        """This model knowing every n-gram of ``raw`` too; new n-grams get idf from ``raw``."""
        seen = np.unique(raw.indices).astype(np.int64)
        new = np.setdiff1d(seen, self.vocab, assume_unique=True)
        vocab = np.concatenate([self.vocab, new])
        idf = np.concatenate([self.idf, document_frequency_idf(raw, new)])
        weights = np.vstack([self.weights, np.zeros((len(new), len(self.classes)), np.float32)])
        order = np.argsort(vocab, kind="stable")
        return SoftmaxModel(list(self.classes), vocab[order], idf[order], weights[order],
                            self.bias.copy(), self.prior.copy())

    # ------------------------------------------------------------ storage
    def to_bytes(self) -> bytes:
        """Only n-grams with a non-zero weight are stored: a few MB at most."""
        keep = np.flatnonzero(np.any(self.weights != 0, axis=1))
        buf = io.BytesIO()
        np.savez(buf, version=np.array(2), vocab=self.vocab[keep], idf=self.idf[keep],
                 weights=self.weights[keep], bias=self.bias, prior=self.prior,
                 classes=np.array(self.classes, dtype=object).astype(str))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SoftmaxModel:
        z = np.load(io.BytesIO(data))
        classes = [str(c) for c in z["classes"]]
        if "version" not in z.files:  # a model saved before the base-model prior existed
            rows = z["rows"].astype(np.int64)
            return cls(classes, rows, np.ones(len(rows), np.float32),
                       z["weights"].astype(np.float32), z["bias"].astype(np.float32),
                       np.zeros(len(classes), np.float32))
        return cls(classes, z["vocab"].astype(np.int64), z["idf"].astype(np.float32),
                   z["weights"].astype(np.float32), z["bias"].astype(np.float32),
                   z["prior"].astype(np.float32))

    def copy(self) -> SoftmaxModel:
        return SoftmaxModel(list(self.classes), self.vocab.copy(), self.idf.copy(),
                            self.weights.copy(), self.bias.copy(), self.prior.copy())


@dataclass
class Step:
    step: int
    epoch: int
    train_loss: float
    train_accuracy: float
    valid_loss: float | None = None
    valid_accuracy: float | None = None


def step_size(batch_size: int, learning_rate_multiplier: float) -> float:
    """The SGD step: base rate x multiplier x batch size.

    Gradients are averaged over the batch, so a bigger batch takes fewer,
    less noisy steps per epoch; growing the rate with the batch (the linear
    scaling rule) keeps each example's pull the same, so the default works for
    any batch size while batch size still trades steps for noise.
    """
    return BASE_LEARNING_RATE * learning_rate_multiplier * batch_size


def train(texts, labels, *, n_epochs: int, batch_size: int, learning_rate_multiplier: float,
          seed: int, valid_texts=(), valid_labels=(), on_epoch_end=None,
          parent: SoftmaxModel | None = None):
    """Fit a SoftmaxModel starting from ``parent`` (or the base model); returns (model, steps).

    One pass over the data per epoch, in file order, one SGD update per
    mini-batch, with a step size that warms up linearly over the first
    ``WARMUP_SHARE`` of the steps and then decays linearly to zero (the usual
    fine-tuning schedule). The bias, which every example updates while each
    n-gram weight moves only for the texts that contain it, starts at
    ``BIAS_LEARNING_SHARE`` of the rate and reaches the full rate by the last
    step (``bias_share``; scikit-learn's SGD damps the intercept of sparse
    data too): at the full rate from the start, each early batch swung every
    answer towards its own label while the n-gram weights were still zero,
    and validation accuracy fell far below the base model's in the first
    epoch ("learning rate too high"). Late in training the bias moves freely,
    so a file sorted by label still ends biased to its last classes. File
    order is kept on purpose: a training file sorted by label then teaches
    mostly its last classes, the effect the
    course measures in its "shuffle your data" lesson (a published real run:
    32% unshuffled vs 63% shuffled). Each step records the batch's loss and
    accuracy before the update and the loss/accuracy of a validation
    mini-batch (drawn with ``seed``), if a validation set is given.
    ``on_epoch_end(epoch, steps_so_far, model)`` is called after every epoch.
    Raises ``TrainingFailed`` as soon as a loss is not finite.
    """
    texts, labels = list(texts), list(labels)
    start = parent if parent is not None else SoftmaxModel.from_base(sorted(set(labels)))
    start = start.with_classes(sorted(set(labels) - set(start.classes)))
    raw = featurize(texts)
    model = start.with_vocab(raw)
    classes = model.classes
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[c] for c in labels], dtype=np.int64)
    x = model.transform(raw)
    scores = model.base_scores(texts)
    vx = vscores = None
    if len(valid_texts):
        valid_texts = list(valid_texts)
        vx, vscores = model.transform(featurize(valid_texts)), model.base_scores(valid_texts)
    # Validation labels the model does not know count as always wrong.
    vy = np.array([index.get(c, -1) for c in valid_labels], dtype=np.int64)
    rng = np.random.default_rng(seed)
    vorder = rng.permutation(len(vy)) if len(vy) else vy

    weights = model.weights.astype(np.float64)
    bias, prior = model.bias.astype(np.float64), model.prior.astype(np.float64)
    lr0 = step_size(batch_size, learning_rate_multiplier)
    n, steps, step, vpos = len(y), [], 0, 0
    total_steps = n_epochs * -(-n // batch_size)
    warmup = max(1, round(WARMUP_SHARE * total_steps))
    # The loop reads the CSR arrays directly: scipy's row slicing and matrix
    # products cost more per call than the arithmetic of a small batch.
    xs = _Rows(x)
    vrows = _Rows(vx) if vx is not None else None
    for epoch in range(1, n_epochs + 1):
        for begin in range(0, n, batch_size):
            end = min(begin + batch_size, n)
            cols, values, row_of, starts = xs.span(begin, end)
            yb, sb = y[begin:end], scores[begin:end]
            probs = _softmax(_batch_logits(weights, cols, values, starts, end - begin)
                             + bias + prior * sb)
            rows = np.arange(len(yb))
            loss = float(-np.log(np.maximum(probs[rows, yb], 1e-12)).mean())
            acc = float((probs.argmax(axis=1) == yb).mean())
            if not np.isfinite(loss):
                raise TrainingFailed(
                    f"Training stopped at step {step + 1}: the training loss is {loss}. The "
                    f"learning rate multiplier ({learning_rate_multiplier:g}) is too high for "
                    "this data; try a smaller one.", param="learning_rate_multiplier")
            probs[rows, yb] -= 1.0
            probs /= len(yb)
            lr = lr0 * min(1.0, (step + 1) / warmup) * (1.0 - step / total_steps)
            np.add.at(weights, cols, (-lr) * values[:, None] * probs[row_of])
            bias -= lr * bias_share(step, total_steps) * probs.sum(axis=0)
            prior -= lr * PRIOR_LEARNING_SHARE * (probs * sb).sum(axis=0)
            step += 1
            rec = Step(step, epoch, loss, acc)
            if vrows is not None:
                vidx = vorder[np.arange(vpos, vpos + batch_size) % len(vorder)]
                vpos = (vpos + batch_size) % len(vorder)
                vcols, vvalues, _, vstarts = vrows.take(vidx)
                vprobs = _softmax(_batch_logits(weights, vcols, vvalues, vstarts, len(vidx))
                                  + bias + prior * vscores[vidx])
                rec.valid_loss, rec.valid_accuracy = _loss_accuracy(vprobs, vy[vidx])
            steps.append(rec)
        if on_epoch_end is not None:
            on_epoch_end(epoch, steps, _snapshot(model, weights, bias, prior))
    return _snapshot(model, weights, bias, prior), steps


def bias_share(step: int, total_steps: int) -> float:
    """The bias's share of the step size: BIAS_LEARNING_SHARE at first, growing (quadratically)
    to the full rate by the last step."""
    done = min(1.0, step / max(total_steps, 1))
    return BIAS_LEARNING_SHARE + (1.0 - BIAS_LEARNING_SHARE) * done * done


def _snapshot(model: SoftmaxModel, weights, bias, prior) -> SoftmaxModel:
    if not (np.isfinite(weights).all() and np.isfinite(bias).all() and np.isfinite(prior).all()):
        raise TrainingFailed("Training stopped: the model's weights are no longer finite "
                             "numbers; try a smaller learning rate multiplier.",
                             param="learning_rate_multiplier")
    return SoftmaxModel(list(model.classes), model.vocab, model.idf, weights.astype(np.float32),
                        bias.astype(np.float32), prior.astype(np.float32))


class _Rows:
    """A CSR matrix's arrays, for taking a few rows at a time without scipy's per-call cost."""

    def __init__(self, m: sp.csr_matrix):
        self.indptr, self.indices, self.data = m.indptr, m.indices, m.data.astype(np.float64)

    def span(self, begin: int, end: int):
        """Rows begin..end-1: (columns, values, row of each value, each row's first position)."""
        lo, hi = self.indptr[begin], self.indptr[end]
        starts = self.indptr[begin:end] - lo
        row_of = np.repeat(np.arange(end - begin), np.diff(self.indptr[begin:end + 1]))
        return self.indices[lo:hi], self.data[lo:hi], row_of, starts

    def take(self, rows: np.ndarray):
        """The same for any rows, in the order given."""
        lengths = self.indptr[rows + 1] - self.indptr[rows]
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        pos = np.repeat(self.indptr[rows] - starts, lengths) + np.arange(lengths.sum())
        return self.indices[pos], self.data[pos], np.repeat(np.arange(len(rows)), lengths), starts


def _batch_logits(weights, cols, values, starts, n_rows: int) -> np.ndarray:
    """x @ weights for a batch given as CSR pieces (rows without n-grams score 0)."""
    out = np.zeros((n_rows, weights.shape[1]))
    if len(cols):
        filled = np.diff(np.append(starts, len(cols))) > 0
        out[filled] = np.add.reduceat(weights[cols] * values[:, None], starts[filled], axis=0)
    return out


def _loss_accuracy(probs: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy and accuracy; labels the model does not know (-1) count as wrong."""
    known = y >= 0
    picked = np.where(known, probs[np.arange(len(y)), np.maximum(y, 0)], 1e-12)
    loss = float(-np.log(np.maximum(picked, 1e-12)).mean())
    acc = float((known & (probs.argmax(axis=1) == np.maximum(y, 0))).mean())
    return loss, acc


def evaluate_full(model: SoftmaxModel, texts, labels) -> tuple[float, float]:
    """(loss, accuracy) of ``model`` on a labelled set; unseen labels count as wrong."""
    texts = list(texts)
    index = {c: i for i, c in enumerate(model.classes)}
    y = np.array([index.get(c, -1) for c in labels], dtype=np.int64)
    loss_sum, hit_sum = 0.0, 0.0
    for start in range(0, len(y), 4096):
        part = texts[start:start + 4096]
        probs = _softmax(model.logits(model.transform(featurize(part)), model.base_scores(part)))
        loss, acc = _loss_accuracy(probs, y[start:start + 4096])
        loss_sum, hit_sum = loss_sum + loss * len(part), hit_sum + acc * len(part)
    return loss_sum / max(len(y), 1), hit_sum / max(len(y), 1)
