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
