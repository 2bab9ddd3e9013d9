"""Counts in messages agree with their nouns: "drops 1 row", "line 621", never "1 rows"."""
import pandas as pd

from helpers.course.dataset import preparation_report
from helpers.data import preparation_plan
from helpers.words import plural


def test_plural_picks_the_form_and_separates_thousands():
    assert [plural(n, "row") for n in (0, 1, 2, 1000)] == ["0 rows", "1 row", "2 rows",
                                                           "1,000 rows"]
    assert plural(1, "class", "classes") == "1 class" and plural(3, "class", "classes") == \
        "3 classes"


def test_one_dropped_row_reads_in_the_singular():
    same = "今天股市大涨，沪指收涨百分之二"
    texts = [same, same, "球队在主场以三比一获胜晋级"]
    df = pd.DataFrame({"text": texts, "label": ["a", "a", "b"]},
                      index=pd.Index([10, 621, 12], name="line"))
    plan = preparation_plan(df, None)
    assert plan.summary().startswith("preparation drops 1 of 3 rows (duplicate_example=1); "
                                     "2 rows remain in 2 classes")
    (drop,) = preparation_report(plan, {})["drops"]
    assert drop["rows"] == 1 and drop["why"].endswith("; line 621")
    one = preparation_plan(df.iloc[:1], None)
    assert "1 row remains in 1 class:" in one.summary() and "1 class remains" in one.message
