"""Near-duplicate detection: character n-gram Jaccard similarity on sparse matrices.

Each text becomes a binary row of its character 3-grams (whitespace removed). One sparse product gives the
intersection size of every pair at once, so 1,300 rows (850k pairs) take well
under a second; rows are processed in blocks to bound memory on big files.
Hand-written on scipy because neither it nor scikit-learn ships a Jaccard pair
finder for sparse sets (``sklearn.metrics.pairwise_distances(metric="jaccard")``
is dense).
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

DEFAULT_THRESHOLD = 0.8


def char_ngrams(text: str, n: int = 3) -> set[str]:
    """The set of character n-grams of ``text`` with whitespace removed."""
    t = "".join(str(text).split())
    return {t[i:i + n] for i in range(max(1, len(t) - n + 1))}


def ngram_matrix(texts, n: int = 3) -> sparse.csr_matrix:
    """Binary rows x n-grams matrix (built directly: scikit-learn's import alone takes seconds)."""
    vocab: dict[str, int] = {}
    indptr, indices = [0], []
    for text in texts:
        indices.extend(vocab.setdefault(g, len(vocab)) for g in char_ngrams(text, n))
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.int32)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, len(vocab)))


def near_duplicate_pairs(texts, threshold: float = DEFAULT_THRESHOLD, n: int = 3,
                         block: int = 2000) -> list[tuple[int, int, float]]:
    """``(i, j, jaccard)`` for every pair ``i < j`` with Jaccard similarity >= threshold."""
    texts = list(texts)
    if len(texts) < 2:
        return []
    x = ngram_matrix(texts, n)
    sizes = np.asarray(x.sum(axis=1)).ravel()
    xt = x.T.tocsc()
    pairs = []
    for start in range(0, x.shape[0], block):
        inter = (x[start:start + block] @ xt).tocoo()
        i = inter.row + start
        keep = inter.col > i
        i, j, common = i[keep], inter.col[keep], inter.data[keep]
        jaccard = common / (sizes[i] + sizes[j] - common)
        hit = jaccard >= threshold
        pairs.extend(zip(i[hit].tolist(), j[hit].tolist(), jaccard[hit].round(4).tolist()))
    return sorted(pairs)


def near_duplicate_matches(texts, threshold: float = DEFAULT_THRESHOLD, n: int = 3,
                           ) -> dict[int, tuple[int, float]]:
    """Positions to drop, each mapped to ``(earlier position it nearly duplicates, jaccard)``.

    Pairs are visited in order, so a row is matched to the first earlier row
    that is kept; a row already dropped never causes another drop.
    """
    drop: dict[int, tuple[int, float]] = {}
    for i, j, score in near_duplicate_pairs(texts, threshold, n):
        if i not in drop and j not in drop:
            drop[j] = (i, score)
    return drop


def near_duplicate_rows(texts, threshold: float = DEFAULT_THRESHOLD, n: int = 3) -> dict[int, int]:
    """Positions to drop, each mapped to the earlier position it nearly duplicates."""
    return {j: i for j, (i, _) in near_duplicate_matches(texts, threshold, n).items()}
