"""Embeddings: ``POST /v1/embeddings`` and Zhipu's ``POST /api/paas/v4/embeddings``.

The sandbox has no neural encoder, so a vector is a fixed, documented
function of the text (README "Embeddings"):

1. hashed n-gram counts by script (``classifier.is_chinese``): for Chinese
   text character unigrams and character 2-3 grams, for other text word 1-2
   grams and within-word character 2-5 grams, one block each;
2. 1 + log(count), each block l2-normalised and weighted (``BLOCK_WEIGHTS``:
   Chinese unigrams 2, words 1.3, the others 1; README "Embeddings" has
   the weightings compared);
3. a fixed sparse random projection to ``dimensions`` coordinates: every
   hashed n-gram adds ±1/sqrt(3) to 3 coordinates drawn from a generator
   seeded with ``SEED`` and the dimension count (a sparse Johnson-Lindenstrauss
   projection, so inner products of step 2 are kept approximately);
4. l2-normalised, so a dot product is a cosine similarity.

The same text always gets the same vector, in any process. Texts sharing
words and character n-grams get close vectors; meaning beyond shared
surface forms is not captured (a real embedding model does that).
"""
from __future__ import annotations

import base64
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

from . import catalog, dialects
from .classifier import is_chinese
from .errors import ApiError

SEED = 20261206
BLOCK_FEATURES = 2 ** 18
BLOCKS = (("char", (1, 1), True), ("char", (2, 3), True),      # (analyzer, n-grams, Chinese)
          ("word", (1, 2), False), ("char_wb", (2, 5), False))
BLOCK_WEIGHTS = (2.0, 1.0, 1.3, 1.0)
HASHES_PER_NGRAM = 3
DEFAULT_DIMENSIONS = 3072      # as text-embedding-3-large (1536 lost ~5 points, bench)
MAX_DIMENSIONS = 3072
MAX_INPUT_TOKENS = 8192        # per input, as OpenAI's embedding models
MAX_TOTAL_TOKENS = 300_000     # per request, as OpenAI
MAX_INPUT_CHARS = 8 * MAX_INPUT_TOKENS   # refused before tokenising (no work on huge strings)
ENCODINGS = ("float", "base64")


@lru_cache(maxsize=4)
def projection(dimensions: int) -> sp.csr_matrix:
    """The fixed (n-gram block features x dimensions) sparse random projection."""
    rows = len(BLOCKS) * BLOCK_FEATURES
    rng = np.random.default_rng([SEED, dimensions])
    cols = rng.integers(0, dimensions, size=(rows, HASHES_PER_NGRAM))
    signs = rng.choice(np.array([-1.0, 1.0], np.float32), size=(rows, HASHES_PER_NGRAM))
    data = signs.ravel() / np.float32(np.sqrt(HASHES_PER_NGRAM))
    indptr = np.arange(0, rows * HASHES_PER_NGRAM + 1, HASHES_PER_NGRAM)
    return sp.csr_matrix((data, cols.ravel(), indptr), shape=(rows, dimensions))


_VECTORIZERS = tuple(HashingVectorizer(analyzer=a, ngram_range=n, n_features=BLOCK_FEATURES,
                                       alternate_sign=False, norm=None, dtype=np.float32)
                     for a, n, _ in BLOCKS)


def featurize(texts: list[str]) -> sp.csr_matrix:
    """Hashed n-gram counts, one column block per entry of ``BLOCKS`` (step 1)."""
    chinese = [is_chinese(t) for t in texts]
    parts = [v.transform([t if c == zh else "" for t, c in zip(texts, chinese, strict=True)])
             for v, (_, _, zh) in zip(_VECTORIZERS, BLOCKS, strict=True)]
    return sp.hstack(parts, format="csr", dtype=np.float32)


def _weighted(raw: sp.csr_matrix) -> sp.csr_matrix:
    """1 + log(count), each script block l2-normalised and weighted (step 2)."""
    raw = raw.tocsr().astype(np.float64)
    raw.data = 1.0 + np.log(raw.data)
    out = []
    for b, weight in enumerate(BLOCK_WEIGHTS):
        part = raw[:, b * BLOCK_FEATURES:(b + 1) * BLOCK_FEATURES]
        norms = np.sqrt(np.asarray(part.multiply(part).sum(axis=1)).ravel())
        scale = np.divide(weight, norms, out=np.zeros_like(norms), where=norms > 0)
        out.append(sp.diags(scale) @ part)
    return sp.hstack(out, format="csr")


def vectors(texts: list[str], dimensions: int = DEFAULT_DIMENSIONS) -> np.ndarray:
    """Unit-length float32 vectors, one row per text (a text with no n-gram: a fixed one)."""
    dense = np.asarray((_weighted(featurize(texts)) @ projection(dimensions)).todense(),
                       dtype=np.float64)
    norms = np.linalg.norm(dense, axis=1)
    empty = norms == 0
    if empty.any():  # whitespace only: the projection's first row, a fixed unit direction
        dense[empty] = projection(dimensions)[0].toarray()
        norms[empty] = np.linalg.norm(dense[empty], axis=1)
    return (dense / norms[:, None]).astype(np.float32)


# ------------------------------------------------------------------ requests
def _bad(message: str, param: str, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, param=param, code=code)


def _texts(value, encoding, provider: str) -> list[str]:
    """The inputs as texts: a string, a list of strings, token ids, or lists of token ids."""
    if isinstance(value, str) or _token_list(value):
        items = [value]
    elif isinstance(value, list):
        items = value
    else:
        raise _bad("Invalid type for 'input': expected a string, an array of strings, an array "
                   "of token ids or an array of such arrays.", "input", "invalid_type")
    if not items:
        raise _bad("Invalid 'input': empty array. Expected at least one input.", "input",
                   "empty_array")
    most = dialects.get(provider).max_embedding_inputs
    if len(items) > most:
        raise _bad(f"Invalid 'input': too many inputs ({len(items)}); at most "
                   f"{most} per request.", "input")
    texts = []
    for i, item in enumerate(items):
        where = f"input[{i}]" if len(items) > 1 or not isinstance(value, str) else "input"
        if _token_list(item):
            if len(item) > MAX_INPUT_TOKENS:
                raise _context(where, len(item))
            bad = [t for t in item if not 0 <= t < encoding.n_vocab]
            if bad:
                raise _bad(f"Invalid '{where}': token id {bad[0]} is not in the model's "
                           "vocabulary.", where)
            texts.append(encoding.decode(item))
        elif isinstance(item, str):
            if not item:
                raise _bad(f"Invalid '{where}': empty string. Expected a non-empty string.",
                           where)
            if len(item) > MAX_INPUT_CHARS:
                raise _context(where, None)
            texts.append(item)
        else:
            raise _bad(f"Invalid type for '{where}': expected a string or an array of token "
                       "ids.", where, "invalid_type")
    return texts


def _is_token(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _token_list(v) -> bool:
    return isinstance(v, list) and bool(v) and all(_is_token(t) for t in v)


def _context(where: str, tokens: int | None) -> ApiError:
    got = f"{tokens} tokens" if tokens is not None else f"over {MAX_INPUT_CHARS} characters"
    return ApiError(400, f"This model's maximum context length is {MAX_INPUT_TOKENS} tokens, "
                    f"however you requested {got} in '{where}'. Please reduce your prompt.",
                    param=where, code="context_length_exceeded")


def _options(body: dict, provider: str, sandbox) -> tuple[int, str]:
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object.", None)
    for key in body:
        if key not in dialects.get(provider).embedding_keys:
            raise _bad(f"Unrecognized request argument supplied: {key}", key, "unknown_parameter")
    for key in ("input", "model"):
        if key not in body:
            raise _bad(f"Missing required parameter: '{key}'.", key,
                       "missing_required_parameter")
    model = body["model"]
    if not isinstance(model, str):
        raise _bad("Invalid type for 'model': expected a string.", "model", "invalid_type")
    spec = catalog.spec(model)
    if spec is None or spec.kind != "embedding":
        if spec is None:
            sandbox.get_model(model)  # an unknown model: 404 model_not_found, as chat
        raise _bad(f"The model `{model}` does not support embeddings; use "
                   f"`{catalog.EMBEDDING_MODEL}`.", "model", "model_not_supported")
    dims = body.get("dimensions")
    if dims is None:
        dims = DEFAULT_DIMENSIONS
    elif not _is_token(dims):
        raise _bad("Invalid type for 'dimensions': expected an integer.", "dimensions",
                   "invalid_type")
    elif not 1 <= dims <= MAX_DIMENSIONS:
        raise _bad(f"Invalid 'dimensions': expected a value between 1 and {MAX_DIMENSIONS}, "
                   f"but got {dims} instead.", "dimensions")
    fmt = body.get("encoding_format")
    if fmt is None:
        fmt = "float"
    if fmt not in ENCODINGS:
        raise _bad(f"Invalid value for 'encoding_format': {fmt!r}. Supported values are: "
                   "'float' or 'base64'.", "encoding_format")
    for key in ("user", "request_id"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise _bad(f"Invalid type for '{key}': expected a string.", key, "invalid_type")
    return dims, fmt


def create(sandbox, body: dict, provider: str = "openai") -> dict:
    """The embeddings response for ``body`` (validated here; raises ApiError).

    Also what a batch line with url ``/v1/embeddings`` is answered with.
    """
    dims, fmt = _options(body, provider, sandbox)
    encoding = sandbox.encoding
    texts = _texts(body["input"], encoding, provider)
    counts = [len(encoding.encode(t, disallowed_special=())) for t in texts]
    for i, n in enumerate(counts):
        if n > MAX_INPUT_TOKENS:
            raise _context(f"input[{i}]" if len(texts) > 1 else "input", n)
    if sum(counts) > MAX_TOTAL_TOKENS:
        raise _bad(f"Invalid 'input': {sum(counts)} tokens in total; at most "
                   f"{MAX_TOTAL_TOKENS} per request.", "input", "max_tokens_per_request")
    rows = vectors(texts, dims)
    data = [{"object": "embedding", "index": i,
             "embedding": base64.b64encode(row.astype("<f4").tobytes()).decode()
             if fmt == "base64" else [float(x) for x in row]}
            for i, row in enumerate(rows)]
    return dialects.get(provider).embeddings(data, body["model"], sum(counts), fmt)
