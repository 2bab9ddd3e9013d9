"""Near duplicates by MinHash LSH: the same pairs as comparing every pair, none invented."""
import random

from helpers.data import dedup


def _texts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    base = ["".join(chr(0x4E00 + rng.randrange(3000)) for _ in range(rng.randint(20, 60)))
            for _ in range(n)]
    words = [f"w{k}x" for k in range(500)]
    base += [" ".join(rng.choice(words) for _ in range(rng.randint(10, 30))) for _ in range(n)]
    planted = []
    for text in base[: n // 5] + base[n: n + n // 5]:
        i = rng.randrange(len(text) - 1)
        planted.append(text[:i] + "字" + text[i + 1:])  # one character changed
    return base + planted


def test_lsh_finds_what_the_pairwise_method_finds_and_nothing_else():
    texts = _texts(300)
    exact = dedup.exact_near_duplicate_pairs(texts)
    found = dedup.near_duplicate_pairs(texts, block=97)  # blocks that do not divide the rows
    assert len(exact) >= 100
    assert set(found) <= set(exact)  # every reported pair is verified exactly
    assert len(set(found) & set(exact)) / len(exact) >= 0.95


def test_the_lsh_threshold_sits_below_the_similarity_threshold():
    assert 0.6 < dedup.lsh_threshold() < 0.7
    assert dedup.candidate_probability(dedup.DEFAULT_THRESHOLD) > 0.98
    assert dedup.candidate_probability(0.85) > 0.999
    assert dedup.candidate_probability(0.2) < 1e-5


def test_short_and_whitespace_texts_keep_their_old_meaning():
    texts = ["ab", "a b", "abc", "x", "  ", ""]
    pairs = {(i, j) for i, j, _ in dedup.near_duplicate_pairs(texts)}
    assert pairs == {(i, j) for i, j, _ in dedup.exact_near_duplicate_pairs(texts)}
    assert (0, 1) in pairs  # whitespace is removed before the grams are taken


def _bucket_reference(column, head: int) -> set[tuple[int, int]]:
    """Every pair of a bucket's first ``head`` members, and each of those with every later one."""
    pairs = set()
    for key in set(column):
        members = sorted(i for i, k in enumerate(column) if k == key)
        for a, i in enumerate(members[:head]):
            pairs.update((i, j) for j in members[a + 1:])
    return pairs


def test_candidates_generated_in_chunks_are_the_pairs_of_one_whole_generation():
    import numpy as np

    rng = random.Random(3)
    # one huge bucket (300 members, over MAX_BUCKET), many small ones, and singletons
    column = [7] * 300 + [rng.randrange(40) + 100 for _ in range(200)] + list(range(1000, 1400))
    rng.shuffle(column)
    keys = np.array(column, dtype=np.uint64)
    size = np.int64(len(keys))

    def pairs(chunk: int) -> tuple[list[int], list[np.ndarray]]:
        arrays = list(dedup._band_codes(keys, size, chunk))
        codes = np.concatenate(arrays).tolist()
        return codes, arrays

    whole, one = pairs(10**9)
    chunked, many = pairs(500)
    assert len(one) == 1 and len(many) > 10  # the huge bucket alone needs 64 * 236 pairs
    assert len(chunked) == len(set(chunked))  # no pair twice across chunks
    assert sorted(chunked) == sorted(whole)
    expected = _bucket_reference(column, dedup.MAX_BUCKET)
    assert {divmod(c, int(size)) for c in whole} == expected


def test_candidate_pairs_do_not_depend_on_the_chunk_size():
    rng = random.Random(5)
    same = "同一段完全相同的文字" * 3
    texts = [same] * 150 + _texts(60) + [same + "了"] * 20
    rng.shuffle(texts)
    whole = dedup.candidate_pairs(texts)
    chunked = dedup.candidate_pairs(texts, chunk=100)
    assert whole.tolist() == chunked.tolist()
    positions = [i for i, t in enumerate(texts) if t == same]
    head, rest = positions[:dedup.MAX_BUCKET], positions[dedup.MAX_BUCKET:]
    found = set(map(tuple, whole.tolist()))
    assert {(i, j) for i in head for j in rest} <= found  # the huge bucket's pairs all made
    assert (rest[0], rest[1]) not in found  # two later members of it are never paired
