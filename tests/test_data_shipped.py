"""The datasets shipped in dataset/ meet the size, schema and near-duplicate rules."""
import json

import pytest

from helpers.data import load_named, near_duplicate_pairs, spec, validate_file

RULES = {  # name: (minimum rows, classes)
    "news_zh": (1200, 15),
    "sports_en": (300, 2),
    "reviews_en": (600, 5),
}
SCHEMAS = {
    "news_zh": {"label", "label_desc", "sentence", "keywords"},
    "sports_en": {"text", "label"},
    "reviews_en": {"text", "stars"},
}
TNEWS_CODES = {"news_story": "100", "news_culture": "101", "news_entertainment": "102",
               "news_sports": "103", "news_finance": "104", "news_house": "106", "news_car": "107",
               "news_edu": "108", "news_tech": "109", "news_military": "110", "news_travel": "112",
               "news_world": "113", "news_stock": "114", "news_agriculture": "115",
               "news_game": "116"}


def loaded(name):
    return load_named(name)


@pytest.mark.parametrize("name", sorted(RULES))
def test_size_classes_and_schema(name):
    df, ds = loaded(name)
    minimum, classes = RULES[name]
    assert len(df) >= minimum
    assert set(df["label"]) == set(ds.labels) and len(ds.labels) == classes
    raw = [json.loads(line) for line in ds.path.read_text(encoding="utf-8").splitlines()]
    assert len(raw) == len(df)  # no blank or extra lines
    assert all(set(record) == SCHEMAS[name] for record in raw)
    assert all(isinstance(record[ds.text_field], str) and record[ds.text_field].strip()
               for record in raw)


@pytest.mark.parametrize("name", sorted(RULES))
def test_validator_finds_no_problem(name):
    ds = spec(name)
    _, report = validate_file(ds.path, "table", text_field=ds.text_field,
                              label_field=ds.label_field, labels=ds.labels)
    assert report.ok, str(report)


@pytest.mark.parametrize("name", sorted(RULES))
def test_no_near_duplicates(name):
    df, _ = loaded(name)
    pairs = near_duplicate_pairs(df["text"])
    shown = [(df.index[i], df.index[j], s) for i, j, s in pairs[:10]]
    assert not pairs, f"near-duplicate pairs (line, line, jaccard): {shown}"


def test_news_follows_tnews_codes_and_has_a_rare_stock_class():
    df, _ = loaded("news_zh")
    assert (df["label_original"] == df["label"].map(TNEWS_CODES)).all()
    counts = df["label"].value_counts()
    assert 5 <= counts["news_stock"] <= 20
    assert counts.max() >= 3 * counts["news_stock"]  # realistic imbalance


def test_reviews_stars_are_integers():
    df, _ = loaded("reviews_en")
    assert all(type(s) is int and 1 <= s <= 5 for s in df["stars"])
