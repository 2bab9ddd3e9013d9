"""Near-duplicate detection: character 3-gram Jaccard similarity, found with MinHash LSH.

A text's n-grams are its character 3-grams with whitespace removed (a text
shorter than 3 characters is one gram). Two texts are near duplicates when the
Jaccard similarity of their gram sets is >= ``threshold`` (0.8).

Comparing every pair is quadratic (30,000 rows took 44 s and 2.9 GB, 100,000
could not be allocated), so candidates come from MinHash LSH: each text gets
``NUM_PERM`` = 126 min-hashes (``BANDS`` = 21 bands of ``ROWS`` = 6); two texts
become a candidate pair when all hashes of at least ``MIN_BANDS`` = 2 bands
agree. A band agrees with probability ``p = s**6`` for a pair of Jaccard ``s``,
so the pair is a candidate with probability P(Binomial(21, p) >= 2)
(``candidate_probability``): an S-curve whose midpoint, the LSH threshold, is
about 0.66 (``lsh_threshold``), below the similarity threshold 0.8, where the
probability is 0.986 (0.9994 at 0.85), while unrelated texts sharing common
grams (Jaccard 0.15) pair up with probability 3e-8. Asking for two bands
rather than one keeps those chance pairs from growing with the square of the
rows. Every candidate is then checked with the exact Jaccard of
its gram sets, so nothing under ``threshold`` is ever reported: LSH can miss a
pair (rarely), never invent one. Exact duplicates are found by hashing
(``prepare.drop_exact_duplicates``) before this runs.

The min-hashes are computed with numpy over whole blocks of texts (the same
algorithm as ``datasketch.MinHash`` / ``MinHashLSH``, whose per-text objects
and dict-of-sets index take gigabytes at a million rows); the index is one
array of band keys per band. Time and memory grow linearly with the rows
(``bench/data_scale.py``). ``exact_near_duplicate_pairs`` keeps the pairwise
method, to measure recall against.

Memory at a million rows (``candidate_pairs``): the band keys (168 MB, each
band's 8 MB freed once merged), the sorted pairs seen in one band so far
(~11 M chance pairs at the end, 87 MB) and its merged copy, and one chunk of
``PAIR_CHUNK`` new pairs. A band's pairs are made and merged a chunk at a
time, buckets of equal size at once (no Python loop per bucket), so a huge
bucket (``MAX_BUCKET`` x its other members) never sits in memory whole; the
merge is a binary search and one insertion, where ``np.union1d`` sorted a
concatenated copy. Gram sets for the exact check live from a text's first
candidate pair to its last.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Iterator

import numpy as np
from scipy import sparse

DEFAULT_THRESHOLD = 0.8
BANDS, ROWS = 21, 6
MIN_BANDS = 2            # bands a pair must agree on to be compared
NUM_PERM = BANDS * ROWS
BLOCK = 4_000            # texts hashed at once: the block's arrays (~30 MB) stay small
MAX_BUCKET = 64          # a bigger bucket is paired with its first MAX_BUCKET members only
PAIR_CHUNK = 1 << 20     # candidate pairs generated and merged at once (8 MB of codes)
_SEED = 20261206


def candidate_probability(similarity: float) -> float:
    """Chance that a pair of this Jaccard similarity agrees on at least MIN_BANDS bands."""
    p = similarity ** ROWS
    return 1 - sum(math.comb(BANDS, k) * p ** k * (1 - p) ** (BANDS - k)
                   for k in range(MIN_BANDS))


def lsh_threshold() -> float:
    """The Jaccard at which a pair becomes a candidate with probability 1/2 (by bisection)."""
    low, high = 0.0, 1.0
    for _ in range(50):
        mid = (low + high) / 2
        low, high = (mid, high) if candidate_probability(mid) < 0.5 else (low, mid)
    return (low + high) / 2


def char_ngrams(text: str, n: int = 3) -> set[str]:
    """The set of character n-grams of ``text`` with whitespace removed."""
    t = "".join(str(text).split())
    return {t[i:i + n] for i in range(max(1, len(t) - n + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads every input bit over the 64-bit word."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _permutations() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(_SEED)
    a = rng.integers(1, 2**32, NUM_PERM, dtype=np.uint32) | np.uint32(1)  # odd: a bijection
    b = rng.integers(0, 2**32, NUM_PERM, dtype=np.uint32)
    return a, b


def _gram_hashes(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """32-bit hashes of every text's n-grams, and where each text's grams start."""
    stripped = ["".join(str(t).split()) for t in texts]
    pad = "\0" * n  # so a short (even empty) text still has one gram, its own
    joined = pad.join(stripped) + pad
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    lengths = np.fromiter((len(t) for t in stripped), dtype=np.int64, count=len(stripped))
    starts = np.concatenate([[0], np.cumsum(lengths + n)[:-1]])
    counts = np.maximum(1, lengths - n + 1)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    # position of each gram in ``codes``: start of its text + its index in the text
    pos = np.repeat(starts - offsets, counts) + np.arange(counts.sum())
    gram = codes[pos]
    for k in range(1, n):  # code points have 21 bits: three pack into 63 without loss
        gram = ((gram << np.uint64(21)) if k < 3 else _mix(gram)) | codes[pos + k]
    return (_mix(gram) >> np.uint64(32)).astype(np.uint32), offsets


def _band_columns(texts, n: int = 3, block: int = BLOCK) -> list[np.ndarray]:
    """One contiguous array of 64-bit keys per band (so each can be freed once merged)."""
    texts = list(texts)
    a, b = _permutations()
    out = [np.empty(len(texts), dtype=np.uint64) for _ in range(BANDS)]
    for start in range(0, len(texts), block):
        h, offsets = _gram_hashes(texts[start:start + block], n)
        sig = np.empty((len(offsets), NUM_PERM), dtype=np.uint64)  # uint64 for the mixing
        buf = np.empty_like(h)
        with np.errstate(over="ignore"):
            for k in range(NUM_PERM):  # (a*h + b) mod 2**32, in place: one buffer per block
                np.multiply(h, a[k], out=buf)
                np.add(buf, b[k], out=buf)
                sig[:, k] = np.minimum.reduceat(buf, offsets)
            keys = np.zeros((len(offsets), BANDS), dtype=np.uint64)
            for r in range(ROWS):
                keys = _mix(keys ^ sig[:, r::ROWS])
        for band in range(BANDS):
            out[band][start:start + len(offsets)] = keys[:, band]
    return out


def band_keys(texts, n: int = 3, block: int = BLOCK) -> np.ndarray:
    """``(len(texts), BANDS)`` 64-bit keys; equal keys in a column = a candidate pair."""
    return np.stack(_band_columns(texts, n, block), axis=1)


@functools.lru_cache(maxsize=MAX_BUCKET + 1)
def _triu(k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(k, 1)


def _bucket_codes(members: np.ndarray, size: np.int64, chunk: int) -> Iterator[np.ndarray]:
    """Codes ``i * size + j`` of one bucket's pairs, about ``chunk`` at a time.

    Every pair among the first MAX_BUCKET members (by position), then each of
    those with every later member: a bucket of m > MAX_BUCKET members gives
    MAX_BUCKET * (m - MAX_BUCKET) pairs more, generated a slice of the later
    members at a time so a huge bucket never sits in memory as one array.
    """
    members = np.sort(members)
    head = members[:MAX_BUCKET]
    i, j = _triu(len(head))
    yield head[i] * size + head[j]
    rest = members[MAX_BUCKET:]
    step = max(1, chunk // len(head))
    for s in range(0, len(rest), step):
        yield (head[:, None] * size + rest[None, s:s + step]).ravel()


def _band_codes(column: np.ndarray, size: np.int64,
                chunk: int = PAIR_CHUNK) -> Iterator[np.ndarray]:
    """Pairs ``i < j`` with equal keys in one band, as ``i * size + j``, in arrays of about
    ``chunk`` codes (more only for one small bucket's pairs); each pair in exactly one array.
    """
    order = np.argsort(column, kind="stable").astype(np.int64)
    sorted_keys = column[order]
    same = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1])
    del sorted_keys
    if not len(same):
        return
    # runs of equal keys: [first, last] positions in ``order``
    breaks = np.flatnonzero(np.diff(same) != 1)
    run_starts = np.concatenate([[same[0]], same[breaks + 1]])
    run_ends = np.concatenate([same[breaks], [same[-1]]]) + 1
    members = run_ends - run_starts + 1
    pending: list[np.ndarray] = []
    held = 0
    for k in np.unique(members).tolist():  # buckets up to MAX_BUCKET: all of one size at once
        starts = run_starts[members == k]
        if k > MAX_BUCKET:
            parts = (c for s in starts.tolist() for c in _bucket_codes(order[s:s + k], size, chunk))
        else:
            i, j = _triu(k)
            per = max(1, chunk // len(i))  # buckets per slice
            parts = (_small_bucket_codes(order, starts[s:s + per], k, i, j, size)
                     for s in range(0, len(starts), per))
        for codes in parts:
            pending.append(codes)
            held += len(codes)
            if held >= chunk:
                yield np.concatenate(pending)
                pending, held = [], 0
    if pending:
        yield np.concatenate(pending)


def _small_bucket_codes(order: np.ndarray, starts: np.ndarray, k: int, i: np.ndarray,
                        j: np.ndarray, size: np.int64) -> np.ndarray:
    """Codes of every pair in each bucket of ``k`` members starting at ``starts`` in ``order``."""
    rows = np.sort(order[starts[:, None] + np.arange(k)], axis=1)
    return (rows[:, i] * size + rows[:, j]).ravel()


def _seen(codes: np.ndarray, sorted_codes: np.ndarray) -> np.ndarray:
    """Which of ``codes`` are in ``sorted_codes`` (binary search: no merged copy)."""
    pos = np.searchsorted(sorted_codes, codes)
    found = pos < len(sorted_codes)
    found[found] = sorted_codes[pos[found]] == codes[found]
    return found


def candidate_pairs(texts, n: int = 3, block: int = BLOCK,
                    chunk: int = PAIR_CHUNK) -> np.ndarray:
    """``(k, 2)`` array of positions ``i < j`` that share MIN_BANDS bands (each pair once).

    Bands are merged one at a time into a sorted array of the pairs seen so far
    (``once``), a chunk of about ``chunk`` pairs at a time: a pair already there
    agrees on a second band. A pair sits in one bucket of a band, so the chunks
    of one band are disjoint and merging them one by one gives the same pairs
    as merging the whole band. At a million rows ``once`` ends with ~11 M pairs
    (87 MB): nearly all chance pairs of a single band. What memory goes to:
    the band keys (8 bytes x rows x 21, each band's freed once merged), ``once``
    and its merged copy, and one chunk; ``np.union1d`` sorted a concatenated
    copy (about three times ``once``) and all of a band's pairs were built at
    once as ``(k, 2)`` arrays, together ~300 MB more at 1M rows.
    """
    if MIN_BANDS != 2:
        raise NotImplementedError("the band merge counts up to two agreeing bands")
    columns = _band_columns(texts, n, block)
    size = np.int64(len(columns[0]))
    once = np.empty(0, dtype=np.int64)   # sorted pair codes seen in at least one band so far
    twice = [np.empty(0, dtype=np.int64)]  # pair codes seen in at least two bands
    for band in range(BANDS):
        column, columns[band] = columns[band], np.empty(0, dtype=np.int64)  # freed once merged
        for codes in _band_codes(column, size, chunk):
            codes.sort()
            seen = _seen(codes, once)
            twice.append(codes[seen])
            fresh = codes[~seen]
            del codes, seen
            once = np.insert(once, np.searchsorted(once, fresh), fresh)
            del fresh
    del once, columns
    codes = np.unique(np.concatenate(twice))  # pair (i, j) as i * n + j: 8 bytes a pair
    return np.stack([codes // size, codes % size], axis=1)


def near_duplicate_pairs(texts, threshold: float = DEFAULT_THRESHOLD, n: int = 3,
                         block: int = BLOCK) -> list[tuple[int, int, float]]:
    """``(i, j, jaccard)`` for pairs ``i < j`` with Jaccard >= threshold (LSH, then exact check)."""
    texts = list(texts)
    if len(texts) < 2:
        return []
    candidates = candidate_pairs(texts, n, block).tolist()
    # a text's gram set is made at its first pair and dropped after its last one (kept for
    # every candidate until the end, they grew with the candidates)
    last = {p: k for k, pair in enumerate(candidates) for p in pair}
    grams: dict[int, set[str]] = {}
    pairs = []
    for k, (i, j) in enumerate(candidates):
        a = grams.get(i) or grams.setdefault(i, char_ngrams(texts[i], n))
        b = grams.get(j) or grams.setdefault(j, char_ngrams(texts[j], n))
        score = jaccard(a, b)
        if score >= threshold:
            pairs.append((i, j, round(score, 4)))
        for p in (i, j):
            if last[p] == k:
                del grams[p]
    return sorted(pairs)


def exact_near_duplicate_pairs(texts, threshold: float = DEFAULT_THRESHOLD, n: int = 3,
                               block: int = 2000) -> list[tuple[int, int, float]]:
    """Every pair compared (quadratic): the reference LSH's recall is measured against."""
    texts = list(texts)
    if len(texts) < 2:
        return []
    vocab: dict[str, int] = {}
    indptr: list[int] = [0]
    indices: list[int] = []
    for text in texts:
        indices.extend(vocab.setdefault(g, len(vocab)) for g in char_ngrams(text, n))
        indptr.append(len(indices))
    x = sparse.csr_matrix((np.ones(len(indices), dtype=np.int32), indices, indptr),
                          shape=(len(texts), len(vocab)))
    sizes = np.asarray(x.sum(axis=1)).ravel()
    xt = x.T.tocsc()
    pairs: list[tuple[int, int, float]] = []
    for start in range(0, x.shape[0], block):
        inter = (x[start:start + block] @ xt).tocoo()
        i = inter.row + start
        keep = inter.col > i
        i, j, common = i[keep], inter.col[keep], inter.data[keep]
        score = common / (sizes[i] + sizes[j] - common)
        hit = score >= threshold
        pairs.extend(zip(i[hit].tolist(), j[hit].tolist(), score[hit].round(4).tolist(),
                         strict=True))
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
