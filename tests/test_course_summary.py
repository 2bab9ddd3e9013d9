"""summary.json keeps its promised keys; summary.md is a readable report in labelled groups."""
import json

import pytest

from helpers.course.summary import REQUIRED, build_summary, render_markdown, write_summary
from helpers.results import approach_figures, headline, merged_results, record_results

RUN = {"backend": "sandbox", "mode": "live", "dataset": "sports_en", "text_field": "text",
       "label_field": "label", "seconds": 12.34}
TIMES = [{"notebook": "01_zero_shot", "output": "01_zero_shot.ipynb", "seconds": 3.14,
          "status": "ok", "log": "logs/01_zero_shot.log"},
         {"notebook": "06_before_after", "output": "06_before_after.ipynb", "seconds": 5.0,
          "status": "ok", "log": "logs/06_before_after.log"}]
RESULTS = {"zero_shot_accuracy": 0.625, "fine_tuned_accuracy": 0.9, "n_train": 200, "n_test": 80,
           "labels": ["baseball", "hockey"], "estimated_trained_tokens": 12345,
           "trained_tokens": 12001, "fine_tuned_model": "ft:sandbox-base:x:1",
           "estimated_cost_usd": 0.0371, "job_id": "ftjob-1", "accuracy_unshuffled": 0.32,
           "retries_seen": 7, "reviews_exact_accuracy_fine_tuned": 0.55, "internal_thing": 3}


def test_required_keys_are_present_even_when_no_notebook_recorded_them():
    s = build_summary({"zero_shot_accuracy": 0.5}, RUN, TIMES, labels=["a", "b"])
    assert set(REQUIRED) <= set(s)
    assert s["fine_tuned_accuracy"] is None and s["labels"] == ["a", "b"]
    assert s["backend"] == "sandbox" and s["seconds"] == 12.34 and s["status"] == "ok"


def test_recorded_labels_win_over_the_dataset_labels():
    s = build_summary({"labels": ["体育", "财经"]}, RUN, TIMES, labels=["sports", "finance"])
    assert s["labels"] == ["体育", "财经"]


def test_markdown_has_before_after_cost_timings_and_links(tmp_path):
    json_path, md_path = write_summary(tmp_path, build_summary(RESULTS, RUN, TIMES))
    md = md_path.read_text(encoding="utf-8")
    assert "| Zero-shot (free text) | 0.625 (62.5%) | — |" in md
    assert "| Fine-tuned (`ft:sandbox-base:x:1`) | 0.900 (90.0%) | — |" in md
    assert "| Change (fine-tuned − zero-shot) | +0.275 |  |" in md
    assert "| Trained tokens | 12,345 | 12,001 | -2.8% |" in md
    assert "| Training cost (USD) | $0.0371 | — |  |" in md
    assert "| [01_zero_shot](01_zero_shot.ipynb) | 3.1 | ok | [log](logs/01_zero_shot.log) |" in md
    assert "| **Total run** | 12.3 | ok | |" in md
    assert json.loads(json_path.read_text(encoding="utf-8"))["trained_tokens"] == 12001


def test_figures_are_labelled_in_groups_and_internal_keys_are_not_dumped():
    md = render_markdown(build_summary(RESULTS, RUN, TIMES))
    for key in ("accuracy_unshuffled", "retries_seen", "reviews_exact_accuracy_fine_tuned",
                "internal_thing", "job_id"):
        assert key not in md
    assert "## Training experiments (06)" in md
    assert "| Accuracy when the training file is sorted by label | 32.0% |" in md
    assert ("## Evaluating at scale (07)" in md
            and "| Retries after injected 429/500 errors | 7 |" in md)
    # a side experiment on another dataset has its own heading and says why it never changes
    side = md.index("## Side experiment: star ratings on the shipped reviews_en dataset")
    assert md.index("| Exact stars, fine-tuned | 55.0% |") > side
    assert "same in every run" in md
    assert "more figures are kept in [summary.json](summary.json)" in md


def test_the_decision_table_from_06(tmp_path):
    record_results(tmp_path, "01", **approach_figures("zero_shot", accuracy=0.6, macro_f1=0.55))
    record_results(tmp_path, "06", **approach_figures(
        "zero_shot", accuracy=0.62, macro_f1=0.58, prompt_tokens_per_request=112.5,
        cost_per_1000_usd=0.0169, training_cost_usd=0.0, latency_s=0.41))
    record_results(tmp_path, "06", cost_per_1000_usd=0.052,  # the key today's 06 records
                   **approach_figures("fine_tuned", accuracy=0.81, macro_f1=0.8,
                                      prompt_tokens_per_request=112.5, training_cost_usd=1.92,
                                      latency_s=0.39))
    results = merged_results(tmp_path)
    assert results["fine_tuned_cost_per_1000_usd"] == 0.052 and "cost_per_1000_usd" not in results
    md = render_markdown(build_summary(results, RUN, TIMES))
    assert "## Choosing an approach (06)" in md
    assert ("| Approach | Accuracy | Macro F1 | Prompt tokens / request | "
            "Cost / 1,000 predictions | One-time training cost | Median latency |") in md
    assert "| Zero-shot (free text) | 62.0% | 0.580 | 112.5 | $0.0169 | $0.0000 | 0.41 s |" in md
    assert "| Fine-tuned | 81.0% | 0.800 | 112.5 | $0.0520 | $1.9200 | 0.39 s |" in md
    assert "| Few-shot |" not in md
    assert "| Zero-shot (structured) |" not in md


def test_the_structured_zero_shot_row_shows_when_recorded(tmp_path):
    record_results(tmp_path, "01", **approach_figures("zero_shot", accuracy=0.6, macro_f1=0.55),
                   **approach_figures("zero_shot_structured", accuracy=0.61, macro_f1=0.56,
                                      prompt_tokens_per_request=190.0, latency_s=0.2))
    md = render_markdown(build_summary(merged_results(tmp_path), RUN, TIMES))
    assert "| Zero-shot (structured) | 0.610 (61.0%) | 0.560 |" in md  # before/after
    assert "| Zero-shot (structured) | 61.0% | 0.560 | 190 |" in md  # the decision table


def test_approach_figures_reject_names_the_summary_would_not_show():
    assert approach_figures("few_shot", accuracy=0.7) == {"few_shot_accuracy": 0.7}
    with pytest.raises(ValueError, match="unknown figure 'acc'"):
        approach_figures("few_shot", acc=0.7)
    with pytest.raises(ValueError, match="unknown approach 'one_shot'"):
        approach_figures("one_shot", accuracy=0.7)


def test_fine_tuning_figures_are_marked_not_available_on_a_backend_without_them():
    s = build_summary({"zero_shot_accuracy": 0.7, "fine_tuning_available": False},
                      {**RUN, "backend": "compatible"}, TIMES)
    md = render_markdown(s)
    assert "| Fine-tuned | not available on this backend | not available on this backend |" in md
    assert "Fine-tuning is not available on this backend (`compatible`)" in md
    assert "| Zero-shot (free text) | 0.700 (70.0%) |" in md and "Change" not in md


def test_preparation_section_says_what_was_dropped_and_why():
    prep = {"rows": 1000, "rows_kept": 988, "min_class_rows": 20, "labels_kept": ["a", "b"],
            "file": "preparation.txt",
            "drops": [{"rule": "duplicate_example", "what": "exact duplicates", "rows": 3,
                       "why": "the same text as an earlier row; lines 17, 230, 811"},
                      {"rule": "rare_class", "what": "class 'c'", "rows": 9,
                       "why": "fewer than min_class_rows=20 rows after the drops above"}]}
    md = render_markdown(build_summary({}, {**RUN, "preparation": prep}, TIMES))
    assert "1,000 rows read; preparation keeps 988 rows in 2 classes" in md
    assert "| exact duplicates | 3 | the same text as an earlier row; lines 17, 230, 811 |" in md
    assert "| class 'c' | 9 | fewer than min_class_rows=20 rows after the drops above |" in md
    assert "[preparation.txt](preparation.txt)" in md


def test_failed_run_says_where_it_stopped():
    error = {"notebook": "03_tokens_and_cost", "output": "03_tokens_and_cost.ipynb",
             "where": "cell 4 (In [3])", "error": "KeyError: 'x'", "cell_index": 3,
             "cell_source": ""}
    s = build_summary({}, RUN, TIMES, error=error)
    md = render_markdown(s)
    assert s["status"] == "failed" and s["error"]["where"] == "cell 4 (In [3])"
    assert "**Stopped** in [03_tokens_and_cost](03_tokens_and_cost.ipynb) at cell 4 (In [3])" in md
    assert "| Fine-tuned | — | — |" in md and "Change" not in md


def test_headline_of_a_notebook_for_the_progress_line():
    assert headline("01", {"zero_shot_accuracy": 0.625, "few_shot_accuracy": 0.7, "n_test": 9}) == \
        "zero-shot accuracy 62.5% · few-shot accuracy 70.0%"
    assert headline("04", {"trained_tokens": 12001}) == "trained tokens 12,001"
    assert headline("09", {"x": 1}) == ""
