"""Baselines an LLM classifier has to beat, in the result shape ``classify`` returns.

* ``tfidf_lr``: TF-IDF + logistic regression trained here on the training rows
  (scikit-learn; character 1-3 grams for Chinese text, which has no spaces,
  word 1-2 grams otherwise). No API call, no cost.
* ``embeddings_lr``: vectors from the embeddings endpoint
  (``client.embeddings.create``, batched; each text's vector cached like
  classify's responses, so a rerun sends nothing) + logistic regression.
  Embedding the training rows is a one-time cost (``setup_tokens``).

Both return ``ClassificationResults`` whose predictions carry the label, the
probability of it (``confidence``) and the next labels (``alternatives``), so
``helpers.lessons.compare.decision_table`` puts them beside the LLM rows.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from . import prompts
from .cache import ResponseCache, cache_key
from .classify import ClassificationResults, Prediction
from .clients import cache_namespace

LOCAL_MODEL = "local"          # the model name of a baseline that runs on this machine
EMBED_BATCH = 64


@dataclass
class BaselineResults(ClassificationResults):
    """``ClassificationResults`` plus what the baseline cost to set up."""
    setup_tokens: int = 0      # tokens paid once (embedding the training rows)
    model: str = LOCAL_MODEL


def _check(train_texts, train_labels, test_texts) -> tuple[list, list, list]:
    train_texts, train_labels, test_texts = list(train_texts), list(train_labels), list(test_texts)
    if len(train_texts) != len(train_labels):
        raise ValueError(f"{len(train_texts)} training texts but {len(train_labels)} labels")
    if len(set(train_labels)) < 2:
        raise ValueError("the training rows need at least two labels to learn from")
    return train_texts, train_labels, test_texts


def _predictions(probabilities: np.ndarray, classes, tokens=None, top: int = 3) -> list:
    out = []
    for i, row in enumerate(probabilities):
        order = np.argsort(-row, kind="stable")
        best = order[0]
        out.append(Prediction(index=i, label=str(classes[best]), confidence=float(row[best]),
                              alternatives=[(str(classes[j]), float(row[j]))
                                            for j in order[1:top + 1]],
                              prompt_tokens=int(tokens[i]) if tokens is not None else 0))
    return out


def _classifier(seed: int, solver: str = "lbfgs") -> LogisticRegression:
    # saga for sparse TF-IDF: lbfgs took 20x longer on news_zh's character n-grams
    return LogisticRegression(max_iter=2000, C=10.0, solver=solver, random_state=seed)


def tfidf_lr(train_texts, train_labels, test_texts, *, lang: str | None = None,
             seed: int = 0) -> BaselineResults:
    """TF-IDF + logistic regression; ``lang`` "zh" (default: detected) reads characters."""
    train_texts, train_labels, test_texts = _check(train_texts, train_labels, test_texts)
    started = time.perf_counter()
    lang = lang or prompts.detect_language(train_texts)
    if lang == "zh":
        vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True,
                                     min_df=2)
    else:
        vectorizer = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                     lowercase=True)
    model = make_pipeline(vectorizer, _classifier(seed, "saga")).fit(train_texts, train_labels)
    probabilities = model.predict_proba(test_texts) if test_texts else np.zeros((0, 1))
    return BaselineResults(_predictions(probabilities, model.classes_), requests=0,
                           seconds=time.perf_counter() - started, api="local")


def _split(total: int, n: int) -> list[int]:
    """``total`` tokens over ``n`` texts, as even as integers go (the sum is exact)."""
    share, extra = divmod(total, n)
    return [share + (1 if i < extra else 0) for i in range(n)]


def embed(client, texts, model: str, *, batch_size: int = EMBED_BATCH,
          dimensions: int | None = None, cache: ResponseCache | None = None,
          identity: str | None = None) -> tuple[np.ndarray, list[int], int]:
    """``(vectors, tokens per text, requests sent)``: batched, each text cached.

    A batch's ``usage.prompt_tokens`` is shared over its texts evenly (the API
    reports one total per request).
    """
    texts = list(texts)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    namespace = identity or cache_namespace(client)
    options = {"dimensions": dimensions} if dimensions is not None else {}
    keys = [cache_key(namespace, model, {"embedding": text, **options}) for text in texts]
    found: dict[str, dict] = {}
    for key in dict.fromkeys(keys):
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            found[key] = hit
    todo = [k for k in dict.fromkeys(keys) if k not in found]
    text_of = dict(zip(keys, texts, strict=True))
    requests = 0
    for start in range(0, len(todo), batch_size):
        chunk = todo[start:start + batch_size]
        # floats asked for explicitly: the SDK's default base64 does not pass its own strict
        # response validation, and the cache keeps plain lists anyway
        reply = client.embeddings.create(model=model, input=[text_of[k] for k in chunk],
                                         encoding_format="float", **options)
        requests += 1
        data = sorted(reply.data, key=lambda d: d.index)  # the API's order is by index
        if len(data) != len(chunk):
            raise RuntimeError(f"{model}: {len(data)} vectors for {len(chunk)} texts")
        used = getattr(reply.usage, "prompt_tokens", 0) or 0
        for key, item, tokens in zip(chunk, data, _split(used, len(chunk)), strict=True):
            found[key] = {"vector": list(item.embedding), "tokens": tokens}
            if cache is not None:
                cache.put(key, found[key])
    vectors = np.array([found[k]["vector"] for k in keys], dtype=float)
    return vectors, [found[k]["tokens"] for k in keys], requests


def embeddings_lr(client, train_texts, train_labels, test_texts, *, model: str,
                  batch_size: int = EMBED_BATCH, dimensions: int | None = None,
                  cache: ResponseCache | None = None, identity: str | None = None,
                  seed: int = 0) -> BaselineResults:
    """Embeddings of every row (``model`` through ``client.embeddings.create``) + logistic
    regression trained on the training rows; predictions for ``test_texts``."""
    train_texts, train_labels, test_texts = _check(train_texts, train_labels, test_texts)
    started = time.perf_counter()
    kw = dict(batch_size=batch_size, dimensions=dimensions, cache=cache, identity=identity)
    train_x, train_tokens, sent_train = embed(client, train_texts, model, **kw)
    test_x, test_tokens, sent_test = embed(client, test_texts, model, **kw)
    classifier = _classifier(seed).fit(train_x, train_labels)
    probabilities = classifier.predict_proba(test_x) if test_texts else np.zeros((0, 1))
    return BaselineResults(_predictions(probabilities, classifier.classes_, test_tokens),
                           requests=sent_train + sent_test,
                           seconds=time.perf_counter() - started, api="embeddings",
                           setup_tokens=sum(train_tokens), model=model)
