"""The removed prepare_data rules: what each changed is in the report."""
import pytest

from helpers.data import prepare_legacy

TITLES = ["华为发布新一代麒麟芯片", "男篮亚洲杯预选赛大胜", "央行下调存款准备金率",
          "新款掌机续航实测",
          "冬小麦播种进入尾声", "二手房挂牌量回落", "多国代表重启停火谈判", "海军编队完成远海训练"]
LABELS = ["news_tech", "news_sports", "news_finance", "news_game"]


def records(n=40):
    return [{"prompt": f"{TITLES[i % 8]}（第{i}期）", "completion": LABELS[i % 4], "id": i}
            for i in range(n)]


def test_classification_rules_and_report():
    data = records() + [records()[0], {"prompt": "空的", "completion": "  "}]
    train, valid, report = prepare_legacy(data)
    assert report.step("number of examples").detail.startswith("42 examples; fewer than 100")
    assert report.step("extra columns").detail == "removed id"
    assert report.step("empty completions").detail == "dropped 1"
    assert report.classification and report.n_classes == 4
    assert report.step("duplicates").detail == "removed 1"
    assert report.separator == " ->"
    assert report.step("common completion prefix").detail == "removed 'news_'"
    assert report.step("completion ending").changed is False  # classification: bare labels
    assert report.step("leading space").detail == "added to 40 completions"
    assert (len(train), len(valid)) == (32, 8)  # max(n - 1000, int(0.8 n)) with n = 40
    assert report.suggested_flags == "--classification_n_classes 4"
    row = train[0]
    assert set(row) == {"prompt", "completion"}
    assert row["prompt"].endswith(" ->")
    assert row["completion"] in {" tech", " sports", " finance", " game"}
    again = prepare_legacy(data)
    assert again[0] == train and again[1] == valid  # seed 42: same split every time


def test_separator_skips_arrow_when_prompts_have_newlines():
    data = [{"prompt": f"line one {i}\nline two", "completion": f"answer number {i}"}
            for i in range(6)]
    data[0]["prompt"] += " ###"
    train, valid, report = prepare_legacy(data, split=False)
    assert report.separator == "\n\n###\n\n"
    assert not report.classification and valid == []
    assert report.ending == "\n" and all(r["completion"].endswith("\n") for r in train)
    # "line one " is under 13 characters
    assert report.step("common prompt prefix").changed is False


def test_common_prompt_prefix_and_lowercasing():
    data = [{"prompt": f"CLASSIFY THIS HEADLINE: TEAM {c} WINS",
             "completion": "POSITIVE" if i % 2 else "NEGATIVE"}
            for i, c in enumerate("ABCDEFGHIJKL")]
    train, valid, report = prepare_legacy(data)
    assert report.step("lowercase prompt").changed and report.step("lowercase completion").changed
    assert report.step("common prompt prefix").detail == "removed 'classify this headline: team '"
    assert sorted({r["completion"] for r in train + valid}) == [" negative", " positive"]
    assert report.suggested_flags == '--classification_positive_class " negative"'


def test_missing_completion_column_is_an_error():
    with pytest.raises(ValueError, match="'completion'"):
        prepare_legacy([{"prompt": "a"}, {"prompt": "b"}])
